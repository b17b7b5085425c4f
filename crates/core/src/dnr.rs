//! The do-not-record list (docs/FORMAT.md, "The do-not-record list"): outside numbers and
//! extensions whose calls are not kept — staff personal calls, an employee-assistance line, a
//! union representative, the practice's solicitor. The importer and the unattended ingest drop a
//! listed call's audio before anything of it is encrypted or written, and record only how many
//! calls were dropped.
//!
//! The list holds no number: each entry is a keyed hash (HMAC-SHA-256 under a key derived from
//! `dedup`, which every importer and ingest identity holds) and the data controller's label. Each
//! version is a whole list in `dnr/<seq>.cvd`, created once and never replaced, signed by its
//! author; a version is believed only when its author is a data controller by the reader's own
//! account of roles, so a member of staff who writes a version listing their own number (to keep
//! their calls out of the archive) is not believed and their calls are kept. A reader that cannot
//! believe any version keeps every call, and says why. A computer remembers the newest version it
//! saw: the share showing an older one (the newest removed) stops its imports until restored.

use crate::archive::{self, Archive, Signer};
use crate::crypto;
use crate::device::{self, Device};
use crate::error::{Error, Result};
use crate::ingest::CallSource;
use crate::secret::Key32;
use serde::{Deserialize, Serialize};

/// The folder of the list's versions.
pub const DIR: &str = "dnr";
const MAGIC: &[u8; 8] = b"CVDNR\x00\x00\x01";
const DOMAIN: &str = "callvault/v1/dnr";
const MATCH_LABEL: &[u8] = b"callvault/v1/dnr-match";
const SEAL_LABEL: &[u8] = b"callvault/v1/dnr-seal";
/// Entries in one version, at most.
pub const MAX_ENTRIES: usize = 10_000;
/// A label's length, at most (characters).
pub const MAX_LABEL: usize = 200;
/// The highest version number (8 decimal digits in the file name).
const MAX_VERSION: u64 = 99_999_999;
/// The name this computer's device state remembers the newest version under.
const SEEN: &str = "dnr";

/// What an entry matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An outside number (any format: compared in national form).
    Number,
    /// An extension or telephony identity inside the practice.
    Extension,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Number => "number",
            Kind::Extension => "extension",
        }
    }
}

/// One listed number or extension: its keyed hash, never the number itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// A short id to remove it by.
    pub id: String,
    pub kind: Kind,
    /// Hex HMAC-SHA-256 of `<kind>:<value in canonical form>` under the match key.
    pub hash: String,
    /// What the data controller wrote to recognise it (not the number).
    pub label: String,
    /// uid of who added it.
    pub by: String,
    pub at: String,
}

/// The signed header of a version.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    v: u32,
    seq: u64,
    /// Hex SHA-256 of the version it replaced (the file's bytes), empty for the first.
    prev: String,
    by: String,
    at: String,
    /// The archive identity's hash: a version is believed only in its own archive.
    archive: String,
}

/// The list as believed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    /// The version's number (0: no version written yet).
    pub seq: u64,
    /// Hex SHA-256 of the version's file.
    pub sha: String,
    pub by: Option<String>,
    pub at: Option<String>,
    pub entries: Vec<Entry>,
}

/// The newest believable version, with what was passed over on the way.
#[derive(Clone, Debug, Default)]
pub struct Believed {
    pub list: List,
    /// Versions not believed (named, with why), newest first: a reader keeps the calls those
    /// would have dropped.
    pub problems: Vec<String>,
    /// The highest version number present on the share, believed or not.
    pub highest: u64,
}

/// The keys a reader needs: both from `dedup`.
pub struct Keys {
    matching: Key32,
    sealing: Key32,
}

impl Keys {
    pub fn from_dedup(dedup: &Key32) -> Keys {
        Keys {
            matching: crypto::hkdf(dedup.expose(), MATCH_LABEL),
            sealing: crypto::hkdf(dedup.expose(), SEAL_LABEL),
        }
    }

    /// The keyed hash of a number or extension, or None if it has nothing to compare (no
    /// digits in a number; an empty extension).
    pub fn hash(&self, kind: Kind, value: &str) -> Option<String> {
        let canonical = canonical(kind, value)?;
        Some(hex::encode(crypto::hmac_sha256(
            self.matching.expose(),
            format!("{}:{canonical}", kind.as_str()).as_bytes(),
        )))
    }
}

