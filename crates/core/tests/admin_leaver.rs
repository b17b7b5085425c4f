//! An admin who left cannot come back through the archive's signing key (issue 18). The `signing`
//! seed is shared by every admin and never rotates, so before admin key signatures an admin who
//! kept a copy of their key bag could write the next revision of their own record with `disabled`
//! false, or raise a colleague's roles, and every computer believed it. Now disabling an admin
//! rotates the admin key first, its new epoch naming every user record's revision, and a later
//! revision is believed only if that epoch (which the leaver was never given) signed it. The
//! forgeries here are made as the leaver's own tool would make them, with the core's low-level
//! functions and the seeds of their kept key bag.

use callvault_core::archive::Archive;
use callvault_core::crypto;
use callvault_core::policy::Role;
use callvault_core::secret::{Key32, Password};
use callvault_core::session::{self, KdfChoice, Session};
use callvault_core::users::{self, callkey, cosign, ArchiveSecrets, Profile, UserRecord};
use std::collections::BTreeMap;
use std::path::Path;

const ROOT: (&str, &str) = ("root.admin", "root-pass-1234");
const IT: (&str, &str) = ("ivy.it", "it-pass-1234567");
const OLA: (&str, &str) = ("ola.it", "ola-pass-123456");
const REC: (&str, &str) = ("rae.reception", "rec-pass-12345");
const NEW: (&str, &str) = ("wes.planted", "wes-pass-12345");

async fn logon(archive: &Path, data: &Path, u: (&str, &str)) -> Session {
    Session::logon_in(archive, data, u.0, &Password::new(u.1))
        .await
        .unwrap()
}

/// A new archive in `dir` (`archive`), made on computer `pc` by ROOT (admin and data
/// controller), who is logged on there.
async fn start(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Session) {
    let archive = dir.join("archive");
    let pc = dir.join("pc");
    session::init_in(
        &archive,
        &pc,
        ROOT.0,
        &Password::new(ROOT.1),
        KdfChoice::Fast,
    )
    .await
    .unwrap();
    let root = logon(&archive, &pc, ROOT).await;
    (archive, pc, root)
}

/// What the leaver's tool keeps: the seeds of their key bag as it was.
struct Kept {
    uid: String,
    bag: ArchiveSecrets,
}

fn keep(a: &Archive, u: (&str, &str)) -> Kept {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let secret = users::open_secret(&rec, &Password::new(u.1)).unwrap();
    let bag = users::open_keybag(&rec, &secret).unwrap();
    Kept { uid, bag }
}

/// The newest record file of a user, read without any check (the leaver's tool reads the share).
fn raw_latest(a: &Archive, uid: &str) -> UserRecord {
    let dir = format!("users/{uid}");
    let name = a
        .list(&dir)
        .unwrap()
        .into_iter()
        .filter(|n| users::parse_ver(n).is_some())
        .max()
        .unwrap();
    serde_json::from_slice(&a.read(&format!("{dir}/{name}")).unwrap()).unwrap()
}

/// Publish the next revision of `uid`'s record with `profile`, key bag `bag` wrapped to `public`
/// (the user's own key), signed as the leaver can: the archive's signing seed and the admin key
/// of their kept bag (epoch 0).
fn forge(
    a: &Archive,
    kept: &Kept,
    uid: &str,
    base: Option<UserRecord>,
    (public, secret_for_new): ([u8; 32], Option<&Key32>),
    profile: &Profile,
    bag: &[&str],
) {
    let mut rec = match base {
        Some(r) => r,
        None => {
            // A brand-new user, copied from the leaver's own record's shape.
            let mut r = raw_latest(a, &kept.uid);
            let s = secret_for_new.unwrap();
            r.signed.uid = uid.to_string();
            r.signed.rev = 0;
            r.ver = u64::MAX;
            r.signed.signing_key =
                crypto::b64(&crypto::ed25519_public(&users::user_signing_seed(s)));
            r.signed.escrow = crypto::wrap(
                &a.config.keys.get("admin").unwrap(),
                format!("callvault/v1/escrow/{uid}").as_bytes(),
                s.expose(),
            )
            .unwrap();
            r
        }
    };
    rec.signed.rev += 1;
    rec.ver = rec.ver.wrapping_add(1);
    rec.signed.public_key = crypto::b64(&public);
    let rev = rec.signed.rev;
    let seeds: BTreeMap<&str, String> = bag
        .iter()
        .map(|k| (*k, hex::encode(kept.bag.get(k).unwrap().expose())))
        .collect();
    rec.signed.keybag = crypto::wrap(
        &public,
        format!("callvault/v1/keybag/{uid}/{rev}").as_bytes(),
        &serde_json::to_vec(&seeds).unwrap(),
    )
    .unwrap();
    rec.signed.profile = crypto::wrap(
        &a.config.keys.get("metadata").unwrap(),
        format!("callvault/v1/profile/{uid}/{rev}").as_bytes(),
        &serde_json::to_vec(profile).unwrap(),
    )
    .unwrap();
    rec.signed.by = kept.uid.clone();
    rec.signed.holder = None;
    // The admin key's signature, with the only admin key the leaver has.
    sign_record(
        &mut rec,
        kept.bag.get("signing").unwrap(),
        Some((0, kept.bag.get("admin").unwrap())),
    );
    a.write_new(
        &format!("users/{uid}/{:08}.cvu", rec.ver),
        &serde_json::to_vec_pretty(&rec).unwrap(),
    )
    .unwrap();
}

