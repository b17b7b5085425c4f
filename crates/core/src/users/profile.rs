//! User profiles (name, roles, telephony identities, disabled): how they are sealed in a user
//! record and opened (docs/FORMAT.md, "User records", `profile`).

use super::{callkey, ArchiveSecrets, Profile, UserRecord};
use crate::archive::Archive;
use crate::crypto::{self, Wrapped};
use crate::error::{Error, Result};
use crate::secret::Key32;

/// HPKE info of a user's profile in their record's revision `rev`.
pub(super) fn profile_info(uid: &str, rev: u64) -> Vec<u8> {
    format!("callvault/v1/profile/{uid}/{rev}").into_bytes()
}

/// How user profiles are sealed and opened: for every user, with a key from `dedup`, in an
/// archive whose segments carry their readers (clinicians and staff hold no `metadata` key, yet
/// must know who signed what, with which roles); to the metadata key in an archive made before.
pub enum ProfileKey {
    Everyone(Key32),
    Metadata(callkey::KeyRing),
}

/// HKDF label of the key pair user profiles are sealed to in an archive whose segments carry
/// their readers.
const PROFILE_EVERYONE: &[u8] = b"callvault/v4/profile-everyone";

impl ProfileKey {
    /// The profile key these seeds open in `archive`.
    pub fn of(archive: &Archive, secrets: &ArchiveSecrets) -> Result<ProfileKey> {
        if archive.config.party_readers() {
            let dedup = secrets.require("dedup")?;
            Ok(ProfileKey::Everyone(crypto::hkdf(
                dedup.expose(),
                PROFILE_EVERYONE,
            )))
        } else {
            secrets.ring("metadata").map(ProfileKey::Metadata)
        }
    }
}

/// The public key profiles are sealed to in `archive` (`ProfileKey`): from `dedup` in an archive
/// whose segments carry their readers, else the metadata key's newest epoch.
pub fn profile_recipient(archive: &Archive, signer: &ArchiveSecrets) -> Result<[u8; 32]> {
    Ok(if archive.config.party_readers() {
        let dedup = signer.require("dedup")?;
        crypto::x25519_public(&crypto::hkdf(dedup.expose(), PROFILE_EVERYONE))
    } else {
        archive.recipient("metadata")?.1
    })
}

/// Seal a profile for its readers (`ProfileKey`): every user in an archive whose segments carry
/// their readers (the key pair from `dedup`, which the signer holds), else the metadata key.
pub(super) fn seal_profile(
    archive: &Archive,
    signer: &ArchiveSecrets,
    uid: &str,
    rev: u64,
    profile: &Profile,
) -> Result<Wrapped> {
    crypto::wrap(
        &profile_recipient(archive, signer)?,
        &profile_info(uid, rev),
        &serde_json::to_vec(profile).expect("serialisable"),
    )
}

/// Read a user's profile (sealed for every user, or to the metadata key: [`ProfileKey`]).
pub fn read_profile(rec: &UserRecord, key: &ProfileKey) -> Result<Profile> {
    let what = format!("users/{}/{:08}.cvu", rec.signed.uid, rec.ver);
    let info = profile_info(&rec.signed.uid, rec.signed.rev);
    let p = match key {
        ProfileKey::Everyone(k) => crypto::unwrap(k, &info, &rec.signed.profile, &what)?,
        ProfileKey::Metadata(metadata) => {
            let mut tried = metadata
                .candidates(0)
                .map(|k| crypto::unwrap(k, &info, &rec.signed.profile, &what));
            let first = tried.next().expect("a ring holds a seed");
            match first {
                Ok(p) => p,
                Err(e) => tried.find_map(|r| r.ok()).ok_or(e)?,
            }
        }
    };
    serde_json::from_slice(&p).map_err(|_| Error::tampered(&what, "profile malformed"))
}
