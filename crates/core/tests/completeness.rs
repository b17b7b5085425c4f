//! Every call accounted for (issue 21, item 1): a FreePBX spool imported with its CDR, then the
//! archive checked against the call log. The log and the folder are made so that two answered
//! calls have no file, one recording is cut short, one has its second half silent, one is silent
//! throughout, and one has no row in the log; the check must find exactly those — through
//! `Session`, audited, refused to a clinician, and the same calls found from a 3CX call log and
//! from the generic CSV.

use callvault_core::completeness::FindingKind;
use callvault_core::ingest::layout::Layout;
use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::ingest::ImportOptions;
use callvault_core::session::{self, CompletenessQuery, KdfChoice, Session};
use callvault_core::Error;
use callvault_testkit::demo::{speechlike, wav_g711};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");

/// 2026-11-30 09:00:00 UTC (GMT: the wall clock is UTC), in epoch seconds.
const T0: i64 = 1_796_029_200;

struct World {
    _tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
    logs: PathBuf,
}

/// Speech for `secs` seconds, then silence for `quiet` seconds, as G.711 µ-law.
fn call_audio(secs: usize, quiet: usize, seed: u32) -> Vec<u8> {
    let mut pcm = speechlike(8000, secs, seed);
    pcm.extend(std::iter::repeat_n(0i16, 8000 * quiet));
    wav_g711(8000, &pcm, true)
}

/// A FreePBX file name for a call `min` minutes after 09:00 with uniqueid `<epoch>.<seq>`.
fn name(kind: &str, to: &str, from: &str, min: i64, seq: u32) -> String {
    let t = chrono::DateTime::from_timestamp(T0 + min * 60, 0).unwrap();
    format!(
        "{kind}-{to}-{from}-{}-{}.{seq}.wav",
        t.format("%Y%m%d-%H%M%S"),
        T0 + min * 60
    )
}