/// Sign a record's signed part as a tool of one's own does: with the archive's `signing` seed,
/// and, if given, with an admin key epoch `(epoch, seed)` (else no admin signature).
fn sign_record(rec: &mut UserRecord, signing: &Key32, admin: Option<(u32, &Key32)>) {
    let msg = [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(&rec.signed).unwrap(),
    ]
    .concat();
    rec.sig = crypto::b64(&crypto::ed25519_sign(signing, &msg));
    rec.admin_sig = admin.map(|(epoch, seed)| {
        let admin_msg = [b"callvault/v3/user-admin\n".as_slice(), &msg].concat();
        cosign::AdminSig {
            epoch,
            sig: crypto::b64(&crypto::xeddsa_sign(seed, &admin_msg)),
        }
    });
}

fn pk(b64: &str) -> [u8; 32] {
    crypto::unb64(b64, "k").unwrap().try_into().unwrap()
}

#[tokio::test]
async fn a_disabled_admin_cannot_re_enable_themselves_raise_a_colleague_or_plant_an_admin() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut root) = start(tmp.path()).await;
    for (u, roles) in [
        (IT, vec![Role::Admin]),
        (OLA, vec![Role::Admin]),
        (REC, vec![Role::Staff]),
    ] {
        root.add_user(u.0, &roles, &[], &Password::new(u.1))
            .await
            .unwrap();
    }
    // The receptionist's record at revision 2, so that an older revision exists to be made again.
    root.update_user(REC.0, Some(&["205".to_string()]), None)
        .await
        .unwrap();
    let a = Archive::open(&archive).unwrap();
    let it = keep(&a, IT);
    let rec_uid = users::uid_for(&a, REC.0).unwrap();
    // Ola's session began before Ivy left.
    let ola_pc = tmp.path().join("ola-pc");
    let mut ola = logon(&archive, &ola_pc, OLA).await;

    // Ivy leaves: the admin key's next epoch is made first, naming every record's revision, and
    // her disablement is signed with it — even while a maintenance lock planted with a lease of a
    // year is held (a leaver must not keep the key by holding the lock).
    let planted = callvault_core::retention::lock::acquire(
        &a,
        "ffffffffffffffffffffffffffffffff",
        &it.uid,
        chrono::Duration::days(365),
        std::time::Duration::from_secs(0),
    )
    .unwrap();
    root.update_user(IT.0, None, Some(true)).await.unwrap();
    drop(planted);
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("the admin key was rotated without it")),
        "{:?}",
        root.warnings
    );
    // Ola, an admin too, is escrowed to the practice's recovery key, not to the admin key Ivy
    // held: Ivy never had her secret (and so not the new epoch given to her), and nobody is warned.
    let ola_rec = users::load_latest(&a, &users::uid_for(&a, OLA.0).unwrap())
        .unwrap()
        .unwrap();
    assert!(users::escrowed_to_recovery(&ola_rec));
    assert!(users::open_escrow(&ola_rec, &it.bag, None).is_err());
    assert!(
        !root
            .warnings
            .iter()
            .any(|w| w.contains("their secret is escrowed to the admin key")),
        "{:?}",
        root.warnings
    );
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.current(), 1, "{:?}", chain.problems);
    let e1 = &chain.epochs[0];
    assert_eq!(e1.leavers, vec![it.uid.clone()]);
    assert!(!e1.grants.iter().any(|g| g.to == it.uid));
    let revs = e1
        .revisions
        .as_ref()
        .expect("the admin epoch names revisions");
    let disabled = users::load_latest(&a, &it.uid).unwrap().unwrap();
    assert_eq!(
        revs.get(&it.uid).map(|r| r.rev),
        Some(disabled.signed.rev - 1)
    );
    assert_eq!(disabled.admin_sig.as_ref().map(|s| s.epoch), Some(1));

    // Attack 1: Ivy writes the next revision of her own record, enabled again, signed with the
    // archive's signing seed and her kept admin key.
    // An admin holds no metadata key (the roles that search the whole archive do), so none was
    // rotated at her leaving. (Profiles are sealed for every user, from `dedup`.)
    let metadata = callkey::read_key(&a, "metadata", None).unwrap();
    assert_eq!(metadata.current(), 0);
    let me = Profile {
        name: IT.0.into(),
        roles: vec![Role::Admin],
        telephony_ids: vec![],
        disabled: false,
    };
    let it_public = pk(&disabled.signed.public_key);
    forge(
        &a,
        &it,
        &it.uid,
        Some(raw_latest(&a, &it.uid)),
        (it_public, None),
        &me,
        &["admin", "audit", "dedup", "signing"],
    );
    let err = users::load_latest(&a, &it.uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 1 names"), "{err}");
    // She cannot log on, on a computer new to the archive nor on her own.
    for p in [tmp.path().join("fresh-pc"), tmp.path().join("ivy-own-pc")] {
        let e = Session::logon_in(&archive, &p, IT.0, &Password::new(IT.1))
            .await
            .expect_err("a disabled admin's forged record is not believed");
        assert!(
            e.to_string().contains("the admin key's epoch 1 names"),
            "{e}"
        );
    }

    // Attack 2: she raises the receptionist to admin (a record of her making, the receptionist's
    // own keys kept so no pin notices).
    let rec_before = raw_latest(&a, &rec_uid);
    let mut rae =
        users::read_profile(&rec_before, &users::ProfileKey::of(&a, &it.bag).unwrap()).unwrap();
    rae.roles = vec![Role::Admin, Role::Staff];
    forge(
        &a,
        &it,
        &rec_uid,
        Some(rec_before.clone()),
        (pk(&rec_before.signed.public_key), None),
        &rae,
        &["admin", "audit", "dedup", "signing"],
    );
    let err = users::load_latest(&a, &rec_uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 1 names"), "{err}");

    // Attack 3: she plants a new admin of her own, whom no admin key epoch names.
    let w_secret = Key32::random();
    let w_uid = users::uid_for(&a, NEW.0).unwrap();
    let planted = Profile {
        name: NEW.0.into(),
        roles: vec![Role::Admin],
        telephony_ids: vec![],
        disabled: false,
    };
    forge(
        &a,
        &it,
        &w_uid,
        None,
        (crypto::x25519_public(&w_secret), Some(&w_secret)),
        &planted,
        &["admin", "audit", "dedup", "signing"],
    );
    let err = users::load_latest(&a, &w_uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 1 names"), "{err}");

    // Everyone else, on a computer new to the archive: none of the three is believed, each named.
    let fresh = tmp.path().join("root-new-pc");
    let r2 = logon(&archive, &fresh, ROOT).await;
    let users = r2.list_users().await.unwrap();
    assert!(!users.iter().any(|u| u.name == IT.0 && !u.disabled));
    assert!(!users.iter().any(|u| u.name == NEW.0));
    assert!(!users
        .iter()
        .any(|u| u.name == REC.0 && u.roles.contains(&Role::Admin)));
    for uid in [&it.uid, &rec_uid, &w_uid] {
        assert!(
            r2.warnings
                .iter()
                .any(|w| w.contains(uid.as_str()) && w.contains("the admin key's epoch 1 names")),
            "{uid}: {:?}",
            r2.warnings
        );
    }
    drop(r2);

    // A session that began before the rotation must log on again to change an account: what it
    // signed with the old epoch would be believed by nobody.
    let e = ola
        .add_user(
            "tom.temp",
            &[Role::Staff],
            &[],
            &Password::new("tom-pass-12345"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("log on again"), "{e}");
    drop(ola);
    let mut ola = logon(&archive, &ola_pc, OLA).await;
    ola.add_user(
        "tom.temp",
        &[Role::Staff],
        &[],
        &Password::new("tom-pass-12345"),
    )
    .await
    .unwrap();
    let tom = users::uid_for(&a, "tom.temp").unwrap();
    assert!(users::load_latest(&a, &tom).unwrap().is_some());

    // The forgeries taken away (as `verify` names them), an admin can re-enable Ivy, who then
    // logs on again.
    for uid in [&it.uid, &rec_uid] {
        let latest = raw_latest(&a, uid);
        std::fs::remove_file(archive.join(format!("users/{uid}/{:08}.cvu", latest.ver))).unwrap();
    }
    std::fs::remove_dir_all(archive.join(format!("users/{w_uid}"))).unwrap();
    let mut root = logon(&archive, &pc, ROOT).await;
    root.update_user(IT.0, None, Some(false)).await.unwrap();
    let ivy = logon(&archive, &tmp.path().join("ivy-pc"), IT).await;
    assert!(ivy.roles().contains(&Role::Admin));
    drop((ivy, root));

    // Attack 4: the receptionist's record at the very revision the epoch names, its content
    // changed (made an admin), published as a newer file: the epoch names it by its hash too.
    let mut same = raw_latest(&a, &rec_uid);
    let named = callkey::read_key(&a, "admin", None).unwrap().epochs[0]
        .revisions
        .as_ref()
        .unwrap()[&rec_uid]
        .rev;
    assert_eq!(same.signed.rev, named);
    assert_eq!(named, 2);
    same.signed.rev -= 1;
    forge(
        &a,
        &it,
        &rec_uid,
        Some(same),
        (pk(&rec_before.signed.public_key), None),
        &rae,
        &["admin", "audit", "dedup", "signing"],
    );
    let forged = raw_latest(&a, &rec_uid);
    assert_eq!(forged.signed.rev, named);
    let err = users::load_latest(&a, &rec_uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 1 names"), "{err}");
    std::fs::remove_file(archive.join(format!("users/{rec_uid}/{:08}.cvu", forged.ver))).unwrap();
    assert!(users::load_latest(&a, &rec_uid).is_ok());

    // Attack 5: an older revision made again. She takes every version of the receptionist's record
    // off the share and plants, alone, one at a revision below the one the epoch names, made an
    // admin, signed with her kept admin key. A computer new to the archive has seen no revision
    // and applied no checkpoint yet (its first catch-up reads journals with the roles it
    // believes): the rule alone must refuse it.
    let dir = archive.join(format!("users/{rec_uid}"));
    let kept_files: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let mut older = raw_latest(&a, &rec_uid);
    for (p, _) in &kept_files {
        std::fs::remove_file(p).unwrap();
    }
    older.signed.rev = named - 2;
    forge(
        &a,
        &it,
        &rec_uid,
        Some(older),
        (pk(&rec_before.signed.public_key), None),
        &rae,
        &["admin", "audit", "dedup", "signing"],
    );
    assert_eq!(raw_latest(&a, &rec_uid).signed.rev, named - 1);
    let err = users::load_latest(&a, &rec_uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 1 names"), "{err}");
    for f in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    for (p, b) in &kept_files {
        std::fs::write(p, b).unwrap();
    }
    assert!(users::load_latest(&a, &rec_uid).is_ok());
    // Her genuine older version (revision 1, written before epoch 1) is passed over, not reported
    // as a forgery: `verify` names nothing of hers.
    assert!(kept_files.len() >= 2);
    let mut root = logon(&archive, &pc, ROOT).await;
    let v = root.verify().await.unwrap();
    assert!(
        !v.problems
            .iter()
            .any(|p| p.object.starts_with(&format!("users/{rec_uid}/"))),
        "{:?}",
        v.problems
    );
    drop(root);

    // An epoch file that does not verify (planted after the newest, or the real one damaged):
    // which records came after an admin left is not known, so none is believed, even on a
    // computer new to the archive.
    let planted = archive.join(callkey::path_of("admin", 2));
    std::fs::write(&planted, b"{}").unwrap();
    let e = Session::logon_in(
        &archive,
        &tmp.path().join("new-pc-2"),
        ROOT.0,
        &Password::new(ROOT.1),
    )
    .await
    .expect_err("no record is believed over a refused admin epoch");
    assert!(e.to_string().contains("00000002.json"), "{e}");
    std::fs::remove_file(&planted).unwrap();

    // Removing the admin key's epoch from the share (so records signed with the old key would
    // pass again): a computer that saw it believes no user record until it is restored.
    let e1 = archive.join(callkey::path_of("admin", 1));
    let kept = std::fs::read(&e1).unwrap();
    std::fs::remove_file(&e1).unwrap();
    let e = Session::logon_in(&archive, &pc, ROOT.0, &Password::new(ROOT.1))
        .await
        .expect_err("refused while the admin key is rolled back");
    assert!(e.to_string().contains("rolled back or replaced"), "{e}");
    std::fs::write(&e1, kept).unwrap();
    logon(&archive, &pc, ROOT).await;
}

/// An admin key epoch an older Callvault made names no revisions, so it requires no admin
/// signature: an admin's next logon makes one that does, after which a former admin's record is
/// refused.
#[tokio::test]
async fn an_admin_epoch_from_an_older_build_is_followed_by_one_naming_the_revisions() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut root) = start(tmp.path()).await;
    root.add_user(IT.0, &[Role::Admin], &[], &Password::new(IT.1))
        .await
        .unwrap();
    drop(root);
    let a = Archive::open(&archive).unwrap();
    let it = keep(&a, IT);
    // Epoch 1 as the older build made it: no `revisions`.
    let root_uid = users::uid_for(&a, ROOT.0).unwrap();
    let root_rec = users::load_latest(&a, &root_uid).unwrap().unwrap();
    let un = users::unlock(&a, &root_rec, &Password::new(ROOT.1)).unwrap();
    let seed = users::user_signing_seed(&un.secret);
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    callkey::rotate(
        &a,
        &chain,
        un.secrets.get("admin").unwrap(),
        &callvault_core::archive::Signer {
            uid: &root_uid,
            seed: &seed,
        },
        &[(root_uid.clone(), pk(&root_rec.signed.public_key))],
        vec![],
        None,
    )
    .unwrap();
    let root = logon(&archive, &pc, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("admin key was rotated (epoch 2) so that it names")),
        "{:?}",
        root.warnings
    );
    drop(root);
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.current(), 2);
    assert!(chain.epochs[1]
        .revisions
        .as_ref()
        .unwrap()
        .contains_key(&it.uid));
    // Ivy, still an admin here, but whose tool signs with the admin key of her old bag: refused.
    let mut me = users::read_profile(
        &raw_latest(&a, &it.uid),
        &users::ProfileKey::of(&a, &it.bag).unwrap(),
    )
    .unwrap();
    me.telephony_ids = vec!["0".into()];
    forge(
        &a,
        &it,
        &it.uid,
        Some(raw_latest(&a, &it.uid)),
        (pk(&raw_latest(&a, &it.uid).signed.public_key), None),
        &me,
        &["admin", "audit", "dedup", "signing"],
    );
    let err = users::load_latest(&a, &it.uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 2 names"), "{err}");
}

/// An admin made before admins were escrowed to the recovery key (their escrow still to the admin
/// key) is disabled by an admin who holds no call key: the escrow's move, which needs the call key
/// to check the recovery key, is left for later, and the disablement (and the admin key's
/// rotation) goes ahead.
#[tokio::test]
async fn an_admin_without_the_call_key_disables_an_admin_escrowed_the_old_way() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _, mut root) = start(tmp.path()).await;
    for u in [IT, OLA] {
        root.add_user(u.0, &[Role::Admin], &[], &Password::new(u.1))
            .await
            .unwrap();
    }
    drop(root);
    let a = Archive::open(&archive).unwrap();
    // Ivy's record as the build before wrote it: escrowed to the admin key, no admin signature.
    let it_uid = users::uid_for(&a, IT.0).unwrap();
    let mut rec = raw_latest(&a, &it_uid);
    let secret = users::unlock(&a, &rec, &Password::new(IT.1))
        .unwrap()
        .secret;
    let root_bag = keep(&a, ROOT).bag;
    rec.signed.escrow = crypto::wrap(
        &a.config.keys.get("admin").unwrap(),
        format!("callvault/v1/escrow/{it_uid}").as_bytes(),
        secret.expose(),
    )
    .unwrap();
    rec.signed.escrow_to = None;
    sign_record(&mut rec, root_bag.get("signing").unwrap(), None);
    // As the next version of the same revision (what two admins saving one user at once leave:
    // once an admin key epoch names the newer, the older is passed over, not a reason to refuse).
    rec.ver += 1;
    a.write_new(
        &format!("users/{it_uid}/{:08}.cvu", rec.ver),
        &serde_json::to_vec_pretty(&rec).unwrap(),
    )
    .unwrap();
    assert!(!users::escrowed_to_recovery(
        &users::load_latest(&a, &it_uid).unwrap().unwrap()
    ));

    let mut ola = logon(&archive, &tmp.path().join("ola-pc"), OLA).await;
    assert!(ola.user_name_of(&it_uid).is_some());
    ola.update_user(IT.0, None, Some(true)).await.unwrap();
    let now = users::load_latest(&a, &it_uid).unwrap().unwrap();
    assert!(!users::escrowed_to_recovery(&now), "left for a key holder");
    assert_eq!(now.admin_sig.as_ref().map(|s| s.epoch), Some(1));
    assert_eq!(callkey::read_key(&a, "admin", None).unwrap().current(), 1);
    let e = Session::logon_in(
        &archive,
        &tmp.path().join("ivy-pc"),
        IT.0,
        &Password::new(IT.1),
    )
    .await
    .expect_err("disabled");
    assert!(e.to_string().contains("disabled"), "{e}");
}

