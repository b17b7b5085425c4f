//! The **holder tag** of a key holder's record (docs/FORMAT.md, "User records"): a MAC over the
//! user's keys under a key derived from `custodian`, written by whoever puts `custodian` in the
//! user's key bag. An admin holds the archive's signing key and so can sign a record of their own
//! making under an approver's name — with the admin's own public key. Before `custodian` is
//! wrapped to a record's public key again (a re-signing, an upgrade, an escrow move), the record
//! must show it was vouched for by a holder of `custodian`: its tag, or for a record from before
//! tags, a key bag (opened with the user's secret) that already holds the same `custodian`.

use super::{open_keybag, SignedPart, UserRecord};
use crate::archive::Archive;
use crate::crypto;
use crate::error::{Error, Result};
use crate::secret::Key32;

fn message(archive: &Archive, s: &SignedPart) -> Vec<u8> {
    [
        b"callvault/v3/holder\n".as_slice(),
        archive.config.identity_hash().as_bytes(),
        b"\n",
        s.uid.as_bytes(),
        b"\n",
        s.public_key.as_bytes(),
        b"\n",
        s.signing_key.as_bytes(),
    ]
    .concat()
}

fn key(custodian: &Key32) -> Key32 {
    crypto::hkdf(custodian.expose(), b"callvault/v3/holder-tag")
}

/// The tag for a record's keys, under `custodian`.
pub(super) fn tag(archive: &Archive, custodian: &Key32, s: &SignedPart) -> String {
    hex::encode(crypto::hmac_sha256(
        key(custodian).expose(),
        &message(archive, s),
    ))
}

/// The record with its holder tag if its key bag gives `custodian`, and its reader tag if it gives
/// `metadata` (in an archive with `readers`); else without them.
pub(super) fn with_tags(
    archive: &Archive,
    bag: &super::ArchiveSecrets,
    mut signed: SignedPart,
) -> SignedPart {
    signed.holder = None;
    signed.reader = None;
    signed.holder = bag.get("custodian").map(|c| tag(archive, c, &signed));
    signed.reader = bag
        .get("metadata")
        .filter(|_| archive.config.party_readers())
        .map(|m| reader_tag(archive, m, &signed));
    signed
}

/// Does `tag` (hex, as a record carries it) verify under the tag key `k` for this record's keys?
fn verifies(archive: &Archive, k: &Key32, rec: &UserRecord, tag: Option<&str>) -> bool {
    tag.and_then(|t| hex::decode(t).ok())
        .is_some_and(|t| crypto::hmac_sha256_verify(k.expose(), &message(archive, &rec.signed), &t))
}

/// Does this record carry a holder tag that verifies under `custodian`?
pub fn vouched(archive: &Archive, custodian: &Key32, rec: &UserRecord) -> bool {
    verifies(archive, &key(custodian), rec, rec.signed.holder.as_deref())
}

/// Does this record's holder tag verify under any of these call keys (every epoch a session
/// holds: a tag made before a rotation stays good)?
pub fn vouched_any(archive: &Archive, seeds: &[&Key32], rec: &UserRecord) -> bool {
    seeds.iter().any(|c| vouched(archive, c, rec))
}

/// May `custodian` be wrapped to this record's public key again? Yes if its holder tag verifies,
/// or (a record from before tags) its key bag, opened with the user's `secret`, already holds
/// this `custodian`. Otherwise the record's keys were put there by someone who never held the
/// call keys (an admin's forgery): refused, naming the record. Keys this computer pinned are no
/// proof: an admin who made a clinician knows her secret, and can write her record as an
/// approver's, escrowed to the recovery key, on the very keys every computer pinned.
pub(super) fn check(
    archive: &Archive,
    seeds: &[&Key32],
    rec: &UserRecord,
    secret: Option<&Key32>,
) -> Result<()> {
    if vouched_any(archive, seeds, rec) {
        return Ok(());
    }
    let held = secret
        .and_then(|s| open_keybag(rec, s).ok())
        .and_then(|bag| bag.get("custodian").cloned());
    if held.is_some_and(|c| seeds.contains(&&c)) {
        return Ok(());
    }
    Err(Error::tampered(
        format!("users/{}/{:08}.cvu", rec.signed.uid, rec.ver),
        "this user's keys were not put there by a holder of the call keys (a record forged with the signing key?); the call keys are not given to it",
    ))
}