/// The form a value is compared in: a number's national digits ([`crate::phone::normalize`]), an
/// extension trimmed and in lower case.
pub fn canonical(kind: Kind, value: &str) -> Option<String> {
    match kind {
        Kind::Number => crate::phone::normalize(value),
        Kind::Extension => {
            let t = value.trim().to_ascii_lowercase();
            (!t.is_empty()).then_some(t)
        }
    }
}

impl List {
    /// Does this call's outside number, extension, staff identity or a party (an internal call's
    /// other extension) appear on the list?
    pub fn matches(&self, keys: &Keys, src: &CallSource) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let mut hashes = Vec::with_capacity(3);
        if let Some(n) = src.external_number.as_deref() {
            hashes.extend(keys.hash(Kind::Number, n));
        }
        for e in [src.extension.as_deref(), src.staff.as_deref()]
            .into_iter()
            .flatten()
            .chain(src.parties.iter().map(String::as_str))
        {
            hashes.extend(keys.hash(Kind::Extension, e));
        }
        // A party may be the other end's number (an internal call's other extension is an
        // extension party).
        for p in &src.parties {
            hashes.extend(keys.hash(Kind::Number, p));
        }
        self.entries.iter().any(|e| hashes.contains(&e.hash))
    }
}

fn file_name(seq: u64) -> String {
    format!("{seq:08}.cvd")
}

fn parse_name(name: &str) -> Option<u64> {
    let n = name.strip_suffix(".cvd")?;
    (n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// The one rule every reader applies to a version's author (`policy::retention`): an enabled data
/// controller, whose Ed25519 key is then `key`; else why not, naming them.
pub fn vouch(
    name: &str,
    disabled: bool,
    roles: &[crate::policy::Role],
    key: [u8; 32],
) -> std::result::Result<[u8; 32], String> {
    if disabled {
        return Err(format!("{name}'s account is disabled"));
    }
    if !crate::policy::retention::may_keep_do_not_record(roles) {
        return Err(format!("{name} is not the data controller"));
    }
    Ok(key)
}

/// Who may have written a version: the author's Ed25519 key if they are, by the reader's account,
/// an enabled data controller; else why not.
pub type AuthorKey<'a> = &'a dyn Fn(&str) -> std::result::Result<[u8; 32], String>;

/// Read the list: the highest version whose signature verifies and whose author `author_key`
/// vouches for. Files that are not versions, and versions not believed (unreadable ones
/// included: a file planted unreadable must not stop every import), are named in `problems`; a
/// computer that saw a newer version than the one believed is stopped by [`check_seen`].
pub fn read(archive: &Archive, keys: &Keys, author_key: AuthorKey) -> Result<Believed> {
    let mut out = Believed::default();
    let mut versions: Vec<(u64, String)> = Vec::new();
    for name in archive.list(DIR)? {
        match parse_name(&name) {
            Some(seq) => versions.push((seq, name)),
            None => out
                .problems
                .push(format!("{DIR}/{name}: not a version of the list (ignored)")),
        }
    }
    versions.sort();
    out.highest = versions.last().map_or(0, |v| v.0);
    for (seq, name) in versions.into_iter().rev() {
        let rel = format!("{DIR}/{name}");
        match read_version(archive, keys, author_key, seq, &rel) {
            Ok(list) => {
                out.list = list;
                return Ok(out);
            }
            Err(e) => out.problems.push(format!("{e} (not believed)")),
        }
    }
    Ok(out)
}

fn read_version(
    archive: &Archive,
    keys: &Keys,
    author_key: AuthorKey,
    seq: u64,
    rel: &str,
) -> Result<List> {
    let bytes = archive::read_capped(&archive.path(rel), archive::MAX_SMALL)?;
    let (h, body, sig, signed) = archive::split_signed(&bytes, MAGIC, rel)?;
    let header: Header = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(rel, format!("malformed header ({e})")))?;
    if header.v != 1 {
        return Err(Error::Version {
            path: rel.into(),
            found: header.v,
            supported: 1,
        });
    }
    if header.seq != seq {
        return Err(Error::tampered(rel, "moved or renamed"));
    }
    if header.archive != archive.config.identity_hash() {
        return Err(Error::tampered(rel, "written for another archive"));
    }
    let pk = author_key(&header.by).map_err(|why| {
        Error::tampered(
            rel,
            format!("written by someone who is not the data controller ({why})"),
        )
    })?;
    let mut known = archive::SignerKeys::new();
    known.insert(header.by.clone(), pk);
    archive::check_trailer(signed, sig, DOMAIN, &header.by, &known, rel)?;
    if body.len() < 12 {
        return Err(Error::tampered(rel, "too short (truncated)"));
    }
    let (nonce, ct) = body.split_at(12);
    let plain = crypto::open(
        &keys.sealing,
        nonce.try_into().expect("12 bytes"),
        h,
        ct,
        rel,
    )?;
    let entries: Vec<Entry> = serde_json::from_slice(&plain)
        .map_err(|e| Error::tampered(rel, format!("malformed entries ({e})")))?;
    if entries.len() > MAX_ENTRIES
        || entries
            .iter()
            .any(|e| e.hash.len() != 64 || !e.hash.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Error::tampered(rel, "malformed entries"));
    }
    Ok(List {
        seq,
        sha: hex::encode(crypto::sha256(&bytes)),
        by: Some(header.by),
        at: Some(header.at),
        entries,
    })
}

