//! The archive: a plain folder (local disk or network share) used by several devices at once.
//! Every file is written once — to a temporary name, fsync'd, then published under its final name
//! without ever replacing an existing file — so no reader sees a half-written file and no writer
//! overwrites another's. Layout (docs/FORMAT.md):
//!
//! ```text
//! archive.json                      public parameters: format version, archive id, public keys, KDF cost
//! users/<uid>/<ver>.cvu             user records (signed; keys sealed under the user's password)
//! journal/<device>/<seq>.cvj        each device's metadata journal, in encrypted segments
//! audit/<device>/<seq>.cvl          each device's hash-chained, encrypted audit trail
//! rec/<id[0..2]>/<id>.cva           audio objects, STREAM-encrypted under a per-recording key
//! auth/<uid>/<kind>-<ms>-<rand>     empty logon-outcome markers, for lockout across devices
//! ```

pub mod audio;
mod files;
pub mod journal;
pub mod readers;
pub mod segments;

pub use files::{
    list_dir, open_regular, read_capped, remove, shred_and_remove, Removal, MAX_READ, MAX_SMALL,
    SHRED_MIN,
};

use crate::crypto::{self, KdfParams};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Journal segment and audit file sequence numbers are below this (2^48: a device writing a file a
/// second would take nine million years). A name with a larger number is not one of them (an
/// unexpected file, reported), so no planted name can make a count overflow or run for ever.
pub const MAX_SEQ: u64 = 1 << 48;

/// The archive format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// archive.json: everything needed before anyone logs on. No personal data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ArchiveConfig {
    pub format: String,
    pub v: u32,
    pub id: String,
    pub created_at: String,
    pub keys: PublicKeys,
    pub kdf: KdfParams,
    /// Milliseconds one Argon2id derivation took on the machine that created the archive.
    pub kdf_measured_ms: u64,
    /// Salt for user-name lookup ids (base64, 16 bytes).
    pub user_salt: String,
    /// Plaintext bytes per audio segment.
    pub segment_size: u32,
    /// Time zone of manifest times without an offset.
    pub timezone: String,
    /// `1`: every journal segment of this archive was written with its readers (FORMAT.md,
    /// "Segment readers") from its creation, so clinicians and staff hold no `metadata` key (they
    /// read their own entries through those wraps) and user profiles are sealed for every user
    /// (`policy::archive_keys_for`). Part of the identity: it cannot be set or taken away later.
    /// Absent in archives made before (they keep the older key table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readers: Option<u32>,
}

/// Public halves of the archive's key pairs, base64.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PublicKeys {
    /// X25519: journal segments (metadata), readable by every user.
    pub metadata: String,
    /// X25519: recording data keys, held by supervisors, approvers and the data controller.
    pub custodian: String,
    /// X25519: audit segments, held by admins and the data controller.
    pub audit: String,
    /// X25519: escrow of users' private keys (password reset), held by admins.
    pub admin: String,
    /// Ed25519: signs user records, held by admins.
    pub signing: String,
}

impl ArchiveConfig {
    /// Were this archive's journal segments written with their readers from its creation, so that
    /// clinicians and staff hold no `metadata` key? (`readers`, above.)
    pub fn party_readers(&self) -> bool {
        self.readers.is_some()
    }

    /// Hex SHA-256 of the archive's identity: its id, public keys, KDF cost, user-name salt and
    /// segment size (not the descriptive fields). User records bind it in their signed part, and a
    /// device refuses an archive.json at a folder it knows whose identity changed.
    pub fn identity_hash(&self) -> String {
        let identity = serde_json::json!({
            "id": self.id,
            "keys": self.keys,
            "kdf": self.kdf,
            "user_salt": self.user_salt,
            "segment_size": self.segment_size,
        });
        let mut identity = identity;
        if let Some(r) = self.readers {
            identity["readers"] = serde_json::json!(r);
        }
        let m = [
            b"callvault/v2/archive-identity\n".as_slice(),
            &serde_json::to_vec(&identity).expect("serialisable"),
        ]
        .concat();
        hex::encode(crypto::sha256(&m))
    }

