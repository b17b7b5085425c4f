//! The audit trail (`audit/<device>/<seq>.cvl`): append-only, one hash chain per device, each file
//! encrypted to the archive's audit key (so even a failed logon, which holds no key, can be written).
//! Each file carries the SHA-256 of the previous file of its device; `verify` detects an altered,
//! removed, reordered or renamed file. Entries name recordings only by id.

use crate::archive::{
    check_trailer, join_signed, split_signed, Archive, Signer, SignerKeys, SIG_LEN,
};
use crate::crypto::{self, Wrapped};
use crate::error::{Error, Result};
use crate::secret::Key32;
use crate::users::callkey::KeyRing;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub mod criteria;
pub use criteria::CriteriaKey;

pub const MAGIC: &[u8; 8] = b"CVAUDIT\x01";

/// Domain string of audit file signatures.
pub const SIG_DOMAIN: &str = "callvault/v1/audit-signature";

/// Actions that may be recorded unsigned: those of someone not (yet) logged on.
pub const UNSIGNED_ACTIONS: &[&str] = &["logon", "account.lock", "recovery.use"];

/// One thing that happened, allowed or refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub device: String,
    /// uid of the user acting (or trying to log on as).
    pub actor: Option<String>,
    /// What was attempted, e.g. `logon`, `search`, `import`, `recording.show`.
    pub action: String,
    /// `allowed`, `refused` or `failed`.
    pub outcome: String,
    /// Recording ids, user ids, request ids concerned.
    pub targets: Vec<String>,
    /// Detail: counts, reasons, search criteria.
    pub detail: Option<String>,
    /// The access request this action served, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Other devices' audit heads as this device saw them at logon: a later cut-back or rewrite of
    /// those chains is detected by `verify`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witness: Vec<Witness>,
}

/// Another device's audit chain as seen: how many files, and the SHA-256 of the last.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Witness {
    pub device: String,
    pub files: u64,
    pub last: String,
}

/// The current head of every device's audit chain except `except`, and the chains that could not
/// be read (a file or link planted where a device's folder or newest audit file belongs, an
/// oversized file): those are reported and left out, never fatal (they must not stop a logon).
pub fn heads(archive: &Archive, except: &str) -> (Vec<Witness>, Vec<Problem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut bad = |object: String, e: Error| {
        problems.push(Problem {
            reason: strip_object(&e, &object),
            object,
        })
    };
    let devices = match archive.list("audit") {
        Ok(d) => d,
        Err(e) => {
            bad("audit".into(), e);
            return (out, problems);
        }
    };
    for device in devices {
        if device == except || !crate::archive::is_id(&device) {
            continue;
        }
        let dir = format!("audit/{device}");
        let last = match archive.list(&dir) {
            Ok(names) => names.iter().filter_map(|n| parse_name(n)).max(),
            Err(e) => {
                bad(dir, e);
                continue;
            }
        };
        if let Some(last) = last {
            let rel = format!("{dir}/{}", file_name(last));
            match archive.read(&rel) {
                Ok(bytes) => out.push(Witness {
                    device,
                    files: last + 1,
                    last: hex::encode(crypto::sha256(&bytes)),
                }),
                Err(e) => bad(rel, e),
            }
        }
    }
    (out, problems)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    v: u32,
    device: String,
    seq: u64,
    /// Hex SHA-256 of the previous file of this device ("" for the first).
    prev: String,
    wrap: Wrapped,
    /// uid of the logged-on user who signed this file; None for a failed or refused logon.
    signer: Option<String>,
    /// The epoch of the audit key `wrap` is made to; 0, `archive.json`'s key, is left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    epoch: u32,
}

fn is_zero(e: &u32) -> bool {
    *e == 0
}

pub fn file_name(seq: u64) -> String {
    format!("{seq:016x}.cvl")
}

fn parse_name(name: &str) -> Option<u64> {
    let s = name.strip_suffix(".cvl")?;
    (s.len() == 16)
        .then(|| u64::from_str_radix(s, 16).ok())
        .flatten()
        .filter(|&seq| seq < crate::archive::MAX_SEQ)
}

fn info(device: &str, seq: u64) -> Vec<u8> {
    format!("callvault/v1/audit/{device}/{seq}").into_bytes()
}

/// Append entries to this device's chain.
pub fn append(
    archive: &Archive,
    device: &str,
    entries: &[AuditEntry],
    signer: Option<&Signer>,
) -> Result<()> {
    append_path(archive, device, entries, signer).map(|_| ())
}

