//! Users (`users/<uid>/<ver>.cvu`) and logon outcome markers (`auth/<uid>/…`).
//!
//! A user has an X25519 key pair whose private half is sealed under Argon2id of their password and
//! escrowed to the archive's admin key (so an admin can reset a password without learning the old
//! one). Their key bag (the archive secrets their roles grant) is HPKE-wrapped to their public key;
//! their profile (name, roles, telephony identities) to the archive's metadata key. The signed part
//! of the record is signed with the archive's Ed25519 signing key, held by admins. The file name
//! `uid` is a keyed hash of the lower-cased user name, so no name appears on the share.

use crate::archive::Archive;
use crate::crypto::{self, KdfParams, Wrapped};
use crate::error::{Error, Result};
use crate::policy::{self, Role};
use crate::secret::{Key32, Password};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod callkey;
pub mod cosign;
mod escrow;
mod given;
pub mod holder;
mod marks;
mod profile;
mod read;
pub mod recovery;
pub mod reset;

use escrow::{bag_for, escrow_for};
pub use escrow::{escrow_misplaced, escrowed_to_recovery, open_escrow, recovery_in_use};
use given::given_with;
pub use holder::{over_granted, reader_unvouched, reader_vouched_any, unvouched, vouched};
pub use marks::{locked_until, mark, parse_mark, MARK_SKEW_MS};
use profile::seal_profile;
pub use profile::{profile_recipient, read_profile, ProfileKey};
pub use read::{check_record, check_version, list_uids, load_latest};

/// Failed logons that lock an account, and for how long.
pub const LOCKOUT_FAILURES: usize = 5;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// What a user is, readable by every logged-on user.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub name: String,
    pub roles: Vec<Role>,
    /// Extension numbers and agent names that map calls to this user.
    pub telephony_ids: Vec<String>,
    pub disabled: bool,
}

/// The archive secrets a user holds (seeds of the archive's key pairs), by name.
#[derive(Default)]
pub struct ArchiveSecrets(
    BTreeMap<String, Key32>,
    BTreeMap<String, callkey::CallSeeds>,
);

impl std::fmt::Debug for ArchiveSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArchiveSecrets({:?})", self.0.keys().collect::<Vec<_>>())
    }
}

/// The archive's six secrets, by name (docs/FORMAT.md, "Archive keys and who holds them").
pub const SEED_NAMES: [&str; 6] = [
    "metadata",
    "custodian",
    "audit",
    "admin",
    "signing",
    "dedup",
];