    /// The identity as people compare it (on the practice's set-up sheet): 24 hex digits in groups.
    pub fn fingerprint(&self) -> String {
        let h = self.identity_hash();
        h.as_bytes()[..24]
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("hex"))
            .collect::<Vec<_>>()
            .join("-")
            .to_uppercase()
    }
}

impl PublicKeys {
    pub fn get(&self, which: &str) -> Result<[u8; 32]> {
        let s = match which {
            "metadata" => &self.metadata,
            "custodian" => &self.custodian,
            "audit" => &self.audit,
            "admin" => &self.admin,
            "signing" => &self.signing,
            _ => return Err(Error::Invalid(format!("unknown archive key {which}"))),
        };
        let v = crypto::unb64(s, "archive.json")?;
        v.try_into().map_err(|_| {
            Error::tampered("archive.json", format!("key {which} has the wrong length"))
        })
    }
}

/// An opened archive folder.
#[derive(Clone, Debug)]
pub struct Archive {
    root: PathBuf,
    pub config: ArchiveConfig,
    /// The exact bytes of archive.json as trusted (pinned) by this device.
    pub config_bytes: Vec<u8>,
    /// The newest epoch of each rotating key as read from `keys/` (shared by every clone):
    /// what new journal segments, profiles and audit files are encrypted to. Unset: epoch 0,
    /// `archive.json`'s key. An error: writing is refused (the key was rolled back).
    pub current: Current,
    /// The admin key's epochs as last read (`users::cosign`), by the listing of `keys/admin` they
    /// were read from (epoch files are written once): every user record read checks against
    /// them, and reading them is not done again until the listing changes.
    pub admin_epochs: AdminEpochsCache,
}

/// Each admin key epoch's public key and the records it names: uid → (revision, hash) (index =
/// epoch).
pub type AdminEpochs = std::sync::Arc<Vec<([u8; 32], Option<BTreeMap<String, (u64, String)>>)>>;

/// See `Archive::admin_epochs`.
pub type AdminEpochsCache = std::sync::Arc<std::sync::Mutex<Option<(Vec<String>, AdminEpochs)>>>;

/// See `Archive::current`.
pub type Current = std::sync::Arc<
    std::sync::RwLock<BTreeMap<&'static str, std::result::Result<(u32, [u8; 32]), String>>>,
>;

impl Archive {
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Read and check archive.json (not yet pinned; see `device`).
    pub fn open(root: &Path) -> Result<Archive> {
        let p = root.join("archive.json");
        let bytes = read_capped(&p, MAX_SMALL).map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(format!(
                "{}: no Callvault archive here (archive.json missing)",
                root.display()
            )),
            other => other,
        })?;
        Self::from_bytes(root, bytes)
    }

    pub fn from_bytes(root: &Path, bytes: Vec<u8>) -> Result<Archive> {
        let name = root.join("archive.json").display().to_string();
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::tampered(&name, format!("not valid JSON ({e})")))?;
        if v.get("format").and_then(|f| f.as_str()) != Some("callvault-archive") {
            return Err(Error::tampered(
                &name,
                "not a Callvault archive description",
            ));
        }
        let found = v.get("v").and_then(|x| x.as_u64()).unwrap_or(0) as u32;
        if found > FORMAT_VERSION {
            return Err(Error::Version {
                path: name,
                found,
                supported: FORMAT_VERSION,
            });
        }
        let config: ArchiveConfig = serde_json::from_value(v)
            .map_err(|e| Error::tampered(&name, format!("malformed ({e})")))?;
        config.kdf.check(&name)?;
        if !(4096..=16 << 20).contains(&config.segment_size) || !is_id(&config.id) {
            return Err(Error::tampered(
                &name,
                "segment size or archive id out of range",
            ));
        }
        Ok(Archive {
            root: root.to_path_buf(),
            config,
            config_bytes: bytes,
            current: Default::default(),
            admin_epochs: Default::default(),
        })
    }

    /// The epoch and public key new data under rotating key `name` is encrypted to (docs/FORMAT.md,
    /// "Rotating the archive's keys"); refused when the key was rolled back on the share.
    pub fn recipient(&self, name: &str) -> Result<(u32, [u8; 32])> {
        match self.current.read().expect("not poisoned").get(name) {
            Some(Ok(k)) => Ok(*k),
            Some(Err(why)) => Err(Error::tampered(format!("keys/{name}"), why.clone())),
            None => Ok((0, self.config.keys.get(name)?)),
        }
    }

    /// Set what `recipient` gives for `name`.
    pub fn set_recipient(
        &self,
        name: &'static str,
        k: std::result::Result<(u32, [u8; 32]), String>,
    ) {
        self.current.write().expect("not poisoned").insert(name, k);
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Publish a new file at `rel` (relative, '/'-separated). Fails with `AlreadyExists` if taken.
    pub fn write_new(&self, rel: &str, data: &[u8]) -> std::io::Result<()> {
        write_new(&self.root, rel, data)
    }
}