/// As `append`, returning the path of the audit file written (`audit/<device>/<file>`).
pub fn append_path(
    archive: &Archive,
    device: &str,
    entries: &[AuditEntry],
    signer: Option<&Signer>,
) -> Result<String> {
    append_with(archive, device, signer, &|_| entries.to_vec())
}

/// As `append_path`, the entries made by `make` with the criteria key of the file they go in (so
/// that personal values in them are hashed with a key only the audit key's holders can derive).
pub fn append_with(
    archive: &Archive,
    device: &str,
    signer: Option<&Signer>,
    make: &dyn Fn(&CriteriaKey) -> Vec<AuditEntry>,
) -> Result<String> {
    let (epoch, audit_pub) = archive.recipient("audit")?;
    let dir = format!("audit/{device}");
    loop {
        let last = archive
            .list(&dir)?
            .iter()
            .filter_map(|n| parse_name(n))
            .max();
        let (seq, prev) = match last {
            None => (0, String::new()),
            Some(s) => match archive.read(&format!("{dir}/{}", file_name(s))) {
                Ok(bytes) => (s + 1, hex::encode(crypto::sha256(&bytes))),
                // A file planted as this chain's newest (a link, a pipe, an oversized file) is
                // not read: the chain goes on after it with no previous hash, and verify names
                // the planted file. Auditing must not stop.
                Err(Error::Tampered { .. }) => (s + 1, String::new()),
                Err(e) => return Err(e),
            },
        };
        let key = Key32::random();
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&make(&CriteriaKey::of_file(&key))).expect("serialisable"),
        );
        let header = Header {
            v: 1,
            device: device.to_string(),
            seq,
            prev,
            wrap: crypto::wrap(&audit_pub, &info(device, seq), key.expose())?,
            signer: signer.map(|s| s.uid.to_string()),
            epoch,
        };
        let h = serde_json::to_vec(&header).expect("serialisable");
        let body = crypto::seal(&key, &[0u8; 12], &[MAGIC.as_slice(), &h].concat(), &plain);
        let rel = format!("{dir}/{}", file_name(seq));
        match archive.write_new(&rel, &join_signed(MAGIC, &h, &body, SIG_DOMAIN, signer)) {
            Ok(()) => return Ok(rel),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(archive.path(&rel).display(), e)),
        }
    }
}

/// A problem found by a verification, naming the object.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Problem {
    pub object: String,
    pub reason: String,
}

/// The result of verifying every device's chain.
#[derive(Debug, Default, Serialize)]
pub struct AuditReport {
    pub devices: usize,
    pub files: usize,
    pub entries: usize,
    pub problems: Vec<Problem>,
    /// Per device: (number of files, hex SHA-256 of the last file).
    #[serde(skip)]
    pub heads: Vec<(String, u64, String)>,
    #[serde(skip)]
    pub all_entries: Vec<AuditEntry>,
    /// For each of `all_entries`, the criteria key of the file it was read from.
    #[serde(skip)]
    pub criteria_keys: Vec<Arc<CriteriaKey>>,
}

/// Verify every chain and decrypt and authenticate every entry.
pub fn verify(archive: &Archive, audit_key: &KeyRing, signers: &SignerKeys) -> Result<AuditReport> {
    verify_chain(archive, Some(audit_key), signers)
}

