//! A journal segment's readers besides the metadata key's holders (issue 18, item 2; FORMAT.md,
//! "Segment readers"): its key is also wrapped to the user key of each **party** of its entries
//! (the staff on a call, a request's raiser), or, for entries that name nobody (settings,
//! checkpoints, audit anchors, upgrades), sealed for **every user** with a key derived from the
//! `dedup` seed. A writer puts in one segment only entries with the same readers
//! (`Session::entry_readers`), so a party who opens a segment reads only entries about them.

use crate::archive::journal::{self, JournalEntry, RecordingMeta};
use crate::archive::SignerKeys;
use crate::crypto::{self, Wrapped};
use crate::error::{Error, Result};
use crate::secret::Key32;
use serde::{Deserialize, Serialize};

/// HKDF info of the key that seals a segment key for every user, from the `dedup` seed.
pub const EVERYONE_INFO: &[u8] = b"callvault/v4/journal-everyone";

/// The segment key wrapped to one party's own X25519 key (`public_key` in their user record).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PartyWrap {
    pub uid: String,
    pub wrap: Wrapped,
}

/// Who may open a segment being written, besides the metadata key's holders.
#[derive(Clone, Debug, Default)]
pub enum Readers {
    /// Nobody else (legal holds; entries of a call that has no party).
    #[default]
    Metadata,
    /// The parties of its entries: `(uid, X25519 public key)`, in uid order, no repeats.
    Parties(Vec<(String, [u8; 32])>),
    /// Every user of the archive: the `dedup` seed (entries that name no patient).
    Everyone(Key32),
}

impl Readers {
    /// The segment header's `to` and `everyone` fields for segment key `key` at `(device, seq)`.
    pub fn wraps(
        &self,
        device: &str,
        seq: u64,
        key: &Key32,
    ) -> Result<(Vec<PartyWrap>, Option<String>)> {
        Ok(match self {
            Readers::Metadata => (vec![], None),
            Readers::Parties(p) => {
                let mut out = Vec::with_capacity(p.len());
                for (uid, pk) in p {
                    out.push(PartyWrap {
                        uid: uid.clone(),
                        wrap: crypto::wrap(pk, &party_info(device, seq, uid), key.expose())?,
                    });
                }
                (out, None)
            }
            Readers::Everyone(dedup) => {
                let k = crypto::hkdf(dedup.expose(), EVERYONE_INFO);
                let nonce: [u8; 12] = crypto::random_array();
                let ct = crypto::seal(&k, &nonce, &everyone_aad(device, seq), key.expose());
                (vec![], Some(crypto::b64(&[nonce.as_slice(), &ct].concat())))
            }
        })
    }
}

/// HPKE info of a party's wrap of segment `(device, seq)`'s key.
pub fn party_info(device: &str, seq: u64, uid: &str) -> Vec<u8> {
    format!("callvault/v4/journal-party/{device}/{seq}/{uid}").into_bytes()
}

/// The AAD of the segment key sealed for every user.
pub fn everyone_aad(device: &str, seq: u64) -> Vec<u8> {
    format!("callvault/v4/journal-everyone/{device}/{seq}").into_bytes()
}

/// A reader who holds no metadata key: their uid and own secret seed, and the `dedup` seed.
pub struct PartyKeys<'a> {
    pub uid: &'a str,
    pub secret: &'a Key32,
    pub dedup: Option<&'a Key32>,
}

impl PartyKeys<'_> {
    /// The segment key, if the segment is addressed to this reader (`Ok(None)` if not).
    pub fn open(
        &self,
        device: &str,
        seq: u64,
        to: &[PartyWrap],
        everyone: Option<&str>,
        what: &str,
    ) -> Result<Option<Key32>> {
        if let Some(w) = to.iter().find(|w| w.uid == self.uid) {
            return crypto::unwrap_key(
                self.secret,
                &party_info(device, seq, self.uid),
                &w.wrap,
                what,
            )
            .map(Some);
        }
        match (everyone, self.dedup) {
            (Some(e), Some(dedup)) => {
                let raw = crypto::unb64(e, what)?;
                if raw.len() < 12 {
                    return Err(Error::tampered(
                        what,
                        "segment key for every user is malformed",
                    ));
                }
                let k = crypto::hkdf(dedup.expose(), EVERYONE_INFO);
                let (nonce, ct) = raw.split_at(12);
                let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
                let key = crypto::open(&k, &nonce, &everyone_aad(device, seq), ct, what)?;
                Key32::from_slice(&key).map(Some).ok_or_else(|| {
                    Error::tampered(what, "segment key for every user is not 32 bytes")
                })
            }
            _ => Ok(None),
        }
    }
}

/// A copy of a `recording` entry, for the user a call was assigned to (FORMAT.md,
/// `recording_copy`): its importer's own signature, at the place it names, proves it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordingCopy {
    pub recording: String,
    /// The user it is for (its segment's reader besides the metadata key's holders).
    pub to: String,
    /// Where the original is: its device's journal and sequence number.
    pub device: String,
    pub seq: u64,
    /// The original entry, and its importer's signature of it there (base64).
    pub entry: Box<RecordingMeta>,
    pub sig: String,
    pub by: String,
    pub at: String,
}

/// Check a copied `recording` entry: it is the recording it says, signed by its importer at the
/// place it names, and its id is bound to that importer and place (when it has a nonce).
pub fn check_copy(c: &RecordingCopy, signers: &SignerKeys, what: &str) -> Result<()> {
    let e = JournalEntry::Recording(c.entry.clone());
    let signed = signers.get(e.author()).is_some_and(|pk| {
        crypto::unb64(&c.sig, what).is_ok_and(|s| {
            crypto::ed25519_verify(pk, &journal::entry_message(&c.device, c.seq, &e), &s)
        })
    });
    let bound =
        c.entry.nonce.as_ref().is_none_or(|n| {
            journal::recording_id(&c.entry.imported_by, &c.device, n) == c.entry.id
        });
    if c.entry.id != c.recording || !signed || !bound {
        return Err(Error::tampered(
            what,
            format!(
                "the copy of recording {} is not its importer's entry; the segment is refused",
                c.recording
            ),
        ));
    }
    Ok(())
}
