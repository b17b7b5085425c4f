//! Segment readers (issue 18, item 2; FORMAT.md, "Segment readers"): a journal segment's key is
//! wrapped, besides the metadata key, to the parties of its entries — the staff on a call, whoever
//! it was assigned to, a request's raiser — or sealed for every user when its entries name no
//! patient. Tried as an insider's own tool would, with the core's low-level functions and a
//! user's own secret seed and `dedup` (no metadata seed): each opens exactly the entries about
//! them, a compacted segment keeps its readers, and every segment's readers are those the rule
//! gives its entries.

use callvault_core::archive::journal::{self, Direction, JournalEntry};
use callvault_core::archive::readers::PartyKeys;
use callvault_core::archive::Archive;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::requests::{Purpose, RequestDetails, RequestEvent, Right};
use callvault_core::secret::{Key32, Password};
use callvault_core::session::{self, KdfChoice, Session};
use callvault_core::users;
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{Duration, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet};

const ROOT: (&str, &str) = ("root.admin", "root-pass-1234");
const GP: (&str, &str) = ("gp.partner", "gp-pass-12345");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const CLIN: (&str, &str) = ("dr.cal", "clin-pass-1234");
const RECEP: (&str, &str) = ("rae.recep", "recep-pass-123");

fn call(i: u32, ext: &str) -> CallSource {
    CallSource {
        name: format!("r{i}.wav"),
        bytes: wav_g711(8000, &speechlike(8000, 2, 40 + i), true),
        started_at: Utc.with_ymd_and_hms(2026, 6, i, 9, 0, 0).unwrap(),
        direction: Direction::Inbound,
        staff: None,
        extension: Some(ext.into()),
        external_number: Some(format!("07700 90072{i}")),
        parties: vec![format!("Reader Caller {i}")],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

async fn logon(archive: &std::path::Path, data: &std::path::Path, u: (&str, &str)) -> Session {
    Session::logon_in(archive, data, u.0, &Password::new(u.1))
        .await
        .unwrap()
}

/// A user's own secret seed and `dedup` seed, opened with their password.
fn own_keys(a: &Archive, u: (&str, &str)) -> (String, Key32, Key32) {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    let bag = users::open_keybag(&rec, &un.secret).unwrap();
    let dedup = bag.get("dedup").unwrap().clone();
    (uid, un.secret, dedup)
}

/// Every current segment on the share: (device, seq, gen, path, bytes).
fn segments(a: &Archive) -> Vec<(String, u64, u32, String, Vec<u8>)> {
    let mut out = vec![];
    for dev in a.list("journal").unwrap() {
        for (seq, (gen, name)) in journal::list_device(a, &dev).unwrap().current {
            let rel = format!("journal/{dev}/{name}");
            let bytes = a.read(&rel).unwrap();
            out.push((dev.clone(), seq, gen, rel, bytes));
        }
    }
    out
}

/// What one entry is, for comparing: its kind and what it is about.
fn about(e: &JournalEntry) -> String {
    match e {
        JournalEntry::Recording(m) => format!("recording {}", m.id),
        JournalEntry::Request(r) => format!("request {}", r.request),
        JournalEntry::Tombstone(t) => format!("tombstone {}", t.recording),
        JournalEntry::Assign(x) => format!("assign {}", x.recording),
        JournalEntry::Consent(c) => format!("consent {}", c.recording),
        JournalEntry::RecordingCopy(c) => format!("copy {}", c.recording),
        JournalEntry::Hold(_) => "hold".into(),
        other => other.kind_name().to_string(),
    }
}

#[tokio::test]
async fn each_party_opens_exactly_the_entries_about_them() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let data = tmp.path().join("pc");
    session::init_in(
        &archive,
        &data,
        ROOT.0,
        &Password::new(ROOT.1),
        KdfChoice::Fast,
    )
    .await
    .unwrap();
    let mut root = logon(&archive, &data, ROOT).await;
    for (u, roles, tel) in [
        (GP, vec![Role::Approver], None),
        (SUP, vec![Role::Supervisor], None),
        (CLIN, vec![Role::Clinician], Some("201")),
        (RECEP, vec![Role::Staff], Some("101")),
    ] {
        let tel: Vec<String> = tel.into_iter().map(String::from).collect();
        root.add_user(u.0, &roles, &tel, &Password::new(u.1))
            .await
            .unwrap();
    }
    // One import: the clinician's call, two of the receptionist's, one nobody's.
    let rep = root
        .import_sources(vec![
            call(1, "201"),
            call(2, "101"),
            call(3, "101"),
            call(4, "999"),
        ])
        .await
        .unwrap();
    let c: Vec<String> = rep.imported.iter().map(|i| i.id.clone()).collect();
    root.set_setting("practice-name", "Made-up Surgery")
        .await
        .unwrap();
    root.close().await;

    let raise = |why: &str| RequestDetails {
        purpose: Some(Purpose::Complaint),
        reason: why.into(),
        ..Default::default()
    };
    let mut s = logon(&archive, &data, RECEP).await;
    let recep_req = s.raise_request(raise("caller complained")).await.unwrap();
    s.close().await;
    let mut s = logon(&archive, &data, CLIN).await;
    let clin_req = s.raise_request(raise("patient unhappy")).await.unwrap();
    s.close().await;
    let mut gp = logon(&archive, &data, GP).await;
    gp.approve(
        &recep_req,
        &c[1..2],
        Utc::now() + Duration::days(3),
        &[Right::Listen],
    )
    .await
    .unwrap();
    gp.close().await;
    let mut sup = logon(&archive, &data, SUP).await;
    sup.assign(&c[3], CLIN.0).await.unwrap();
    sup.add_hold(&c[0..1], "complaint under investigation", None)
        .await
        .unwrap();
    sup.close().await;
    // The receptionist's second call is deleted: its tombstone is hers to read, and the segment
    // that held both her calls is rewritten without it, still readable by her.
    let mut root = logon(&archive, &data, ROOT).await;
    root.delete(&c[2..3], "recorded in error").await.unwrap();
    root.close().await;

    let a = Archive::open(&archive).unwrap();
    let segs = segments(&a);
    assert!(
        segs.iter().any(|s| s.2 > 0),
        "the deletion compacted a segment"
    );
    let signers = {
        let s = logon(&archive, &data, ROOT).await;
        let k = s.signer_keys();
        s.close().await;
        k
    };

    let opened = |u: (&str, &str)| -> BTreeSet<String> {
        let (uid, secret, dedup) = own_keys(&a, u);
        let keys = PartyKeys {
            uid: &uid,
            secret: &secret,
            dedup: Some(&dedup),
        };
        let mut got = BTreeSet::new();
        for (dev, seq, gen, rel, bytes) in &segs {
            if let Some((_, entries, _)) =
                journal::open_segment_as_party(bytes, &keys, dev, *seq, *gen, &signers, rel)
                    .unwrap_or_else(|e| panic!("{rel}: {e}"))
            {
                got.extend(entries.iter().map(about));
            }
        }
        got
    };
    let only_about = |got: &BTreeSet<String>| -> BTreeSet<String> {
        got.iter()
            .filter(|x| x.contains(' '))
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();

    let recep = opened(RECEP);
    assert_eq!(
        only_about(&recep),
        set(&[
            format!("recording {}", c[1]),
            format!("request {recep_req}"),
            format!("tombstone {}", c[2]),
        ]),
        "the receptionist opens her call, her request and her deleted call's tombstone"
    );
    let clin = opened(CLIN);
    assert_eq!(
        only_about(&clin),
        set(&[
            format!("recording {}", c[0]),
            format!("request {clin_req}"),
            format!("assign {}", c[3]),
            format!("copy {}", c[3]),
        ]),
        "the clinician opens her call, her request and the call assigned to her"
    );
    // Entries that name no patient are everyone's: the setting, the users' checkpoints.
    for got in [&recep, &clin] {
        for k in ["setting", "user_checkpoint"] {
            assert!(got.contains(k), "{k} missing from {got:?}");
        }
        assert!(!got.contains("hold"), "a legal hold is not a party's");
    }
    // The approval of her request (with the key it hands over) is the receptionist's to read.
    let (uid, secret, dedup) = own_keys(&a, RECEP);
    let keys = PartyKeys {
        uid: &uid,
        secret: &secret,
        dedup: Some(&dedup),
    };
    let approved = segs.iter().any(|(dev, seq, gen, rel, bytes)| {
        journal::open_segment_as_party(bytes, &keys, dev, *seq, *gen, &signers, rel)
            .unwrap()
            .is_some_and(|(_, e, _)| {
                e.iter().any(|e| {
                    matches!(e, JournalEntry::Request(r)
                        if r.request == recep_req && matches!(r.event, RequestEvent::Approved { .. }))
                })
            })
    });
    assert!(approved, "the approval reaches its requester");

    // The call assigned to the clinician reaches her as a copy of its importer's own entry, proved
    // by the importer's signature; altered, it is refused.
    let (uid, secret, dedup) = own_keys(&a, CLIN);
    let keys = PartyKeys {
        uid: &uid,
        secret: &secret,
        dedup: Some(&dedup),
    };
    let copy = segs
        .iter()
        .find_map(|(dev, seq, gen, rel, bytes)| {
            journal::open_segment_as_party(bytes, &keys, dev, *seq, *gen, &signers, rel)
                .unwrap()
                .and_then(|(_, e, _)| {
                    e.into_iter().find_map(|e| match e {
                        JournalEntry::RecordingCopy(c) => Some(c),
                        _ => None,
                    })
                })
        })
        .expect("the clinician reads the assigned call's copy");
    assert_eq!(copy.entry.id, c[3]);
    assert_eq!(copy.to, uid);
    assert_eq!(copy.entry.external_number.as_deref(), Some("07700 900724"));
    journal::check_copy(&copy, &signers, "copy").unwrap();
    let mut forged = copy.clone();
    forged.entry.external_number = Some("07700 900999".into());
    assert!(journal::check_copy(&forged, &signers, "copy").is_err());
    let mut moved = copy.clone();
    moved.seq += 1;
    assert!(journal::check_copy(&moved, &signers, "copy").is_err());

    // The writers' rule, checked on every segment with the metadata key: a segment's readers are
    // exactly the parties of each entry in it (or everyone, or nobody else).
    let root_bag = {
        let uid = users::uid_for(&a, ROOT.0).unwrap();
        let rec = users::load_latest(&a, &uid).unwrap().unwrap();
        let un = users::unlock(&a, &rec, &Password::new(ROOT.1)).unwrap();
        users::open_keybag(&rec, &un.secret).unwrap()
    };
    let metadata = callvault_core::users::callkey::KeyRing::one(root_bag.get("metadata").unwrap());
    // Each segment's entries and its readers as the header names them.
    type Read = (Vec<JournalEntry>, (Vec<String>, bool));
    let mut all: Vec<Read> = vec![];
    for (dev, seq, gen, rel, bytes) in &segs {
        let (_, entries, _) =
            journal::open_segment_signed(bytes, &metadata, dev, *seq, *gen, &signers, rel).unwrap();
        all.push((entries, journal::segment_readers(bytes, rel).unwrap()));
    }
    let mut parties: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut raiser: BTreeMap<String, String> = BTreeMap::new();
    for (entries, _) in &all {
        for e in entries {
            match e {
                JournalEntry::Recording(m) => {
                    parties
                        .entry(m.id.clone())
                        .or_default()
                        .extend(m.staff_uid.iter().chain(&m.party_uids).cloned());
                }
                JournalEntry::Assign(x) => {
                    parties
                        .entry(x.recording.clone())
                        .or_default()
                        .insert(x.staff_uid.clone());
                }
                JournalEntry::Request(r) if matches!(r.event, RequestEvent::Raised(_)) => {
                    raiser.insert(r.request.clone(), r.by.clone());
                }
                _ => {}
            }
        }
    }
    let tomb_uid = users::uid_for(&a, RECEP.0).unwrap();
    for (entries, (to, everyone)) in &all {
        let to: BTreeSet<String> = to.iter().cloned().collect();
        for e in entries {
            let (want_to, want_everyone): (BTreeSet<String>, bool) = match e {
                JournalEntry::Recording(m) => (
                    m.staff_uid.iter().chain(&m.party_uids).cloned().collect(),
                    false,
                ),
                JournalEntry::Assign(x) => ([x.staff_uid.clone()].into(), false),
                JournalEntry::RecordingCopy(x) => ([x.to.clone()].into(), false),
                JournalEntry::Request(r) => ([raiser[&r.request].clone()].into(), false),
                // The deleted call's record is gone from the journal: its party was hers.
                JournalEntry::Tombstone(_) => ([tomb_uid.clone()].into(), false),
                JournalEntry::Consent(x) => (parties[&x.recording].clone(), false),
                JournalEntry::Hold(_) | JournalEntry::HoldRelease(_) => (BTreeSet::new(), false),
                _ => (BTreeSet::new(), true),
            };
            assert_eq!(
                (&to, *everyone),
                (&want_to, want_everyone),
                "{} is in a segment for the wrong readers",
                about(e)
            );
        }
    }

    // Every segment commits to its key: one whose commitment its writer altered (and signed
    // again) is refused by a party and by a holder of the metadata key alike.
    let (uid, secret, dedup) = own_keys(&a, RECEP);
    let (dev, seq, gen, rel, bytes) = segs
        .iter()
        .find(|(_, _, g, _, b)| {
            *g == 0 && journal::segment_readers(b, "s").is_ok_and(|(to, _)| to == vec![uid.clone()])
        })
        .cloned()
        .expect("a segment for the receptionist");
    let (h, body, _, _) =
        callvault_core::archive::split_signed(&bytes, journal::MAGIC, "s").unwrap();
    let mut header: serde_json::Value = serde_json::from_slice(h).unwrap();
    assert!(header["kc"].is_string(), "{header}");
    header["kc"] = serde_json::Value::String("0".repeat(32));
    let h2 = serde_json::to_vec(&header).unwrap();
    let seed = users::user_signing_seed(&secret);
    let forged = callvault_core::archive::join_signed(
        journal::MAGIC,
        &h2,
        body,
        journal::SIG_DOMAIN,
        Some(&callvault_core::archive::Signer {
            uid: &uid,
            seed: &seed,
        }),
    );
    let keys = PartyKeys {
        uid: &uid,
        secret: &secret,
        dedup: Some(&dedup),
    };
    let e = journal::open_segment_as_party(&forged, &keys, &dev, seq, gen, &signers, &rel)
        .unwrap_err()
        .to_string();
    assert!(e.contains("commitment"), "{e}");
    let e = journal::open_segment_signed(&forged, &metadata, &dev, seq, gen, &signers, &rel)
        .unwrap_err()
        .to_string();
    assert!(e.contains("commitment"), "{e}");
    // Unaltered, both open it.
    assert!(
        journal::open_segment_as_party(&bytes, &keys, &dev, seq, gen, &signers, &rel)
            .unwrap()
            .is_some()
    );

    // An erasure the receptionist asked for: once it is carried out, its `raised` event is gone
    // from the journal, and its later events still reach her through the `erased` event.
    let mut s = logon(&archive, &data, RECEP).await;
    let erase_req = s
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Erasure),
            reason: "caller asks for the recording to be erased".into(),
            number: Some("07700900722".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.close().await;
    let mut root = logon(&archive, &data, ROOT).await;
    root.approve(
        &erase_req,
        &c[1..2],
        Utc::now() + Duration::days(7),
        &[Right::Export],
    )
    .await
    .unwrap();
    root.erase(&erase_req).await.unwrap();
    root.close().await;
    let mut events = BTreeSet::new();
    for (dev, seq, gen, rel, bytes) in segments(&a) {
        if let Some((_, entries, _)) =
            journal::open_segment_as_party(&bytes, &keys, &dev, seq, gen, &signers, &rel).unwrap()
        {
            for e in entries {
                if let JournalEntry::Request(r) = e {
                    if r.request == erase_req {
                        events.insert(
                            format!("{:?}", r.event)
                                .split([' ', '{', '('])
                                .next()
                                .unwrap()
                                .to_string(),
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        events,
        ["Approved", "Completed", "Erased"].map(String::from).into(),
        "the erasure's outcome reaches its raiser"
    );
}