impl ArchiveSecrets {
    pub fn generate() -> Self {
        let mut m = BTreeMap::new();
        for k in SEED_NAMES {
            m.insert(k.to_string(), Key32::random());
        }
        ArchiveSecrets(m, BTreeMap::new())
    }
    pub fn get(&self, name: &str) -> Option<&Key32> {
        self.0.get(name)
    }
    /// Holds no seed at all: a disabled account's key bag (`policy::account_keys`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn require(&self, name: &str) -> Result<&Key32> {
        self.get(name).ok_or_else(|| {
            Error::Forbidden(format!("your roles do not hold the archive's {name} key"))
        })
    }
    /// Only the seeds a set of roles grants, whatever else a key bag carries: a key bag written
    /// before a role lost a seed (a supervisor's `custodian`, before approval handed keys over)
    /// gives the session nothing the policy does not.
    pub fn only_for(mut self, roles: &[Role], readers: bool) -> ArchiveSecrets {
        let keep = policy::archive_keys_for(roles, readers);
        self.0.retain(|k, _| keep.contains(&k.as_str()));
        self.1.retain(|k, _| keep.contains(&k.as_str()));
        self
    }
    /// Can these seeds make the key bag of `profile` (`policy::account_keys`: none for a disabled
    /// account, so a disablement never waits for a holder of the keys)? Refused naming every seed
    /// missing, and who can make the change instead.
    pub fn may_grant(&self, profile: &Profile, readers: bool) -> Result<()> {
        let missing: Vec<&str> = policy::account_keys(&profile.roles, profile.disabled, readers)
            .into_iter()
            .filter(|k| self.get(k).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::Forbidden(format!(
            "your roles do not hold the archive's {} key{}, which this user's roles are given: an admin who is also the data controller or an approver must make this change",
            missing.join(" and "),
            if missing.len() > 1 { "s" } else { "" },
        )))
    }
    fn to_json(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let m: BTreeMap<&str, String> = self
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), hex::encode(v.expose())))
            .collect();
        let out = zeroize::Zeroizing::new(serde_json::to_vec(&m).expect("serialisable"));
        for (_, mut v) in m {
            zeroize::Zeroize::zeroize(&mut v);
        }
        out
    }
    fn from_json(b: &[u8], what: &str) -> Result<Self> {
        let m: BTreeMap<String, String> =
            serde_json::from_slice(b).map_err(|_| Error::tampered(what, "key bag malformed"))?;
        let mut out = BTreeMap::new();
        for (k, mut v) in m {
            let bytes = zeroize::Zeroizing::new(
                hex::decode(&v).map_err(|_| Error::tampered(what, "key bag malformed"))?,
            );
            zeroize::Zeroize::zeroize(&mut v);
            out.insert(
                k,
                Key32::from_slice(&bytes)
                    .ok_or_else(|| Error::tampered(what, "key bag malformed"))?,
            );
        }
        Ok(ArchiveSecrets(out, BTreeMap::new()))
    }
}

/// The part of a user record covered by the signature.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SignedPart {
    pub uid: String,
    /// Raised on each change of roles, keys or profile; a lower rev than seen before is a rollback.
    pub rev: u64,
    /// X25519 public key, base64.
    pub public_key: String,
    /// Ed25519 public key (from the user's secret: `user_signing_seed`), base64: signs the journal
    /// segments and audit files this user writes.
    pub signing_key: String,
    pub escrow: Wrapped,
    pub keybag: Wrapped,
    pub profile: Wrapped,
    /// uid of the admin who signed (or the user itself at `init`).
    pub by: String,
    /// Hex SHA-256 of the password sealing (`kdf`, `salt`, `sealed`), so none of it can be swapped
    /// for an older sealing (an old, perhaps compromised, password) or a ruinous KDF cost. Absent
    /// in records written before format 2, which an admin's logon upgrades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealing: Option<String>,
    /// The archive identity's hash (`ArchiveConfig::identity_hash`): a record is believed only in
    /// the archive it was written for, so an archive.json with other keys opens no one's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    /// `"recovery"`: `escrow` is wrapped to the practice's recovery key ([`recovery`]), not to the
    /// admin key — the user holds call keys (`policy::escrow_to_recovery`). Absent: to the
    /// admin key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escrow_to: Option<String>,
    /// For a user whose key bag holds `custodian`: hex HMAC over the archive identity, uid,
    /// public and signing keys under a key derived from `custodian` ([`holder`]), so a record an
    /// admin forged with the signing key is never given the call keys. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// For a user whose key bag holds `metadata`, in an archive with `readers`: as `holder`, under
    /// a key derived from `metadata` (`holder::reader_tag`), so a record an admin forged is
    /// never given the metadata key. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    /// The newest epoch of each rotating key (`callkey::ROTATING`) this account's key bag was
    /// given, in this revision or any before it (carried forward, never lowered): so a leaving
    /// answered by an epoch is known not to be answered once the account was given that epoch or
    /// a later one through a key bag (re-enabled, or promoted, since), and a holder given a key by
    /// a key bag alone is known to have held it when they lose it. Absent in records written
    /// before it, and in one whose bags never held a rotating key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub given: BTreeMap<String, u32>,
}