/// The disabled record itself is the leaver's: with their password they open its key bag. It
/// must hold no archive seed, above all not the admin key's epoch made to shut them out.
#[tokio::test]
async fn a_disabled_users_own_record_gives_them_no_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _pc, mut root) = start(tmp.path()).await;
    for (u, roles) in [(IT, vec![Role::Admin]), (REC, vec![Role::Staff])] {
        root.add_user(u.0, &roles, &[], &Password::new(u.1))
            .await
            .unwrap();
    }
    root.update_user(IT.0, None, Some(true)).await.unwrap();
    root.update_user(REC.0, None, Some(true)).await.unwrap();
    let a = Archive::open(&archive).unwrap();
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.current(), 1);
    let e1 = pk(&chain.epochs[0].public_key);
    let it_after = keep(&a, IT);
    assert!(
        it_after
            .bag
            .get("admin")
            .is_none_or(|k| crypto::x25519_public(k) != e1),
        "the leaver's disabled record gives the admin key's epoch 1, made to shut her out"
    );
    for u in [IT, REC] {
        let after = keep(&a, u);
        for k in users::SEED_NAMES {
            assert!(
                after.bag.get(k).is_none(),
                "{}'s disabled record still gives the {k} seed",
                u.0
            );
        }
    }
}

/// The build before this one wrote a disabled admin's record after the admin key epoch made at
/// their leaving, with that very epoch in the record's key bag. An admin's next logon makes the
/// next epoch, so what the leaver opens there signs nothing that is believed.
#[tokio::test]
async fn an_admin_disabled_by_the_build_before_is_shut_out_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut root) = start(tmp.path()).await;
    root.add_user(IT.0, &[Role::Admin], &[], &Password::new(IT.1))
        .await
        .unwrap();
    root.update_user(IT.0, None, Some(true)).await.unwrap();
    drop(root);
    let a = Archive::open(&archive).unwrap();
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.current(), 1);
    // Epoch 1's seed, as the data controller holds it.
    let root_uid = users::uid_for(&a, ROOT.0).unwrap();
    let root_rec = users::load_latest(&a, &root_uid).unwrap().unwrap();
    let root_secret = users::open_secret(&root_rec, &Password::new(ROOT.1)).unwrap();
    let root_bag = users::open_keybag(&root_rec, &root_secret).unwrap();
    let (held, _) = callkey::seeds_for(
        &a,
        &chain,
        &root_uid,
        &root_secret,
        root_bag.get("admin").unwrap(),
    )
    .unwrap();
    let (e1, seed1) = held.last().unwrap().clone();
    assert_eq!(e1, 1);
    // Ivy's disabled record as the build before wrote it: her key bag with epoch 1, no `given`,
    // signed with the signing key and epoch 1.
    let it_uid = users::uid_for(&a, IT.0).unwrap();
    let mut rec = raw_latest(&a, &it_uid);
    assert!(!rec.signed.given.is_empty());
    rec.signed.given.clear();
    let mut seeds = BTreeMap::new();
    for k in ["audit", "signing", "dedup"] {
        seeds.insert(k, hex::encode(root_bag.get(k).unwrap().expose()));
    }
    seeds.insert("admin", hex::encode(seed1.expose()));
    rec.signed.keybag = crypto::wrap(
        &pk(&rec.signed.public_key),
        format!("callvault/v1/keybag/{it_uid}/{}", rec.signed.rev).as_bytes(),
        &serde_json::to_vec(&seeds).unwrap(),
    )
    .unwrap();
    sign_record(
        &mut rec,
        root_bag.get("signing").unwrap(),
        Some((1, &seed1)),
    );
    std::fs::write(
        archive.join(format!("users/{it_uid}/{:08}.cvu", rec.ver)),
        serde_json::to_vec_pretty(&rec).unwrap(),
    )
    .unwrap();
    let kept = keep(&a, IT);
    assert_eq!(
        kept.bag.get("admin").map(crypto::x25519_public),
        Some(pk(&chain.epochs[0].public_key)),
        "the record gives her epoch 1"
    );

    // The data controller's next logon makes epoch 2 without her.
    let root = logon(&archive, &pc, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains("admin key was rotated (epoch 2)") && w.contains(IT.0)),
        "{:?}",
        root.warnings
    );
    drop(root);
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.current(), 2);
    assert!(!chain.epochs[1].grants.iter().any(|g| g.to == it_uid));
    // The same logon's upgrade run emptied her record's key bag.
    assert!(users::keybag_is_empty(
        &users::load_latest(&a, &it_uid).unwrap().unwrap()
    ));
    // A record she signs with epoch 1 is refused: here, herself enabled again.
    let mut forged = raw_latest(&a, &it_uid);
    forged.ver += 1;
    forged.signed.rev += 1;
    sign_record(
        &mut forged,
        kept.bag.get("signing").unwrap(),
        Some((1, kept.bag.get("admin").unwrap())),
    );
    a.write_new(
        &format!("users/{it_uid}/{:08}.cvu", forged.ver),
        &serde_json::to_vec_pretty(&forged).unwrap(),
    )
    .unwrap();
    let err = users::load_latest(&a, &it_uid).unwrap_err().to_string();
    assert!(err.contains("the admin key's epoch 2 names"), "{err}");
    // A second logon makes no third epoch.
    std::fs::remove_file(archive.join(format!("users/{it_uid}/{:08}.cvu", forged.ver))).unwrap();
    drop(logon(&archive, &pc, ROOT).await);
    assert_eq!(callkey::read_key(&a, "admin", None).unwrap().current(), 2);
}