/// The **reader tag** of a metadata holder's record, in an archive with `readers`: as the holder
/// tag, under a key derived from `metadata`, written by whoever puts `metadata` in the user's key
/// bag. An admin holds no metadata key there, yet signs user records: a record they forged with a
/// metadata-holding role (on the keys of an account they made, whose secret they know) must never
/// be given the key — not by a re-signing, an upgrade or an escrow move, nor by a rotation.
fn reader_key(metadata: &Key32) -> Key32 {
    crypto::hkdf(metadata.expose(), b"callvault/v4/reader-tag")
}

/// The reader tag for a record's keys, under `metadata` (the seed the key bag holds).
pub(super) fn reader_tag(archive: &Archive, metadata: &Key32, s: &SignedPart) -> String {
    hex::encode(crypto::hmac_sha256(
        reader_key(metadata).expose(),
        &message(archive, s),
    ))
}

/// Does this record's reader tag verify under any of these metadata seeds?
pub fn reader_vouched_any(archive: &Archive, seeds: &[&Key32], rec: &UserRecord) -> bool {
    seeds
        .iter()
        .any(|m| verifies(archive, &reader_key(m), rec, rec.signed.reader.as_deref()))
}

/// Has a holder of `metadata` vouched for this record's keys: its reader tag verifies under one
/// of the `metadata` seeds `meta`, or its holder tag under one of the call seeds `calls` (the call
/// key's holders — approvers, the data controller — hold `metadata` too)?
pub fn reader_vouched(
    archive: &Archive,
    meta: &[&Key32],
    calls: &[&Key32],
    rec: &UserRecord,
) -> bool {
    reader_vouched_any(archive, meta, rec) || vouched_any(archive, calls, rec)
}

/// For a rotation's grants, failing closed: is `uid`'s current record on the share one with
/// exactly the keys `public` that a holder vouched for — of `metadata` (`reader`), else of the
/// call key? A record that cannot be read, or names other keys, is not.
pub fn vouched_now(
    archive: &Archive,
    signer: &super::ArchiveSecrets,
    uid: &str,
    public: &[u8; 32],
    reader: bool,
) -> bool {
    let Ok(Some(rec)) = super::load_latest(archive, uid) else {
        return false;
    };
    if rec.signed.public_key != crypto::b64(public) {
        return false;
    }
    let calls = signer.call_seeds();
    if reader {
        let meta = signer.ring("metadata").ok();
        let meta = meta.as_ref().map(|r| r.seeds()).unwrap_or_default();
        reader_vouched(archive, &meta, &calls, &rec)
    } else {
        vouched_any(archive, &calls, &rec)
    }
}

/// May `metadata` be wrapped to this record's public key again (its roles already grant it)?
/// Yes if a holder vouched for it (`reader_vouched`), or its key bag, opened with the user's
/// `secret`, already holds one of the seeds `meta` (a record from before tags). Otherwise its
/// keys were put there by someone who never held the metadata key (an admin's forgery): refused,
/// naming the record.
pub(super) fn reader_check(
    archive: &Archive,
    (meta, calls): (&[&Key32], &[&Key32]),
    rec: &UserRecord,
    secret: Option<&Key32>,
) -> Result<()> {
    if reader_vouched(archive, meta, calls, rec) {
        return Ok(());
    }
    let held = secret
        .and_then(|s| open_keybag(rec, s).ok())
        .and_then(|bag| bag.get("metadata").cloned());
    if held.is_some_and(|m| meta.iter().any(|x| x.expose() == m.expose())) {
        return Ok(());
    }
    Err(Error::tampered(
        format!("users/{}/{:08}.cvu", rec.signed.uid, rec.ver),
        "this user's keys were not put there by a holder of the metadata key (a record forged with the signing key?); the metadata key is not given to it",
    ))
}

