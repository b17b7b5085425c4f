//! A key holder's password reset in two parts (docs/FORMAT.md, "The recovery key"): the data
//! controller, who keeps the recovery code, opens the user's secret with it in her own session and
//! seals it under the new password — a **prepared reset**, `resets/<uid>.json`, signed with her
//! own signing key; an admin, who holds the archive's signing key, then signs the user's new
//! record around it without seeing the code or the secret. So the code is never typed into an
//! admin's session, and an admin never learns a key holder's secret.
//!
//! Anyone can write to the share: a prepared reset is believed only if it is signed by a current
//! data controller (or by the user themself: a key holder who forgot their password, with the
//! code), is for the record's current revision, and is at its own place.

use super::{
    keybag_info, open_escrow, open_keybag, read_profile, remove_older_versions, seal_secret,
    sealing_hash, sign_and_publish, ArchiveSecrets, SignedPart, UserRecord,
};
use crate::archive::Archive;
use crate::crypto::{self, KdfParams, Wrapped};
use crate::error::{Error, Result};
use crate::secret::{Key32, Password};
use serde::{Deserialize, Serialize};

/// The folder of prepared resets.
pub const DIR: &str = "resets";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResetBody {
    pub uid: String,
    /// The revision of the record this reset replaces: applied only to that one.
    pub rev: u64,
    pub kdf: KdfParams,
    pub salt: String,
    pub sealed: String,
    /// The user's own key bag as it was, wrapped to their public key for revision `rev + 1`.
    pub keybag: Wrapped,
    /// uid of who prepared it (the data controller, or the user themself).
    pub by: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PreparedReset {
    pub v: u32,
    pub body: ResetBody,
    /// Ed25519 by `by`'s user signing key over `"callvault/v3/reset\n" ‖ identity_hash ‖ "\n" ‖
    /// JSON(body)`, base64.
    pub sig: String,
}

fn message(archive: &Archive, body: &ResetBody) -> Vec<u8> {
    [
        b"callvault/v3/reset\n".as_slice(),
        archive.config.identity_hash().as_bytes(),
        b"\n",
        &serde_json::to_vec(body).expect("serialisable"),
    ]
    .concat()
}

pub fn path_of(uid: &str) -> String {
    format!("{DIR}/{uid}.json")
}

/// Prepare a reset of `rec`'s password with the recovery seed, signed by the preparer's user
/// signing seed, and put it on the share (replacing an earlier one for the same user). With the
/// preparer's call keys (every epoch held; none: not checked), a record whose keys no holder of
/// them vouched for (forged) is refused.
pub fn prepare(
    archive: &Archive,
    rec: &UserRecord,
    recovery: &Key32,
    new_password: &Password,
    by: (&str, &Key32),
    custodian: &[&Key32],
) -> Result<()> {
    let (by, by_signing) = by;
    let uid = &rec.signed.uid;
    let secret = open_escrow(rec, &ArchiveSecrets::default(), Some(recovery))?;
    let own = open_keybag(rec, &secret)?;
    // Only a bag that holds the call key must show a holder of it put it there (a supervisor's,
    // a demoted user's or an admin's holds none, and carries no holder tag).
    if !custodian.is_empty() && own.get("custodian").is_some() {
        super::holder::check(archive, custodian, rec, Some(&secret))?;
    }
    let public: [u8; 32] = crypto::unb64(&rec.signed.public_key, "user record")?
        .try_into()
        .map_err(|_| Error::tampered(format!("users/{uid}"), "public key has the wrong length"))?;
    let (salt, sealed) = seal_secret(uid, &secret, new_password, archive.config.kdf);
    let body = ResetBody {
        uid: uid.clone(),
        rev: rec.signed.rev,
        kdf: archive.config.kdf,
        salt,
        sealed,
        keybag: crypto::wrap(
            &public,
            &keybag_info(uid, rec.signed.rev + 1),
            &own.to_json(),
        )?,
        by: by.to_string(),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let sig = crypto::ed25519_sign(by_signing, &message(archive, &body));
    let f = PreparedReset {
        v: 1,
        body,
        sig: crypto::b64(&sig),
    };
    let rel = path_of(uid);
    remove(archive, uid);
    archive
        .write_new(&rel, &serde_json::to_vec_pretty(&f).expect("serialisable"))
        .map_err(|e| Error::io(archive.path(&rel).display(), e))
}

/// At most this many prepared resets are looked at in one logon (anyone can plant files).
pub const MAX_PER_LOGON: usize = 50;

/// What `resets/` holds: each prepared reset by the uid its place names (an unreadable one as an
/// error), and the names of anything else found there (not a uid's `.json`: never read). A
/// `resets` that cannot be listed (a file or link where the folder belongs) is an error.
#[allow(clippy::type_complexity)]
pub fn list(archive: &Archive) -> Result<(Vec<(String, Result<PreparedReset>)>, Vec<String>)> {
    let mut found = Vec::new();
    let mut other = Vec::new();
    for n in archive.list(DIR)? {
        match n.strip_suffix(".json").filter(|u| crate::archive::is_id(u)) {
            Some(uid) if found.len() < MAX_PER_LOGON => {
                let rel = format!("{DIR}/{n}");
                let r = archive.read(&rel).and_then(|b| {
                    serde_json::from_slice::<PreparedReset>(&b)
                        .map_err(|_| Error::tampered(&rel, "malformed prepared reset"))
                });
                found.push((uid.to_string(), r));
            }
            Some(_) => {}
            None => other.push(format!("{DIR}/{n}")),
        }
    }
    Ok((found, other))
}

/// Check a prepared reset found at `uid`'s place: its signature by `by_key` (the signing key of
/// the user it names as its preparer, whose right to prepare it the caller has checked).
pub fn check(archive: &Archive, uid: &str, p: &PreparedReset, by_key: &[u8; 32]) -> Result<()> {
    let rel = path_of(uid);
    if p.v != 1 {
        return Err(Error::Version {
            path: rel,
            found: p.v,
            supported: 1,
        });
    }
    if p.body.uid != uid {
        return Err(Error::tampered(
            &rel,
            "prepared reset was moved from another user's place",
        ));
    }
    let sig = crypto::unb64(&p.sig, &rel)?;
    if !crypto::ed25519_verify(by_key, &message(archive, &p.body), &sig) {
        return Err(Error::tampered(
            &rel,
            "prepared reset's signature does not verify",
        ));
    }
    p.body.kdf.check(&rel)?;
    Ok(())
}

/// Sign the user's next record around a checked prepared reset (an admin: `signer` holds
/// `signing` and `metadata`): the new sealing and key bag, the rest as it was. Refused if the
/// record moved on since it was prepared. Returns the new revision.
pub fn apply(
    archive: &Archive,
    signer: &ArchiveSecrets,
    signer_uid: &str,
    rec: &UserRecord,
    p: &ResetBody,
) -> Result<u64> {
    let uid = &rec.signed.uid;
    if p.rev != rec.signed.rev {
        return Err(Error::Invalid(format!(
            "{}: prepared for revision {} of this user's record, which is now at {}; prepare it again",
            path_of(uid),
            p.rev,
            rec.signed.rev
        )));
    }
    let rev = rec.signed.rev + 1;
    let profile = read_profile(rec, &super::ProfileKey::of(archive, signer)?)?;
    let signed = SignedPart {
        uid: uid.clone(),
        rev,
        public_key: rec.signed.public_key.clone(),
        signing_key: rec.signed.signing_key.clone(),
        escrow: rec.signed.escrow.clone(),
        keybag: p.keybag.clone(),
        profile: super::seal_profile(archive, signer, uid, rev, &profile)?,
        by: signer_uid.to_string(),
        sealing: Some(sealing_hash(&p.kdf, &p.salt, &p.sealed)),
        archive: Some(archive.config.identity_hash()),
        escrow_to: rec.signed.escrow_to.clone(),
        // The keys are unchanged, so a holder tag still holds.
        holder: rec.signed.holder.clone(),
        reader: rec.signed.reader.clone(),
        // The key bag is the user's own, as it was.
        given: rec.signed.given.clone(),
    };
    let published = sign_and_publish(
        archive,
        (signer, signer.require("signing")?),
        signed,
        (p.kdf, p.salt.clone(), p.sealed.clone()),
    )?;
    // The older versions hold the secret under the old password.
    remove_older_versions(archive, uid, published.ver)?;
    Ok(published.signed.rev)
}

/// Take a prepared reset off the share (applied, stale or forged); a link is removed, never
/// followed, and nothing is reached through one.
pub fn remove(archive: &Archive, uid: &str) {
    let _ = crate::archive::remove(archive, &path_of(uid));
}
