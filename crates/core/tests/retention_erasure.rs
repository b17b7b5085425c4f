//! Retention, legal hold and erasure through `Session`: what goes and what stays, on every device;
//! erasure that leaves no personal data anywhere (bytes on disk, or anything the keys decrypt);
//! tombstones that stop deleted audio coming back; certificates bound to the audit trail.

use callvault_core::archive::journal::Direction;
use callvault_core::archive::Archive;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::requests::{Purpose, RequestDetails, Right};
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, SearchQuery, Session};
use callvault_testkit::demo::{speechlike, wav_pcm16};
use chrono::{Duration, Months, Utc};
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dee.controller", "dc-pass-1234");
const SUP: (&str, &str) = ("stu.supervisor", "sup-pass-1234");
const STAFF: (&str, &str) = ("ria.reception", "staff-pass-1234");

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let w = World { archive, tmp };
        session::init_in(
            &w.archive,
            &w.dev("pc"),
            DC.0,
            &Password::new(DC.1),
            KdfChoice::Fast,
        )
        .await
        .unwrap();
        let mut s = w.as_(DC, "pc").await;
        s.add_user(SUP.0, &[Role::Supervisor], &[], &Password::new(SUP.1))
            .await
            .unwrap();
        s.add_user(
            STAFF.0,
            &[Role::Staff],
            &["101".into()],
            &Password::new(STAFF.1),
        )
        .await
        .unwrap();
        s.close().await;
        w
    }
    fn dev(&self, name: &str) -> PathBuf {
        self.tmp.path().join("devices").join(name)
    }
    async fn as_(&self, u: (&str, &str), device: &str) -> Session {
        Session::logon_in(&self.archive, &self.dev(device), u.0, &Password::new(u.1))
            .await
            .unwrap()
    }
}

fn call(seed: u32, started: chrono::DateTime<Utc>, number: &str, party: &str) -> CallSource {
    CallSource {
        name: format!("call{seed}.wav"),
        bytes: wav_pcm16(8000, &speechlike(8000, 2, seed)),
        started_at: started,
        direction: Direction::Inbound,
        staff: None,
        extension: Some("101".into()),
        external_number: Some(number.into()),
        parties: vec![party.into()],
        notes: Some(format!("notes about {party}")),
        nhs_numbers: vec![],
        conversation: None,
    }
}