/// Refuse a list older than the newest this computer saw: that version's file gone from the share
/// or not the same bytes (removed, replaced, altered), or no longer believed (re-signed, or its
/// author no longer the data controller) while an older one is — until the data controller saves
/// the list again. Else, with `remember`, remember the list as the newest seen.
pub fn check_seen(
    archive: &Archive,
    device: &Device,
    believed: &Believed,
    remember_it: bool,
) -> Result<()> {
    let list = &believed.list;
    if let Some((seen, sha)) = device::seen_key(device, SEEN) {
        let seen = u64::from(seen);
        let rel = format!("{DIR}/{}", file_name(seen));
        let stop = |why: String| {
            Err(Error::tampered(
                &rel,
                format!("{why}: nothing is imported on this computer until the data controller saves the do-not-record list again"),
            ))
        };
        if list.seq < seen {
            let bytes = match archive::read_capped(&archive.path(&rel), archive::MAX_SMALL) {
                Ok(b) => b,
                Err(Error::Io { .. }) | Err(Error::NotFound(_)) => {
                    return stop(format!(
                        "version {seen} of the do-not-record list, seen on this computer, is gone from the share"
                    ))
                }
                Err(e) => return Err(e),
            };
            if hex::encode(crypto::sha256(&bytes)) != sha {
                return stop(format!(
                    "version {seen} of the do-not-record list is not the one this computer saw (replaced or altered)"
                ));
            }
            let why = believed
                .problems
                .iter()
                .find(|p| p.contains(&rel))
                .cloned()
                .unwrap_or_else(|| "not believed".into());
            return stop(format!(
                "version {seen} of the do-not-record list, seen on this computer, is no longer believed ({why})"
            ));
        }
        if list.seq == seen && list.sha != sha {
            return stop(format!(
                "version {seen} of the do-not-record list is not the one this computer saw (replaced)"
            ));
        }
    }
    if remember_it && list.seq > 0 {
        let seq = u32::try_from(list.seq).map_err(|_| {
            Error::tampered(
                format!("{DIR}/{}", file_name(list.seq)),
                "version number out of range",
            )
        })?;
        device::remember_key(device, SEEN, seq, &list.sha)?;
    }
    Ok(())
}

/// The newest version number this computer saw (0: none).
pub fn seen_seq(device: &Device) -> u64 {
    device::seen_key(device, SEEN).map_or(0, |(s, _)| u64::from(s))
}

