//! Reading user records from the share: every version checked (both signatures, placement, the
//! archive identity, the password sealing), and the newest believed unless a higher revision was
//! removed (a rollback).

use super::{cosign, parse_ver, sealing_hash, signed_bytes, UserRecord};
use crate::archive::Archive;
use crate::crypto;
use crate::error::{Error, Result};

/// Check one version of a user's record as reading does: the current (newest) one fully, an
/// older one without the admin key's rule (`load_latest` passes over an older version failing
/// only that: the rule names the current revision, and a genuine older one predates the epoch).
pub fn check_version(
    archive: &Archive,
    bytes: &[u8],
    uid: &str,
    (ver, newest): (u64, bool),
    what: &str,
) -> Result<UserRecord> {
    if newest {
        check_record(archive, bytes, uid, ver, what)
    } else {
        check_under(archive, bytes, uid, ver, what)
    }
}

/// Parse and check one user record file (signatures, placement).
pub fn check_record(
    archive: &Archive,
    bytes: &[u8],
    uid: &str,
    ver: u64,
    what: &str,
) -> Result<UserRecord> {
    let rec = check_under(archive, bytes, uid, ver, what)?;
    cosign::Rule::read(archive).check(&rec, what)?;
    Ok(rec)
}

fn check_under(
    archive: &Archive,
    bytes: &[u8],
    uid: &str,
    ver: u64,
    what: &str,
) -> Result<UserRecord> {
    let rec: UserRecord = serde_json::from_slice(bytes)
        .map_err(|e| Error::tampered(what, format!("malformed user record ({e})")))?;
    if rec.v > 1 {
        return Err(Error::Version {
            path: what.into(),
            found: rec.v,
            supported: 1,
        });
    }
    if rec.signed.uid != uid || rec.ver != ver {
        return Err(Error::tampered(what, "user record was moved or renamed"));
    }
    let sig = crypto::unb64(&rec.sig, what)?;
    if !crypto::ed25519_verify(
        &archive.config.keys.get("signing")?,
        &signed_bytes(&rec.signed),
        &sig,
    ) {
        return Err(Error::tampered(
            what,
            "user record signature does not verify",
        ));
    }
    if rec
        .signed
        .archive
        .as_ref()
        .is_some_and(|h| *h != archive.config.identity_hash())
    {
        return Err(Error::tampered(
            what,
            "user record was signed for another archive identity (archive.json replaced?)",
        ));
    }
    if let Some(h) = &rec.signed.sealing {
        if *h != sealing_hash(&rec.kdf, &rec.salt, &rec.sealed) {
            return Err(Error::tampered(
                what,
                "password sealing is not the one the admin signed (swapped or replayed)",
            ));
        }
    }
    Ok(rec)
}

/// The current record of a user: the highest version, every version checked, no rollback. The
/// admin key's rule (`cosign`) refuses the user if the current version fails it; an older version
/// that fails it is passed over (not counted for the rollback check): two admins saving the same
/// user at once leave two versions of one revision, of which an epoch names only one, and a
/// leaver's file planted at an older version must not make the user look rolled back.
pub fn load_latest(archive: &Archive, uid: &str) -> Result<Option<UserRecord>> {
    let dir = format!("users/{uid}");
    let mut latest: Option<UserRecord> = None;
    let mut max_rev = 0;
    let rule = cosign::Rule::read(archive);
    let names = archive.list(&dir)?;
    let newest = names.iter().filter_map(|n| parse_ver(n)).max();
    for name in names {
        let Some(ver) = parse_ver(&name) else {
            return Err(Error::tampered(
                format!("{dir}/{name}"),
                "unexpected file among user records",
            ));
        };
        let rel = format!("{dir}/{name}");
        let rec = check_under(archive, &archive.read(&rel)?, uid, ver, &rel)?;
        match rule.check(&rec, &rel) {
            Ok(()) => {}
            Err(e) if Some(ver) == newest => return Err(e),
            Err(_) => continue,
        }
        max_rev = max_rev.max(rec.signed.rev);
        if latest.as_ref().is_none_or(|l| rec.ver > l.ver) {
            latest = Some(rec);
        }
    }
    if let Some(l) = &latest {
        if l.signed.rev < max_rev {
            return Err(Error::tampered(
                format!("{dir}/{:08}.cvu", l.ver),
                "user record rolled back to an older revision",
            ));
        }
    }
    Ok(latest)
}

/// Every user id in the archive.
pub fn list_uids(archive: &Archive) -> Result<Vec<String>> {
    Ok(archive
        .list("users")?
        .into_iter()
        .filter(|n| crate::archive::is_id(n))
        .collect())
}