/// An admin who takes their own admin role away: the change is signed with the keys they hold,
/// then they make each key's next epoch without themselves; as its author no longer holds the
/// key, it answers nothing, and another admin's next logon rotates them out for good (whatever
/// their record's `given` says: a record from before it has none).
#[tokio::test]
async fn an_admin_who_steps_down_is_rotated_out_at_another_admins_logon() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut root) = start(tmp.path()).await;
    root.add_user(OLA.0, &[Role::Admin], &[], &Password::new(OLA.1))
        .await
        .unwrap();
    drop(root);
    let mut ola = logon(&archive, &tmp.path().join("ola-pc"), OLA).await;
    ola.set_roles(OLA.0, &[Role::Staff]).await.unwrap();
    assert!(
        ola.warnings
            .iter()
            .any(|w| w.contains("You no longer hold the admin key: epoch 1 was made without you")),
        "{:?}",
        ola.warnings
    );
    drop(ola);
    // Made by her, after her change: it answers nothing, as she no longer holds the key.
    let a = Archive::open(&archive).unwrap();
    let ola_uid = users::uid_for(&a, OLA.0).unwrap();
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.current(), 1);
    assert_eq!(chain.epochs[0].by, ola_uid);
    assert!(!chain.epochs[0].grants.iter().any(|g| g.to == ola_uid));
    let root = logon(&archive, &pc, ROOT).await;
    for k in ["admin", "audit"] {
        assert!(
            root.warnings.iter().any(|w| w
                .contains(&format!("{k} key was rotated (epoch 2)"))
                && w.contains(OLA.0)),
            "{k}: {:?}",
            root.warnings
        );
    }
    drop(root);
    let chain = callkey::read_key(&a, "admin", None).unwrap();
    assert_eq!(chain.epochs[1].leavers, vec![ola_uid]);
    let ola = logon(&archive, &tmp.path().join("ola-pc"), OLA).await;
    assert_eq!(ola.roles(), &[Role::Staff]);
    drop(ola);
    // Nothing more to rotate.
    let root = logon(&archive, &pc, ROOT).await;
    assert!(
        !root.warnings.iter().any(|w| w.contains("was rotated")),
        "{:?}",
        root.warnings
    );
}