/// Write version `seq` holding `entries`, after `current` (the list as believed). Returns the
/// new list; a number already taken on the share (another data controller's version, or a file
/// planted there) is `WriteError::Taken`, for the caller to read again and retry.
pub fn write(
    archive: &Archive,
    keys: &Keys,
    signer: &Signer,
    current: &Believed,
    seq: u64,
    entries: Vec<Entry>,
) -> std::result::Result<List, WriteError> {
    if entries.len() > MAX_ENTRIES {
        return Err(WriteError::Other(Error::Invalid(format!(
            "the do-not-record list holds at most {MAX_ENTRIES} entries"
        ))));
    }
    if seq > MAX_VERSION {
        return Err(WriteError::Other(Error::archive(
            DIR,
            "the do-not-record list has reached its highest version number",
        )));
    }
    let at = crate::time::rfc3339(chrono::Utc::now());
    let header = Header {
        v: 1,
        seq,
        prev: current.list.sha.clone(),
        by: signer.uid.to_string(),
        at: at.clone(),
        archive: archive.config.identity_hash(),
    };
    let h = serde_json::to_vec(&header).expect("serialisable");
    let nonce: [u8; 12] = crypto::random_array();
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(&entries).expect("serialisable"));
    let body = [
        nonce.as_slice(),
        &crypto::seal(&keys.sealing, &nonce, &h, &plain),
    ]
    .concat();
    let bytes = archive::join_signed(MAGIC, &h, &body, DOMAIN, Some(signer));
    if bytes.len() as u64 > archive::MAX_SMALL {
        return Err(WriteError::Other(Error::Invalid(
            "the do-not-record list would be larger than 1 MiB: shorten its labels or remove entries".into(),
        )));
    }
    let rel = format!("{DIR}/{}", file_name(seq));
    match archive.write_new(&rel, &bytes) {
        Ok(()) => Ok(List {
            seq,
            sha: hex::encode(crypto::sha256(&bytes)),
            by: Some(signer.uid.to_string()),
            at: Some(at),
            entries,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(WriteError::Taken),
        Err(e) => Err(WriteError::Other(Error::io(&rel, e))),
    }
}

/// Why a version was not written.
#[derive(Debug)]
pub enum WriteError {
    /// Its number was taken meanwhile: read again and retry.
    Taken,
    Other(Error),
}

/// A label as the data controller may give it: 1–200 characters, no control characters.
pub fn check_label(label: &str) -> Result<String> {
    let l = label.trim();
    if l.is_empty() {
        return Err(Error::Invalid(
            "field 'label': say whose number or extension it is (e.g. \"union representative\")"
                .into(),
        ));
    }
    if l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "field 'label': at most {MAX_LABEL} characters, on one line"
        )));
    }
    Ok(l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(number: Option<&str>, ext: Option<&str>) -> CallSource {
        CallSource {
            name: "x.wav".into(),
            bytes: vec![],
            started_at: chrono::Utc::now(),
            direction: crate::archive::journal::Direction::Inbound,
            staff: None,
            extension: ext.map(str::to_string),
            external_number: number.map(str::to_string),
            parties: vec![],
            notes: None,
            nhs_numbers: vec![],
            conversation: None,
        }
    }

    fn entry(keys: &Keys, kind: Kind, v: &str) -> Entry {
        Entry {
            id: "e1".into(),
            kind,
            hash: keys.hash(kind, v).unwrap(),
            label: "x".into(),
            by: "u".into(),
            at: "t".into(),
        }
    }

    #[test]
    fn a_listed_number_matches_in_any_format_and_nothing_else_does() {
        let keys = Keys::from_dedup(&Key32::from_slice(&[7u8; 32]).unwrap());
        let list = List {
            seq: 1,
            entries: vec![
                entry(&keys, Kind::Number, "07700 900123"),
                entry(&keys, Kind::Extension, "250"),
            ],
            ..Default::default()
        };
        assert!(list.matches(&keys, &call(Some("+44 7700 900123"), None)));
        assert!(list.matches(&keys, &call(Some("07700900123"), Some("201"))));
        assert!(list.matches(&keys, &call(None, Some(" 250 "))));
        assert!(!list.matches(&keys, &call(Some("07700 900124"), Some("201"))));
        // A number is not an extension: "250" as an outside number is not listed.
        assert!(!list.matches(&keys, &call(Some("250"), None)));
        assert!(!list.matches(&keys, &call(None, None)));
        // Another archive's dedup key gives other hashes.
        let other = Keys::from_dedup(&Key32::from_slice(&[8u8; 32]).unwrap());
        assert!(!list.matches(&other, &call(Some("07700 900123"), None)));
    }

    #[test]
    fn names_and_labels() {
        assert_eq!(parse_name("00000012.cvd"), Some(12));
        assert_eq!(parse_name("12.cvd"), None);
        assert_eq!(parse_name("0000001x.cvd"), None);
        assert!(check_label("  ").is_err());
        assert!(check_label("a\nb").is_err());
        assert_eq!(check_label(" union rep ").unwrap(), "union rep");
    }
}
