//! Leavers are rotated out (issue 18, item 4) of the metadata and audit keys too: a copy of a
//! leaver's key bag taken before the rotation opens none of the journal segments, user profiles or
//! audit files written after it — tried with the core's low-level functions, as the leaver's own
//! tool would — while everyone who still holds the key reads old and new alike. A forged epoch is
//! refused, and removing an epoch from the share does not send new data back to the old key.

use callvault_core::archive::journal::{self, Direction};
use callvault_core::archive::{Archive, SignerKeys};
use callvault_core::audit;
use callvault_core::crypto;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::secret::{Key32, Password};
use callvault_core::session::{self, KdfChoice, SearchQuery, Session};
use callvault_core::users;
use callvault_core::users::callkey::{self, KeyRing};
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{TimeZone, Utc};
use std::collections::BTreeSet;
use std::path::Path;

const ROOT: (&str, &str) = ("root.admin", "root-pass-1234");
const GP: (&str, &str) = ("gp.partner", "gp-pass-12345");
const REC: (&str, &str) = ("rae.reception", "rec-pass-12345");
const IT: (&str, &str) = ("ivy.it", "it-pass-1234567");
const NEW: (&str, &str) = ("nia.newstarter", "new-pass-12345");
const SAM: (&str, &str) = ("sam.staff", "sam-pass-123456");

fn call(i: u32, party: &str) -> CallSource {
    CallSource {
        name: format!("k{i}.wav"),
        bytes: wav_g711(8000, &speechlike(8000, 1, i), true),
        started_at: Utc.with_ymd_and_hms(2025, 8, i, 10, 0, 0).unwrap(),
        direction: Direction::Inbound,
        staff: None,
        extension: Some("101".into()),
        external_number: Some(format!("01632 96034{i}")),
        parties: vec![party.into()],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

/// The seed of `key` in a user's own key bag, opened with their own password (what their own
/// tool gets from a copy of their record).
fn seed_of(a: &Archive, u: (&str, &str), key: &str) -> Key32 {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    users::open_keybag(&rec, &un.secret)
        .unwrap()
        .get(key)
        .unwrap()
        .clone()
}

/// Every current journal segment on the share: (path, device, seq, gen).
fn segments(a: &Archive) -> Vec<(String, String, u64, u32)> {
    let mut out = vec![];
    for dev in a.list("journal").unwrap() {
        for (seq, (gen, name)) in journal::list_device(a, &dev).unwrap().current {
            out.push((format!("journal/{dev}/{name}"), dev.clone(), seq, gen));
        }
    }
    out
}

fn opens_segment(
    a: &Archive,
    s: &(String, String, u64, u32),
    k: &Key32,
    signers: &SignerKeys,
) -> bool {
    journal::open_segment_gen(
        &a.read(&s.0).unwrap(),
        &KeyRing::one(k),
        &s.1,
        s.2,
        s.3,
        signers,
        &s.0,
    )
    .is_ok()
}

/// The audit files a seed cannot decrypt (the chain and signatures are checked as well).
fn audit_refused(a: &Archive, k: &Key32, signers: &SignerKeys) -> BTreeSet<String> {
    let rep = audit::verify(a, &KeyRing::one(k), signers).unwrap();
    rep.problems.into_iter().map(|p| p.object).collect()
}

fn audit_files(a: &Archive) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dev in a.list("audit").unwrap() {
        for f in a.list(&format!("audit/{dev}")).unwrap() {
            out.insert(format!("audit/{dev}/{f}"));
        }
    }
    out
}

async fn logon(archive: &Path, data: &Path, u: (&str, &str)) -> Session {
    Session::logon_in(archive, data, u.0, &Password::new(u.1))
        .await
        .unwrap()
}

/// A new archive in `dir` (`archive`), made on computer `pc` by ROOT (admin and data
/// controller), who is logged on there.
async fn start(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Session) {
    let archive = dir.join("archive");
    let data = dir.join("pc");
    session::init_in(
        &archive,
        &data,
        ROOT.0,
        &Password::new(ROOT.1),
        KdfChoice::Fast,
    )
    .await
    .unwrap();
    let root = logon(&archive, &data, ROOT).await;
    (archive, data, root)
}

async fn parties(s: &Session) -> BTreeSet<String> {
    s.search(&SearchQuery::default())
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.parties)
        .collect()
}