fn ago_months(m: u32) -> chrono::DateTime<Utc> {
    Utc::now().checked_sub_months(Months::new(m)).unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

async fn ids(s: &Session) -> Vec<String> {
    let mut v: Vec<String> = s
        .search(&SearchQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_sweep_deletes_what_is_past_retention_keeps_the_rest_and_held_calls() {
    let w = World::new().await;
    let mut dc = w.as_(DC, "pc").await;
    let rep = dc
        .import_sources(vec![
            call(
                1,
                ago_months(36) - Duration::days(1),
                "07700 900701",
                "Old Caller",
            ),
            call(2, ago_months(24), "07700 900702", "Recent Caller"),
            call(3, ago_months(40), "07700 900703", "Held Caller"),
        ])
        .await
        .unwrap();
    let id: Vec<String> = rep.imported.iter().map(|i| i.id.clone()).collect();
    let hold = dc
        .add_hold(&[id[2].clone()], "complaint under investigation", None)
        .await
        .unwrap();
    // A second device has seen all three.
    let mac = w.as_(SUP, "mac").await;
    assert_eq!(ids(&mac).await.len(), 3);
    mac.close().await;
    let due = dc.retention_due().await.unwrap();
    assert_eq!(due.len(), 2, "{due:?}");
    assert_eq!(
        due.iter()
            .find(|d| d.recording == id[2])
            .unwrap()
            .held_by
            .as_deref(),
        Some(hold.as_str())
    );
    let cert = dc.retention_run().await.unwrap().unwrap();
    assert_eq!(cert.tombstones.len(), 1);
    assert_eq!(cert.tombstones[0].recording, id[0]);
    assert!(cert.tombstones[0]
        .rule
        .as_deref()
        .unwrap()
        .contains("36-month"));
    let mut left = ids(&dc).await;
    left.sort();
    let mut want = vec![id[1].clone(), id[2].clone()];
    want.sort();
    assert_eq!(left, want);
    // Manual deletion of a held call is refused; the hold's release lets it go.
    assert!(dc.delete(&[id[2].clone()], "tidy up").await.is_err());
    dc.release_hold(&hold, "investigation closed")
        .await
        .unwrap();
    dc.delete(&[id[2].clone()], "no longer needed")
        .await
        .unwrap();
    dc.close().await;
    // The second device no longer shows them after its next sync, and nothing returns on rebuild.
    let mac = w.as_(SUP, "mac").await;
    assert_eq!(ids(&mac).await, vec![id[1].clone()]);
    let (mac, _, n) = mac.rebuild_index().await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(ids(&mac).await, vec![id[1].clone()]);
    mac.close().await;
    // The audit trail records each deletion and the hold's life.
    let dc = w.as_(DC, "pc").await;
    let e = dc.audit_list(&AuditFilter::default()).await.unwrap();
    let count = |a: &str, o: &str| e.iter().filter(|x| x.action == a && x.outcome == o).count();
    assert_eq!(count("recording.delete", "allowed"), 2);
    assert_eq!(count("recording.delete", "refused"), 1);
    assert_eq!(count("hold.add", "allowed"), 1);
    assert_eq!(count("hold.release", "allowed"), 1);
    dc.close().await;
}

/// The calls a search by this NHS number finds.
async fn by_nhs(s: &Session, n: &str) -> Vec<callvault_core::session::RecordingView> {
    s.search(&SearchQuery {
        nhs_number: Some(n.to_string()),
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn erasure_leaves_nothing_readable_anywhere_and_the_source_cannot_come_back() {
    let w = World::new().await;
    let mut dc = w.as_(DC, "pc").await;
    let mut victim = call(7, ago_months(3), "07700 900777", "Zelda Quarrington");
    // Her NHS number came with the call, and a supervisor linked it to a second (a mistake kept).
    let (nhs, nhs2) = (
        callvault_testkit::demo::nhs_number(777),
        callvault_testkit::demo::nhs_number(778),
    );
    victim.nhs_numbers = vec![nhs.clone()];
    let keep = call(8, ago_months(3), "07700 900778", "Kept Person");
    let victim_bytes = victim.bytes.clone();
    let rep = dc.import_sources(vec![victim.clone(), keep]).await.unwrap();
    let vid = rep.imported[0].id.clone();
    dc.mark_consent(
        &vid,
        callvault_core::requests::ConsentKind::NotRecorded,
        None,
        None,
    )
    .await
    .ok();
    dc.link_patient(&vid, &nhs2, false).await.unwrap();
    dc.close().await;
    // The other device syncs it too (so its index held the details).
    let mac = w.as_(SUP, "mac").await;
    assert_eq!(ids(&mac).await.len(), 2);
    for n in [&nhs, &nhs2] {
        assert_eq!(
            by_nhs(&mac, n).await.len(),
            1,
            "the other computer has the link"
        );
    }
    mac.search(&SearchQuery {
        party: Some("Quarrington".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    mac.close().await;
    // An erasure request, raised by reception, decided and carried out by the data controller.
    let mut staff = w.as_(STAFF, "pc").await;
    let rid = staff
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Erasure),
            reason: "patient asks for the recording to be erased".into(),
            number: Some("07700900777".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    staff.close().await;
    // The supervisor's computer applies the request (its index holds the details).
    let mac = w.as_(SUP, "mac").await;
    assert_eq!(
        mac.request(&rid).await.unwrap().number.as_deref(),
        Some("07700900777")
    );
    mac.close().await;
    let mut dc = w.as_(DC, "pc").await;
    dc.approve(
        &rid,
        std::slice::from_ref(&vid),
        Utc::now() + Duration::days(7),
        &[Right::Export],
    )
    .await
    .unwrap();
    // A journal file nobody can open (damaged, or planted): it may hold the person's details, so
    // the certificate names it rather than claim it was cleaned.
    let odd = w
        .archive
        .join("journal")
        .join("ee".repeat(16))
        .join("00000000000000ff.cvj");
    std::fs::create_dir_all(odd.parent().unwrap()).unwrap();
    std::fs::write(&odd, b"not a journal segment").unwrap();
    let cert = dc.erase(&rid).await.unwrap();
    assert_eq!(cert.tombstones.len(), 1);
    assert_eq!(cert.request.as_deref(), Some(rid.as_str()));
    assert_eq!(
        cert.uncompacted,
        vec![format!("journal/{}/00000000000000ff.cvj", "ee".repeat(16))]
    );
    std::fs::remove_dir_all(odd.parent().unwrap()).unwrap();
    // What remains of the erasure names the request, never its free text.
    assert_eq!(cert.tombstones[0].reason, format!("erasure request {rid}"));
    // The certificate is bound to the audit files that recorded the erasure, and signed.
    let archive = Archive::open(&w.archive).unwrap();
    let mut h = Vec::new();
    for f in &cert.audit_files {
        h.extend_from_slice(&archive.read(f).unwrap());
    }
    assert_eq!(
        hex::encode(callvault_core::crypto::sha256(&h)),
        cert.audit_sha256
    );
    let (json, html) = cert
        .write(&w.tmp.path().join("certs"), "Made-up Surgery")
        .unwrap();
    assert!(std::fs::read_to_string(&html).unwrap().contains(&vid));
    assert!(std::fs::read_to_string(&json)
        .unwrap()
        .contains("audit_sha256"));
    for f in [&json, &html] {
        assert!(!std::fs::read_to_string(f)
            .unwrap()
            .contains("patient asks for the recording"));
    }
    assert_eq!(
        dc.request(&rid).await.unwrap().state,
        callvault_core::requests::State::Completed
    );
    // Re-importing the erased source is refused, saying why.
    let again = dc.import_sources(vec![victim.clone()]).await.unwrap();
    assert_eq!(again.imported.len(), 0);
    assert!(
        again.rejected[0].reason.contains("deleted on"),
        "{:?}",
        again.rejected
    );
    assert!(again.rejected[0].reason.contains(&rid));
    dc.close().await;
    let mac = w.as_(SUP, "mac").await;
    assert_eq!(
        ids(&mac).await.len(),
        1,
        "the other device dropped it at its sync"
    );
    // Her NHS numbers find nothing any more, there or on a computer new to the archive.
    for n in [&nhs, &nhs2] {
        assert!(
            by_nhs(&mac, n).await.is_empty(),
            "a link outlived the erasure"
        );
    }
    // The erasure request itself is minimised: it says who raised it, when, and that it was
    // carried out; its number and reason are gone, here and on the computer that had them.
    {
        let v = mac.request(&rid).await.unwrap();
        assert_eq!(v.reason, callvault_core::requests::ERASED_REASON);
        assert_eq!((v.number.as_deref(), v.parties.len()), (None, 0));
        assert_eq!(v.raised_by.as_deref(), Some(STAFF.0));
        assert_eq!(v.state, callvault_core::requests::State::Completed);
    }
    mac.close().await;

    // No byte of its number, party name, notes or audio anywhere on disk.
    let mid = victim_bytes.len() / 2;
    let needles: Vec<Vec<u8>> = vec![
        b"07700 900777".to_vec(),
        b"07700900777".to_vec(),
        b"Quarrington".to_vec(),
        b"notes about Zelda".to_vec(),
        nhs.as_bytes().to_vec(),
        nhs2.as_bytes().to_vec(),
        victim_bytes[mid..mid + 64].to_vec(),
    ];
    for root in [w.archive.clone(), w.dev("pc"), w.dev("mac")] {
        for p in files_under(&root) {
            let hay = std::fs::read(&p).unwrap();
            for n in &needles {
                assert!(
                    !hay.windows(n.len()).any(|x| x == n.as_slice()),
                    "{} holds {:?}",
                    p.display(),
                    String::from_utf8_lossy(n)
                );
            }
        }
    }
    // With the keys in hand: every journal segment decrypts to nothing about it.
    let dc = w.as_(DC, "pc").await;
    let seen = dc.journal_dump().await.unwrap();
    for n in [
        "07700 900777",
        "07700900777",
        "Quarrington",
        "notes about Zelda",
        "patient asks for the recording",
    ] {
        assert!(!seen.contains(n), "a journal entry still holds {n}");
    }
    for n in [&nhs, &nhs2] {
        assert!(
            !seen.contains(n.as_str()),
            "a journal entry still holds an NHS number"
        );
    }
    assert!(
        seen.contains("Kept Person"),
        "the other call's details are still there"
    );
    // The audio object and every wrap of its key are gone.
    assert!(!w
        .archive
        .join(callvault_core::archive::audio::object_path(&vid))
        .exists());
    // The audit trail names it only by id and keeps the tombstone's facts.
    let audit =
        serde_json::to_string(&dc.audit_list(&AuditFilter::default()).await.unwrap()).unwrap();
    for n in [
        "07700 900777",
        "07700900777",
        "Quarrington",
        nhs.as_str(),
        nhs2.as_str(),
    ] {
        assert!(!audit.contains(n), "the audit trail holds {n}");
    }
    let t = dc.tombstones().await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].recording, vid);
    dc.close().await;
    // Every journal still verifies (the compacted segments are signed by the data controller).
    let mut dc = w.as_(DC, "pc").await;
    let v = dc.verify().await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    // The data controller may choose to re-import it.
    dc.allow_erased_reimport().unwrap();
    assert_eq!(
        dc.import_sources(vec![victim])
            .await
            .unwrap()
            .imported
            .len(),
        1
    );
    dc.close().await;
}

/// Search criteria in the audit trail are keyed with a key only the audit key's holders can
/// derive (issue 18, item 5): the data controller finds who searched for a number or a name, while
/// a user who holds every other key (the `dedup` seed every user has) cannot try numbers against a
/// copy of the trail — and the searches an earlier build keyed from `dedup` are still found.
#[tokio::test]
async fn who_searched_for_a_number_is_found_only_with_the_audit_key() {
    use callvault_core::audit::{self, AuditEntry, CriteriaKey};
    let w = World::new().await;
    let mut dc = w.as_(DC, "pc").await;
    dc.import_sources(vec![
        call(21, ago_months(1), "07700 900777", "Zelda Quarrington"),
        call(22, ago_months(1), "07700 900778", "Kept Person"),
    ])
    .await
    .unwrap();
    dc.close().await;
    let staff = w.as_(STAFF, "pc").await;
    let found = staff
        .search(&SearchQuery {
            number: Some("07700 900777".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "her own call is found");
    staff.close().await;
    let sup = w.as_(SUP, "mac").await;
    for q in [
        SearchQuery {
            party: Some("Quarrington".into()),
            ..Default::default()
        },
        SearchQuery {
            number: Some("900778".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(sup.search(&q).await.unwrap().len(), 1);
    }
    sup.close().await;

    // An entry as an earlier build wrote it: its criteria keyed from the `dedup` seed.
    let a = Archive::open(&w.archive).unwrap();
    let staff_uid = callvault_core::users::uid_for(&a, STAFF.0).unwrap();
    let sup_uid = callvault_core::users::uid_for(&a, SUP.0).unwrap();
    let rec = callvault_core::users::load_latest(&a, &staff_uid)
        .unwrap()
        .unwrap();
    let un = callvault_core::users::unlock(&a, &rec, &Password::new(STAFF.1)).unwrap();
    let bag = callvault_core::users::open_keybag(&rec, &un.secret).unwrap();
    let dedup = bag.get("dedup").expect("every user holds dedup").clone();
    let legacy = CriteriaKey::legacy(&dedup);
    let old = AuditEntry {
        at: (Utc::now() - Duration::days(400)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        device: "aa".repeat(16),
        actor: Some(staff_uid.clone()),
        action: "search".into(),
        outcome: "allowed".into(),
        targets: vec![],
        detail: Some(format!(
            "fields [number], criteria {{\"number\":\"{}\"}}, 1 results",
            legacy.hash("01632960123")
        )),
        request: None,
        witness: vec![],
    };
    let seed = callvault_core::users::user_signing_seed(&un.secret);
    audit::append(
        &a,
        &"aa".repeat(16),
        &[old],
        Some(&callvault_core::archive::Signer {
            uid: &staff_uid,
            seed: &seed,
        }),
    )
    .unwrap();

    let dc = w.as_(DC, "pc").await;
    let who = |v: &str| {
        let v = v.to_string();
        let dc = &dc;
        async move {
            let f = AuditFilter {
                searched_for: Some(v),
                ..Default::default()
            };
            let mut got: Vec<(String, String)> = dc
                .audit_list(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.actor.unwrap_or_default(), e.action))
                .collect();
            got.sort();
            got
        }
    };
    let staff_search = vec![(staff_uid.clone(), "search".to_string())];
    let sup_search = vec![(sup_uid.clone(), "search".to_string())];
    // Written any way a number is written; a name in any case, whole or in part.
    assert_eq!(who("+44 7700 900777").await, staff_search);
    assert_eq!(who("07700900777").await, staff_search);
    assert_eq!(who("zelda QUARRINGTON").await, sup_search);
    assert_eq!(who("  Zelda \t quarrington ").await, sup_search);
    // The supervisor's search by the last six digits is a search for the whole number.
    assert_eq!(who("07700 900778").await, sup_search);
    assert_eq!(who("07700 900999").await, vec![]);
    // The earlier build's entry, keyed from dedup, is still found.
    assert_eq!(who("01632 960123").await, staff_search);
    // Each look-up is audited with the value keyed, never as given.
    let lookups: Vec<String> = dc
        .audit_list(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "audit.list")
        .filter_map(|e| e.detail)
        .collect();
    assert!(
        lookups
            .iter()
            .filter(|d| d.contains("searches for hmac2:"))
            .count()
            >= 6,
        "{lookups:?}"
    );
    assert!(
        !lookups
            .iter()
            .any(|d| d.contains("900777") || d.contains("uarrington")),
        "{lookups:?}"
    );
    assert!(dc
        .audit_list(&AuditFilter {
            searched_for: Some("  ".into()),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .to_string()
        .contains("searched for"));

    // The attack: the receptionist holds `dedup` and has a copy of the decrypted trail (the CSV an
    // inspector was given). Hashing numbers the way searches were keyed before finds none of
    // today's searches, and no entry holds the number's digits.
    let trail = dc.audit_list(&AuditFilter::default()).await.unwrap();
    let searches: Vec<&AuditEntry> = trail
        .iter()
        .filter(|e| e.action == "search" && e.at > old_cutoff())
        .collect();
    assert!(searches.len() >= 3, "{searches:?}");
    let tries = audit::criteria::candidates("07700 900777")
        .into_iter()
        .chain(audit::criteria::candidates("07700 900778"))
        .chain(audit::criteria::candidates("Zelda Quarrington"))
        .collect::<Vec<_>>();
    for e in &searches {
        let d = e.detail.as_deref().unwrap();
        assert!(d.contains("\"hmac2:"), "{d}");
        assert!(!legacy.names_any(d, &tries), "dedup reproduces {d}");
        for needle in ["900777", "900778", "uarrington"] {
            assert!(!d.contains(needle), "{d}");
        }
    }
    dc.close().await;
}

fn old_cutoff() -> String {
    (Utc::now() - Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
