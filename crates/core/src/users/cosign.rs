//! User records bound to the admin key's newest epoch (docs/FORMAT.md, "User records after an
//! admin leaves"). The archive's `signing` seed is shared by every admin and never rotates, so an
//! admin who left could, with a copy of their old key bag, sign the next revision of their own
//! record (`disabled` false) or raise a colleague's roles. So every record also carries an XEdDSA
//! signature by the admin key (`admin_sig`), and each epoch of the admin key names the revision
//! of every user's record believed when it was made (`EpochSigned::revisions`): a later revision,
//! or a user it does not name, is believed only if signed by that epoch or a newer one, which a
//! leaver was never given. The epochs are read on their proofs alone (anyone can check them from
//! `archive.json`: no user need be known), against this computer's pin of the newest seen.

use super::{signed_bytes, ArchiveSecrets, SignedPart, UserRecord};
use crate::archive::Archive;
use crate::crypto;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A user record's signature by an epoch of the admin key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdminSig {
    pub epoch: u32,
    /// XEdDSA by that epoch's admin key over `"callvault/v3/user-admin\n" ‖ the message the
    /// signing key signs`, base64.
    pub sig: String,
}

/// The hash an admin key epoch names a record by: hex SHA-256 of the message the signing key
/// signs.
pub fn record_hash(s: &SignedPart) -> String {
    hex::encode(crypto::sha256(&signed_bytes(s)))
}

fn message(s: &SignedPart) -> Vec<u8> {
    [b"callvault/v3/user-admin\n".as_slice(), &signed_bytes(s)].concat()
}

/// The admin key's epochs as this computer believes them: what a user record must be signed with.
pub struct Rule {
    /// Public key and revisions of each epoch (index = epoch; 0 is `archive.json`'s key).
    epochs: crate::archive::AdminEpochs,
    /// Why no record can be believed: the epochs cannot be read, or they are not those this
    /// computer saw (rolled back or replaced), so which revisions came after an admin left is
    /// not known.
    closed: Option<String>,
}

impl Rule {
    pub fn read(archive: &Archive) -> Rule {
        let mut closed = None;
        let epochs = match epochs(archive) {
            Ok(e) => e,
            Err(e) => {
                closed = Some(format!(
                    "the archive's admin key epochs (keys/admin) cannot be read ({e})"
                ));
                match archive.config.keys.get("admin") {
                    Ok(k) => std::sync::Arc::new(vec![(k, None)]),
                    Err(_) => std::sync::Arc::new(vec![]),
                }
            }
        };
        match archive.recipient("admin") {
            Ok((e, k)) if epochs.get(e as usize).map(|x| x.0) == Some(k) => {}
            Ok((e, _)) => {
                closed.get_or_insert(format!(
                    "the archive's admin key was rolled back or replaced on the share (keys/admin: this computer saw epoch {e}, the share gives {})",
                    epochs.len().saturating_sub(1)
                ));
            }
            Err(e) => {
                closed.get_or_insert(e.to_string());
            }
        }
        Rule { epochs, closed }
    }

    /// The newest epoch and its public key.
    pub fn newest(&self) -> (u32, [u8; 32]) {
        let e = self.epochs.len().saturating_sub(1);
        (e as u32, self.epochs.get(e).map(|x| x.0).unwrap_or([0; 32]))
    }

    /// The oldest epoch that may have signed this record: the newest epoch that does not name
    /// this very record — names the user's record at another revision (a lower one: this record
    /// came after it; a higher one: this is an older revision made again, by someone who removed
    /// the newer ones), or at this one with another content, or does not name the user (0: any,
    /// or a record from before admin signatures). A genuine older revision, signed before the
    /// epoch, fails it and is passed over as an older version (`read::load_latest`).
    pub fn required(&self, signed: &SignedPart) -> u32 {
        let mut hash = None;
        let mut req = 0;
        for (n, (_, revs)) in self.epochs.iter().enumerate().skip(1) {
            if let Some(revs) = revs {
                let later = match revs.get(&signed.uid) {
                    None => true,
                    Some((r, _)) if signed.rev != *r => true,
                    Some((_, h)) => *h != *hash.get_or_insert_with(|| record_hash(signed)),
                };
                if later {
                    req = n as u32;
                }
            }
        }
        req
    }

