//! The practice's recovery key (issue 18, item 3): an admin (an IT lead) holds no call keys and
//! cannot become someone who does. The secrets of approvers and the data controller are escrowed
//! to the recovery key, whose code the data controller keeps offline; an admin resets the
//! passwords of everyone else. Attacks with an admin's own tool, a planted recovery key, a wrong
//! code; the break-glass path of a practice whose only admin forgot their password.

use callvault_core::archive::Archive;
use callvault_core::crypto;
use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, Session};
use callvault_core::users::{self, recovery};
use callvault_core::Error;
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dana.dc", "dc-pass-12345");
const GP: (&str, &str) = ("dr.gail.partner", "gp-pass-12345");
const IT: (&str, &str) = ("ivo.it", "it-pass-123456");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");
const DC2: (&str, &str) = ("dora.dc", "dc2-pass-12345");

struct World {
    _tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
    code: Password,
}

impl World {
    /// The data controller (also admin, the archive's first user), a GP partner (approver), an IT
    /// lead (admin only), a clinician, and a second data controller who is not an admin.
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("pm-pc");
        let rep = session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut s = Session::logon_in(&archive, &data, DC.0, &Password::new(DC.1))
            .await
            .unwrap();
        for (u, roles) in [
            (GP, vec![Role::Approver]),
            (IT, vec![Role::Admin]),
            (CLIN, vec![Role::Clinician]),
            (DC2, vec![Role::DataController]),
        ] {
            s.add_user(u.0, &roles, &[], &Password::new(u.1))
                .await
                .unwrap();
        }
        s.close().await;
        World {
            _tmp: tmp,
            archive,
            data,
            code: rep.recovery_code,
        }
    }

    async fn logon(&self, u: (&str, &str)) -> Result<Session, Error> {
        Session::logon_in(&self.archive, &self.data, u.0, &Password::new(u.1)).await
    }

    fn share(&self) -> Archive {
        Archive::open(&self.archive).unwrap()
    }
}

fn record(a: &Archive, name: &str) -> users::UserRecord {
    users::load_latest(a, &users::uid_for(a, name).unwrap())
        .unwrap()
        .unwrap()
}

/// Every seed an insider's own tool gets from their own record: their secret and whole key bag.
fn tool(a: &Archive, u: (&str, &str)) -> (callvault_core::secret::Key32, users::ArchiveSecrets) {
    let rec = record(a, u.0);
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    let bag = users::open_keybag(&rec, &un.secret).unwrap();
    (un.secret, bag)
}

/// The recovery key's public half, as anyone reads it from `recovery.json`.
fn recovery_public(w: &World) -> [u8; 32] {
    let rf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.archive.join(recovery::PATH)).unwrap()).unwrap();
    crypto::unb64(rf["public"].as_str().unwrap(), "t")
        .unwrap()
        .try_into()
        .unwrap()
}

