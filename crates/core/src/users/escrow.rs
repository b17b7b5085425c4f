//! Where a user's secret seed is escrowed (docs/FORMAT.md, "User records" and "The recovery
//! key"): to the admin key for clinicians and staff, to the practice's recovery key for
//! supervisors, approvers, the data controller and admins (`policy::escrow_to_recovery`); opening
//! it, and whether it must move.

use super::{list_uids, load_latest, read_profile, recovery, ArchiveSecrets, UserRecord};
use crate::archive::Archive;
use crate::crypto::{self, Wrapped};
use crate::error::{Error, Result};
use crate::policy::{self, Role};
use crate::secret::Key32;
use std::collections::BTreeMap;

pub(super) fn escrow_info(uid: &str) -> Vec<u8> {
    format!("callvault/v1/escrow/{uid}").into_bytes()
}
pub(super) fn recovery_escrow_info(uid: &str) -> Vec<u8> {
    format!("callvault/v3/recovery-escrow/{uid}").into_bytes()
}

/// The escrow a new record of a user with `roles` carries: to the recovery key for a holder of
/// call keys, the metadata key or the admin key (checked to be the practice's own with the writer's `custodian`),
/// else to the admin key. With the value of `escrow_to`.
pub(super) fn escrow_for(
    archive: &Archive,
    signer: &ArchiveSecrets,
    uid: &str,
    roles: &[Role],
    secret: &Key32,
) -> Result<(Wrapped, Option<String>)> {
    if policy::escrow_to_recovery(roles) && recovery_in_use(archive) {
        let seeds = signer.call_seeds();
        if seeds.is_empty() {
            return Err(Error::Forbidden(
                "a supervisor's, an approver's, the data controller's or an admin's secret is escrowed to the practice's recovery key, which only a holder of the call key can check is the practice's own: ask an admin who is also an approver or the data controller".into(),
            ));
        }
        let public = recovery::verified_public_any(archive, &seeds)?;
        Ok((
            crypto::wrap(&public, &recovery_escrow_info(uid), secret.expose())?,
            Some("recovery".into()),
        ))
    } else {
        Ok((
            crypto::wrap(
                &archive.recipient("admin")?.1,
                &escrow_info(uid),
                secret.expose(),
            )?,
            None,
        ))
    }
}

/// Does this archive use a recovery key: it has `recovery.json`, or a user's secret is escrowed to
/// one (then a missing `recovery.json` was removed, and nothing is escrowed to the admin key in
/// its place). An archive made before the recovery key, until its data controller creates one,
/// does not: key holders' secrets stay escrowed to the admin key, and an admin's logon warns.
pub fn recovery_in_use(archive: &Archive) -> bool {
    recovery::exists(archive)
        || list_uids(archive).is_ok_and(|uids| {
            uids.iter()
                .any(|u| matches!(load_latest(archive, u), Ok(Some(r)) if escrowed_to_recovery(&r)))
        })
}

/// Is this record's secret escrowed to the recovery key?
pub fn escrowed_to_recovery(rec: &UserRecord) -> bool {
    rec.signed.escrow_to.as_deref() == Some("recovery")
}

/// Open a user's escrowed secret: with the admin seed, or for a key holder with the recovery
/// seed (`recovery`). Refused, naming why, if the caller holds neither.
pub fn open_escrow(
    rec: &UserRecord,
    signer: &ArchiveSecrets,
    recovery: Option<&Key32>,
) -> Result<Key32> {
    let uid = &rec.signed.uid;
    let what = format!("users/{uid}/{:08}.cvu", rec.ver);
    if escrowed_to_recovery(rec) {
        let seed = recovery.ok_or_else(|| {
            Error::Forbidden(
                "this user holds call keys, the metadata key or the admin key: their secret is escrowed to the practice's recovery key, which the data controller keeps; an admin alone cannot open it".into(),
            )
        })?;
        crypto::unwrap_key(seed, &recovery_escrow_info(uid), &rec.signed.escrow, &what)
    } else {
        // Any epoch of the admin key this admin holds (the escrow names none).
        signer
            .ring("admin")?
            .unwrap(0, &escrow_info(uid), &rec.signed.escrow, &what)
    }
}

/// Must this user's escrow move to the recovery key (they hold call keys, and their secret is
/// still escrowed to the admin key: an archive from before, or a promotion)? Needs `metadata`.
/// Not for a disabled account: a disablement never waits on the escrow (which may not open), and
/// the escrow moves when the account is enabled again.
pub fn escrow_misplaced(archive: &Archive, profiles: &super::ProfileKey, uid: &str) -> bool {
    let Ok(Some(rec)) = load_latest(archive, uid) else {
        return false;
    };
    let Ok(profile) = read_profile(&rec, profiles) else {
        return false;
    };
    !profile.disabled && policy::escrow_to_recovery(&profile.roles) && !escrowed_to_recovery(&rec)
}

/// The key bag for `profile`: each seed from the signer, or failing that from the user's own
/// current bag (`own`: opened with their secret, by the recovery key) — never a seed the roles do
/// not grant, and none for a disabled account (`policy::account_keys`).
pub(super) fn bag_for(
    archive: &Archive,
    profile: &super::Profile,
    signer: &ArchiveSecrets,
    own: Option<&ArchiveSecrets>,
) -> Result<ArchiveSecrets> {
    let mut m = BTreeMap::new();
    for k in policy::account_keys(
        &profile.roles,
        profile.disabled,
        archive.config.party_readers(),
    ) {
        let v = signer
            .get(k)
            .or_else(|| own.and_then(|o| o.get(k)))
            .ok_or_else(|| {
                Error::Forbidden(format!("your roles do not hold the archive's {k} key"))
            })?;
        m.insert(k.to_string(), v.clone());
    }
    Ok(ArchiveSecrets(m, Default::default()))
}
