//! Leavers are rotated out (issue 18, item 4), for the call key: a copy of a leaver's key bag taken
//! before the rotation opens nothing written after it, and after the re-wrap no audio at all —
//! tried with the core's low-level functions and every seed and wrap label, as the leaver's own
//! tool would. Forged and rolled-back epochs and forged re-wrap records are refused.

use callvault_core::archive::journal::Direction;
use callvault_core::archive::{audio, Archive};
use callvault_core::crypto;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::secret::{Key32, Password};
use callvault_core::session::{self, KdfChoice, Session};
use callvault_core::users::{self, callkey};
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{TimeZone, Utc};
use std::path::Path;

const ROOT: (&str, &str) = ("root.admin", "root-pass-1234");
const GP: (&str, &str) = ("gp.partner", "gp-pass-12345");
const LEAVER: (&str, &str) = ("lee.leaver", "leaver-pass-123");
const CLIN: (&str, &str) = ("dr.cal", "clin-pass-1234");
const IT: (&str, &str) = ("ian.it", "it-pass-123456");

fn call(i: u32, ext: &str) -> CallSource {
    CallSource {
        name: format!("r{i}.wav"),
        bytes: wav_g711(8000, &speechlike(8000, 2, i), true),
        started_at: Utc.with_ymd_and_hms(2025, 7, i, 9, 0, 0).unwrap(),
        direction: Direction::Inbound,
        staff: None,
        extension: Some(ext.into()),
        external_number: Some(format!("07700 90072{i}")),
        parties: vec![format!("Rotation Caller {i}")],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

/// What an insider's tool holds after opening their own record with their own password.
struct Bag {
    uid: String,
    secret: Key32,
    seeds: Vec<Key32>,
}

fn bag(a: &Archive, u: (&str, &str)) -> Bag {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    let raw = users::open_keybag(&rec, &un.secret).unwrap();
    let seeds = users::SEED_NAMES
        .iter()
        .filter_map(|n| raw.get(n).cloned())
        .collect();
    Bag {
        uid,
        secret: un.secret,
        seeds,
    }
}

/// Every audio object of recording `id` on the share (as imported, or re-wrapped).
fn objects_of(a: &Archive, id: &str) -> Vec<String> {
    let shard = format!("rec/{}", &id[..2]);
    a.list(&shard)
        .unwrap()
        .into_iter()
        .filter(|n| {
            matches!(
                audio::parse_object_name(n),
                Some((i, audio::ObjectName::Audio | audio::ObjectName::Rewrapped(_))) if i == id
            )
        })
        .map(|n| format!("{shard}/{n}"))
        .collect()
}

/// The plaintext of recording `id`, if any object of it opens with any of `seeds` under any wrap
/// label its header has, or with the user's own secret.
fn open_audio(a: &Archive, b: &Bag, id: &str) -> Option<Vec<u8>> {
    for rel in objects_of(a, id) {
        let head = a.read_head(&rel, 1 << 20).unwrap();
        let (h, _) = audio::parse_header(&head, &rel).unwrap();
        for w in &h.wraps {
            let keys = b.seeds.iter().chain([&b.secret]);
            for k in keys {
                let f = std::fs::File::open(a.path(&rel)).unwrap();
                if let Ok(mut r) =
                    audio::DecryptingReader::open_recording(f, id, &[(w.to.clone(), k)], &rel)
                {
                    let mut out = Vec::new();
                    for i in 0..r.segment_count() {
                        out.extend_from_slice(r.segment(i).ok()?);
                    }
                    return Some(out);
                }
            }
        }
    }
    None
}

async fn logon(archive: &Path, data: &Path, u: (&str, &str)) -> Session {
    Session::logon_in(archive, data, u.0, &Password::new(u.1))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_leaver_is_rotated_out_of_every_call_and_forgeries_are_refused() {
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
        (LEAVER, vec![Role::Approver], None),
        (CLIN, vec![Role::Clinician], Some("201")),
        (IT, vec![Role::Admin], None),
    ] {
        let tel: Vec<String> = tel.into_iter().map(String::from).collect();
        root.add_user(u.0, &roles, &tel, &Password::new(u.1))
            .await
            .unwrap();
    }
    let sources = vec![call(1, "201"), call(2, "101"), call(3, "999")];
    let originals: Vec<Vec<u8>> = sources.iter().map(|s| s.bytes.clone()).collect();
    let rep = root.import_sources(sources).await.unwrap();
    let mut ids: Vec<String> = rep.imported.iter().map(|i| i.id.clone()).collect();
    root.close().await;

    // The leaver copies their key bag while still an approver: it opens every call.
    let a = Archive::open(&archive).unwrap();
    let leaver = bag(&a, LEAVER);
    for id in &ids {
        assert!(open_audio(&a, &leaver, id).is_some(), "before: {id}");
    }

    // An admin who holds the call key (the data controller) disables them: the next epoch is
    // made before the disablement is written, and a remaining holder's logon has nothing to
    // rotate, only the re-wrap to ask for.
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(LEAVER.0, None, Some(true)).await.unwrap();
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("call key was rotated (epoch 1)") && w.contains("Re-wrap")),
        "{:?}",
        root.warnings
    );
    root.close().await;
    let gp = logon(&archive, &data, GP).await;
    assert!(
        !gp.warnings
            .iter()
            .any(|w| w.contains("call key was rotated")),
        "{:?}",
        gp.warnings
    );
    gp.close().await;
    assert!(a.path(&callkey::path(1)).exists());

    // A call stored after the rotation: wrapped to the new key only; the copy opens nothing.
    let mut root = logon(&archive, &data, ROOT).await;
    let rep = root.import_sources(vec![call(4, "999")]).await.unwrap();
    let new_id = rep.imported[0].id.clone();
    root.close().await;
    let head = a.read_head(&audio::object_path(&new_id), 1 << 20).unwrap();
    let (h, _) = audio::parse_header(&head, "new").unwrap();
    let labels: Vec<&str> = h.wraps.iter().map(|w| w.to.as_str()).collect();
    assert_eq!(labels, ["custodian:1"]);
    assert!(open_audio(&a, &leaver, &new_id).is_none());
    // Calls stored before still open with the copy, until the re-wrap.
    assert!(open_audio(&a, &leaver, &ids[0]).is_some());

    // A half-made re-wrap (stopped before its record) is replaced by the run.
    let stray = audio::rewrapped_path(&ids[1], 1);
    std::fs::write(a.path(&stray), b"half written").unwrap();

    let mut gp = logon(&archive, &data, GP).await;
    assert!(
        gp.warnings.iter().any(|w| w.contains("3 stored call(s)")),
        "{:?}",
        gp.warnings
    );
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |d: usize, t: usize| seen.lock().unwrap().push((d, t));
    let rep = gp.rewrap_calls(Some(&progress)).await.unwrap();
    assert_eq!(
        (rep.epoch, rep.rewrapped, rep.already),
        (1, 3, 1),
        "{rep:?}"
    );
    assert!(rep.failed.is_empty());
    assert_eq!(seen.lock().unwrap().last(), Some(&(4, 4)));
    assert_eq!(gp.rewrap_pending().unwrap(), 0);
    // Resumable and idempotent: a second run has nothing to do.
    let rep = gp.rewrap_calls(None).await.unwrap();
    assert_eq!((rep.rewrapped, rep.already), (0, 4));
    gp.close().await;

    ids.push(new_id);
    for id in &ids {
        assert!(!a.path(&audio::object_path(id)).exists() || id == &ids[3]);
        assert!(open_audio(&a, &leaver, id).is_none(), "after re-wrap: {id}");
    }

    // The clinician still opens their own call through their wrap, and it is the audio stored.
    let clin = bag(&a, CLIN);
    assert_eq!(
        open_audio(&a, &clin, &ids[0]).as_deref(),
        Some(&originals[0][..])
    );
    assert!(open_audio(&a, &clin, &ids[1]).is_none());
    // A remaining holder opens every call with the epoch given to them, byte for byte.
    let gpb = bag(&a, GP);
    let chain = callkey::read(&a, None).unwrap();
    let gp_rec = users::load_latest(&a, &gpb.uid).unwrap().unwrap();
    let gp_bag = users::open_keybag(&gp_rec, &gpb.secret).unwrap();
    let (seeds, missing) = callkey::seeds_for(
        &a,
        &chain,
        &gpb.uid,
        &gpb.secret,
        gp_bag.get("custodian").unwrap(),
    )
    .unwrap();
    assert!(missing.is_none());
    assert_eq!(seeds.len(), 2);
    let holder = Bag {
        uid: gpb.uid.clone(),
        secret: gpb.secret.clone(),
        seeds: vec![seeds[1].1.clone()],
    };
    for (i, id) in ids.iter().take(3).enumerate() {
        assert_eq!(
            open_audio(&a, &holder, id).as_deref(),
            Some(&originals[i][..])
        );
    }
    // The leaver's uid is in no grant of the new epoch.
    assert!(!chain.epochs[0].grants.iter().any(|g| g.to == leaver.uid));

    // Verify: every object checked against its re-wrap record, decrypted by the data controller.
    let mut root = logon(&archive, &data, ROOT).await;
    let v = root.verify().await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.recordings_decrypted, 4);
    root.close().await;

    // Attack 1: an admin (no call key) forges the next epoch with a key of their own: refused,
    // and new calls still go to epoch 1.
    let it = bag(&a, IT);
    let mine = Key32::random();
    let forged = callkey::EpochSigned {
        epoch: 2,
        public_key: crypto::b64(&crypto::x25519_public(&mine)),
        prev_key: chain.epochs[0].public_key.clone(),
        archive: a.config.identity_hash(),
        by: it.uid.clone(),
        at: 0,
        leavers: vec![],
        grants: vec![],
        back: crypto::wrap(&crypto::x25519_public(&mine), b"x", &[0u8; 32]).unwrap(),
        revisions: None,
    };
    let msg = callkey::message(&forged);
    let signing = users::user_signing_seed(&it.secret);
    let f = callkey::EpochFile {
        v: 1,
        proof: crypto::b64(&crypto::xeddsa_sign(&it.secret, &msg)),
        sig: crypto::b64(&crypto::ed25519_sign(&signing, &msg)),
        signed: forged,
    };
    a.write_new(&callkey::path(2), &serde_json::to_vec(&f).unwrap())
        .unwrap();
    let mut root = logon(&archive, &data, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("not proved by the previous call key")),
        "{:?}",
        root.warnings
    );
    let rep = root.import_sources(vec![call(5, "999")]).await.unwrap();
    let id5 = rep.imported[0].id.clone();
    let head = a.read_head(&audio::object_path(&id5), 1 << 20).unwrap();
    let (h, _) = audio::parse_header(&head, "c5").unwrap();
    assert_eq!(h.wraps[0].to, "custodian:1");
    root.close().await;
    std::fs::remove_file(a.path(&callkey::path(2))).unwrap();

    // Attack 2: the epoch file removed (the call key rolled back to the one the leaver holds): a
    // computer that saw it stores nothing.
    let e1 = a.path(&callkey::path(1));
    let kept = std::fs::read(&e1).unwrap();
    std::fs::remove_file(&e1).unwrap();
    let mut root = logon(&archive, &data, ROOT).await;
    let err = root.import_sources(vec![call(6, "999")]).await.unwrap_err();
    assert!(err.to_string().contains("rolled back"), "{err}");
    root.close().await;
    std::fs::write(&e1, kept).unwrap();

    // Attack 3: a re-wrap record forged by the clinician (no holder of the epoch): refused.
    let target = &ids[1];
    let rec_rel = audio::rewrap_record_path(target, 1);
    let mut r: callkey::RewrapRecord = serde_json::from_slice(&a.read(&rec_rel).unwrap()).unwrap();
    r.signed.by = clin.uid.clone();
    let cs = users::user_signing_seed(&clin.secret);
    r.sig = crypto::b64(&crypto::ed25519_sign(
        &cs,
        &callkey::rewrap_message(&r.signed),
    ));
    std::fs::write(a.path(&rec_rel), serde_json::to_vec(&r).unwrap()).unwrap();
    let mut root = logon(&archive, &data, ROOT).await;
    let v = root.verify().await.unwrap();
    assert!(
        v.problems
            .iter()
            .any(|p| p.object.ends_with(".cva") && p.reason.contains("not given to")),
        "{:?}",
        v.problems
    );

    // Someone given the call key after the rotation (promoted) who then loses the role: the data
    // controller, who holds the call key, makes its next epoch before the change is written; a
    // leaving already answered is not answered again.
    root.set_roles(CLIN.0, &[Role::Approver]).await.unwrap();
    root.set_roles(CLIN.0, &[Role::Clinician]).await.unwrap();
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("call key was rotated (epoch 2)") && w.contains(CLIN.0)),
        "{:?}",
        root.warnings
    );
    root.close().await;
    let gp = logon(&archive, &data, GP).await;
    assert!(!gp
        .warnings
        .iter()
        .any(|w| w.contains("call key was rotated")));
    gp.close().await;
    let chain = callkey::read(&a, None).unwrap();
    assert_eq!(chain.current(), 2);
    assert_eq!(chain.epochs[1].leavers, vec![clin.uid.clone()]);

    // The leaver comes back (re-enabled: her new key bag gives her epoch 2, which no epoch file
    // names), copies her key bag again, and is disabled again by an admin who holds no call key.
    // Epoch 1 answered her first leaving, not this one: her record says she was given epoch 2
    // since, so a holder's next logon makes epoch 3, and what is stored after it her second copy
    // does not open.
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(LEAVER.0, None, Some(false)).await.unwrap();
    root.close().await;
    let again = bag(&a, LEAVER);
    let mut it = logon(&archive, &data, IT).await;
    it.update_user(LEAVER.0, None, Some(true)).await.unwrap();
    assert!(
        it.warnings
            .iter()
            .any(|w| w.contains("call key is rotated out of") && w.contains(LEAVER.0)),
        "{:?}",
        it.warnings
    );
    it.close().await;
    let gp = logon(&archive, &data, GP).await;
    assert!(
        gp.warnings
            .iter()
            .any(|w| w.contains("call key was rotated (epoch 3)") && w.contains(LEAVER.0)),
        "{:?}",
        gp.warnings
    );
    gp.close().await;
    let mut root = logon(&archive, &data, ROOT).await;
    let rep = root.import_sources(vec![call(7, "999")]).await.unwrap();
    root.close().await;
    assert!(open_audio(&a, &again, &rep.imported[0].id).is_none());
    // Her disabled record gives her nothing: not even the epoch her second copy held.
    let now = users::load_latest(&a, &again.uid).unwrap().unwrap();
    assert!(users::open_keybag(&now, &again.secret).unwrap().is_empty());

    // The partner who made epoch 3 leaves in turn. The data controller's rotation at her
    // disablement answers both her leaving and the one epoch 3 answered (whose author then no
    // longer holds the key), so no holder's logon makes another; and a data controller's logon,
    // with disabled key holders on the share, finds nothing to upgrade.
    let gp_uid = users::uid_for(&a, GP.0).unwrap();
    assert_eq!(callkey::read(&a, None).unwrap().epochs[2].by, gp_uid);
    let mut root = logon(&archive, &data, ROOT).await;
    root.update_user(GP.0, None, Some(true)).await.unwrap();
    root.close().await;
    let chain = callkey::read(&a, None).unwrap();
    assert_eq!(chain.current(), 4);
    let mut named = chain.epochs[3].leavers.clone();
    named.sort();
    let mut want = vec![gp_uid, again.uid.clone()];
    want.sort();
    assert_eq!(named, want);
    for _ in 0..2 {
        let root = logon(&archive, &data, ROOT).await;
        assert!(
            !root
                .warnings
                .iter()
                .any(|w| w.contains("was rotated") || w.contains("Upgraded")),
            "{:?}",
            root.warnings
        );
        root.close().await;
    }
    assert_eq!(callkey::read(&a, None).unwrap().current(), 4);
}