#[tokio::test]
async fn leavers_are_rotated_out_of_the_metadata_and_audit_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, data, mut root) = start(tmp.path()).await;
    for (u, roles) in [
        (GP, vec![Role::Approver]),
        // (A supervisor: clinicians and staff hold no metadata key to be rotated out of.)
        (REC, vec![Role::Supervisor]),
        // (An IT lead who also supervises: an admin alone holds no metadata key either.)
        (IT, vec![Role::Admin, Role::Supervisor]),
        (SAM, vec![Role::Supervisor]),
    ] {
        root.add_user(u.0, &roles, &[], &Password::new(u.1))
            .await
            .unwrap();
    }
    root.import_sources(vec![call(1, "Before Rotation Caller")])
        .await
        .unwrap();
    let signers = root.signer_keys();
    root.close().await;

    // The receptionist and the IT lead copy their key bags while they still work here.
    let a = Archive::open(&archive).unwrap();
    let rec_meta = seed_of(&a, REC, "metadata");
    let it_audit = seed_of(&a, IT, "audit");
    let before = segments(&a);
    assert!(!before.is_empty());
    for s in &before {
        assert!(opens_segment(&a, s, &rec_meta, &signers), "before: {}", s.0);
    }
    assert!(audit_refused(&a, &it_audit, &signers).is_empty());

    // Both leave. Each key they held is rotated before their change is written, by the admin who
    // makes it (the data controller, who holds the metadata, audit and admin keys): the
    // receptionist's leaving makes the metadata key's epoch 1, the IT lead's its epoch 2 and the
    // audit and admin keys' epoch 1. What the disablements write is under the new epochs.
    let audit_before = audit_files(&a);
    let before = segments(&a);
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(REC.0, None, Some(true)).await.unwrap();
    root.update_user(IT.0, None, Some(true)).await.unwrap();
    for w in [
        "metadata key was rotated (epoch 1) because rae",
        "metadata key was rotated (epoch 2) because ivy",
        "audit key was rotated (epoch 1) because ivy",
        "admin key was rotated (epoch 1) because ivy",
    ] {
        assert!(
            root.warnings.iter().any(|x| x.contains(w)),
            "{w}: {:?}",
            root.warnings
        );
    }
    root.close().await;
    assert!(a.path(&callkey::path_of("metadata", 2)).exists());
    assert!(a.path(&callkey::path_of("audit", 1)).exists());
    // Nothing is left for a holder's logon to rotate.
    let gp = logon(&archive, &data, GP).await;
    assert!(
        !gp.warnings.iter().any(|w| w.contains("was rotated")),
        "{:?}",
        gp.warnings
    );
    gp.close().await;
    let mut root = logon(&archive, &data, ROOT).await;
    assert!(
        !root.warnings.iter().any(|w| w.contains("was rotated")),
        "{:?}",
        root.warnings
    );

    // After the rotation: a new call (its journal segment), a new colleague (her profile), and
    // whatever this session audits.
    root.import_sources(vec![call(2, "After Rotation Caller")])
        .await
        .unwrap();
    root.add_user(NEW.0, &[Role::Supervisor], &[], &Password::new(NEW.1))
        .await
        .unwrap();
    let v = root.verify().await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    root.close().await;

    // The receptionist's copy opens every segment written before, none written after.
    let after: Vec<_> = segments(&a)
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    assert!(!after.is_empty());
    for s in &before {
        assert!(opens_segment(&a, s, &rec_meta, &signers), "old: {}", s.0);
    }
    for s in &after {
        assert!(!opens_segment(&a, s, &rec_meta, &signers), "new: {}", s.0);
    }
    // (The new colleague's profile is sealed for every user, from `dedup`, in an archive whose
    // segments carry their readers: names and roles, no patient data. FORMAT.md, known limits.)

    // The IT lead's copy opens no audit file written after the rotation.
    let refused = audit_refused(&a, &it_audit, &signers);
    let written_after: BTreeSet<String> =
        audit_files(&a).difference(&audit_before).cloned().collect();
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|p| !audit_before.contains(p)),
        "{refused:?}"
    );
    assert!(refused.iter().all(|p| written_after.contains(p)));

    // Those who hold the keys read old and new alike: the new starter (whose key bag holds only
    // the newest metadata key) logs on and her profile is read; the approver finds both calls.
    let gp = logon(&archive, &data, GP).await;
    let seen = parties(&gp).await;
    assert!(
        seen.contains("Before Rotation Caller") && seen.contains("After Rotation Caller"),
        "{seen:?}"
    );
    gp.close().await;
    let new = logon(&archive, &tmp.path().join("pc2"), NEW).await;
    let seen = parties(&new).await;
    assert!(
        seen.contains("Before Rotation Caller") && seen.contains("After Rotation Caller"),
        "{seen:?}"
    );
    new.close().await;
    let root = logon(&archive, &data, ROOT).await;
    let trail = root.verify_audit().await.unwrap();
    assert!(trail.problems.is_empty(), "{:?}", trail.problems);

    // A forged next epoch, proved by the old key the receptionist kept and signed by her: refused,
    // named, and the writers stay on epoch 2.
    let mut forged: callkey::EpochFile =
        serde_json::from_slice(&a.read(&callkey::path_of("metadata", 2)).unwrap()).unwrap();
    forged.signed.epoch = 3;
    forged.signed.prev_key = forged.signed.public_key.clone();
    let mine = Key32::random();
    forged.signed.public_key = crypto::b64(&crypto::x25519_public(&mine));
    forged.signed.grants.clear();
    let msg = callkey::message_for("metadata", &forged.signed);
    forged.proof = crypto::b64(&crypto::xeddsa_sign(&rec_meta, &msg));
    std::fs::write(
        a.path(&callkey::path_of("metadata", 3)),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();
    root.close().await;
    let mut root = logon(&archive, &data, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("keys/metadata/00000003.json") && w.contains("not proved")),
        "{:?}",
        root.warnings
    );
    let v = root.verify().await.unwrap();
    assert!(
        v.problems
            .iter()
            .any(|p| p.object == callkey::path_of("metadata", 3)),
        "{:?}",
        v.problems
    );
    std::fs::remove_file(a.path(&callkey::path_of("metadata", 3))).unwrap();
    root.close().await;

    // Epochs 1 and 2 removed from the share (rolling the key back to one the receptionist holds):
    // this computer saw epoch 2, so what it writes stays locked to its key, which she lacks.
    let epoch1 = a.read(&callkey::path_of("metadata", 1)).unwrap();
    let epoch2 = a.read(&callkey::path_of("metadata", 2)).unwrap();
    for e in [1, 2] {
        std::fs::remove_file(a.path(&callkey::path_of("metadata", e))).unwrap();
    }
    let before_rollback = segments(&a);
    let mut root = logon(&archive, &data, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("metadata key was rolled back")),
        "{:?}",
        root.warnings
    );
    root.import_sources(vec![call(3, "During Rollback Caller")])
        .await
        .unwrap();
    root.close().await;
    let during: Vec<_> = segments(&a)
        .into_iter()
        .filter(|s| !before_rollback.contains(s))
        .collect();
    assert!(!during.is_empty());
    for s in &during {
        assert!(
            !opens_segment(&a, s, &rec_meta, &signers),
            "rolled back: {}",
            s.0
        );
    }
    // Nothing was rotated over the gap (restoring the files would then have lost that epoch).
    assert!(!a.path(&callkey::path_of("metadata", 1)).exists());
    // Restored, the holders read it all again.
    std::fs::write(a.path(&callkey::path_of("metadata", 1)), &epoch1).unwrap();
    std::fs::write(a.path(&callkey::path_of("metadata", 2)), &epoch2).unwrap();
    let gp = logon(&archive, &data, GP).await;
    let seen = parties(&gp).await;
    assert!(seen.contains("During Rollback Caller"), "{seen:?}");
    gp.close().await;

    // The approver leaves in turn: the epochs she was given stay believed (nothing made under
    // them is lost), and the admin who disables her makes epoch 3 on top of them, which her copy
    // lacks.
    let gp_meta: Vec<Key32> = {
        let uid = users::uid_for(&a, GP.0).unwrap();
        let rec = users::load_latest(&a, &uid).unwrap().unwrap();
        let un = users::unlock(&a, &rec, &Password::new(GP.1)).unwrap();
        let chain = callkey::read_key(&a, "metadata", None).unwrap();
        let bag = users::open_keybag(&rec, &un.secret).unwrap();
        callkey::seeds_for(&a, &chain, &uid, &un.secret, bag.get("metadata").unwrap())
            .unwrap()
            .0
            .into_iter()
            .map(|(_, k)| k)
            .collect()
    };
    assert_eq!(gp_meta.len(), 3, "she holds epochs 0, 1 and 2");
    let before_gp_left = segments(&a);
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(GP.0, None, Some(true)).await.unwrap();
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("metadata key was rotated (epoch 3)")),
        "{:?}",
        root.warnings
    );
    assert_eq!(a.read(&callkey::path_of("metadata", 1)).unwrap(), epoch1);
    assert_eq!(a.read(&callkey::path_of("metadata", 2)).unwrap(), epoch2);
    root.import_sources(vec![call(4, "After Approver Left")])
        .await
        .unwrap();
    let seen = parties(&root).await;
    for p in [
        "Before Rotation Caller",
        "After Rotation Caller",
        "During Rollback Caller",
        "After Approver Left",
    ] {
        assert!(seen.contains(p), "{p}: {seen:?}");
    }
    let v = root.verify().await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    root.close().await;
    let after_gp_left: Vec<_> = segments(&a)
        .into_iter()
        .filter(|s| !before_gp_left.contains(s))
        .collect();
    assert!(!after_gp_left.is_empty());
    for s in &after_gp_left {
        for k in &gp_meta {
            assert!(!opens_segment(&a, s, k, &signers), "her copy: {}", s.0);
        }
    }
    // A second logon makes no further epoch: her leaving was answered.
    let root = logon(&archive, &data, ROOT).await;
    assert!(!a.path(&callkey::path_of("metadata", 4)).exists());
    root.close().await;

    // A receptionist who holds the newest key, about to leave, has her tool make epoch 4 herself —
    // proved by epoch 3, signed by her, naming herself as its leaver and given to the data
    // controller under a seed she knows. It is believed (she held epoch 3), but answers nothing:
    // the admin who disables her makes epoch 5 on top of it, without her.
    let uid = users::uid_for(&a, SAM.0).unwrap();
    let rec = users::load_latest(&a, &uid).unwrap().unwrap();
    let un = users::unlock(&a, &rec, &Password::new(SAM.1)).unwrap();
    let chain = callkey::read_key(&a, "metadata", None).unwrap();
    let bag = users::open_keybag(&rec, &un.secret).unwrap();
    let (held, _) =
        callkey::seeds_for(&a, &chain, &uid, &un.secret, bag.get("metadata").unwrap()).unwrap();
    let (e2, seed2) = held.last().unwrap().clone();
    assert_eq!(e2, 3, "she holds the newest epoch");
    let mine = Key32::random();
    let root_rec = users::load_latest(&a, &users::uid_for(&a, ROOT.0).unwrap())
        .unwrap()
        .unwrap();
    let root_pk: [u8; 32] = crypto::unb64(&root_rec.signed.public_key, "k")
        .unwrap()
        .try_into()
        .unwrap();
    let signed = callkey::EpochSigned {
        epoch: 4,
        public_key: crypto::b64(&crypto::x25519_public(&mine)),
        prev_key: crypto::b64(&crypto::x25519_public(&seed2)),
        archive: a.config.identity_hash(),
        by: uid.clone(),
        at: 0,
        leavers: vec![uid.clone()],
        grants: vec![callkey::Grant {
            to: root_rec.signed.uid.clone(),
            wrapped: crypto::wrap(
                &root_pk,
                &callkey::grant_info("metadata", 4, &root_rec.signed.uid),
                mine.expose(),
            )
            .unwrap(),
        }],
        back: crypto::wrap(
            &crypto::x25519_public(&mine),
            &callkey::back_info("metadata", 4),
            seed2.expose(),
        )
        .unwrap(),
        revisions: None,
    };
    let msg = callkey::message_for("metadata", &signed);
    let f = callkey::EpochFile {
        v: 1,
        proof: crypto::b64(&crypto::xeddsa_sign(&seed2, &msg)),
        sig: crypto::b64(&crypto::ed25519_sign(
            &users::user_signing_seed(&un.secret),
            &msg,
        )),
        signed,
    };
    std::fs::write(
        a.path(&callkey::path_of("metadata", 4)),
        serde_json::to_vec(&f).unwrap(),
    )
    .unwrap();
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(SAM.0, None, Some(true)).await.unwrap();
    // (Before her disablement she was a holder: what was written under her epoch until then was
    // hers to read.)
    let before_forged = segments(&a);
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("metadata key was rotated (epoch 5)")),
        "{:?}",
        root.warnings
    );
    root.import_sources(vec![call(5, "After Her Own Epoch")])
        .await
        .unwrap();
    assert!(parties(&root).await.contains("After Her Own Epoch"));
    root.close().await;
    let after: Vec<_> = segments(&a)
        .into_iter()
        .filter(|s| !before_forged.contains(s))
        .collect();
    assert!(!after.is_empty());
    for s in &after {
        for k in [&mine, &seed2] {
            assert!(!opens_segment(&a, s, k, &signers), "her keys: {}", s.0);
        }
    }
}