async fn trail(w: &World) -> String {
    let dc = w.logon(DC).await.unwrap();
    let t = serde_json::to_string(&dc.audit_list(&AuditFilter::default()).await.unwrap()).unwrap();
    dc.close().await;
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_cannot_open_a_key_holders_escrow_nor_reset_their_password_alone() {
    let w = World::new().await;
    let a = w.share();
    // The admin's own tool: every seed of their key bag against every user's escrow.
    let (it_secret, it_bag) = tool(&a, IT);
    let try_open = |name: &str| {
        let rec = record(&a, name);
        let uid = &rec.signed.uid;
        users::SEED_NAMES
            .iter()
            .filter_map(|n| it_bag.get(n))
            .chain([&it_secret])
            .any(|k| {
                [
                    format!("callvault/v1/escrow/{uid}"),
                    format!("callvault/v3/recovery-escrow/{uid}"),
                ]
                .iter()
                .any(|i| crypto::unwrap(k, i.as_bytes(), &rec.signed.escrow, "t").is_ok())
            })
    };
    assert!(!try_open(GP.0), "the admin opened the approver's secret");
    assert!(
        !try_open(DC.0),
        "the admin opened the data controller's secret"
    );
    assert!(
        try_open(CLIN.0),
        "an admin resets those who hold no call key"
    );
    assert!(it_bag.get("custodian").is_none());

    // Through Callvault: refused, naming who can, and audited.
    let mut it = w.logon(IT).await.unwrap();
    let e = it
        .reset_password(GP.0, &Password::new("taken-over-123"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    assert!(e.to_string().contains("recovery"), "{e}");
    it.reset_password(CLIN.0, &Password::new("clin-new-pass-1"))
        .await
        .unwrap();
    // Nor can the admin grant a key-holding role (the bag needs the call key).
    assert!(it.set_roles(CLIN.0, &[Role::Approver]).await.is_err());
    it.close().await;
    assert!(
        w.logon(GP).await.is_ok(),
        "the approver's password is unchanged"
    );
    assert!(trail(&w).await.contains("recovery"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_is_typed_only_by_the_data_controller_and_an_admin_signs_the_reset_blind() {
    let w = World::new().await;
    let typed = w.code.expose().to_lowercase().replace('-', " ");
    // An admin who is not the data controller cannot use the code at all (so never learns
    // whether a code works, nor holds one in their session): refused and audited.
    let mut it = w.logon(IT).await.unwrap();
    let e = it
        .reset_password_with_recovery(GP.0, &Password::new("gp-new-pass-123"), &w.code)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    it.close().await;
    assert!(w.logon(GP).await.is_ok(), "unchanged");
    // The data controller (not an admin): a wrong code opens nothing; the right one, as people
    // copy it back, prepares the reset, which nobody but an admin can sign.
    let mut dc2 = w.logon(DC2).await.unwrap();
    let e = dc2
        .reset_password_with_recovery(
            GP.0,
            &Password::new("gp-new-pass-123"),
            &Password::new("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    let done = dc2
        .reset_password_with_recovery(
            GP.0,
            &Password::new("gp-new-pass-123"),
            &Password::new(typed),
        )
        .await
        .unwrap();
    assert!(!done, "prepared, waiting for an admin");
    dc2.close().await;
    assert!(w.logon(GP).await.is_ok(), "not yet applied");
    // The admin's next logon signs it, seeing neither code nor secret.
    let it = w.logon(IT).await.unwrap();
    assert!(
        it.warnings
            .iter()
            .any(|x| x.contains("Completed 1 password reset")),
        "{:?}",
        it.warnings
    );
    it.close().await;
    assert!(!w.archive.join("resets").read_dir().unwrap().any(|_| true));
    assert!(matches!(w.logon(GP).await, Err(Error::BadLogon)));
    let gp = w.logon((GP.0, "gp-new-pass-123")).await.unwrap();
    gp.close().await;
    // She still holds the call key (her own bag, re-wrapped); the admin gained nothing.
    let a = w.share();
    let (_, bag) = tool(&a, (GP.0, "gp-new-pass-123"));
    assert!(bag.get("custodian").is_some());
    let (_, it_bag) = tool(&a, IT);
    assert!(it_bag.get("custodian").is_none());
    // Loud: in the audit trail, and a warning at the data controller's and the admin's logon.
    let t = trail(&w).await;
    assert!(t.contains("recovery.use"), "{t}");
    assert!(t.contains("prepared by"), "{t}");
    for u in [DC, IT] {
        let s = w.logon(u).await.unwrap();
        assert!(
            s.warnings
                .iter()
                .any(|x| x.contains("recovery key was used") && x.contains(GP.0)),
            "{:?}",
            s.warnings
        );
        s.close().await;
    }
    let clin = w.logon(CLIN).await.unwrap();
    assert!(!clin.warnings.iter().any(|x| x.contains("recovery key")));
    // A data controller who is an admin too signs it at once.
    let mut dc = w.logon(DC).await.unwrap();
    assert!(dc
        .reset_password_with_recovery(GP.0, &Password::new("gp-third-pass-1"), &w.code)
        .await
        .unwrap());
    dc.close().await;
    assert!(w.logon((GP.0, "gp-third-pass-1")).await.is_ok());
}

/// Anyone can write to the share: a prepared reset re-signed by a clinician's own key (naming
/// herself as its preparer), or moved to another user's place, is not applied, but taken off
/// the share, named and audited; the password stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_prepared_reset_not_from_the_data_controller_is_refused() {
    let w = World::new().await;
    let a = w.share();
    let mut dc2 = w.logon(DC2).await.unwrap();
    assert!(!dc2
        .reset_password_with_recovery(GP.0, &Password::new("gp-new-pass-123"), &w.code)
        .await
        .unwrap());
    dc2.close().await;
    let gp_uid = users::uid_for(&a, GP.0).unwrap();
    let path = w.archive.join(users::reset::path_of(&gp_uid));
    let mut p: users::reset::PreparedReset =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (clin_secret, _) = tool(&a, CLIN);
    p.body.by = users::uid_for(&a, CLIN.0).unwrap();
    let msg = [
        b"callvault/v3/reset\n".as_slice(),
        a.config.identity_hash().as_bytes(),
        b"\n",
        &serde_json::to_vec(&p.body).unwrap(),
    ]
    .concat();
    p.sig = crypto::b64(&crypto::ed25519_sign(
        &users::user_signing_seed(&clin_secret),
        &msg,
    ));
    std::fs::write(&path, serde_json::to_vec(&p).unwrap()).unwrap();
    // And junk beside it: neither stops nor slows an admin's logon, nor is it read.
    let junk = w.archive.join("resets");
    std::fs::write(junk.join("notes.txt"), b"planted").unwrap();
    std::fs::create_dir(junk.join(format!("{}.json", "ab".repeat(16)))).unwrap();
    let it = w.logon(IT).await.unwrap();
    assert!(
        it.warnings
            .iter()
            .any(|x| x.contains("unexpected files") && x.contains("notes.txt")),
        "{:?}",
        it.warnings
    );
    assert!(
        it.warnings
            .iter()
            .any(|x| x.contains("not applied") && x.contains("not the data controller")),
        "{:?}",
        it.warnings
    );
    it.close().await;
    assert!(!path.exists(), "taken off the share");
    assert!(w.logon(GP).await.is_ok(), "the password stays");
    let t = trail(&w).await;
    assert!(t.contains("not the data controller"), "{t}");
}

/// An admin holds the archive's signing key, so can sign a record of their own making under an
/// approver's name: their own key pair, an escrow to the recovery key they made themself, and no
/// archive identity (so the next upgrade run re-signs it). Whoever re-signs it must not wrap the
/// call key to the admin's key pair: a computer that saw the approver's keys refuses the record;
/// one new to the archive finds no holder tag and refuses to give it `custodian`.
#[tokio::test(flavor = "multi_thread")]
async fn an_admins_forged_record_of_an_approver_gets_no_call_key() {
    let w = World::new().await;
    let a = w.share();
    let (_, it_bag) = tool(&a, IT);
    let gp_uid = users::uid_for(&a, GP.0).unwrap();
    let mut rec = record(&a, GP.0);
    let evil = callvault_core::secret::Key32::random();
    let evil_public = crypto::x25519_public(&evil);
    let recovery_public = recovery_public(&w);
    let mut bag = std::collections::BTreeMap::new();
    // (An admin holds no metadata key: only `dedup` of the seeds an approver is given.)
    bag.insert("dedup", hex::encode(it_bag.get("dedup").unwrap().expose()));
    rec.signed.rev += 1;
    rec.signed.public_key = crypto::b64(&evil_public);
    rec.signed.signing_key = crypto::b64(&crypto::ed25519_public(&users::user_signing_seed(&evil)));
    rec.signed.keybag = crypto::wrap(
        &evil_public,
        format!("callvault/v1/keybag/{gp_uid}/{}", rec.signed.rev).as_bytes(),
        &serde_json::to_vec(&bag).unwrap(),
    )
    .unwrap();
    rec.signed.profile = crypto::wrap(
        &users::profile_recipient(&a, &it_bag).unwrap(),
        format!("callvault/v1/profile/{gp_uid}/{}", rec.signed.rev).as_bytes(),
        &serde_json::to_vec(
            &users::read_profile(
                &record(&a, GP.0),
                &users::ProfileKey::of(&a, &it_bag).unwrap(),
            )
            .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    rec.signed.escrow = crypto::wrap(
        &recovery_public,
        format!("callvault/v3/recovery-escrow/{gp_uid}").as_bytes(),
        evil.expose(),
    )
    .unwrap();
    rec.signed.archive = None;
    rec.signed.sealing = None;
    rec.signed.holder = None;
    rec.ver += 1;
    // As a build before admin key signatures wrote it.
    rec.admin_sig = None;
    let msg = [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(&rec.signed).unwrap(),
    ]
    .concat();
    rec.sig = crypto::b64(&crypto::ed25519_sign(it_bag.get("signing").unwrap(), &msg));
    std::fs::write(
        w.archive.join(format!("users/{gp_uid}/{:08}.cvu", rec.ver)),
        serde_json::to_vec_pretty(&rec).unwrap(),
    )
    .unwrap();
    let custodian_reached_evil = || {
        let r = record(&a, GP.0);
        r.signed.public_key == crypto::b64(&evil_public)
            && users::open_keybag(&r, &evil).is_ok_and(|b| b.get("custodian").is_some())
    };
    // The data controller (an admin who holds the call key) on a computer that saw the approver:
    // the changed keys are named and the record is left alone.
    let dc = w.logon(DC).await.unwrap();
    assert!(
        dc.warnings
            .iter()
            .any(|x| x.contains(&gp_uid) && x.contains("keys changed")),
        "{:?}",
        dc.warnings
    );
    dc.close().await;
    assert!(!custodian_reached_evil());
    // On a computer new to the archive (nothing pinned): the admins' checkpoints in the journal
    // name the approver's real keys, so the record is refused there too.
    let fresh = w._tmp.path().join("new-pc");
    let dc = Session::logon_in(&w.archive, &fresh, DC.0, &Password::new(DC.1))
        .await
        .unwrap();
    assert!(
        dc.warnings
            .iter()
            .any(|x| x.contains(&gp_uid) && x.contains("checkpoint")),
        "{:?}",
        dc.warnings
    );
    dc.close().await;
    assert!(!custodian_reached_evil());
    // And whoever re-signs it with the call key (an upgrade run with the data controller's own
    // seeds, past every computer's checks) finds no holder tag, and a key bag without the call
    // key: it is not given one.
    let (_, dc_bag) = tool(&a, DC);
    let dc_uid = users::uid_for(&a, DC.0).unwrap();
    let e = users::upgrade_record(&a, &dc_bag, &dc_uid, &gp_uid).unwrap_err();
    assert!(e.to_string().contains("not put there by a holder"), "{e}");
    assert!(!custodian_reached_evil());
    // A genuine approver's record carries a holder tag the call key verifies.
    let a2 = w.share();
    let c = tool(&a2, DC).1.get("custodian").unwrap().clone();
    assert!(users::vouched(&a2, &c, &record(&a2, DC.0)));
    // As docs/FORMAT.md ("User records", `holder`) gives it.
    let r = record(&a2, DC.0);
    let k = crypto::hkdf(c.expose(), b"callvault/v3/holder-tag");
    let m = [
        b"callvault/v3/holder\n".as_slice(),
        a2.config.identity_hash().as_bytes(),
        b"\n",
        r.signed.uid.as_bytes(),
        b"\n",
        r.signed.public_key.as_bytes(),
        b"\n",
        r.signed.signing_key.as_bytes(),
    ]
    .concat();
    assert_eq!(
        r.signed.holder.as_deref(),
        Some(hex::encode(crypto::hmac_sha256(k.expose(), &m)).as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_only_admin_who_forgot_their_password_recovers_with_the_code() {
    let w = World::new().await;
    // A wrong code: refused and audited; the password stays.
    let e = Session::recover_account(
        &w.archive,
        &w.data,
        DC.0,
        &Password::new("not-the-code"),
        &Password::new("dc-new-pass-123"),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    assert!(w.logon(DC).await.is_ok());
    // An approver who forgot her password: the code prepares a reset in her own name, which an
    // admin's next logon completes.
    let prepared = Session::recover_account(
        &w.archive,
        &w.data,
        GP.0,
        &w.code,
        &Password::new("gp-new-pass-123"),
    )
    .await
    .unwrap();
    assert!(prepared.is_none());
    assert!(
        w.logon(GP).await.is_ok(),
        "unchanged until an admin signs it"
    );
    w.logon(IT).await.unwrap().close().await;
    assert!(w.logon((GP.0, "gp-new-pass-123")).await.is_ok());
    // Not for someone whose secret the recovery key does not hold (an admin resets them).
    let e = Session::recover_account(
        &w.archive,
        &w.data,
        CLIN.0,
        &w.code,
        &Password::new("clin-new-pass-1"),
    )
    .await
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("not escrowed to the recovery key"),
        "{e}"
    );
    // The right code, on a computer new to the archive too.
    let mac = w._tmp.path().join("dc-mac");
    let s = Session::recover_account(
        &w.archive,
        &mac,
        DC.0,
        &w.code,
        &Password::new("dc-new-pass-123"),
    )
    .await
    .unwrap()
    .expect("an admin is logged on at once");
    s.close().await;
    assert!(matches!(w.logon(DC).await, Err(Error::BadLogon)));
    let mut dc = w.logon((DC.0, "dc-new-pass-123")).await.unwrap();
    assert!(dc
        .warnings
        .iter()
        .any(|x| x.contains("recovery key was used")));
    let t = serde_json::to_string(&dc.audit_list(&AuditFilter::default()).await.unwrap()).unwrap();
    assert!(t.contains("recovery.use"));
    assert!(t.contains("refused"), "the wrong code is in the trail: {t}");
    let rep = dc.verify().await.unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
}

/// An insider replaces recovery.json with a key of their own, or deletes it, hoping the next key
/// holder's secret is escrowed to them (or to the admin key): the writer checks the tag with the
/// call key and refuses; nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_planted_or_removed_recovery_key_gets_no_secret_escrowed() {
    let w = World::new().await;
    let a = w.share();
    let path = w.archive.join(recovery::PATH);
    // An insider's own recovery key: a fresh pair, sealed under a code they know, tagged with a
    // key they made up.
    let mut f: recovery::RecoveryFile =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let theirs = callvault_core::secret::Key32::random();
    f.public = crypto::b64(&crypto::x25519_public(&theirs));
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&f).unwrap()).unwrap();
    let mut dc = w.logon(DC).await.unwrap();
    let e = dc
        .add_user(
            "dr.new.partner",
            &[Role::Approver],
            &[],
            &Password::new("new-pass-1234"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains(recovery::PATH), "{e}");
    assert!(
        users::load_latest(&a, &users::uid_for(&a, "dr.new.partner").unwrap())
            .unwrap()
            .is_none()
    );
    let rep = dc.verify().await.unwrap();
    assert!(
        rep.problems.iter().any(|p| p.object == recovery::PATH),
        "{:?}",
        rep.problems
    );
    dc.close().await;
    // Removed: the archive still uses a recovery key (secrets are escrowed to it), so nothing
    // falls back to the admin key.
    std::fs::remove_file(&path).unwrap();
    let mut dc = w.logon(DC).await.unwrap();
    let e = dc
        .add_user(
            "dr.new.partner",
            &[Role::Approver],
            &[],
            &Password::new("new-pass-1234"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains(recovery::PATH), "{e}");
    // Nor is a new recovery key made in its place: it would leave the escrows to the old one
    // unopenable. Refused, naming the file to restore.
    assert!(!dc.has_recovery_key());
    let e = dc.create_recovery_key().err().unwrap();
    assert!(e.to_string().contains("restore it"), "{e}");
    assert!(!dc.has_recovery_key());
    // A user who holds no call key is still added (escrowed to the admin key).
    dc.add_user(
        "rae.reception",
        &[Role::Staff],
        &[],
        &Password::new("rae-pass-1234"),
    )
    .await
    .unwrap();
}

/// Promoting a clinician to approver moves her escrow to the recovery key and removes the versions
/// escrowed to the admin key; demoting her back leaves it there.
#[tokio::test(flavor = "multi_thread")]
async fn a_promotion_moves_the_escrow_and_removes_the_older_versions() {
    let w = World::new().await;
    let a = w.share();
    let mut dc = w.logon(DC).await.unwrap();
    dc.set_roles(CLIN.0, &[Role::Clinician, Role::Approver])
        .await
        .unwrap();
    dc.close().await;
    let (it_secret, it_bag) = tool(&a, IT);
    let _ = it_secret;
    let uid = users::uid_for(&a, CLIN.0).unwrap();
    let dir = w.archive.join(format!("users/{uid}"));
    let versions: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(versions.len(), 1, "{versions:?}");
    let rec = record(&a, CLIN.0);
    assert!(users::escrowed_to_recovery(&rec));
    assert!(users::open_escrow(&rec, &it_bag, None).is_err());
    // She logs on and holds the call key.
    let (_, bag) = tool(&a, CLIN);
    assert!(bag.get("custodian").is_some());
    assert!(w.logon(CLIN).await.is_ok());
    let _: &Path = &dir;
}

/// An admin (an IT lead) makes a clinician, so knows her secret, then with a tool of their own
/// writes the next revision of her record as an approver's — her own keys (which every computer
/// pinned), an escrow to the practice's recovery key (whose public half anyone reads), no holder
/// tag, signed with the signing key and the admin key. The data controller's upgrade run must not
/// take her keys for a key holder's from before tags and give them the call key.
#[tokio::test(flavor = "multi_thread")]
async fn an_admins_approver_forged_on_a_clinician_of_their_own_gets_no_call_key() {
    const MADE: (&str, &str) = ("dr.made.up", "made-pass-12345");
    let w = World::new().await;
    let mut it = w.logon(IT).await.unwrap();
    it.add_user(MADE.0, &[Role::Clinician], &[], &Password::new(MADE.1))
        .await
        .unwrap();
    it.close().await;
    let a = w.share();
    let (_, it_bag) = tool(&a, IT);
    let it_uid = users::uid_for(&a, IT.0).unwrap();
    let uid = users::uid_for(&a, MADE.0).unwrap();
    let mut rec = record(&a, MADE.0);
    let secret = users::open_secret(&rec, &Password::new(MADE.1)).unwrap();
    let recovery_public = recovery_public(&w);
    rec.signed.rev += 1;
    rec.ver += 1;
    let rev = rec.signed.rev;
    let profile = users::Profile {
        name: MADE.0.into(),
        roles: vec![Role::Approver],
        telephony_ids: vec![],
        disabled: false,
    };
    rec.signed.profile = crypto::wrap(
        &users::profile_recipient(&a, &it_bag).unwrap(),
        format!("callvault/v1/profile/{uid}/{rev}").as_bytes(),
        &serde_json::to_vec(&profile).unwrap(),
    )
    .unwrap();
    let bag = std::collections::BTreeMap::from([(
        "dedup",
        hex::encode(it_bag.get("dedup").unwrap().expose()),
    )]);
    rec.signed.keybag = crypto::wrap(
        &crypto::x25519_public(&secret),
        format!("callvault/v1/keybag/{uid}/{rev}").as_bytes(),
        &serde_json::to_vec(&bag).unwrap(),
    )
    .unwrap();
    rec.signed.escrow = crypto::wrap(
        &recovery_public,
        format!("callvault/v3/recovery-escrow/{uid}").as_bytes(),
        secret.expose(),
    )
    .unwrap();
    rec.signed.escrow_to = Some("recovery".into());
    rec.signed.holder = None;
    rec.signed.reader = None;
    rec.signed.by = it_uid;
    let msg = [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(&rec.signed).unwrap(),
    ]
    .concat();
    rec.sig = crypto::b64(&crypto::ed25519_sign(it_bag.get("signing").unwrap(), &msg));
    let admin_msg = [b"callvault/v3/user-admin\n".as_slice(), &msg].concat();
    rec.admin_sig = Some(users::cosign::AdminSig {
        epoch: 0,
        sig: crypto::b64(&crypto::xeddsa_sign(
            it_bag.get("admin").unwrap(),
            &admin_msg,
        )),
    });
    a.write_new(
        &format!("users/{uid}/{:08}.cvu", rec.ver),
        &serde_json::to_vec_pretty(&rec).unwrap(),
    )
    .unwrap();
    // The data controller logs on (an admin who holds the call key), and again: the record is
    // named, as one whose keys no holder of the call key vouched for.
    for _ in 0..2 {
        let dc = w.logon(DC).await.unwrap();
        assert!(
            dc.warnings
                .iter()
                .any(|x| x.contains(&uid) && x.contains("holder of the call keys")),
            "{:?}",
            dc.warnings
        );
        dc.close().await;
    }
    let latest = record(&a, MADE.0);
    let opened = users::open_keybag(&latest, &secret).unwrap();
    assert!(
        opened.get("custodian").is_none(),
        "the call key reached keys the admin holds"
    );
}

/// A supervisor holds the metadata key, so her secret is escrowed to the recovery key: an admin
/// alone cannot reset her password, and the data controller resets it with the recovery code
/// (her key bag holds no call key, so there is no holder tag to check).
#[tokio::test(flavor = "multi_thread")]
async fn a_supervisors_password_is_reset_with_the_recovery_code() {
    const SUP: (&str, &str) = ("sue.super", "sue-pass-12345");
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    dc.add_user(SUP.0, &[Role::Supervisor], &[], &Password::new(SUP.1))
        .await
        .unwrap();
    dc.close().await;
    assert!(users::escrowed_to_recovery(&record(&w.share(), SUP.0)));
    let mut it = w.logon(IT).await.unwrap();
    let e = it
        .reset_password(SUP.0, &Password::new("it-chose-this-1"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("recovery"), "{e}");
    it.close().await;
    let mut dc = w.logon(DC).await.unwrap();
    let done = dc
        .reset_password_with_recovery(SUP.0, &Password::new("sue-new-pass-123"), &w.code)
        .await
        .unwrap();
    assert!(done, "the data controller is an admin too: signed at once");
    dc.close().await;
    assert!(
        w.logon(SUP).await.is_err(),
        "the old password no longer opens it"
    );
    let sup = Session::logon_in(
        &w.archive,
        &w.data,
        SUP.0,
        &Password::new("sue-new-pass-123"),
    )
    .await
    .unwrap();
    // She still reads every call's details.
    assert!(sup
        .search(&callvault_core::session::SearchQuery::default())
        .await
        .is_ok());
    sup.close().await;
}
