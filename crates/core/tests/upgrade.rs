//! An archive made by the build before format 2 (issue 17) opens, upgrades and verifies.
//! `tests/fixtures/format1-archive` was made by commit 9bd86df's `callvault demo --calls 4
//! --kdf fast --clip-secs 1` (made-up users and calls), then one deletion (a format-1 compacted
//! journal generation) and one complaint request raised by the salaried GP.

use callvault_core::requests::Purpose;
use callvault_core::secret::Password;
use callvault_core::session::{SearchQuery, Session};
use callvault_core::users;
use std::path::{Path, PathBuf};

const ADMIN: (&str, &str) = ("alex.morgan", "alex-demo-2026");
const PBM: (&str, &str) = ("jordan.reid", "jordan-demo-2026");
const GP: (&str, &str) = ("dr.tom.okafor", "tom-demo-2026");

/// Put `rec` in place of its current version, re-signed as the build before admin key signatures
/// signed records: with the archive's signing seed alone.
fn plant_as_before(
    archive: &Path,
    signing: &callvault_core::secret::Key32,
    mut rec: users::UserRecord,
) {
    use callvault_core::crypto;
    rec.admin_sig = None;
    let msg = [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(&rec.signed).unwrap(),
    ]
    .concat();
    rec.sig = crypto::b64(&crypto::ed25519_sign(signing, &msg));
    let path = archive.join(format!("users/{}/{:08}.cvu", rec.signed.uid, rec.ver));
    std::fs::write(&path, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
}

/// A new archive in `dir` (`archive`), made on computer `pc` by ADMIN (admin and data
/// controller), who is logged on there.
async fn new_archive(dir: &Path) -> (PathBuf, PathBuf, Session) {
    let (archive, pc) = (dir.join("archive"), dir.join("pc"));
    callvault_core::session::init_in(
        &archive,
        &pc,
        ADMIN.0,
        &Password::new(ADMIN.1),
        callvault_core::session::KdfChoice::Fast,
    )
    .await
    .unwrap();
    let admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    (archive, pc, admin)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn fixture(tmp: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1-archive");
    let dst = tmp.join("archive");
    copy_dir(&src, &dst);
    dst
}

fn all() -> SearchQuery {
    SearchQuery {
        limit: Some(100),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_format_1_archive_opens_upgrades_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let pc = tmp.path().join("pm-pc");
    let a = callvault_core::archive::Archive::open(&archive).unwrap();
    let legacy = |name: &str| {
        let uid = users::uid_for(&a, name).unwrap();
        users::load_latest(&a, &uid)
            .unwrap()
            .unwrap()
            .signed
            .sealing
            .is_none()
    };
    assert!(legacy(PBM.0) && legacy(GP.0), "the fixture is format 1");

    // Before any admin has logged on with this build, a user of it still logs on and works.
    let gp = Session::logon_in(&archive, &pc, GP.0, &Password::new(GP.1))
        .await
        .unwrap();
    let own = gp.search(&all()).await.unwrap();
    assert!(!own.is_empty());
    gp.close().await;

    // The admin's logon is the upgrade run: every user record signed again with its sealing and
    // the archive identity bound, the legacy journal range recorded.
    let mut admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    assert!(
        admin
            .warnings
            .iter()
            .any(|w| w.contains("Upgraded 5 user records")),
        "{:?}",
        admin.warnings
    );
    assert!(!legacy(PBM.0) && !legacy(GP.0));
    assert_eq!(
        admin.search(&all()).await.unwrap().len(),
        3,
        "one was deleted"
    );
    let rep = admin.verify().await.unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    assert_eq!(rep.recordings_decrypted, 3);
    let audit = admin.verify_audit().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
    admin.close().await;
    // A second admin logon upgrades nothing more.
    let admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    assert!(!admin.warnings.iter().any(|w| w.contains("Upgraded")));
    admin.close().await;

    // A computer new to the archive believes the format-1 compaction (the upgrade run recorded
    // the legacy range), sees the old request and plays a call.
    let mac = tmp.path().join("gp-mac");
    let pbm = Session::logon_in(&archive, &mac, PBM.0, &Password::new(PBM.1))
        .await
        .unwrap();
    assert!(
        !pbm.warnings.iter().any(|w| w.contains("refused")),
        "{:?}",
        pbm.warnings
    );
    assert_eq!(pbm.search(&all()).await.unwrap().len(), 3);
    let reqs = pbm.requests(None).await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].purpose, Purpose::Complaint);
    pbm.close().await;
    let gp = Session::logon_in(&archive, &mac, GP.0, &Password::new(GP.1))
        .await
        .unwrap();
    let call = gp.search(&all()).await.unwrap().remove(0);
    gp.open_for_listening(&call.id, None, Some("checking my own call"))
        .await
        .unwrap();
    let rep = gp.request(&reqs[0].id).await.unwrap();
    assert_eq!(rep.raised_by.as_deref(), Some(GP.0));
}

/// A supervisor's record as the build before issue 18 wrote it: `custodian` in the key bag. The
/// admin's next logon re-issues it with only what the role grants and removes the older versions;
/// meanwhile the core never uses the extra seed.
#[tokio::test]
async fn a_supervisors_key_bag_from_before_approvals_handed_keys_over_is_reduced() {
    use callvault_core::crypto;
    use callvault_core::policy::Role;
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut admin) = new_archive(tmp.path()).await;
    const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
    admin
        .add_user(SUP.0, &[Role::Supervisor], &[], &Password::new(SUP.1))
        .await
        .unwrap();
    admin.close().await;
    // What the older build wrote: the same record, its key bag holding `custodian` too, signed
    // with the archive's signing seed (as an admin of that build did).
    let a = callvault_core::archive::Archive::open(&archive).unwrap();
    let root_uid = users::uid_for(&a, ADMIN.0).unwrap();
    let root = users::load_latest(&a, &root_uid).unwrap().unwrap();
    let seeds = users::unlock(&a, &root, &Password::new(ADMIN.1))
        .unwrap()
        .secrets;
    let uid = users::uid_for(&a, SUP.0).unwrap();
    let mut rec = users::load_latest(&a, &uid).unwrap().unwrap();
    let secret = users::unlock(&a, &rec, &Password::new(SUP.1))
        .unwrap()
        .secret;
    let mut bag = std::collections::BTreeMap::new();
    for k in ["custodian", "dedup", "metadata"] {
        bag.insert(k, hex::encode(seeds.get(k).unwrap().expose()));
    }
    let info = format!("callvault/v1/keybag/{uid}/{}", rec.signed.rev);
    rec.signed.keybag = crypto::wrap(
        &crypto::x25519_public(&secret),
        info.as_bytes(),
        &serde_json::to_vec(&bag).unwrap(),
    )
    .unwrap();
    // As a build before admin key signatures wrote it.
    plant_as_before(&archive, seeds.get("signing").unwrap(), rec);
    let raw = |a: &callvault_core::archive::Archive| {
        let r = users::load_latest(a, &uid).unwrap().unwrap();
        users::open_keybag(&r, &secret)
            .unwrap()
            .get("custodian")
            .is_some()
    };
    assert!(raw(&a), "the planted record is what the older build wrote");
    // The supervisor logs on: the session does not hold the seed her roles no longer grant.
    Session::logon_in(&archive, &pc, SUP.0, &Password::new(SUP.1))
        .await
        .unwrap()
        .close()
        .await;
    // The admin's logon re-issues it, and removes the version that held it.
    let admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    assert!(
        admin.warnings.iter().any(|w| w.contains("Upgraded 1 user")),
        "{:?}",
        admin.warnings
    );
    admin.close().await;
    assert!(!raw(&a));
    let versions = std::fs::read_dir(archive.join(format!("users/{uid}")))
        .unwrap()
        .count();
    assert_eq!(versions, 1, "older versions removed");
    assert!(!users::over_granted(&a, &seeds, &uid));
    // She still logs on, on a computer new to the archive too.
    let mac = tmp.path().join("mac");
    Session::logon_in(&archive, &mac, SUP.0, &Password::new(SUP.1))
        .await
        .unwrap()
        .close()
        .await;
}