#[tokio::test]
async fn an_unreadable_key_folder_never_sends_new_data_back_to_the_first_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, data, mut root) = start(tmp.path()).await;
    root.add_user(REC.0, &[Role::Supervisor], &[], &Password::new(REC.1))
        .await
        .unwrap();
    let signers = root.signer_keys();
    root.close().await;
    let a = Archive::open(&archive).unwrap();
    let rec_meta = seed_of(&a, REC, "metadata");
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(REC.0, None, Some(true)).await.unwrap();
    root.close().await;
    // Her disablement rotated the metadata key first; this computer records epoch 1.
    let root = logon(&archive, &data, ROOT).await;
    root.close().await;
    assert!(a.path(&callkey::path_of("metadata", 1)).exists());
    // The receptionist replaces the folder of epochs with a file.
    std::fs::remove_dir_all(a.path("keys/metadata")).unwrap();
    std::fs::write(a.path("keys/metadata"), b"not a folder").unwrap();
    let before = segments(&a);
    let mut root = logon(&archive, &data, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("keys/metadata") && w.contains("cannot be read")),
        "{:?}",
        root.warnings
    );
    root.import_sources(vec![call(6, "While Hidden")])
        .await
        .unwrap();
    root.close().await;
    let new: Vec<_> = segments(&a)
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    assert!(!new.is_empty());
    for s in &new {
        assert!(!opens_segment(&a, s, &rec_meta, &signers), "{}", s.0);
    }
    // A computer that never saw an epoch writes nothing under the metadata key: refused, named.
    let e = Session::logon_in(
        &archive,
        &tmp.path().join("pc2"),
        ROOT.0,
        &Password::new(ROOT.1),
    )
    .await
    .expect_err("a new computer cannot tell which metadata key is current");
    assert!(e.to_string().contains("keys/metadata"), "{e}");
}