/// A user record file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    pub v: u32,
    pub ver: u64,
    pub signed: SignedPart,
    /// Signature over `"callvault/v1/user\n" ‖ JSON(signed)`, base64.
    pub sig: String,
    pub kdf: KdfParams,
    /// Argon2id salt, base64 (16 bytes).
    pub salt: String,
    /// nonce(12) ‖ AES-256-GCM(Argon2id(password), user secret seed), base64.
    pub sealed: String,
    /// The admin key's signature over the signed part ([`cosign`]): required of a revision
    /// written after an admin key epoch that names the user's earlier one was made. Absent in
    /// records written before admin signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_sig: Option<cosign::AdminSig>,
}

/// A user after a successful password check.
pub struct UnlockedUser {
    pub uid: String,
    pub secret: Key32,
    pub profile: Profile,
    pub secrets: ArchiveSecrets,
    pub record: UserRecord,
}

/// The pseudonymous id of a user name in this archive.
pub fn uid_for(archive: &Archive, name: &str) -> Result<String> {
    let salt = crypto::unb64(&archive.config.user_salt, "archive.json")?;
    let norm = name.trim().to_lowercase();
    Ok(hex::encode(
        &crypto::hmac_sha256(&salt, norm.as_bytes())[..16],
    ))
}

/// Validate a user name: what people type at logon.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.trim().is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || ".-_@' ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "user name '{name}': use 1-64 letters, digits, spaces or . - _ @ '"
        )))
    }
}

fn signed_bytes(s: &SignedPart) -> Vec<u8> {
    [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(s).expect("serialisable"),
    ]
    .concat()
}

fn secret_aad(uid: &str) -> Vec<u8> {
    format!("callvault/v1/user-secret/{uid}").into_bytes()
}

/// The hash of a record's password sealing that its signed part binds.
pub fn sealing_hash(kdf: &KdfParams, salt: &str, sealed: &str) -> String {
    let m = [
        b"callvault/v2/sealing\n".as_slice(),
        &serde_json::to_vec(kdf).expect("serialisable"),
        b"\n",
        salt.as_bytes(),
        b"\n",
        sealed.as_bytes(),
    ]
    .concat();
    hex::encode(crypto::sha256(&m))
}

fn seal_secret(uid: &str, secret: &Key32, password: &Password, kdf: KdfParams) -> (String, String) {
    let salt: [u8; 16] = crypto::random_array();
    let k = crypto::argon2id(password, &salt, kdf);
    let nonce: [u8; 12] = crypto::random_array();
    let ct = crypto::seal(&k, &nonce, &secret_aad(uid), secret.expose());
    (
        crypto::b64(&salt),
        crypto::b64(&[nonce.as_slice(), &ct].concat()),
    )
}

/// Create (or re-key) a user record and publish it. `signer` holds the admin + signing secrets.
#[allow(clippy::too_many_arguments)]
pub fn write_user(
    archive: &Archive,
    signer: &ArchiveSecrets,
    signer_uid: Option<&str>,
    uid: &str,
    secret: &Key32,
    profile: &Profile,
    password: &Password,
    rev: u64,
) -> Result<UserRecord> {
    let public = crypto::x25519_public(secret);
    let bag = bag_for(archive, profile, signer, None)?;
    let (salt, sealed) = seal_secret(uid, secret, password, archive.config.kdf);
    let (escrow, escrow_to) = escrow_for(archive, signer, uid, &profile.roles, secret)?;
    let signed = SignedPart {
        uid: uid.to_string(),
        rev,
        public_key: crypto::b64(&public),
        signing_key: crypto::b64(&crypto::ed25519_public(&user_signing_seed(secret))),
        escrow,
        keybag: crypto::wrap(&public, &keybag_info(uid, rev), &bag.to_json())?,
        profile: seal_profile(archive, signer, uid, rev, profile)?,
        by: signer_uid.unwrap_or(uid).to_string(),
        sealing: Some(sealing_hash(&archive.config.kdf, &salt, &sealed)),
        archive: Some(archive.config.identity_hash()),
        escrow_to,
        holder: None,
        reader: None,
        given: given_with(archive, &bag, &[signer], None),
    };
    let signed = holder::with_tags(archive, &bag, signed);
    sign_and_publish(
        archive,
        (signer, signer.require("signing")?),
        signed,
        (archive.config.kdf, salt, sealed),
    )
}

