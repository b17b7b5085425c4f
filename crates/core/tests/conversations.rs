//! Transferred and split calls stitched (issue 21, item 2): a FreePBX spool and CDR where one
//! patient's call was transferred twice (three legs sharing Asterisk's `linkedid`), an unrelated
//! call names the same linkedid (a fault, or an importer's attempt to pull it in), and another
//! patient was cut off and rang straight back (no linkedid: joined by number and time). Search and
//! the call page show one conversation; the whole conversation plays its legs in order, sample for
//! sample; an approval of one leg covers the others and nothing else; a leg added after the
//! approval is not covered; a clinician sees only the legs of their own calls.

use callvault_core::audio::decode::{decode_all, Playable};
use callvault_core::conversation::JoinedBy;
use callvault_core::ingest::layout::Layout;
use callvault_core::policy::Role;
use callvault_core::requests::{Purpose, RequestDetails, Right};
use callvault_core::secret::Password;
use callvault_core::session::ingest::ImportOptions;
use callvault_core::session::{self, AuditFilter, KdfChoice, SearchQuery, Session};
use callvault_core::Error;
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{Duration, Utc};
use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const GP: (&str, &str) = ("dr.gwen.partner", "gp-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");
const STAFF: (&str, &str) = ("rae.reception", "staff-pass-1234");

/// 2026-11-30 09:00:00 UTC (GMT: the wall clock is UTC), in epoch seconds.
const T0: i64 = 1_796_029_200;
const PATIENT: &str = "07700900301";
const SPLIT: &str = "07700900302";

/// One call of the fixture: seconds after 09:00, caller, answering extension, seconds of audio,
/// sequence (the uniqueid's), linkedid (a sequence's uniqueid) if the CDR gives one.
struct Leg {
    at: i64,
    from: &'static str,
    ext: &'static str,
    secs: usize,
    seq: u32,
    linked: Option<i64>,
}

fn uniqueid(at: i64, seq: u32) -> String {
    format!("{}.{seq}", T0 + at)
}

impl Leg {
    fn file(&self) -> String {
        let t = chrono::DateTime::from_timestamp(T0 + self.at, 0).unwrap();
        format!(
            "in-01632960000-{}-{}-{}.wav",
            self.from,
            t.format("%Y%m%d-%H%M%S"),
            uniqueid(self.at, self.seq)
        )
    }
    fn audio(&self) -> Vec<u8> {
        wav_g711(8000, &speechlike(8000, self.secs, 100 + self.seq), true)
    }
    fn cdr_row(&self) -> String {
        let t = chrono::DateTime::from_timestamp(T0 + self.at, 0).unwrap();
        format!(
            "{},\"\" <{from}>,{from},600,PJSIP/trunk-1,PJSIP/{}-{},ANSWERED,{},{},{},{},{}\n",
            t.format("%Y-%m-%d %H:%M:%S"),
            self.ext,
            self.seq,
            self.secs + 2,
            self.secs,
            uniqueid(self.at, self.seq),
            self.linked
                .map(|s| uniqueid(0, s as u32))
                .unwrap_or_default(),
            self.file(),
            from = self.from,
        )
    }
}

const FIXTURE: [Leg; 7] = [
    // The patient's call: reception (101), transferred to Dr One (201), then to Dr Partner (203).
    Leg {
        at: 0,
        from: PATIENT,
        ext: "101",
        secs: 10,
        seq: 1,
        linked: Some(1),
    },
    Leg {
        at: 12,
        from: PATIENT,
        ext: "201",
        secs: 8,
        seq: 2,
        linked: Some(1),
    },
    Leg {
        at: 22,
        from: PATIENT,
        ext: "203",
        secs: 6,
        seq: 3,
        linked: Some(1),
    },
    // Another caller's call that names the same linkedid.
    Leg {
        at: 15,
        from: "07700900399",
        ext: "101",
        secs: 5,
        seq: 4,
        linked: Some(1),
    },
    // Cut off after 5 s and rang back 25 s later; and again two hours on (another call).
    Leg {
        at: 600,
        from: SPLIT,
        ext: "101",
        secs: 5,
        seq: 5,
        linked: None,
    },
    Leg {
        at: 630,
        from: SPLIT,
        ext: "101",
        secs: 7,
        seq: 6,
        linked: None,
    },
    Leg {
        at: 7200,
        from: SPLIT,
        ext: "101",
        secs: 4,
        seq: 7,
        linked: None,
    },
];