/// Write `data` to `root/rel` once: temp file in the same folder, fsync, publish without replacing,
/// fsync the folder. Returns `AlreadyExists` if another writer published that name first (a link
/// there counts as taken). Never writes through a link in the folders between `root` and `rel`.
pub fn write_new(root: &Path, rel: &str, data: &[u8]) -> std::io::Result<()> {
    let dest = root.join(rel);
    let dir = dest.parent().expect("archive paths have a parent");
    // Never through a link: checked before the folders are made (none is made through one) and
    // after (none was swapped in meanwhile).
    let check = || files::resolve(root, rel).map_err(|e| std::io::Error::other(e.to_string()));
    check()?;
    std::fs::create_dir_all(dir)?;
    check()?;
    if dest.symlink_metadata().is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "exists",
        ));
    }
    let tmp = dir.join(format!(".tmp-{}", crypto::new_id()));
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        publish_noreplace(&tmp, &dest)
    })();
    let _ = std::fs::remove_file(&tmp);
    res?;
    sync_dir(dir);
    Ok(())
}

/// Give `tmp` the name `dest` unless `dest` exists. Hard links are atomic and never replace; where a
/// file system refuses them, fall back to a checked rename.
fn publish_noreplace(tmp: &Path, dest: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(tmp, dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if dest.symlink_metadata().is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "exists",
                ));
            }
            std::fs::rename(tmp, dest)
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

/// Make removals in a folder durable.
pub fn sync_folder(archive: &Archive, rel: &str) {
    sync_dir(&archive.path(rel));
}

/// Create a new archive folder's archive.json. Fails if the folder already holds one.
pub fn create_config(root: &Path, config: &ArchiveConfig) -> Result<Archive> {
    if root.join("archive.json").exists() {
        return Err(Error::Invalid(format!(
            "{}: an archive already exists here",
            root.display()
        )));
    }
    std::fs::create_dir_all(root).map_err(|e| Error::io(root.display(), e))?;
    let mut bytes = serde_json::to_vec_pretty(config).expect("serialisable");
    bytes.push(b'\n');
    write_new(root, "archive.json", &bytes)
        .map_err(|e| Error::io(root.join("archive.json").display(), e))?;
    Archive::from_bytes(root, bytes)
}

/// Read a versioned binary envelope: `magic(8) ‖ BE32(header length) ‖ header JSON ‖ body`.
/// Returns (header bytes, body bytes).
pub fn split_envelope<'a>(
    data: &'a [u8],
    magic: &[u8; 8],
    what: &str,
) -> Result<(&'a [u8], &'a [u8])> {
    if data.len() < 12 || &data[..8] != magic {
        if data.len() >= 8 && data[..7] == magic[..7] && data[7] > magic[7] {
            return Err(Error::Version {
                path: what.into(),
                found: data[7] as u32,
                supported: magic[7] as u32,
            });
        }
        return Err(Error::tampered(
            what,
            "not a Callvault object of the expected kind",
        ));
    }
    let hlen = u32::from_be_bytes(data[8..12].try_into().unwrap()) as usize;
    if hlen > 1 << 20 || 12 + hlen > data.len() {
        return Err(Error::tampered(
            what,
            "header length out of range (truncated?)",
        ));
    }
    Ok((&data[12..12 + hlen], &data[12 + hlen..]))
}