/// Verify every chain (names, order, hashes); with `audit_key`, also every entry's encryption.
pub fn verify_chain(
    archive: &Archive,
    audit_key: Option<&KeyRing>,
    signers: &SignerKeys,
) -> Result<AuditReport> {
    let mut rep = AuditReport::default();
    let devices = archive.list("audit").unwrap_or_else(|e| {
        rep.problems.push(Problem {
            object: "audit".into(),
            reason: strip_object(&e, "audit"),
        });
        Vec::new()
    });
    for device in devices {
        let dir = format!("audit/{device}");
        if !crate::archive::is_id(&device) {
            rep.problems.push(Problem {
                object: dir,
                reason: "unexpected folder in audit/".into(),
            });
            continue;
        }
        rep.devices += 1;
        let names = match archive.list(&dir) {
            Ok(n) => n,
            Err(e) => {
                rep.problems.push(Problem {
                    object: dir.clone(),
                    reason: strip_object(&e, &dir),
                });
                continue;
            }
        };
        let mut prev_hash = String::new();
        let mut expect = 0u64;
        for name in names {
            let rel = format!("{dir}/{name}");
            let Some(seq) = parse_name(&name) else {
                rep.problems.push(Problem {
                    object: rel,
                    reason: "unexpected file in the audit trail".into(),
                });
                continue;
            };
            if seq != expect {
                rep.problems.push(Problem {
                    object: rel.clone(),
                    reason: format!(
                        "audit entries {expect}..{seq} of this device are missing (removed)"
                    ),
                });
            }
            expect = seq + 1;
            rep.files += 1;
            let bytes = match archive.read(&rel) {
                Ok(b) => b,
                // Not read (a link, pipe or oversized file planted here): named, and the chain
                // goes on after it with no previous hash, as `append` continues it.
                Err(e @ Error::Tampered { .. }) => {
                    rep.problems.push(Problem {
                        object: rel.clone(),
                        reason: strip_object(&e, &rel),
                    });
                    prev_hash = String::new();
                    continue;
                }
                Err(e) => return Err(e),
            };
            match open_keyed(&bytes, audit_key, signers, &device, seq, &prev_hash, &rel) {
                Ok((mut entries, key)) => {
                    rep.entries += entries.len();
                    if let Some(k) = key {
                        let k = Arc::new(k);
                        rep.criteria_keys
                            .extend(std::iter::repeat_n(k, entries.len()));
                    }
                    rep.all_entries.append(&mut entries);
                }
                Err(e) => rep.problems.push(Problem {
                    object: rel.clone(),
                    reason: strip_object(&e, &rel),
                }),
            }
            prev_hash = hex::encode(crypto::sha256(&bytes));
        }
        rep.heads.push((device.clone(), expect, prev_hash));
    }
    Ok(rep)
}

fn strip_object(e: &Error, rel: &str) -> String {
    match e {
        Error::Tampered { reason, .. } => reason.clone(),
        other => other.to_string().replace(&format!("{rel}: "), ""),
    }
}

// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub fn open_file(
    bytes: &[u8],
    key: Option<&KeyRing>,
    signers: &SignerKeys,
    device: &str,
    seq: u64,
    prev: &str,
    what: &str,
) -> Result<Vec<AuditEntry>> {
    open_keyed(bytes, key, signers, device, seq, prev, what).map(|(e, _)| e)
}

/// As `open_file`, with the file's criteria key (none without `key`).
fn open_keyed(
    bytes: &[u8],
    key: Option<&KeyRing>,
    signers: &SignerKeys,
    device: &str,
    seq: u64,
    prev: &str,
    what: &str,
) -> Result<(Vec<AuditEntry>, Option<CriteriaKey>)> {
    let (h, body, sig, signed) = split_signed(bytes, MAGIC, what)?;
    let header: Header = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(what, format!("malformed header ({e})")))?;
    if header.device != device || header.seq != seq {
        return Err(Error::tampered(
            what,
            "entry was moved or reordered (header names another place)",
        ));
    }
    if header.prev != prev {
        return Err(Error::tampered(
            what,
            "hash chain broken: the previous entry was altered, removed or replaced",
        ));
    }
    match &header.signer {
        Some(uid) => check_trailer(signed, sig, SIG_DOMAIN, uid, signers, what)?,
        None if sig != [0u8; SIG_LEN] => {
            return Err(Error::tampered(
                what,
                "unsigned entry with a signature trailer",
            ))
        }
        None => {}
    }
    let Some(key) = key else {
        return Ok((vec![], None));
    };
    let k = key.unwrap(header.epoch, &info(device, seq), &header.wrap, what)?;
    let plain = crypto::open(&k, &[0u8; 12], &[MAGIC.as_slice(), h].concat(), body, what)?;
    let entries: Vec<AuditEntry> = serde_json::from_slice(&plain)
        .map_err(|_| Error::tampered(what, "entries not understood"))?;
    match &header.signer {
        // Unsigned: someone not logged on; only a failed or refused logon, or a lockout.
        None => {
            if entries
                .iter()
                .any(|e| !UNSIGNED_ACTIONS.contains(&e.action.as_str()) || e.outcome == "allowed")
            {
                return Err(Error::tampered(
                    what,
                    "unsigned entry records an action that needs a logged-on user",
                ));
            }
        }
        // Signed: every entry is the signer's own.
        Some(uid) => {
            if entries
                .iter()
                .any(|e| e.actor.as_deref() != Some(uid.as_str()))
            {
                return Err(Error::tampered(
                    what,
                    "an entry names an actor other than its signer",
                ));
            }
        }
    }
    Ok((entries, Some(CriteriaKey::of_file(&k))))
}