/// Change a user's profile (roles, telephony identities, disabled) as an admin: a new revision,
/// re-signed, with a key bag for the new roles; the password sealing is kept (the admin never
/// learns it). The admin can only grant archive keys they hold. Returns the new revision.
pub fn update_profile(
    archive: &Archive,
    signer: &ArchiveSecrets,
    signer_uid: &str,
    uid: &str,
    profile: &Profile,
    believed: &[Role],
) -> Result<u64> {
    let before = load_latest(archive, uid)?
        .and_then(|r| read_profile(&r, &ProfileKey::of(archive, signer).ok()?).ok())
        .map(|p| policy::account_keys(&p.roles, p.disabled, archive.config.party_readers()))
        .unwrap_or_default();
    let (published, moved) = resign(
        archive,
        signer,
        signer_uid,
        uid,
        (Some(profile), None, None),
        Some(believed),
    )?;
    // A role taken away takes its seeds out of the share's copies of the record too (a copy of
    // the record taken before keeps them: rotating the archive keys ends that, not this); an
    // escrow moved to the recovery key takes the admin's way to the secret out likewise.
    let after = policy::account_keys(
        &profile.roles,
        profile.disabled,
        archive.config.party_readers(),
    );
    if moved || before.iter().any(|k| !after.contains(k)) {
        remove_older_versions(archive, uid, published.ver)?;
    }
    Ok(published.signed.rev)
}