/// An admin holds no metadata key in an archive with readers, but signs user records. With a tool
/// of their own, an IT lead makes a clinician (so knows her secret), then writes the next revision
/// of her record as a supervisor's — signing key, admin key, an escrow the admin key opens — to
/// have the metadata key wrapped to keys the admin holds. The record carries no reader tag (only a
/// holder of the metadata key can make one): the data controller's upgrade run does not give it
/// the key, and the metadata key's next epoch is not granted to it.
#[tokio::test]
async fn an_admin_cannot_forge_a_supervisor_of_their_own_to_get_the_metadata_key() {
    const SUP: (&str, &str) = ("sid.super", "sup-pass-12345");
    const CAL: (&str, &str) = ("cal.made", "cal-pass-12345");
    let tmp = tempfile::tempdir().unwrap();
    let (archive, pc, mut root) = start(tmp.path()).await;
    for (u, roles) in [(IT, vec![Role::Admin]), (SUP, vec![Role::Supervisor])] {
        root.add_user(u.0, &roles, &[], &Password::new(u.1))
            .await
            .unwrap();
    }
    root.close().await;
    let mut it_session = logon(&archive, &pc, IT).await;
    it_session
        .add_user(
            CAL.0,
            &[Role::Clinician],
            &["207".into()],
            &Password::new(CAL.1),
        )
        .await
        .unwrap();
    it_session.close().await;

    // The IT lead's tool.
    let a = Archive::open(&archive).unwrap();
    let it = keep(&a, IT);
    assert!(
        it.bag.get("metadata").is_none(),
        "an admin holds no metadata key"
    );
    let uid = users::uid_for(&a, CAL.0).unwrap();
    let secret = {
        let rec = users::load_latest(&a, &uid).unwrap().unwrap();
        users::open_secret(&rec, &Password::new(CAL.1)).unwrap()
    };
    // Her next revision, with `roles`, as the admin's tool writes it.
    let forge_as = |roles: Vec<Role>| {
        let mut rec = users::load_latest(&a, &uid).unwrap().unwrap();
        rec.signed.rev += 1;
        rec.ver += 1;
        let rev = rec.signed.rev;
        let profile = Profile {
            name: CAL.0.into(),
            roles,
            telephony_ids: vec!["207".into()],
            disabled: false,
        };
        rec.signed.profile = crypto::wrap(
            &users::profile_recipient(&a, &it.bag).unwrap(),
            format!("callvault/v1/profile/{uid}/{rev}").as_bytes(),
            &serde_json::to_vec(&profile).unwrap(),
        )
        .unwrap();
        let bag = BTreeMap::from([("dedup", hex::encode(it.bag.get("dedup").unwrap().expose()))]);
        rec.signed.keybag = crypto::wrap(
            &crypto::x25519_public(&secret),
            format!("callvault/v1/keybag/{uid}/{rev}").as_bytes(),
            &serde_json::to_vec(&bag).unwrap(),
        )
        .unwrap();
        rec.signed.by = it.uid.clone();
        sign_record(
            &mut rec,
            it.bag.get("signing").unwrap(),
            Some((0, it.bag.get("admin").unwrap())),
        );
        a.write_new(
            &format!("users/{uid}/{:08}.cvu", rec.ver),
            &serde_json::to_vec_pretty(&rec).unwrap(),
        )
        .unwrap();
    };
    forge_as(vec![Role::Supervisor]);

    // The data controller (an admin too) logs on: her upgrade run would re-sign a supervisor with
    // no reader tag, and is refused; then the supervisor leaves, and the metadata key's next
    // epoch is made — not for the forged one.
    let mut root = logon(&archive, &pc, ROOT).await;
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains(&uid) && w.contains("holder of the metadata key")),
        "{:?}",
        root.warnings
    );
    root.update_user(SUP.0, None, Some(true)).await.unwrap();
    assert!(
        root.warnings
            .iter()
            .any(|w| w.contains(CAL.0)
                && w.contains("not vouched for by a holder of the metadata key")),
        "{:?}",
        root.warnings
    );
    // Her session believes the forged supervisor. The admin now puts a clinician's revision in
    // its place, so that an edit of the supervisor looks like a promotion: the data controller
    // changes her extension, and the check is made on the roles her session believed.
    forge_as(vec![Role::Clinician]);
    let _ = root
        .update_user(CAL.0, Some(&["208".to_string()]), None)
        .await;
    root.close().await;
    let chain = callkey::read_key(&a, "metadata", None).unwrap();
    assert_eq!(chain.current(), 1, "{:?}", chain.problems);
    assert!(!chain.epochs[0].grants.iter().any(|g| g.to == uid));
    // Her key bag, as the admin's tool opens it with her secret, never held the metadata key.
    let latest = users::load_latest(&a, &uid).unwrap().unwrap();
    let opened = users::open_keybag(&latest, &secret).unwrap();
    assert!(opened.get("metadata").is_none());
    // A real supervisor, made by the data controller, is vouched for.
    let sup_uid = users::uid_for(&a, SUP.0).unwrap();
    let sup = users::load_latest(&a, &sup_uid).unwrap().unwrap();
    assert!(sup.signed.reader.is_some());
}