    /// Is this record signed as the admin key's epochs require?
    pub fn check(&self, rec: &UserRecord, what: &str) -> Result<()> {
        if let Some(why) = &self.closed {
            return Err(Error::tampered(
                what,
                format!("{why}; no user record is believed until it is restored (ask the data controller)"),
            ));
        }
        let req = self.required(&rec.signed);
        let Some(a) = &rec.admin_sig else {
            if req == 0 {
                return Ok(());
            }
            return Err(Error::tampered(
                what,
                format!("revision {} is not a record the admin key's epoch {req} names, and no admin key signed it (forged with the archive's signing key by an admin who left?); not believed", rec.signed.rev),
            ));
        };
        if a.epoch < req {
            return Err(Error::tampered(
                what,
                format!("revision {} is not a record the admin key's epoch {req} names, and only its epoch {} signed it (forged by an admin who left?); not believed", rec.signed.rev, a.epoch),
            ));
        }
        let Some((k, _)) = self.epochs.get(a.epoch as usize) else {
            return Err(Error::tampered(
                what,
                format!(
                    "signed with an admin key epoch ({}) the archive does not have",
                    a.epoch
                ),
            ));
        };
        let sig = crypto::unb64(&a.sig, what)?;
        if !crypto::xeddsa_verify(k, &message(&rec.signed), &sig) {
            return Err(Error::tampered(
                what,
                "the admin key's signature does not verify",
            ));
        }
        Ok(())
    }
}

/// The admin key's epochs, believed on their proofs: from the archive's cache while the listing of
/// `keys/admin` is the one they were read from (epoch files are written once), else read again.
fn epochs(archive: &Archive) -> Result<crate::archive::AdminEpochs> {
    let listing = archive.list(&super::callkey::dir("admin"))?;
    if let Some((l, e)) = archive.admin_epochs.lock().expect("not poisoned").as_ref() {
        if *l == listing {
            return Ok(e.clone());
        }
    }
    let mut out = vec![(archive.config.keys.get("admin")?, None)];
    let chain = super::callkey::read_key(archive, "admin", None)?;
    // An epoch file refused (replaced, damaged, or planted after the newest) ends the chain
    // before it: which records came after an admin left is then not known, so none is believed
    // (a stray file of another name is only ignored).
    if let Some((rel, why)) = chain.problems.iter().find(|(_, w)| !w.ends_with("ignored")) {
        return Err(Error::tampered(rel, why.clone()));
    }
    for s in &chain.epochs {
        match crypto::unb64(&s.public_key, "admin key epoch")
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
        {
            Some(k) => out.push((
                k,
                s.revisions.as_ref().map(|r| {
                    r.iter()
                        .map(|(u, x)| (u.clone(), (x.rev, x.hash.clone())))
                        .collect()
                }),
            )),
            None => break,
        }
    }
    let out = std::sync::Arc::new(out);
    *archive.admin_epochs.lock().expect("not poisoned") = Some((listing, out.clone()));
    Ok(out)
}

/// Sign a record's signed part with the newest admin key epoch `signer` holds, which must be the
/// archive's newest (a session that began before another computer rotated it must log on again:
/// a record it signed with the older epoch would be believed by nobody).
pub fn sign(archive: &Archive, signer: &ArchiveSecrets, signed: &SignedPart) -> Result<AdminSig> {
    let rule = Rule::read(archive);
    if let Some(why) = rule.closed {
        return Err(Error::tampered("keys/admin", why));
    }
    let (epoch, public) = rule.newest();
    let ring = signer.ring("admin")?;
    let seed = ring
        .candidates(epoch)
        .find(|k| crypto::x25519_public(k) == public)
        .ok_or_else(|| {
            Error::Forbidden(format!(
                "this session does not hold the archive's newest admin key (epoch {epoch}, made since you logged on, when an admin left): log on again to change user accounts"
            ))
        })?;
    Ok(AdminSig {
        epoch,
        sig: crypto::b64(&crypto::xeddsa_sign(seed, &message(signed))),
    })
}