/// Publish the next revision of a user's record, signed by an admin: with `profile` a new profile
/// (else the current one), with `password` a new sealing (else the current one, as it was). The
/// user's secret is opened from the escrow only to seal a new password or to move the escrow to
/// the recovery key (a promotion to a key-holding role, or an upgrade); a key holder's escrow
/// opens only with the recovery seed (`recovery`). Returns the record and whether the escrow
/// moved (the older versions then hold an escrow to the admin key).
fn resign(
    archive: &Archive,
    signer: &ArchiveSecrets,
    signer_uid: &str,
    uid: &str,
    (profile, password, recovery): (Option<&Profile>, Option<&Password>, Option<&Key32>),
    believed: Option<&[Role]>,
) -> Result<(UserRecord, bool)> {
    let rec =
        load_latest(archive, uid)?.ok_or_else(|| Error::NotFound(format!("user id {uid}")))?;
    let what = format!("users/{uid}/{:08}.cvu", rec.ver);
    let current = read_profile(&rec, &ProfileKey::of(archive, signer)?)?;
    let profile = profile.unwrap_or(&current);
    // Until the archive has a recovery key, a key holder's escrow stays where it was (an admin's
    // logon warns of it).
    // The recovery key is checked with a call key (the signer's, or the key holder's own new
    // bag's): an admin who holds none leaves an admin's escrow where it was on any change but a
    // promotion (refused: a key-holding admin must make it) — a disablement above all, which must
    // never wait — and a key-holding admin's upgrade run moves it.
    let promotion = !policy::escrow_to_recovery(&current.roles);
    let can_check = signer.get("custodian").is_some() || policy::holds_call_key(&profile.roles);
    let moves = policy::escrow_to_recovery(&profile.roles)
        && !escrowed_to_recovery(&rec)
        && recovery_in_use(archive)
        && (promotion || (can_check && !profile.disabled));
    let secret = if password.is_some() || moves {
        let s = open_escrow(&rec, signer, recovery)?;
        if crypto::b64(&crypto::x25519_public(&s)) != rec.signed.public_key {
            return Err(Error::tampered(
                &what,
                "escrowed secret does not match the signed public key",
            ));
        }
        Some(s)
    } else {
        None
    };
    let (kdf, salt, sealed) = match (password, &secret) {
        (Some(pw), Some(secret)) => {
            let (salt, sealed) = seal_secret(uid, secret, pw, archive.config.kdf);
            (archive.config.kdf, salt, sealed)
        }
        _ => (rec.kdf, rec.salt.clone(), rec.sealed.clone()),
    };
    let rev = rec.signed.rev + 1;
    let public: [u8; 32] = crypto::unb64(&rec.signed.public_key, &what)?
        .try_into()
        .map_err(|_| Error::tampered(&what, "public key has the wrong length"))?;
    // With the recovery key, the user's own bag supplies what the signer does not hold (with
    // the epochs it reaches, for the admin key's signature).
    let own = match (&secret, recovery) {
        (Some(s), Some(_)) => open_keybag(&rec, s).ok().map(|mut b| {
            callkey::take_epochs_unverified(archive, uid, s, &mut b);
            b
        }),
        _ => None,
    };
    let bag = bag_for(archive, profile, signer, own.as_ref())?;
    // Do the record's roles already grant key `k` — on the share, or as the writer's session
    // believed them (an admin could put a lesser revision in place meanwhile, to make an edit
    // look like a promotion)?
    let granted = |k: &str| {
        [Some(current.roles.as_slice()), believed]
            .into_iter()
            .flatten()
            .any(|r| policy::archive_keys_for(r, true).contains(&k))
    };
    // `custodian` goes to this public key again only if a holder of it vouched for the key (an
    // admin can sign a record of their own making); a promotion is checked against the keys
    // this computer saw before (the Session's pin), not here.
    if let Some(c) = bag.get("custodian") {
        if granted("custodian") {
            let opened = match &secret {
                Some(_) => None,
                None => open_escrow(&rec, signer, recovery).ok(),
            };
            let mut seeds = signer.call_seeds();
            if seeds.is_empty() {
                seeds.push(c);
            }
            holder::check(archive, &seeds, &rec, secret.as_ref().or(opened.as_ref()))?;
        }
    }
    // Likewise `metadata`, in an archive with `readers`, where an admin does not hold it: to a
    // record whose roles already grant it (not a promotion its holder makes now) only if a holder
    // vouched for its keys.
    if bag.get("metadata").is_some() && archive.config.party_readers() && granted("metadata") {
        let opened = match &secret {
            Some(_) => None,
            None => open_escrow(&rec, signer, recovery).ok(),
        };
        let keys = match (signer.get("metadata"), &own) {
            (None, Some(o)) => o,
            _ => signer,
        };
        let ring = keys.ring("metadata")?;
        let seeds = (ring.seeds(), keys.call_seeds());
        let secret = secret.as_ref().or(opened.as_ref());
        holder::reader_check(archive, (&seeds.0, &seeds.1), &rec, secret)?;
    }
    let (escrow, escrow_to) = match &secret {
        Some(secret) if moves => {
            // The signer's own call keys (every epoch) check the recovery key's tag.
            let keys = if signer.get("custodian").is_some() {
                signer
            } else {
                &bag
            };
            escrow_for(archive, keys, uid, &profile.roles, secret)?
        }
        _ => (rec.signed.escrow.clone(), rec.signed.escrow_to.clone()),
    };
    let signed = SignedPart {
        uid: uid.to_string(),
        rev,
        public_key: rec.signed.public_key.clone(),
        signing_key: rec.signed.signing_key.clone(),
        escrow,
        keybag: crypto::wrap(&public, &keybag_info(uid, rev), &bag.to_json())?,
        profile: seal_profile(archive, signer, uid, rev, profile)?,
        by: signer_uid.to_string(),
        sealing: Some(sealing_hash(&kdf, &salt, &sealed)),
        archive: Some(archive.config.identity_hash()),
        escrow_to,
        holder: None,
        reader: None,
        given: given_with(
            archive,
            &bag,
            &[Some(signer), own.as_ref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            Some(&rec.signed),
        ),
    };
    let mut signed = holder::with_tags(archive, &bag, signed);
    if profile.disabled {
        // The tag binds only the archive and the user's keys, which never change: a disabled
        // holder keeps theirs, so re-enabling them later still finds them vouched for.
        // A promotion made now, while the account is disabled, is vouched for by its writer.
        let promoted =
            |k: &str| !granted(k) && policy::archive_keys_for(&profile.roles, true).contains(&k);
        signed.holder = rec.signed.holder.clone().or_else(|| {
            let c = signer.get("custodian").filter(|_| promoted("custodian"))?;
            Some(holder::tag(archive, c, &signed))
        });
        signed.reader = rec.signed.reader.clone().or_else(|| {
            let m = signer.get("metadata").filter(|_| promoted("metadata"))?;
            Some(holder::reader_tag(archive, m, &signed)).filter(|_| archive.config.party_readers())
        });
    }
    let signing = signer
        .get("signing")
        .or_else(|| own.as_ref().and_then(|o| o.get("signing")))
        .ok_or_else(|| {
            Error::Forbidden("your roles do not hold the archive's signing key".into())
        })?;
    let admin = match (&own, signer.get("admin")) {
        (Some(o), None) => o,
        _ => signer,
    };
    let published = sign_and_publish(archive, (admin, signing), signed, (kdf, salt, sealed))?;
    Ok((published, moves))
}

/// Sign a record's signed part with the archive's signing seed and the newest admin key epoch
/// (`keys`: whose admin key) and publish it as the user's next version, with its password sealing
/// (`kdf`, `salt`, `sealed`).
fn sign_and_publish(
    archive: &Archive,
    (keys, signing): (&ArchiveSecrets, &Key32),
    signed: SignedPart,
    (kdf, salt, sealed): (KdfParams, String, String),
) -> Result<UserRecord> {
    let admin_sig = cosign::sign(archive, keys, &signed)?;
    let sig = crypto::ed25519_sign(signing, &signed_bytes(&signed));
    publish(
        archive,
        UserRecord {
            v: 1,
            ver: 0,
            signed,
            sig: crypto::b64(&sig),
            kdf,
            salt,
            sealed,
            admin_sig: Some(admin_sig),
        },
    )
}

/// Does this record's key bag hold no seed (`{}`, a disabled account's: `policy::account_keys`)?
/// Told from the wrap's length alone, without opening it: the ciphertext of `{}` is its 2 bytes
/// and the 16-byte tag, and a bag with any seed is far longer.
pub fn keybag_is_empty(rec: &UserRecord) -> bool {
    crypto::unb64(&rec.signed.keybag.ct, "key bag").is_ok_and(|ct| ct.len() <= 2 + 16)
}

/// Bring a record written before format 2 up to date (its sealing bound by the signature), as a
/// new revision signed by an admin. Returns the new revision, or None if nothing was needed.
/// Is this user's current record one an admin's upgrade run must re-sign (made before the
/// password sealing and the archive identity were bound)? False if it cannot be read.
pub fn needs_upgrade(archive: &Archive, uid: &str) -> bool {
    matches!(load_latest(archive, uid), Ok(Some(r)) if r.signed.sealing.is_none() || r.signed.archive.is_none())
}

pub fn upgrade_record(
    archive: &Archive,
    signer: &ArchiveSecrets,
    signer_uid: &str,
    uid: &str,
) -> Result<Option<u64>> {
    let over = over_granted(archive, signer, uid)
        || unvouched(archive, signer, uid)
        || holder::reader_unvouched(archive, signer, uid);
    let misplaced =
        ProfileKey::of(archive, signer).is_ok_and(|m| escrow_misplaced(archive, &m, uid));
    match load_latest(archive, uid)? {
        Some(r)
            if r.signed.sealing.is_none() || r.signed.archive.is_none() || over || misplaced =>
        {
            let (published, moved) =
                resign(archive, signer, signer_uid, uid, (None, None, None), None)?;
            if over || moved {
                // The older versions' key bags hold the seed the roles no longer grant: removed
                // from the share (a copy taken before stays a copy: rotation, not this, ends it).
                remove_older_versions(archive, uid, published.ver)?;
            }
            Ok(Some(published.signed.rev))
        }
        _ => Ok(None),
    }
}

fn remove_older_versions(archive: &Archive, uid: &str, current: u64) -> Result<()> {
    for name in archive.list(&format!("users/{uid}"))? {
        if parse_ver(&name).is_some_and(|v| v < current) {
            // A link is removed, never followed; a folder planted under such a name is left.
            crate::archive::remove(archive, &format!("users/{uid}/{name}"))?;
        }
    }
    Ok(())
}

/// Publish a record as the next version of its user.
fn publish(archive: &Archive, mut rec: UserRecord) -> Result<UserRecord> {
    let dir = format!("users/{}", rec.signed.uid);
    rec.ver = archive
        .list(&dir)?
        .iter()
        .filter_map(|n| parse_ver(n))
        .max()
        .map_or(0, |m| m + 1);
    loop {
        let rel = format!("{dir}/{:08}.cvu", rec.ver);
        let bytes = serde_json::to_vec_pretty(&rec).expect("serialisable");
        match archive.write_new(&rel, &bytes) {
            Ok(()) => return Ok(rec),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => rec.ver += 1,
            Err(e) => return Err(Error::io(archive.path(&rel).display(), e)),
        }
    }
}

/// The version number in a user record's file name (`00000007.cvu`).
pub fn parse_ver(name: &str) -> Option<u64> {
    let s = name.strip_suffix(".cvu")?;
    if s.len() != 8 {
        return None;
    }
    s.parse().ok()
}

fn keybag_info(uid: &str, rev: u64) -> Vec<u8> {
    format!("callvault/v1/keybag/{uid}/{rev}").into_bytes()
}

/// The Ed25519 seed a user signs with, derived from their secret.
pub fn user_signing_seed(secret: &Key32) -> Key32 {
    crypto::hkdf(secret.expose(), b"callvault/v1/user-signing")
}

/// What logon is told of an account whose key bag holds no seed: it was disabled
/// (`policy::account_keys`), so not even its profile opens.
pub const DISABLED: &str = "this account is disabled";

/// Check a password against a record; on success open the user's secrets and profile (with the
/// metadata key's epochs reached from the key bag's, `callkey::ring_unverified`). An account
/// whose key bag holds no seed is refused as disabled ([`DISABLED`]).
pub fn unlock(archive: &Archive, rec: &UserRecord, password: &Password) -> Result<UnlockedUser> {
    let uid = &rec.signed.uid;
    let what = format!("users/{uid}/{:08}.cvu", rec.ver);
    let secret = open_secret(rec, password)?;
    let bag = crypto::unwrap(
        &secret,
        &keybag_info(uid, rec.signed.rev),
        &rec.signed.keybag,
        &what,
    )?;
    let secrets = ArchiveSecrets::from_json(&bag, &what)?;
    if secrets.is_empty() {
        return Err(Error::Forbidden(DISABLED.into()));
    }
    let profiles = if archive.config.party_readers() {
        ProfileKey::of(archive, &secrets)?
    } else {
        ProfileKey::Metadata(callkey::ring_unverified(
            archive, "metadata", uid, &secret, &secrets,
        )?)
    };
    let profile = read_profile(rec, &profiles)?;
    let secrets = secrets.only_for(&profile.roles, archive.config.party_readers());
    Ok(UnlockedUser {
        uid: uid.clone(),
        secret,
        profile,
        secrets,
        record: rec.clone(),
    })
}

/// Check a password against a record and open the user's secret seed (checked against the
/// record's public and signing keys). A wrong password is `Error::BadLogon`.
pub fn open_secret(rec: &UserRecord, password: &Password) -> Result<Key32> {
    let uid = &rec.signed.uid;
    let what = format!("users/{uid}/{:08}.cvu", rec.ver);
    let salt = crypto::unb64(&rec.salt, &what)?;
    let sealed = crypto::unb64(&rec.sealed, &what)?;
    if sealed.len() < 12 + 16 {
        return Err(Error::tampered(&what, "sealed key too short"));
    }
    rec.kdf.check(&what)?;
    let k = crypto::argon2id(password, &salt, rec.kdf);
    let nonce: [u8; 12] = sealed[..12].try_into().expect("12 bytes");
    let secret = crypto::open(&k, &nonce, &secret_aad(uid), &sealed[12..], &what)
        .map_err(|_| Error::BadLogon)?;
    let secret = Key32::from_slice(&secret)
        .ok_or_else(|| Error::tampered(&what, "sealed key has the wrong length"))?;
    if crypto::b64(&crypto::x25519_public(&secret)) != rec.signed.public_key {
        return Err(Error::tampered(
            &what,
            "sealed key does not match the signed public key",
        ));
    }
    if crypto::b64(&crypto::ed25519_public(&user_signing_seed(&secret))) != rec.signed.signing_key {
        return Err(Error::tampered(
            &what,
            "signing key does not match the user's secret",
        ));
    }
    Ok(secret)
}

/// The work of `unlock` for a name with no record: the KDF at the archive's cost over a throwaway
/// salt, and an attempt to open a throwaway sealed secret (which fails, as a wrong password does).
/// Logon calls it so that an unknown name takes as long as a wrong password.
pub fn unlock_nobody(archive: &Archive, uid: &str, password: &Password) {
    let kdf = archive.config.kdf;
    if kdf.check("archive.json").is_err() {
        return;
    }
    let salt: [u8; 16] = crypto::random_array();
    let k = crypto::argon2id(password, &salt, kdf);
    let nonce: [u8; 12] = crypto::random_array();
    let sealed = [0u8; 32 + 16];
    let _ = crypto::open(&k, &nonce, &secret_aad(uid), &sealed, "logon");
}

/// Open a user's key bag with their secret (for an identity used without a password: ingest).
pub fn open_keybag(rec: &UserRecord, secret: &Key32) -> Result<ArchiveSecrets> {
    let what = format!("users/{}/{:08}.cvu", rec.signed.uid, rec.ver);
    if crypto::b64(&crypto::x25519_public(secret)) != rec.signed.public_key {
        return Err(Error::Invalid(format!(
            "{what}: the secret does not belong to this user"
        )));
    }
    let bag = crypto::unwrap(
        secret,
        &keybag_info(&rec.signed.uid, rec.signed.rev),
        &rec.signed.keybag,
        &what,
    )?;
    ArchiveSecrets::from_json(&bag, &what)
}

/// Reset a user's password with the admin escrow key; the old password is never needed or learnt.
/// The record gets a new revision, so the old sealing can never be put back. Returns it.
/// A key holder's secret is escrowed to the recovery key: `recovery` is then its seed, opened with
/// the practice's recovery code.
pub fn reset_password(
    archive: &Archive,
    admin: &ArchiveSecrets,
    admin_uid: &str,
    uid: &str,
    new_password: &Password,
    recovery: Option<&Key32>,
) -> Result<u64> {
    let (published, _) = resign(
        archive,
        admin,
        admin_uid,
        uid,
        (None, Some(new_password), recovery),
        None,
    )?;
    // Older versions hold the key sealed under the old password: remove them, so the old password
    // (perhaps the reason for the reset) no longer opens anything on the share.
    remove_older_versions(archive, uid, published.ver)?;
    mark(archive, uid, 'r')?;
    Ok(published.signed.rev)
}