/// An archive made before the recovery key (the format-1 fixture: its approvers' and data
/// controller's secrets escrowed to the admin key). The admin is warned; once the data controller
/// creates the recovery key, the next logon of an admin who holds call keys moves every key
/// holder's escrow to it and removes the versions escrowed to the admin key: the admin seed then
/// opens none of them, the recovery code does.
#[tokio::test]
async fn key_holders_escrow_moves_to_the_recovery_key_once_it_exists() {
    use callvault_core::crypto;
    use callvault_core::users::recovery;
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let pc = tmp.path().join("pm-pc");
    let a = callvault_core::archive::Archive::open(&archive).unwrap();
    let admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    assert!(
        admin.warnings.iter().any(|w| w.contains("no recovery key")),
        "{:?}",
        admin.warnings
    );
    admin.close().await;
    let root = users::load_latest(&a, &users::uid_for(&a, ADMIN.0).unwrap())
        .unwrap()
        .unwrap();
    let seeds = users::unlock(&a, &root, &Password::new(ADMIN.1))
        .unwrap()
        .secrets;
    let holders = [ADMIN.0, PBM.0, "dr.priya.shah"];
    let escrow = |name: &str| {
        let uid = users::uid_for(&a, name).unwrap();
        users::load_latest(&a, &uid).unwrap().unwrap()
    };
    // The first upgrade run tagged every key holder's record with the call key: each one's own
    // key bag (opened through the escrow) already held it, so their keys are the practice's.
    let custodian = seeds.get("custodian").unwrap().clone();
    for h in holders {
        assert!(users::open_escrow(&escrow(h), &seeds, None).is_ok(), "{h}");
        assert!(users::vouched(&a, &custodian, &escrow(h)), "{h}");
    }
    assert!(
        !users::vouched(&a, &custodian, &escrow(GP.0)),
        "not a key holder"
    );
    // The data controller creates the recovery key; its code is shown once.
    let dc = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    let code = dc.create_recovery_key().unwrap();
    assert!(dc.create_recovery_key().is_err(), "only once");
    dc.close().await;
    // The next logon of an admin who holds call keys moves the escrows.
    let mut admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    assert!(
        admin.warnings.iter().any(|w| w.contains("Upgraded 3 user")),
        "{:?}",
        admin.warnings
    );
    let rep = admin.verify().await.unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    admin.close().await;
    let seed = recovery::open(&a, &code).unwrap();
    let nobody = users::ArchiveSecrets::default();
    for h in holders {
        let rec = escrow(h);
        assert!(users::escrowed_to_recovery(&rec), "{h}");
        assert!(
            users::vouched(&a, &custodian, &rec),
            "{h}: the tag survives the move"
        );
        assert!(users::open_escrow(&rec, &seeds, None).is_err(), "{h}");
        assert!(
            users::open_escrow(&rec, &nobody, Some(&seed)).is_ok(),
            "{h}"
        );
        let uid = users::uid_for(&a, h).unwrap();
        for v in std::fs::read_dir(archive.join(format!("users/{uid}"))).unwrap() {
            let b = std::fs::read(v.unwrap().path()).unwrap();
            let r: users::UserRecord = serde_json::from_slice(&b).unwrap();
            assert!(
                users::escrowed_to_recovery(&r),
                "{h}: an older version is left"
            );
        }
    }
    // Those who hold no call key stay escrowed to the admin key.
    assert!(users::open_escrow(&escrow(GP.0), &seeds, None).is_ok());
    // Users made before checkpoints named keys have them named now (the upgrade run's checkpoints;
    // for a format-2 archive, an admin's logon names any not yet named): a record with other
    // keys, signed with the signing key, is refused on a computer new to the archive.
    let mut forged = escrow(GP.0);
    let other = callvault_core::secret::Key32::random();
    forged.signed.public_key = crypto::b64(&crypto::x25519_public(&other));
    forged.ver += 1;
    // As a build before admin key signatures wrote it.
    forged.admin_sig = None;
    let msg = [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(&forged.signed).unwrap(),
    ]
    .concat();
    forged.sig = crypto::b64(&crypto::ed25519_sign(seeds.get("signing").unwrap(), &msg));
    let gp_uid = users::uid_for(&a, GP.0).unwrap();
    std::fs::write(
        archive.join(format!("users/{gp_uid}/{:08}.cvu", forged.ver)),
        serde_json::to_vec_pretty(&forged).unwrap(),
    )
    .unwrap();
    let new_pc = tmp.path().join("new-pc");
    let s = Session::logon_in(&archive, &new_pc, PBM.0, &Password::new(PBM.1))
        .await
        .unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|x| x.contains(&gp_uid) && x.contains("checkpoint")),
        "{:?}",
        s.warnings
    );
    s.close().await;
    std::fs::remove_file(archive.join(format!("users/{gp_uid}/{:08}.cvu", forged.ver))).unwrap();
    // Everyone still logs on.
    for (n, p) in [PBM, GP] {
        Session::logon_in(&archive, &pc, n, &Password::new(p))
            .await
            .unwrap()
            .close()
            .await;
    }
}

