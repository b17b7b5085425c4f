//! The layout planner: strict name parsing for FreePBX, 3CX and Oreka, the clocks' changes,
//! extensions versus service numbers, CDR channel and caller-id parsing, hostile metadata paths;
//! and through `Session::import_layout`: a dry run writes nothing to the archive, and progress is
//! reported batch by batch up to the totals. Invented names and numbers only.

use callvault_core::archive::journal::Direction;
use callvault_core::ingest::layout::{self, is_extension, resolve_local, Layout};
use callvault_core::ingest::{freepbx, oreka, threecx};
use callvault_core::secret::Password;
use callvault_core::session::ingest::{ImportOptions, ImportProgress};
use callvault_core::session::{self, KdfChoice, Session};
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
}

const LONDON: chrono_tz::Tz = chrono_tz::Europe::London;

#[test]
fn freepbx_names() {
    let n = freepbx::parse_name("in-01632960000-07700900123-20250327-092517-1743067517.12206.wav")
        .unwrap();
    assert_eq!(n.kind, "in");
    assert_eq!(n.to, "01632960000");
    assert_eq!(n.from, "07700900123");
    assert_eq!(n.local, at(2025, 3, 27, 9, 25, 17));
    assert_eq!(n.uniqueid, "1743067517.12206");
    assert_eq!(n.epoch, 1743067517);
    assert_eq!(n.ext, "wav");
    let n =
        freepbx::parse_name("out-07700900456-201-20250327-101500-1743070500.12210.WAV").unwrap();
    assert_eq!(
        (n.kind.as_str(), n.to.as_str(), n.from.as_str()),
        ("out", "07700900456", "201")
    );
    assert_eq!(n.ext, "WAV", "case kept");
    // A system name before the uniqueid; an empty and a placeholder caller.
    let n = freepbx::parse_name("rg-600-unknown-20250327-101500-pbx-1-1743070500.3.gsm").unwrap();
    assert_eq!(n.uniqueid, "pbx-1-1743070500.3");
    assert_eq!(n.epoch, 1743070500);
    assert_eq!(n.from, "unknown");
    let n = freepbx::parse_name("in-01632960000--20250327-101500-1743070500.4.wav").unwrap();
    assert_eq!(n.from, "");
    for (bad, why) in [
        (
            "in-01632960000-07700900123-20250327-092517.wav",
            "at least 6",
        ),
        (
            "in-01632960000-07700900123-2025032-092517-1743067517.1.wav",
            "not a date YYYYMMDD",
        ),
        (
            "in-01632960000-07700900123-20250327-246000-1743067517.1.wav",
            "not a real date",
        ),
        (
            "in-01632960000-07700900123-20250327-092517-1743067517.wav",
            "not <epoch>.<sequence>",
        ),
        (
            "in-01632960000-07700900123-20250327-092517-abc.1.wav",
            "not <epoch>.<sequence>",
        ),
        (
            "inbound-01632960000-07700900123-20250327-092517-1743067517.1.wav",
            "not a recording type",
        ),
        (
            "in-01632960000-07700900123-20250327-092517-1743067517",
            "no extension",
        ),
        (
            "in-01632960000-07700900123-20250327-092517-1743067517.12206",
            "not <epoch>.<sequence>",
        ),
    ] {
        let e = freepbx::parse_name(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
        assert!(e.contains("<type>-<to>-<from>"), "{e}");
    }
    assert!(freepbx::looks_like("q-400-07700900124-x"));
    assert!(!freepbx::looks_like(
        "[]_100-0836826436_20190211124709(2).wav"
    ));
    assert!(!freepbx::looks_like("20250327_092517_0A1B.wav"));
}

#[test]
fn cdr_channels_and_caller_ids() {
    assert_eq!(
        freepbx::channel_extension("PJSIP/201-0000002a").as_deref(),
        Some("201")
    );
    assert_eq!(
        freepbx::channel_extension("SIP/2024-00000a1b").as_deref(),
        Some("2024")
    );
    assert_eq!(
        freepbx::channel_extension("Local/202@from-queue-00000012;1").as_deref(),
        Some("202")
    );
    assert_eq!(freepbx::channel_extension("PJSIP/bt-trunk-00000029"), None);
    assert_eq!(freepbx::channel_extension("DAHDI/1-1"), None);
    assert_eq!(freepbx::channel_extension(""), None);
    assert_eq!(
        freepbx::parse_clid("\"Jane Doe\" <07700900123>"),
        (Some("Jane Doe".into()), Some("07700900123".into()))
    );
    assert_eq!(
        freepbx::parse_clid("Harriet Vale <+447700900124>"),
        (Some("Harriet Vale".into()), Some("+447700900124".into()))
    );
    assert_eq!(
        freepbx::parse_clid("\"07700900125\" <07700900125>"),
        (None, Some("07700900125".into()))
    );
    assert_eq!(freepbx::parse_clid("\"Anonymous\" <anonymous>").0, None);
    assert_eq!(
        freepbx::parse_clid("07700900126"),
        (None, Some("07700900126".into()))
    );
}

#[test]
fn threecx_names() {
    let n = threecx::parse_name("[]_100-0836826436_20190211124709(2).wav").unwrap();
    assert_eq!(n.display, "");
    assert_eq!((n.from.as_str(), n.to.as_str()), ("100", "0836826436"));
    assert_eq!(n.local, at(2019, 2, 11, 12, 47, 9));
    assert_eq!(n.seq, 2);
    let n = threecx::parse_name("[Jane Doe]_07700900123-100_20190211124743(3).wav").unwrap();
    assert_eq!(n.display, "Jane Doe");
    assert_eq!((n.from.as_str(), n.to.as_str()), ("07700900123", "100"));
    // Read from the right: a display name may hold the separators.
    let n = threecx::parse_name("[Vale_H-(Mrs)]_]_07700900124-201_20190211124743(12).wav").unwrap();
    assert_eq!(n.display, "Vale_H-(Mrs)]_");
    assert_eq!(n.seq, 12);
    for (bad, why) in [
        (
            "Jane]_07700900123-100_20190211124743(3).wav",
            "does not start with [",
        ),
        (
            "[Jane]_07700900123_100_20190211124743(3).wav",
            "is not <from>-<to>",
        ),
        (
            "[Jane]_07700900123-100-5_20190211124743(3).wav",
            "is not <from>-<to>",
        ),
        (
            "[Jane]_07700900123-100_20190211124743(x).wav",
            "not a sequence number",
        ),
        (
            "[Jane]_07700900123-100_20190230124743(3).wav",
            "not a real date",
        ),
    ] {
        let e = threecx::parse_name(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn oreka_names() {
    let n = oreka::parse_name("20250327_092517_0A1B.wav").unwrap();
    assert_eq!(n.local, at(2025, 3, 27, 9, 25, 17));
    assert_eq!(n.port, "0A1B");
    let n = oreka::parse_name("20250327_092517_10.0.0.5,4000.mp3").unwrap();
    assert_eq!(n.port, "10.0.0.5,4000");
    assert_eq!(n.ext, "mp3");
    for (bad, why) in [
        ("20250327_092517.wav", "fewer than three"),
        ("20250327_0925_0A1B.wav", "not a time HHMMSS"),
        ("20250327_092517_0A_1B.wav", "not a capture port"),
        ("20250327_092517_.wav", "not a capture port"),
    ] {
        let e = oreka::parse_name(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
    assert!(oreka::looks_like("20250327_092517_0A1B.wav"));
    assert!(!oreka::looks_like("20250327-092517_0A1B.wav"));
}

#[test]
fn clocks_changes_and_extensions() {
    // GMT and BST.
    let t = resolve_local(at(2025, 1, 2, 10, 0, 0), LONDON, None).unwrap();
    assert_eq!(t.utc, Utc.with_ymd_and_hms(2025, 1, 2, 10, 0, 0).unwrap());
    assert_eq!(t.dst, "GMT (UTC+00:00)");
    assert_eq!(t.note, None);
    let t = resolve_local(at(2025, 6, 2, 10, 0, 0), LONDON, None).unwrap();
    assert_eq!(t.utc, Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0).unwrap());
    assert_eq!(t.dst, "BST (UTC+01:00)");
    // Spring: 01:00–01:59 on 30 March 2025 does not exist.
    let e = resolve_local(at(2025, 3, 30, 1, 30, 0), LONDON, None).unwrap_err();
    assert!(
        e.contains("does not exist in Europe/London (the clocks went forward)"),
        "{e}"
    );
    assert!(resolve_local(at(2025, 3, 30, 2, 0, 0), LONDON, None).is_ok());
    // Autumn: 01:00–01:59 on 26 October 2025 happened twice. Earlier instant, said.
    let t = resolve_local(at(2025, 10, 26, 1, 30, 0), LONDON, None).unwrap();
    assert_eq!(t.utc, Utc.with_ymd_and_hms(2025, 10, 26, 0, 30, 0).unwrap());
    assert!(t
        .dst
        .starts_with("ambiguous (clocks went back): earlier instant taken, BST"));
    assert_eq!(
        t.note.as_deref(),
        Some("time ambiguous (clocks went back): earlier instant taken (2025-10-26 01:30:00 BST = 2025-10-26T00:30:00Z)")
    );
    // ...unless the call is known to have begun after it.
    let nb = Utc.with_ymd_and_hms(2025, 10, 26, 1, 29, 0).unwrap();
    let t = resolve_local(at(2025, 10, 26, 1, 30, 0), LONDON, Some(nb)).unwrap();
    assert_eq!(t.utc, Utc.with_ymd_and_hms(2025, 10, 26, 1, 30, 0).unwrap());
    assert!(t.note.unwrap().contains("later instant taken"));
    let nb = Utc.with_ymd_and_hms(2025, 10, 26, 0, 29, 0).unwrap();
    let t = resolve_local(at(2025, 10, 26, 1, 30, 0), LONDON, Some(nb)).unwrap();
    assert_eq!(t.utc, Utc.with_ymd_and_hms(2025, 10, 26, 0, 30, 0).unwrap());
    // Extensions: 2–5 digits, never an emergency or service number.
    for x in ["10", "100", "201", "2024", "20245"] {
        assert!(is_extension(x), "{x}");
    }
    for x in [
        "1", "999", "112", "111", "101", "105", "119", "202456", "20a", "+201", "",
    ] {
        assert!(!is_extension(x), "{x}");
    }
    assert_eq!("3cx".parse::<Layout>().unwrap(), Layout::ThreeCx);
    assert_eq!("FreePBX".parse::<Layout>().unwrap(), Layout::FreePbx);
    assert!("avaya".parse::<Layout>().is_err());
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn ulaw(secs: usize, seed: u32) -> Vec<u8> {
    wav_g711(8000, &speechlike(8000, secs, seed), true)
}

#[test]
fn planner_understands_a_freepbx_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("monitor");
    write(
        &dir,
        "2025/06/02/force-202-07700900140-20250602-100000-1748854790.1.wav",
        &ulaw(1, 1),
    );
    write(
        &dir,
        "2025/06/02/generic-07700900141-01632960141-20250602-100100-1748854850.2.wav",
        &ulaw(1, 2),
    );
    write(
        &dir,
        "2025/06/02/in-01632960000-202-20250602-100200-1748854910.3.wav",
        &ulaw(1, 3),
    );
    // Named an hour earlier than the channel was created: the zone given is probably wrong.
    write(
        &dir,
        "2025/06/02/in-01632960000-07700900142-20250602-090300-1748854970.4.wav",
        &ulaw(1, 4),
    );
    let cdr = tmp.path().join("oreka.csv");
    std::fs::write(&cdr, "filename,direction\nx.wav,in\n").unwrap();
    let e = layout::plan(&dir, Layout::FreePbx, LONDON, Some(&cdr)).unwrap_err();
    assert!(e.to_string().contains("not a FreePBX CDR export"), "{e}");
    let e = layout::plan(&dir, Layout::ThreeCx, LONDON, Some(&cdr)).unwrap_err();
    assert!(
        e.to_string()
            .contains("--cdr is not used by the 3cx layout"),
        "{e}"
    );
    let plan = layout::plan(&dir, Layout::Auto, LONDON, None).unwrap();
    assert!(plan.rejected.is_empty(), "{:?}", plan.rejected);
    let u: BTreeMap<&str, &layout::Understood> = plan
        .understood
        .iter()
        .map(|u| {
            (
                u.file
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .split('-')
                    .next()
                    .unwrap(),
                u,
            )
        })
        .collect();
    // force: an outside number calling extension 202.
    assert_eq!(u["force"].direction, Direction::Inbound);
    assert_eq!(u["force"].extension.as_deref(), Some("202"));
    assert_eq!(u["force"].external_number.as_deref(), Some("07700900140"));
    // generic between two outside numbers: inbound, assumed and said.
    assert_eq!(u["generic"].direction, Direction::Inbound);
    assert!(u["generic"].direction_assumed);
    assert!(u["generic"]
        .notes
        .as_deref()
        .unwrap()
        .contains("recorded as inbound"));
    // in from an extension: internal.
    let find = |part: &str| {
        plan.understood
            .iter()
            .find(|x| x.file.contains(part))
            .unwrap()
    };
    let internal = find("/in-01632960000-202-");
    assert_eq!(internal.direction, Direction::Internal);
    assert_eq!(internal.extension.as_deref(), Some("202"));
    assert_eq!(internal.external_number, None);
    // Named an hour before its channel existed: said in the notes.
    let odd = find("/in-01632960000-07700900142-");
    assert!(odd
        .notes
        .as_deref()
        .unwrap()
        .contains("does not fit the call's uniqueid"));
    // Sources and understood records agree.
    assert_eq!(plan.calls.len(), plan.understood.len());
    for (c, u) in plan.calls.iter().zip(&plan.understood) {
        assert_eq!(c.source.name, u.file);
        assert_eq!(
            callvault_core::time::rfc3339(c.source.started_at),
            u.started_at
        );
        assert_eq!(c.source.notes, u.notes);
        assert!(
            c.source.bytes.is_empty(),
            "audio is read later, batch by batch"
        );
    }
    // Between planning and reading, one file goes and one grows (still being written).
    let gone = plan.calls[0].path.clone();
    let grows = plan.calls[1].path.clone();
    std::fs::remove_file(&gone).unwrap();
    let mut more = std::fs::read(&grows).unwrap();
    more.extend_from_slice(&[0u8; 160]);
    std::fs::write(&grows, more).unwrap();
    let (sources, rejected) = plan.into_sources();
    assert_eq!(sources.len(), 2);
    assert!(sources.iter().all(|s| !s.bytes.is_empty()));
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected[0]
            .reason
            .starts_with("cannot read the file (it is gone)"),
        "{:?}",
        rejected[0]
    );
    assert!(
        rejected[1].reason.contains("changed while importing"),
        "{:?}",
        rejected[1]
    );
}

const ADMIN: (&str, &str) = ("dana.dc", "dc-pass-1234");

/// Every file under the archive with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn dry_run_writes_nothing_and_progress_reaches_the_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let data = tmp.path().join("device");
    session::init_in(
        &archive,
        &data,
        ADMIN.0,
        &Password::new(ADMIN.1),
        KdfChoice::Fast,
    )
    .await
    .unwrap();
    let mut s = Session::logon_in(&archive, &data, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    // 300 short calls (more than one batch) in the 3CX layout, and one that is not audio.
    let dir = tmp.path().join("Recordings");
    for i in 0..300u32 {
        let t = at(2025, 5, 1 + i / 60, 8 + (i % 60) / 10, i % 60, 0);
        write(
            &dir,
            &format!(
                "201/[Caller {i}]_07700900{:03}-201_{}({i}).wav",
                i % 1000,
                t.format("%Y%m%d%H%M%S")
            ),
            &wav_g711(8000, &speechlike(8000, 1, 1000 + i)[..800], true),
        );
    }
    write(
        &dir,
        "201/[Nobody]_07700900999-201_20250501120000(999).wav",
        b"not audio",
    );
    let before = snapshot(&archive);
    let rep = s
        .import_layout(
            &dir,
            ImportOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        snapshot(&archive),
        before,
        "a dry run writes nothing to the archive"
    );
    assert!(rep.dry_run);
    assert_eq!(rep.understood.len(), 301);
    assert!(rep.report.imported.is_empty());
    assert_eq!(rep.report.rejected.len(), 1);
    assert_eq!(
        rep.unassigned, 300,
        "nobody has extension 201 in this archive"
    );
    assert!(rep.understood[..300]
        .iter()
        .all(|u| u.outcome.as_deref() == Some("import")));
    // The real import, with progress.
    let seen: Arc<Mutex<Vec<ImportProgress>>> = Arc::default();
    let log = seen.clone();
    let rep = s
        .import_layout(
            &dir,
            ImportOptions {
                layout: Layout::ThreeCx,
                progress: Some(Box::new(move |p| log.lock().unwrap().push(p))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rep.report.imported.len(), 300);
    assert_eq!(rep.report.rejected.len(), 1);
    assert!(rep.report.rejected[0].reason.contains("audio"));
    assert_eq!(rep.unassigned, 300);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 3, "start, then one per batch: {seen:?}");
    assert_eq!(seen[0].files, 0);
    let last = seen.last().unwrap();
    assert_eq!(
        (last.files, last.bytes),
        (last.files_total, last.bytes_total)
    );
    assert_eq!(last.files_total, 301);
    assert!(seen
        .windows(2)
        .all(|w| w[0].files < w[1].files && w[0].bytes < w[1].bytes));
    assert_ne!(snapshot(&archive), before);
    s.close().await;
}