/// Is this user, in an archive with `readers`, one whose roles grant `metadata` but whose record
/// carries no reader tag the signer's metadata seeds verify (written before tags, or forged)? The
/// upgrade run then re-signs it, which checks its key bag; false if the signer holds no
/// `metadata` or cannot read the roles.
pub fn reader_unvouched(archive: &Archive, signer: &super::ArchiveSecrets, uid: &str) -> bool {
    if !archive.config.party_readers() {
        return false;
    }
    let Ok(ring) = signer.ring("metadata") else {
        return false;
    };
    let Ok(m) = super::ProfileKey::of(archive, signer) else {
        return false;
    };
    let Ok(Some(rec)) = super::load_latest(archive, uid) else {
        return false;
    };
    super::read_profile(&rec, &m).is_ok_and(|p| {
        crate::policy::account_keys(&p.roles, p.disabled, true).contains(&"metadata")
            && !reader_vouched(archive, &ring.seeds(), &signer.call_seeds(), &rec)
    })
}

/// Is this user a holder of `custodian` whose record carries no holder tag the signer's
/// `custodian` verifies (written before tags, or forged)? The upgrade run then re-signs it, which
/// checks its key bag; false if the signer holds no `custodian` or cannot read the roles.
pub fn unvouched(archive: &Archive, signer: &super::ArchiveSecrets, uid: &str) -> bool {
    let seeds = signer.call_seeds();
    let Some(m) = super::ProfileKey::of(archive, signer)
        .ok()
        .filter(|_| !seeds.is_empty())
    else {
        return false;
    };
    let Ok(Some(rec)) = super::load_latest(archive, uid) else {
        return false;
    };
    super::read_profile(&rec, &m).is_ok_and(|p| {
        crate::policy::account_keys(&p.roles, p.disabled, true).contains(&"custodian")
            && !vouched_any(archive, &seeds, &rec)
    })
}

/// Does this user's current key bag hold a seed their roles no longer grant (a supervisor's
/// `custodian`, from before approvals handed keys over; any seed at all in a disabled account's,
/// from before disabled bags were emptied)? Opened through the escrow with the admin's seeds; a
/// bag the admin cannot open (escrowed to the recovery key) is told by its length: longer than a
/// bag of exactly the seeds granted.
pub fn over_granted(archive: &Archive, admin: &super::ArchiveSecrets, uid: &str) -> bool {
    let Ok(Some(rec)) = super::load_latest(archive, uid) else {
        return false;
    };
    let Ok(m) = super::ProfileKey::of(archive, admin) else {
        return false;
    };
    let Ok(profile) = super::read_profile(&rec, &m) else {
        return false;
    };
    let grant = crate::policy::account_keys(
        &profile.roles,
        profile.disabled,
        archive.config.party_readers(),
    );
    let Some(bag) = super::open_escrow(&rec, admin, None)
        .ok()
        .and_then(|secret| super::open_keybag(&rec, &secret).ok())
    else {
        // (A disabled account's bag: `{}`, whoever its escrow opens to.)
        return crate::crypto::unb64(&rec.signed.keybag.ct, "key bag")
            .is_ok_and(|ct| ct.len() > bag_len(&grant) + 16);
    };
    bag.0.keys().any(|k| !grant.contains(&k.as_str()))
}

/// The length of a key bag holding exactly the seeds `names` as `ArchiveSecrets::to_json` writes
/// it: `{"name":"<64 hex digits>",…}`.
fn bag_len(names: &[&str]) -> usize {
    let entries: usize = names.iter().map(|n| n.len() + 2 + 1 + 66).sum();
    2 + entries + names.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bag_of_exactly_its_seeds_has_the_length_it_is_told_by() {
        for names in [
            vec![],
            vec!["dedup"],
            vec!["metadata", "dedup", "custodian"],
        ] {
            let mut bag = super::super::ArchiveSecrets::default();
            for n in &names {
                bag.0.insert(n.to_string(), crate::secret::Key32::random());
            }
            assert_eq!(bag.to_json().len(), super::bag_len(&names), "{names:?}");
        }
    }
}