/// An archive made by the build of 2026-12-07 (segments with readers), where an admin's key bag
/// still held the metadata key and a supervisor's secret was escrowed to the admin key. The next
/// logon of an admin who holds the keys (the data controller) re-issues the IT lead's bag without
/// the metadata key and moves the supervisor's escrow to the recovery key, so no admin can become
/// her; the metadata key is rotated out of the IT lead's hands.
#[tokio::test]
async fn an_admins_metadata_key_and_a_supervisors_escrow_from_the_build_before_are_taken_back() {
    use callvault_core::crypto;
    use callvault_core::policy::Role;
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut admin) = new_archive(tmp.path()).await;
    const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
    const IT: (&str, &str) = ("ivo.it", "it-pass-12345");
    const APP: (&str, &str) = ("dr.ann.partner", "ann-pass-12345");
    for (u, role) in [
        (SUP, Role::Supervisor),
        (IT, Role::Admin),
        (APP, Role::Approver),
    ] {
        admin
            .add_user(u.0, &[role], &[], &Password::new(u.1))
            .await
            .unwrap();
    }
    admin.close().await;
    let a = callvault_core::archive::Archive::open(&archive).unwrap();
    let root_uid = users::uid_for(&a, ADMIN.0).unwrap();
    let root = users::load_latest(&a, &root_uid).unwrap().unwrap();
    let seeds = users::unlock(&a, &root, &Password::new(ADMIN.1))
        .unwrap()
        .secrets;
    let plant = |rec| plant_as_before(&archive, seeds.get("signing").unwrap(), rec);
    // The approver's record with no reader tag (the build before wrote none); escrowed to the
    // recovery key, so no admin opens her bag to check it: her holder tag vouches for her keys.
    let app_uid = users::uid_for(&a, APP.0).unwrap();
    let mut rec = users::load_latest(&a, &app_uid).unwrap().unwrap();
    assert!(rec.signed.reader.is_some() && rec.signed.holder.is_some());
    rec.signed.reader = None;
    plant(rec);
    // The IT lead's bag with the metadata key, as it was given then.
    let it_uid = users::uid_for(&a, IT.0).unwrap();
    let mut rec = users::load_latest(&a, &it_uid).unwrap().unwrap();
    let it_secret = users::unlock(&a, &rec, &Password::new(IT.1))
        .unwrap()
        .secret;
    let mut bag = std::collections::BTreeMap::new();
    for k in ["admin", "audit", "dedup", "metadata", "signing"] {
        bag.insert(k, hex::encode(seeds.get(k).unwrap().expose()));
    }
    rec.signed.keybag = crypto::wrap(
        &crypto::x25519_public(&it_secret),
        format!("callvault/v1/keybag/{it_uid}/{}", rec.signed.rev).as_bytes(),
        &serde_json::to_vec(&bag).unwrap(),
    )
    .unwrap();
    rec.signed.given.insert("metadata".into(), 0);
    plant(rec);
    // The supervisor's secret escrowed to the admin key.
    let sup_uid = users::uid_for(&a, SUP.0).unwrap();
    let mut rec = users::load_latest(&a, &sup_uid).unwrap().unwrap();
    assert!(
        users::escrowed_to_recovery(&rec),
        "this build escrows her to the recovery key"
    );
    let sup_secret = users::unlock(&a, &rec, &Password::new(SUP.1))
        .unwrap()
        .secret;
    rec.signed.escrow = crypto::wrap(
        &a.config.keys.get("admin").unwrap(),
        format!("callvault/v1/escrow/{sup_uid}").as_bytes(),
        sup_secret.expose(),
    )
    .unwrap();
    rec.signed.escrow_to = None;
    plant(rec);
    let it_holds_metadata = || {
        let r = users::load_latest(&a, &it_uid).unwrap().unwrap();
        users::open_keybag(&r, &it_secret)
            .unwrap()
            .get("metadata")
            .is_some()
    };
    assert!(
        it_holds_metadata(),
        "the planted bag is what the build before wrote"
    );
    // The IT lead logs on meanwhile (her session keeps only the seeds her role grants).
    Session::logon_in(&archive, &pc, IT.0, &Password::new(IT.1))
        .await
        .unwrap()
        .close()
        .await;
    // The data controller's logon (an admin too) upgrades the records.
    let admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    assert!(
        !admin.warnings.iter().any(|w| w.contains("not upgraded")),
        "{:?}",
        admin.warnings
    );
    admin.close().await;
    assert!(!it_holds_metadata(), "re-issued without the metadata key");
    let sup = users::load_latest(&a, &sup_uid).unwrap().unwrap();
    assert!(users::escrowed_to_recovery(&sup), "escrow moved");
    assert!(
        users::open_escrow(&sup, &seeds, None).is_err(),
        "the admin key no longer opens it"
    );
    for uid in [&it_uid, &sup_uid] {
        let versions = std::fs::read_dir(archive.join(format!("users/{uid}")))
            .unwrap()
            .count();
        assert_eq!(versions, 1, "older versions removed");
    }
    // The metadata key is rotated out of the IT lead's copy.
    let admin = Session::logon_in(&archive, &pc, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    admin.close().await;
    let chain = users::callkey::read_key(&a, "metadata", None).unwrap();
    assert_eq!(chain.current(), 1, "{:?}", chain.problems);
    assert_eq!(chain.epochs[0].leavers, vec![it_uid.clone()]);
    // The approver with no reader tag (her holder tag vouches) is given the new epoch.
    assert!(chain.epochs[0].grants.iter().any(|g| g.to == app_uid));
    // All still log on.
    for u in [SUP, IT, APP] {
        Session::logon_in(&archive, &pc, u.0, &Password::new(u.1))
            .await
            .unwrap()
            .close()
            .await;
    }
}