/// The Users screen's "Archive keys": each rotating key a user holds, its newest epoch and who
/// left it unanswered; a holder replaces one by hand, anyone else is refused; both audited.
#[tokio::test]
async fn archive_keys_are_listed_and_replaced_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _data, mut root) = start(tmp.path()).await;
    root.add_user(REC.0, &[Role::Staff], &[], &Password::new(REC.1))
        .await
        .unwrap();
    let keys = |s: &Session| -> Vec<(String, u32, bool, Vec<String>)> {
        s.key_states()
            .unwrap()
            .into_iter()
            .map(|k| (k.key, k.epoch, k.may_rotate, k.leavers))
            .collect()
    };
    assert_eq!(
        keys(&root),
        ["custodian", "metadata", "audit", "admin"]
            .map(|k| (k.to_string(), 0, true, vec![]))
            .to_vec()
    );

    // The receptionist holds no metadata key (staff read only what is addressed to them), and
    // may not list users: she is shown no key (the list names colleagues who left) and replaces
    // none by hand.
    let data2 = tmp.path().join("pc2");
    let mut rec = logon(&archive, &data2, REC).await;
    assert!(rec.key_states().is_err());
    let e = rec.rotate_key("metadata").await.unwrap_err();
    assert!(e.to_string().contains("not permitted"), "{e}");
    rec.close().await;

    // The data controller: not a key that rotates; the metadata key and the call key replaced by
    // hand; a leaver named until a new key is made.
    let e = root.rotate_key("signing").await.unwrap_err();
    assert!(e.to_string().contains("not one of the keys"), "{e}");
    let r = root.rotate_key("metadata").await.unwrap();
    assert_eq!((r.epoch, r.leavers.len()), (1, 0));
    assert_eq!(r.holders, vec![ROOT.0.to_string()]);
    let r = root.rotate_key("custodian").await.unwrap();
    assert_eq!(r.epoch, 1);
    let now = keys(&root);
    assert_eq!((now[0].1, now[1].1, now[2].1, now[3].1), (1, 1, 0, 0));
    let trail = root
        .audit_list(&session::AuditFilter::default())
        .await
        .unwrap();
    let count = |action: &str, outcome: &str| {
        trail
            .iter()
            .filter(|e| e.action == action && e.outcome == outcome)
            .count()
    };
    assert_eq!(count("keys.rotate", "allowed"), 1);
    assert_eq!(count("call_key.rotate", "allowed"), 1);
    // The receptionist's (she holds no metadata key) and the data controller's "signing".
    assert_eq!(count("keys.rotate", "refused"), 2);
    assert_eq!(count("user.list", "refused"), 1);
    assert!(count("user.list", "allowed") >= 2);
    root.close().await;
}