/// Who signs a journal segment or an audit file: a user (by uid) with their Ed25519 signing seed.
pub struct Signer<'a> {
    pub uid: &'a str,
    pub seed: &'a crate::secret::Key32,
}

/// Users' Ed25519 signing keys by uid (from their admin-signed records).
pub type SignerKeys = std::collections::HashMap<String, [u8; 32]>;

/// Length of the signature trailer of journal segments and audit files.
pub const SIG_LEN: usize = 64;

/// Message signed in a trailer: a domain string and the SHA-256 of every byte before the trailer.
pub fn trailer_message(domain: &str, signed: &[u8]) -> Vec<u8> {
    [domain.as_bytes(), b"\n", &crypto::sha256(signed)].concat()
}

/// Build a signed envelope: `envelope ‖ Ed25519 signature (64)`; with no signer, 64 zero bytes.
pub fn join_signed(
    magic: &[u8; 8],
    header: &[u8],
    body: &[u8],
    domain: &str,
    signer: Option<&Signer>,
) -> Vec<u8> {
    let mut out = join_envelope(magic, header, body);
    let sig = match signer {
        Some(s) => crypto::ed25519_sign(s.seed, &trailer_message(domain, &out)),
        None => [0u8; SIG_LEN],
    };
    out.extend_from_slice(&sig);
    out
}

/// The parts of a signed envelope: (header, body, signature trailer, signed bytes).
pub type SignedParts<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// Split a signed envelope into (header, body, signature trailer, signed bytes).
pub fn split_signed<'a>(data: &'a [u8], magic: &[u8; 8], what: &str) -> Result<SignedParts<'a>> {
    if data.len() < 12 + SIG_LEN {
        return Err(Error::tampered(what, "too short (truncated)"));
    }
    let (signed, sig) = data.split_at(data.len() - SIG_LEN);
    let (h, body) = split_envelope(signed, magic, what)?;
    Ok((h, body, sig, signed))
}

/// Check a trailer signature by `signer` (a uid) against the known signing keys.
pub fn check_trailer(
    signed: &[u8],
    sig: &[u8],
    domain: &str,
    signer: &str,
    keys: &SignerKeys,
    what: &str,
) -> Result<()> {
    let pk = keys
        .get(signer)
        .ok_or_else(|| Error::tampered(what, "signed by no known user"))?;
    if crypto::ed25519_verify(pk, &trailer_message(domain, signed), sig) {
        Ok(())
    } else {
        Err(Error::tampered(
            what,
            "signature does not verify (altered or forged)",
        ))
    }
}

/// Build an envelope.
pub fn join_envelope(magic: &[u8; 8], header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + header.len() + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// True for a name Callvault makes: lower-case hex id of 32 digits.
pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_never_replaces() {
        let d = tempfile::tempdir().unwrap();
        write_new(d.path(), "a/b.bin", b"one").unwrap();
        let e = write_new(d.path(), "a/b.bin", b"two").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(d.path().join("a/b.bin")).unwrap(), b"one");
        assert_eq!(
            list_dir(&d.path().join("a")).unwrap(),
            vec!["b.bin".to_string()]
        );
    }

    #[test]
    fn newer_version_is_refused_clearly() {
        let data = join_envelope(b"CVJRNL\x00\x02", b"{}", b"");
        let e = split_envelope(&data, b"CVJRNL\x00\x01", "journal/x/0").unwrap_err();
        assert!(matches!(e, Error::Version { found: 2, .. }), "{e}");
    }
}