fn cdr_time(min: i64) -> String {
    chrono::DateTime::from_timestamp(T0 + min * 60, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("device");
        let spool = tmp.path().join("monitor/2026/11/30");
        let logs = tmp.path().join("logs");
        std::fs::create_dir_all(&spool).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut s = Session::logon_in(&archive, &data, DC.0, &Password::new(DC.1))
            .await
            .unwrap();
        for (u, roles, tel) in [
            (SUP, vec![Role::Supervisor], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            s.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        // (file, audio): seq 1 whole; 2 cut short (6 s of a 60 s call); 3 its second half silent;
        // 4 silent; 8 an outbound call the log does not name; 9 a queue call (two rows).
        let files = [
            (
                name("in", "01632960000", "07700900201", 0, 1),
                call_audio(12, 0, 1),
            ),
            (
                name("in", "01632960000", "07700900202", 10, 2),
                call_audio(6, 0, 2),
            ),
            (
                name("in", "01632960000", "07700900203", 20, 3),
                call_audio(15, 15, 3),
            ),
            (
                name("in", "01632960000", "07700900204", 30, 4),
                call_audio(0, 12, 4),
            ),
            (
                name("out", "07700900208", "201", 60, 8),
                call_audio(10, 0, 8),
            ),
            (name("q", "600", "07700900209", 70, 9), call_audio(20, 0, 9)),
            // 10: its row gives no caller's number (withheld): found by its file name alone.
            (
                name("in", "01632960000", "07700900210", 80, 10),
                call_audio(10, 0, 10),
            ),
        ];
        for (f, bytes) in &files {
            std::fs::write(spool.join(f), bytes).unwrap();
        }
        let row = |min: i64, src: &str, disp: &str, dur: u32, bill: u32, seq: u32, file: &str| {
            format!(
                "{},\"\" <{src}>,{src},600,PJSIP/trunk-1,PJSIP/201-2,{disp},{dur},{bill},{}.{seq},{file}\n",
                cdr_time(min),
                T0 + min * 60
            )
        };
        let mut cdr = String::from(
            "calldate,clid,src,dst,channel,dstchannel,disposition,duration,billsec,uniqueid,recordingfile\n",
        );
        cdr += &row(0, "07700900201", "ANSWERED", 14, 12, 1, &files[0].0);
        cdr += &row(10, "07700900202", "ANSWERED", 62, 60, 2, &files[1].0);
        cdr += &row(20, "07700900203", "ANSWERED", 31, 30, 3, &files[2].0);
        cdr += &row(30, "07700900204", "ANSWERED", 13, 12, 4, &files[3].0);
        // Answered, talked, and no file: the two missing calls.
        cdr += &row(40, "07700900205", "ANSWERED", 47, 45, 5, "");
        cdr += &row(50, "07700900206", "ANSWERED", 95, 90, 6, "");
        // Not answered: nothing to record.
        cdr += &row(55, "07700900207", "NO ANSWER", 20, 0, 7, "");
        // A queue: the first agent did not answer, the second did.
        cdr += &row(70, "07700900209", "NO ANSWER", 15, 0, 9, "");
        cdr += &row(70, "07700900209", "ANSWERED", 40, 20, 9, &files[5].0);
        cdr += &row(80, "", "ANSWERED", 12, 10, 10, &files[6].0);
        std::fs::write(logs.join("cdr.csv"), &cdr).unwrap();
        let rep = s
            .import_layout(
                &tmp.path().join("monitor"),
                ImportOptions {
                    layout: Layout::FreePbx,
                    tz: None,
                    cdr: Some(logs.join("cdr.csv")),
                    manifest: None,
                    dry_run: false,
                    progress: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(rep.report.imported.len(), 7, "{rep:?}");
        s.close().await;
        World {
            _tmp: tmp,
            archive,
            data,
            logs,
        }
    }

    async fn logon(&self, who: (&str, &str)) -> Session {
        Session::logon_in(&self.archive, &self.data, who.0, &Password::new(who.1))
            .await
            .unwrap()
    }

    fn query(&self, file: &str) -> CompletenessQuery {
        CompletenessQuery {
            cdr: self.logs.join(file),
            sound: true,
            ..Default::default()
        }
    }
}

/// The findings as (kind, the log's call id or the recording's file name's sequence).
fn found(s: &Session, rep: &session::CompletenessReport) -> BTreeSet<(FindingKind, String)> {
    let _ = s;
    rep.findings
        .iter()
        .map(|f| {
            let what = match &f.cdr {
                Some(c) => c.id.rsplit('.').next().unwrap().to_string(),
                None => format!("rec {}", f.recording.as_deref().unwrap()),
            };
            (f.kind, what)
        })
        .collect()
}

fn kinds(rep: &session::CompletenessReport) -> Vec<(FindingKind, usize)> {
    let mut v: Vec<(FindingKind, usize)> = vec![];
    for f in &rep.findings {
        match v.iter_mut().find(|(k, _)| *k == f.kind) {
            Some((_, n)) => *n += 1,
            None => v.push((f.kind, 1)),
        }
    }
    v.sort();
    v
}

async fn id_of_seq(s: &Session, seq: u32) -> String {
    let all = s
        .search(&session::SearchQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    all.into_iter()
        .find(|r| r.source_name.ends_with(&format!(".{seq}.wav")))
        .unwrap()
        .id
}

#[tokio::test]
async fn the_check_finds_exactly_the_missing_short_silent_and_unlogged_calls() {
    let w = World::new().await;
    let s = w.logon(DC).await;
    let rep = s.check_completeness(&w.query("cdr.csv")).await.unwrap();
    let no_cdr = id_of_seq(&s, 8).await;
    let want: BTreeSet<(FindingKind, String)> = [
        (FindingKind::Short, "2".to_string()),
        (FindingKind::OneSided, "3".to_string()),
        (FindingKind::Silent, "4".to_string()),
        (FindingKind::Missing, "5".to_string()),
        (FindingKind::Missing, "6".to_string()),
        (FindingKind::NoCdr, format!("rec {no_cdr}")),
    ]
    .into();
    assert_eq!(found(&s, &rep), want, "{:#?}", rep.findings);
    assert_eq!(rep.log_rows, 10);
    assert_eq!(rep.log_calls, 9);
    assert_eq!(rep.answered, 8);
    assert_eq!((rep.recordings, rep.matched), (7, 6));
    assert_eq!((rep.sound_checked, rep.sound_unchecked), (7, 0));
    assert_eq!(rep.counts["missing"], 2);
    let short = rep
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Short)
        .unwrap();
    assert_eq!(
        short.detail,
        "answered, 1 min 0 s of talk; the recording lasts 6 s"
    );
    assert_eq!(
        short.cdr.as_ref().unwrap().line,
        3,
        "the CDR row is named by its line"
    );
    let half = rep
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::OneSided)
        .unwrap();
    assert_eq!(half.detail, "the second half (15 s) is silent");
    // In JSON each finding says its kind as the CLI documents it, with the CDR's uniqueid.
    let json = serde_json::to_value(&rep).unwrap();
    let kinds_json: BTreeSet<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds_json,
        ["missing", "no-cdr", "one-sided", "short", "silent"]
            .map(String::from)
            .into()
    );
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["cdr"]["id"] == format!("{}.5", T0 + 40 * 60)));

    // A range narrows both sides: 09:15 to 09:45 holds calls 3, 4 and the missing 5.
    let mut q = w.query("cdr.csv");
    q.from = Some("2026-11-30T09:15".into());
    q.to = Some("2026-11-30T09:45".into());
    let r = s.check_completeness(&q).await.unwrap();
    assert_eq!(
        kinds(&r),
        vec![
            (FindingKind::Missing, 1),
            (FindingKind::OneSided, 1),
            (FindingKind::Silent, 1)
        ]
    );

    // A range past the end of the log is checked where the log has calls, and says so; one with
    // none of its calls is refused.
    let mut q = w.query("cdr.csv");
    q.from = Some("2026-11-30".into());
    q.to = Some("2026-12-02".into());
    q.sound = false;
    let r = s.check_completeness(&q).await.unwrap();
    let note = r.coverage_note.as_deref().unwrap();
    assert!(
        note.contains("to 2026-11-30T10:20:00Z") && note.contains("not checked"),
        "{note}"
    );
    assert_eq!(r.counts["missing"], 2);
    assert_eq!(
        r.counts["no-cdr"], 1,
        "a recording after the log's end is not 'not in the log'"
    );
    q.from = Some("2026-12-01".into());
    let e = s.check_completeness(&q).await.unwrap_err().to_string();
    assert!(e.contains("none in the range asked"), "{e}");

    // Audited, allowed: first the waveforms opened (every one named), then the findings with the
    // recordings concerned; no number of the log.
    let entries = s.audit_entries().await.unwrap();
    let opened = entries
        .iter()
        .find(|e| {
            e.action == "completeness.check"
                && e.detail
                    .as_deref()
                    .unwrap_or("")
                    .contains("waveforms of 7 recordings opened")
        })
        .expect("the waveforms opened are audited");
    let all: BTreeSet<String> = s
        .search(&session::SearchQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(opened.targets.iter().cloned().collect::<BTreeSet<_>>(), all);
    let e = entries
        .iter()
        .find(|e| {
            e.action == "completeness.check"
                && e.detail
                    .as_deref()
                    .unwrap_or("")
                    .contains("missing 1, no-cdr 0, one-sided 1")
        })
        .expect("the ranged check audited with its counts");
    assert_eq!(e.outcome, "allowed");
    let text = format!("{entries:?}");
    assert!(
        !text.contains("07700900205") && !text.contains("900205"),
        "no number of the log in the trail"
    );
    s.close().await;
}

/// An insider with write access to the share puts a speaking call's waveform in place of the
/// silent call's (and the reverse), so that the silent call would pass as heard: both are refused
/// by the hash their signed journal entries record, named as failed, and neither is judged.
#[tokio::test]
async fn a_waveform_swapped_on_the_share_is_named_not_heard() {
    let w = World::new().await;
    let s = w.logon(DC).await;
    let (whole, silent) = (id_of_seq(&s, 1).await, id_of_seq(&s, 4).await);
    let peaks = |id: &str| w.archive.join(format!("rec/{}/{id}.cvp", &id[..2]));
    let (a, b) = (
        std::fs::read(peaks(&whole)).unwrap(),
        std::fs::read(peaks(&silent)).unwrap(),
    );
    std::fs::write(peaks(&whole), &b).unwrap();
    std::fs::write(peaks(&silent), &a).unwrap();
    let rep = s.check_completeness(&w.query("cdr.csv")).await.unwrap();
    assert_eq!(rep.sound_problems.len(), 2, "{:?}", rep.sound_problems);
    for id in [&whole, &silent] {
        assert!(
            rep.sound_problems.iter().any(|p| p.contains(id.as_str())),
            "{:?}",
            rep.sound_problems
        );
        assert!(
            !rep.findings
                .iter()
                .any(|f| f.recording.as_deref() == Some(id.as_str())
                    && matches!(f.kind, FindingKind::Silent | FindingKind::OneSided)),
            "a swapped waveform was judged"
        );
    }
    assert_eq!((rep.sound_checked, rep.sound_unchecked), (5, 2));
    s.close().await;
}

#[tokio::test]
async fn a_supervisor_checks_without_the_call_key_and_a_clinician_is_refused() {
    let w = World::new().await;
    let sup = w.logon(SUP).await;
    let rep = sup.check_completeness(&w.query("cdr.csv")).await.unwrap();
    // The log's side is the same; silence cannot be heard without the call key, and says so.
    assert_eq!(
        kinds(&rep),
        vec![
            (FindingKind::Missing, 2),
            (FindingKind::Short, 1),
            (FindingKind::NoCdr, 1)
        ]
    );
    assert_eq!((rep.sound_checked, rep.sound_unchecked), (0, 7));
    assert!(
        rep.sound_note.as_deref().unwrap().contains("call key"),
        "{rep:?}"
    );
    sup.close().await;

    let clin = w.logon(CLIN).await;
    let e = clin
        .check_completeness(&w.query("cdr.csv"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    assert!(e.to_string().contains("supervisor"), "{e}");
    clin.close().await;
    let dc = w.logon(DC).await;
    let refused = dc
        .audit_entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "completeness.check" && e.outcome == "refused")
        .count();
    assert_eq!(refused, 1, "the refusal is audited");
    dc.close().await;
}

#[tokio::test]
async fn a_3cx_call_log_and_the_generic_csv_find_the_same_calls() {
    let w = World::new().await;
    // 3CX: UK dates, talk time as HH:MM:SS, numbers with display names; matched by number and time.
    let t = |min: i64| {
        chrono::DateTime::from_timestamp(T0 + min * 60, 0)
            .unwrap()
            .format("%d/%m/%Y %H:%M:%S")
            .to_string()
    };
    let mut log = String::from("Call ID,Call Time,From,To,Direction,Status,Ringing,Talking\n");
    for (id, min, from, status, talk) in [
        ("00001", 0, "07700900201", "Answered", "00:00:12"),
        ("00002", 10, "07700900202", "Answered", "00:01:00"),
        ("00003", 20, "07700900203", "Answered", "00:00:30"),
        ("00004", 30, "07700900204", "Answered", "00:00:12"),
        ("00005", 40, "07700900205", "Answered", "00:00:45"),
        ("00007", 55, "07700900207", "Unanswered", "00:00:00"),
        ("00008", 60, "Ext.201", "Answered", "00:00:10"),
        ("00009", 70, "07700900209", "Answered", "00:00:20"),
    ] {
        let to = if id == "00008" { "07700900208" } else { "600" };
        log += &format!(
            "{id},{},{from},{to},Inbound,{status},00:00:02,{talk}\n",
            t(min)
        );
    }
    std::fs::write(w.logs.join("3cx.csv"), &log).unwrap();
    let s = w.logon(DC).await;
    let rep = s.check_completeness(&w.query("3cx.csv")).await.unwrap();
    assert_eq!(rep.layout.as_str(), "3cx");
    let ids: BTreeSet<(FindingKind, String)> = rep
        .findings
        .iter()
        .map(|f| {
            (
                f.kind,
                f.cdr.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            (FindingKind::Short, "00002".to_string()),
            (FindingKind::OneSided, "00003".to_string()),
            (FindingKind::Silent, "00004".to_string()),
            (FindingKind::Missing, "00005".to_string()),
        ]
        .into(),
        "{:#?}",
        rep.findings
    );

    // The generic CSV, with RFC 3339 times: an unanswered call at 08:55 and call 9; the rest of
    // the archive between them not logged.
    let at = |min: i64| {
        callvault_core::time::rfc3339(chrono::DateTime::from_timestamp(T0 + min * 60, 0).unwrap())
    };
    std::fs::write(
        w.logs.join("generic.csv"),
        format!(
            "id,start,answered,talk_seconds,from,to,recording\ng0,{},no,0,07700900200,600,\nq9,{},yes,20,07700900209,600,\n",
            at(-5),
            at(70)
        ),
    )
    .unwrap();
    let mut q = w.query("generic.csv");
    q.from = Some("2026-11-30".into());
    q.to = Some("2026-11-30".into());
    q.sound = false;
    let rep = s.check_completeness(&q).await.unwrap();
    assert_eq!(
        kinds(&rep),
        vec![(FindingKind::NoCdr, 5)],
        "{:#?}",
        rep.findings
    );
    assert_eq!(rep.matched, 1);
    s.close().await;
}

fn tree(dir: &Path) -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    for e in walk(dir) {
        let m = std::fs::metadata(&e).unwrap();
        out.insert((e.display().to_string(), m.len()));
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[tokio::test]
async fn a_bad_call_log_is_named_and_nothing_is_stored() {
    let w = World::new().await;
    let s = w.logon(DC).await;
    let journal_before = tree(&w.archive.join("journal"));
    let cases = [
        (
            "truncated.csv",
            "calldate,uniqueid,disposition,billsec\n2026-11-30 09:00:00,1.1,ANSWERED,12\n2026-11-30 09:1",
            "truncated.csv line 3",
        ),
        (
            "zones.csv",
            "id,start,answered,talk_seconds\na,2026-11-30T09:00:00Z,yes,1\nb,2026-11-30 09:05:00,yes,1\n",
            "mixed time zones",
        ),
        (
            "other.csv",
            "filename,direction\nx.wav,in\n",
            "fits no call log",
        ),
        (
            "baddate.csv",
            "calldate,uniqueid,disposition,billsec\n2026-11-31 09:00:00,1.1,ANSWERED,12\n",
            "line 2: 'calldate' is '2026-11-31 09:00:00'",
        ),
    ];
    for (file, text, want) in cases {
        std::fs::write(w.logs.join(file), text).unwrap();
        let e = s.check_completeness(&w.query(file)).await.unwrap_err();
        assert!(e.to_string().contains(want), "{file}: {e}");
    }
    let mut q = w.query("cdr.csv");
    q.layout = Some("3cx".into());
    let e = s.check_completeness(&q).await.unwrap_err().to_string();
    assert!(
        e.contains("is not a 3CX call log") && e.contains("--layout freepbx"),
        "{e}"
    );
    let e = s
        .check_completeness(&w.query("absent.csv"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.csv"), "{e}");
    assert_eq!(
        tree(&w.archive.join("journal")),
        journal_before,
        "nothing stored changed"
    );
    s.close().await;
}

/// A two-channel FreePBX recording (the caller on one channel, the practice on the other) whose
/// caller's channel is empty: the stored waveform mixes the channels and sounds like a call, so
/// the check decodes two-channel recordings' audio (audited first) and names the silent channel.
#[tokio::test]
async fn a_two_channel_call_with_one_silent_channel_is_one_sided() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, data) = (tmp.path().join("archive"), tmp.path().join("device"));
    let spool = tmp.path().join("monitor/2026/11/30");
    std::fs::create_dir_all(&spool).unwrap();
    session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
        .await
        .unwrap();
    let mut s = Session::logon_in(&archive, &data, DC.0, &Password::new(DC.1))
        .await
        .unwrap();
    let stereo = |seed: u32, right: bool| {
        let speech = speechlike(8000, 25, seed);
        let pcm: Vec<i16> = speech
            .iter()
            .enumerate()
            .flat_map(|(i, &x)| {
                [
                    x,
                    if right {
                        speech[(i + 999) % speech.len()]
                    } else {
                        0
                    },
                ]
            })
            .collect();
        callvault_testkit::demo::wav_pcm16_channels(8000, 2, &pcm)
    };
    let files = [
        (
            name("in", "01632960000", "07700900221", 0, 21),
            stereo(21, false),
        ),
        (
            name("in", "01632960000", "07700900222", 10, 22),
            stereo(22, true),
        ),
    ];
    let mut cdr = String::from(
        "calldate,clid,src,dst,channel,dstchannel,disposition,duration,billsec,uniqueid,recordingfile\n",
    );
    for (i, (f, bytes)) in files.iter().enumerate() {
        std::fs::write(spool.join(f), bytes).unwrap();
        let min = i as i64 * 10;
        cdr += &format!(
            "{},\"\" <0770090022{}>,0770090022{},600,PJSIP/trunk-1,PJSIP/201-2,ANSWERED,27,25,{}.{},{f}\n",
            cdr_time(min),
            i + 1,
            i + 1,
            T0 + min * 60,
            21 + i
        );
    }
    std::fs::write(tmp.path().join("cdr.csv"), cdr).unwrap();
    s.import_layout(
        &tmp.path().join("monitor"),
        ImportOptions {
            layout: Layout::FreePbx,
            tz: None,
            cdr: Some(tmp.path().join("cdr.csv")),
            manifest: None,
            dry_run: false,
            progress: None,
        },
    )
    .await
    .unwrap();
    let rep = s
        .check_completeness(&CompletenessQuery {
            cdr: tmp.path().join("cdr.csv"),
            sound: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let one_sided = id_of_seq(&s, 21).await;
    let found: Vec<(FindingKind, Option<&str>, &str)> = rep
        .findings
        .iter()
        .map(|f| (f.kind, f.recording.as_deref(), f.detail.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            FindingKind::OneSided,
            Some(one_sided.as_str()),
            "one channel, the second (right), is silent throughout"
        )],
        "{:#?}",
        rep.findings
    );
    assert_eq!((rep.sound_checked, rep.sound_unchecked), (2, 0));
    let audited = s
        .audit_list(&callvault_core::session::AuditFilter::default())
        .await
        .unwrap();
    assert!(audited.iter().any(|e| e
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("the audio of 2 two-channel recordings decoded"))
        && e.targets.contains(&one_sided)));
    s.close().await;
}