const HEADER: &str =
    "calldate,clid,src,dst,channel,dstchannel,disposition,duration,billsec,uniqueid,linkedid,recordingfile\n";

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
}

async fn import(s: &mut Session, dir: &Path, legs: &[&Leg]) -> usize {
    let spool = dir.join("monitor/2026/11/30");
    std::fs::create_dir_all(&spool).unwrap();
    let mut cdr = String::from(HEADER);
    for l in legs {
        std::fs::write(spool.join(l.file()), l.audio()).unwrap();
        cdr += &l.cdr_row();
    }
    std::fs::write(dir.join("cdr.csv"), cdr).unwrap();
    let opts = |dry_run| ImportOptions {
        layout: Layout::FreePbx,
        tz: None,
        cdr: Some(dir.join("cdr.csv")),
        manifest: None,
        dry_run,
        progress: None,
    };
    // The dry run shows each leg's conversation as the CDR names it.
    let dry = s
        .import_layout(&dir.join("monitor"), opts(true))
        .await
        .unwrap();
    for l in legs {
        let u = dry
            .understood
            .iter()
            .find(|u| u.file.ends_with(&l.file()))
            .unwrap();
        let want = l
            .linked
            .map(|s| format!("freepbx:{}", uniqueid(0, s as u32)));
        assert_eq!(u.conversation, want, "{}", l.file());
        // A linkedid shared with a call from another number is named, with both CDR lines.
        let shared = u.remarks.iter().find(|r| r.contains("field 'linkedid'"));
        let clash = l.linked.is_some()
            && legs
                .iter()
                .any(|o| o.linked == l.linked && o.from != l.from);
        match shared {
            Some(r) => {
                assert!(clash && r.contains("a call from another number"), "{r}");
                // Its own line (the header is line 1), and the first other caller's line.
                let own = legs.iter().position(|o| o.seq == l.seq).unwrap() + 2;
                let other = legs
                    .iter()
                    .position(|o| o.linked == l.linked && o.from != l.from)
                    .unwrap()
                    + 2;
                assert!(r.contains(&format!("line {own}: ")), "{r}");
                assert!(r.contains(&format!("shared with line {other},")), "{r}");
            }
            None => assert!(!clash, "{}: no remark in {:?}", l.file(), u.remarks),
        }
    }
    let rep = s
        .import_layout(&dir.join("monitor"), opts(false))
        .await
        .unwrap();
    rep.report.imported.len()
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("device");
        session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut s = Session::logon_in(&archive, &data, DC.0, &Password::new(DC.1))
            .await
            .unwrap();
        for (u, roles, tel) in [
            (SUP, vec![Role::Supervisor], vec![]),
            (GP, vec![Role::Approver, Role::Clinician], vec!["203"]),
            (CLIN, vec![Role::Clinician], vec!["201"]),
            (STAFF, vec![Role::Staff], vec!["101"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            s.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        let legs: Vec<&Leg> = FIXTURE.iter().collect();
        assert_eq!(import(&mut s, &tmp.path().join("first"), &legs).await, 7);
        s.close().await;
        World { tmp, archive, data }
    }

    async fn as_(&self, who: (&str, &str)) -> Session {
        Session::logon_in(&self.archive, &self.data, who.0, &Password::new(who.1))
            .await
            .unwrap()
    }
}

/// The recording ids of the fixture's calls, by sequence.
async fn ids(s: &Session) -> Vec<(u32, String)> {
    let all = s
        .search(&SearchQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out: Vec<(u32, String)> = all
        .into_iter()
        .map(|r| {
            let seq = r
                .source_name
                .trim_end_matches(".wav")
                .rsplit('.')
                .next()
                .unwrap();
            (seq.parse().unwrap(), r.id)
        })
        .collect();
    out.sort();
    out
}

fn id(all: &[(u32, String)], seq: u32) -> String {
    all.iter().find(|(s, _)| *s == seq).unwrap().1.clone()
}

/// A complaint about the calls from `number`, raised by the supervisor and approved for listening
/// by the partner, who chose `chosen`: (the request, the recordings its approval names).
async fn approved_complaint(w: &World, number: &str, chosen: &[String]) -> (String, Vec<String>) {
    let mut sup = w.as_(SUP).await;
    let rid = sup
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Complaint),
            reason: format!("the caller on {number} complains of how the call was handled"),
            number: Some(number.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    sup.close().await;
    let mut gp = w.as_(GP).await;
    gp.approve(
        &rid,
        chosen,
        Utc::now() + Duration::days(7),
        &[Right::Listen],
    )
    .await
    .unwrap();
    let approved = gp.request(&rid).await.unwrap().approved_recordings;
    gp.close().await;
    (rid, approved)
}

fn pcm(leg: &Leg) -> Vec<f32> {
    decode_all(Cursor::new(leg.audio()), Some("wav"), "want")
        .unwrap()
        .0
}

fn drain(p: &mut impl Playable) -> Vec<f32> {
    let mut out = vec![];
    while let Some(b) = p.next_block().unwrap() {
        out.extend(b);
    }
    out
}

#[tokio::test]
async fn a_call_transferred_twice_is_one_conversation_and_a_call_only_naming_its_linkedid_is_not() {
    let w = World::new().await;
    let dc = w.as_(DC).await;
    let all = ids(&dc).await;
    let legs = [id(&all, 1), id(&all, 2), id(&all, 3)];
    // A search by the patient's number shows each leg with the whole conversation, in order.
    let found = dc
        .search(&SearchQuery {
            number: Some("+44 7700 900301".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    for r in &found {
        let c = r.conversation.as_ref().expect("a leg of a conversation");
        assert_eq!(c.joined_by, JoinedBy::PhoneSystem);
        let order: Vec<&str> = c.legs.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(order, legs.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(legs[c.leg - 1], r.id);
        // Each leg is shown with its own staff member, as its own page shows it.
        for l in &c.legs {
            assert_eq!(l.staff, dc.show(&l.id).await.unwrap().staff);
        }
        assert_eq!(c.legs[1].staff.as_deref(), Some(CLIN.0));
        assert_eq!(c.legs[2].staff.as_deref(), Some(GP.0));
    }
    // The other caller's call names the linkedid but is not joined, nor joins it.
    assert_eq!(dc.show(&id(&all, 4)).await.unwrap().conversation, None);
    // The call cut off and rung back is one conversation, by number and time; two hours on is not.
    let split = dc.show(&id(&all, 6)).await.unwrap().conversation.unwrap();
    assert_eq!(split.joined_by, JoinedBy::NumberAndTime);
    let order: Vec<String> = split.legs.iter().map(|l| l.id.clone()).collect();
    assert_eq!(order, [id(&all, 5), id(&all, 6)]);
    assert_eq!(split.leg, 2);
    assert_eq!(dc.show(&id(&all, 7)).await.unwrap().conversation, None);
    dc.close().await;
    // A clinician sees only their own leg: no conversation, nothing of the others, and asking to
    // play the conversation is refused as there is none for them.
    let clin = w.as_(CLIN).await;
    let own = id(&all, 2);
    assert_eq!(clin.show(&own).await.unwrap().conversation, None);
    match clin
        .open_conversation_for_listening(&own, None, Some("my call"))
        .await
    {
        Err(Error::NotFound(m)) => assert!(m.contains("not one leg"), "{m}"),
        other => panic!("expected 'not a conversation', got {:?}", other.err()),
    }
    clin.close().await;
}

#[tokio::test]
async fn an_approval_of_one_leg_covers_the_conversation_which_plays_in_order_sample_for_sample() {
    let w = World::new().await;
    let dc = w.as_(DC).await;
    let all = ids(&dc).await;
    dc.close().await;
    let legs = [id(&all, 1), id(&all, 2), id(&all, 3)];
    // The partner approves the leg she was shown; the approval names all three, and not the call
    // that only names the same linkedid.
    let (rid, approved) = approved_complaint(&w, PATIENT, std::slice::from_ref(&legs[1])).await;
    let approved: BTreeSet<String> = approved.into_iter().collect();
    assert_eq!(approved, legs.iter().cloned().collect());
    // The supervisor plays the whole conversation under the request: legs in order, sample for
    // sample, with a join where each leg begins.
    let sup = w.as_(SUP).await;
    let mut c = sup
        .open_conversation_for_listening(&legs[1], Some(&rid), None)
        .await
        .unwrap();
    let want: Vec<Vec<f32>> = FIXTURE[..3].iter().map(pcm).collect();
    let whole: Vec<f32> = want.concat();
    assert_eq!(c.joins_ms, [10_000, 18_000]);
    let grants: Vec<&str> = c.grants.iter().map(|g| g.recording.as_str()).collect();
    assert_eq!(grants, legs.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(c.audio.total_frames(), Some(whole.len() as u64));
    let got = drain(&mut c.audio);
    assert!(
        got == whole,
        "the conversation's audio is not its legs' in order"
    );
    // A seek one second into the third leg plays the third leg from there.
    c.audio.seek(18_000 * 8 + 8000).unwrap();
    assert_eq!(drain(&mut c.audio), want[2][8000..].to_vec());
    // And back into the first: the first leg from there, then the others whole.
    c.audio.seek(4000).unwrap();
    assert!(drain(&mut c.audio) == whole[4000..].to_vec());
    // Each leg's listening was audited as its own recording, under the request.
    sup.close().await;
    let dc = w.as_(DC).await;
    let entries = dc.audit_list(&AuditFilter::default()).await.unwrap();
    for leg in &legs {
        assert!(
            entries.iter().any(|e| e.action == "recording.listen"
                && e.outcome == "allowed"
                && e.targets.contains(leg)
                && e.request.as_deref() == Some(rid.as_str())),
            "no audited listening of leg {leg}"
        );
    }
    assert!(entries.iter().any(|e| e
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("2 more leg(s)"))));
    dc.close().await;
}

#[tokio::test]
async fn a_leg_added_after_the_approval_is_not_covered_and_nothing_plays() {
    let w = World::new().await;
    let dc = w.as_(DC).await;
    let all = ids(&dc).await;
    dc.close().await;
    let legs = [id(&all, 1), id(&all, 2), id(&all, 3)];
    let (rid, approved) = approved_complaint(&w, PATIENT, &legs[..1]).await;
    assert_eq!(approved.len(), 3);
    // Later an importer adds a fourth leg naming the same linkedid, following on in time.
    let late = Leg {
        at: 30,
        from: PATIENT,
        ext: "201",
        secs: 3,
        seq: 8,
        linked: Some(1),
    };
    let mut dc = w.as_(DC).await;
    assert_eq!(
        import(&mut dc, &w.tmp.path().join("later"), &[&late]).await,
        1
    );
    let c = dc.show(&legs[0]).await.unwrap().conversation.unwrap();
    assert_eq!(c.legs.len(), 4);
    let fourth = c.legs[3].id.clone();
    dc.close().await;
    // The approval covered three legs: the conversation of four does not play under it, and the
    // refusal names the leg; each approved leg still plays on its own.
    let sup = w.as_(SUP).await;
    match sup
        .open_conversation_for_listening(&legs[0], Some(&rid), None)
        .await
    {
        Err(Error::Forbidden(m)) => {
            assert!(m.contains("leg 4 of 4"), "{m}");
            assert!(m.contains(&fourth), "{m}");
        }
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    for leg in &legs {
        sup.open_for_listening(leg, Some(&rid), None).await.unwrap();
    }
    sup.close().await;
}

#[tokio::test]
async fn an_approval_never_follows_a_join_by_number_and_time() {
    // A shared number (a care home's, a switchboard's) rings back to back for different patients:
    // shown as one conversation, but approving one call covers that call only.
    let w = World::new().await;
    let dc = w.as_(DC).await;
    let all = ids(&dc).await;
    dc.close().await;
    let (first, second) = (id(&all, 5), id(&all, 6));
    let dc = w.as_(DC).await;
    let c = dc.show(&first).await.unwrap().conversation.unwrap();
    assert_eq!(c.joined_by, JoinedBy::NumberAndTime);
    dc.close().await;
    let (rid, approved) = approved_complaint(&w, SPLIT, std::slice::from_ref(&first)).await;
    assert_eq!(approved, vec![first.clone()]);
    let sup = w.as_(SUP).await;
    match sup
        .open_conversation_for_listening(&first, Some(&rid), None)
        .await
    {
        Err(Error::Forbidden(m)) => assert!(
            m.contains(&format!("leg 2 of 2 (recording {second})")),
            "{m}"
        ),
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    sup.close().await;
}
