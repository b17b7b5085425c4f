//! Reading, listing and removing archive files that anyone who can write to the share may have
//! planted: a link (to `/dev/zero`, to a file of the maintainer's, to another object), a named
//! pipe, a device, a folder where a file belongs, or a file far larger than any object.
//!
//! - No link inside the archive is followed: every folder between the archive's root and a file
//!   must be a real folder, and the file itself a regular file, checked before it is opened and
//!   again on the open handle (the same file, on unix by device and inode), so a pipe is never
//!   opened and a link swapped in meanwhile is never read or written through.
//! - A whole-file read is refused, before a byte is read, past a size cap ([`MAX_READ`] for
//!   objects, [`MAX_SMALL`] for archive.json and lock files); audio objects are streamed instead.
//! - [`shred_and_remove`] overwrites only what it can prove is the Callvault object the name says
//!   (magic, and the id, device and sequence its header names); anything else loses its name only.
//!
//! A refused file is an [`Error::Tampered`] naming it: callers that walk many files report it and
//! go on with the others.

use super::Archive;
use crate::error::{Error, Result};
use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The largest archive object read whole into memory (journal segments, audit files, user records,
/// waveform peaks: all far smaller). Audio objects are streamed ([`Archive::open_object`]).
pub const MAX_READ: u64 = 64 << 20;

/// The largest archive.json or lock file read.
pub const MAX_SMALL: u64 = 1 << 20;

/// At least this much of an object's head is overwritten by [`shred_and_remove`] (all of the
/// envelope's header, however long, up to 1 MiB, is overwritten too).
pub const SHRED_MIN: u64 = 64 << 10;

fn refused(p: &Path, reason: impl Into<String>) -> Error {
    Error::tampered(p.display(), reason)
}

/// `root/rel`, refusing a name that leaves the archive (`..`, an empty or drive-relative part) or
/// passes through anything but a real folder (a link, a file). A missing folder is fine: the file
/// is then simply not found.
pub(crate) fn resolve(root: &Path, rel: &str) -> Result<PathBuf> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut p = root.to_path_buf();
    let mut checking = true;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || *part == "." || *part == ".." || part.contains(['\\', ':']) {
            return Err(Error::Invalid(format!(
                "{rel}: not the name of a file inside the archive"
            )));
        }
        p.push(part);
        if checking && i + 1 < parts.len() {
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(refused(
                        &p,
                        "a link where a folder of the archive belongs: not followed",
                    ))
                }
                Ok(_) => return Err(refused(&p, "a file where a folder of the archive belongs")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => checking = false,
                Err(e) => return Err(Error::io(p.display(), e)),
            }
        }
    }
    Ok(p)
}

/// Why `m` (from `symlink_metadata`) is not a regular file, if it is not.
fn not_regular(m: &Metadata) -> Option<&'static str> {
    let t = m.file_type();
    if t.is_file() {
        None
    } else if t.is_symlink() {
        Some("a link, not a file: not followed (planted in the archive?)")
    } else if t.is_dir() {
        Some("a folder where a file belongs")
    } else {
        Some("not a regular file (a pipe, socket or device planted in the archive?): not opened")
    }
}

/// Is `after` (from the open handle) the file `before` (from `symlink_metadata`) described?
fn same_file(before: &Metadata, after: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        after.is_file() && before.dev() == after.dev() && before.ino() == after.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = before;
        after.is_file()
    }
}

fn too_large(p: &Path, len: u64, max: u64) -> Error {
    refused(
        p,
        format!(
            "{len} bytes, more than the {} KiB a file of this kind may have: not read",
            max >> 10
        ),
    )
}

/// A read that failed: an I/O error (perhaps transient), or a file refused as hostile.
enum Failure {
    Io(std::io::Error),
    Refused(Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Open the regular file `p` (never a link, pipe or device) of at most `max` bytes.
fn open_once(p: &Path, max: u64, write: bool) -> Result<(File, u64), Failure> {
    let before = std::fs::symlink_metadata(p)?;
    if let Some(why) = not_regular(&before) {
        return Err(Failure::Refused(refused(p, why)));
    }
    if before.len() > max {
        return Err(Failure::Refused(too_large(p, before.len(), max)));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(p)?;
    let after = f.metadata()?;
    if !same_file(&before, &after) {
        return Err(Failure::Refused(refused(
            p,
            "replaced while being opened (a link or another file swapped in): not read",
        )));
    }
    if after.len() > max {
        return Err(Failure::Refused(too_large(p, after.len(), max)));
    }
    Ok((f, after.len()))
}

fn read_once(p: &Path, max: u64) -> Result<Vec<u8>, Failure> {
    let (f, len) = open_once(p, max, false)?;
    let mut buf = Vec::with_capacity(len as usize);
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(Failure::Refused(too_large(p, buf.len() as u64, max)));
    }
    Ok(buf)
}

/// Run `once`, retrying briefly on the transient sharing errors that scanners cause on shares.
fn with_retry<T>(p: &Path, mut once: impl FnMut() -> Result<T, Failure>) -> Result<T> {
    let mut delay = 20;
    for attempt in 0..5 {
        match once() {
            Ok(v) => return Ok(v),
            Err(Failure::Refused(e)) => return Err(e),
            Err(Failure::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(p.display().to_string()))
            }
            Err(Failure::Io(e)) if attempt < 4 && is_transient(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(delay));
                delay *= 3;
            }
            Err(Failure::Io(e)) => return Err(Error::io(p.display(), e)),
        }
    }
    unreachable!("the last attempt returns")
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::WouldBlock
    ) || e.raw_os_error() == Some(16) // EBUSY
}

/// Read the whole regular file `p` of at most `max` bytes (never through a link; never a pipe or
/// device), retrying briefly on transient sharing errors. A refused file is `Error::Tampered`.
pub fn read_capped(p: &Path, max: u64) -> Result<Vec<u8>> {
    with_retry(p, || read_once(p, max))
}

/// Open the regular file `p` for reading (no size cap: the caller streams it).
pub fn open_regular(p: &Path) -> Result<File> {
    with_retry(p, || open_once(p, u64::MAX, false).map(|(f, _)| f))
}

/// Is `dir` a real folder of the archive? Absent: false. A link or a file where the folder belongs
/// is refused (`Error::Tampered`), not followed.
fn check_folder(dir: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(m) if m.file_type().is_symlink() => Err(refused(
            dir,
            "a link where a folder of the archive belongs: not followed",
        )),
        Ok(_) => Err(refused(dir, "a file where a folder of the archive belongs")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(dir.display(), e)),
    }
}

/// The names in folder `dir`, sorted; an absent folder is empty; temporary files skipped.
pub fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir.display(), e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir.display(), e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            continue;
        }
        out.push(name);
    }
    out.sort();
    Ok(out)
}

/// What a removal did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Nothing had that name.
    Absent,
    /// The object's head (all of its envelope header, at least 64 KiB) was overwritten with random
    /// bytes, then the name removed.
    Shredded,
    /// Removed.
    Removed,
    /// The name was removed without writing to what it named: not the Callvault object it should be
    /// (a link, a pipe, another object's copy, a foreign file), or not writable. Says why.
    NameOnly(String),
    /// Left in place (a folder where a file belongs, or a name reached through a link): says why.
    Left(String),
}

impl Removal {
    /// What to tell the user about `rel`, if anything.
    pub fn warning(&self, rel: &str) -> Option<String> {
        match self {
            Removal::NameOnly(why) => Some(format!("{rel}: {why}; removed without overwriting")),
            Removal::Left(why) => Some(format!("{rel}: {why}; left in place")),
            _ => None,
        }
    }
}

/// What a shredded object must be: its magic and the fields its header must hold (a missing field
/// reads as 0).
struct Expect {
    magic: &'static [u8; 8],
    fields: Vec<(&'static str, serde_json::Value)>,
}

/// The object `rel` names, if it is a kind that is shredded.
fn expect_for(rel: &str) -> Option<Expect> {
    let parts: Vec<&str> = rel.split('/').collect();
    let id_field = |magic, ext: &str, name: &str| {
        name.strip_suffix(ext)
            .filter(|id| super::is_id(id))
            .map(|id| Expect {
                magic,
                fields: vec![("id", id.into())],
            })
    };
    match parts.as_slice() {
        ["rec", _, name] => match super::audio::parse_object_name(name)? {
            (id, super::audio::ObjectName::Audio | super::audio::ObjectName::Rewrapped(_)) => {
                Some(Expect {
                    magic: super::audio::MAGIC,
                    fields: vec![("id", id.into())],
                })
            }
            _ => id_field(super::audio::PEAKS_MAGIC, ".cvp", name),
        },
        ["journal", dev, name] => {
            let (seq, gen) = super::journal::parse_segment_file(name)?;
            Some(Expect {
                magic: super::journal::MAGIC,
                fields: vec![
                    ("device", (*dev).into()),
                    ("seq", seq.into()),
                    ("gen", gen.into()),
                ],
            })
        }
        ["audit", dev, name] => {
            let seq = name
                .strip_suffix(".cvl")
                .filter(|s| s.len() == 16)
                .and_then(|s| u64::from_str_radix(s, 16).ok())?;
            Some(Expect {
                magic: crate::audit::MAGIC,
                fields: vec![("device", (*dev).into()), ("seq", seq.into())],
            })
        }
        _ => None,
    }
}

/// Overwrite the head of the object `p` (described by `before`) if it is provably `expect`.
fn shred_head(p: &Path, before: &Metadata, expect: &Expect) -> std::result::Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .map_err(|e| format!("could not be opened for overwriting ({e})"))?;
    let after = f.metadata().map_err(|e| e.to_string())?;
    if !same_file(before, &after) {
        return Err("replaced while being opened (a link or another file swapped in)".into());
    }
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| "too short to be a Callvault object".to_string())?;
    if &head[..8] != expect.magic {
        return Err("not a Callvault object of the kind its name says".into());
    }
    let hlen = u32::from_be_bytes(head[8..12].try_into().expect("4 bytes")) as u64;
    if hlen > 1 << 20 {
        return Err("its header length is out of range".into());
    }
    let mut h = vec![0u8; hlen as usize];
    f.read_exact(&mut h)
        .map_err(|_| "its header is truncated".to_string())?;
    let header: serde_json::Value =
        serde_json::from_slice(&h).map_err(|_| "its header is not understood".to_string())?;
    let zero = serde_json::Value::from(0);
    for (field, want) in &expect.fields {
        if header.get(field).unwrap_or(&zero) != want {
            return Err(format!(
                "its header names another object ({field}): a copy of, or link to, something else"
            ));
        }
    }
    let n = after.len().min((12 + hlen).max(SHRED_MIN));
    f.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 << 10];
    let mut left = n;
    while left > 0 {
        let k = left.min(buf.len() as u64) as usize;
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf[..k]);
        f.write_all(&buf[..k])
            .map_err(|e| format!("could not be overwritten ({e})"))?;
        left -= k as u64;
    }
    f.sync_data()
        .map_err(|e| format!("could not be overwritten ({e})"))
}

/// Remove an archive object, first overwriting its head with random data: for an audio object
/// that is where every wrap of its data key lives, so the audio is crypto-shredded even if the
/// rest of its blocks survive on copy-on-write or wear-levelled storage. Journal segments keep
/// the wrap of their segment key in the head too. The whole envelope header (up to 1 MiB) is
/// overwritten, and at least 64 KiB.
///
/// Only a regular file proved to be the object `rel` names (its magic; the id, or device and
/// sequence, its header gives) is written to. A link, pipe or device, another object's copy or a
/// foreign file loses its name only ([`Removal::NameOnly`]); a folder, or a name reached through a
/// link, is left in place ([`Removal::Left`]). Neither is an error: the caller reports it.
pub fn shred_and_remove(archive: &Archive, rel: &str) -> Result<Removal> {
    let p = match resolve(archive.root(), rel) {
        Ok(p) => p,
        Err(Error::Tampered { reason, .. }) => return Ok(Removal::Left(reason)),
        Err(e) => return Err(e),
    };
    let before = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Absent),
        Err(e) => return Err(Error::io(p.display(), e)),
    };
    if before.is_dir() {
        return Ok(Removal::Left("a folder where a file belongs".into()));
    }
    let outcome = match (not_regular(&before), expect_for(rel)) {
        (Some(why), _) => Removal::NameOnly(why.into()),
        (None, None) => Removal::NameOnly("not a kind of object that is overwritten".into()),
        (None, Some(expect)) => match shred_head(&p, &before, &expect) {
            Ok(()) => Removal::Shredded,
            Err(why) => Removal::NameOnly(why),
        },
    };
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(outcome),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(outcome),
        Err(e) => Err(Error::io(p.display(), e)),
    }
}

/// Remove an archive file that holds nothing readable without a key already destroyed. A link is
/// removed, never followed; a folder, or a name reached through a link, is left (and said).
pub fn remove(archive: &Archive, rel: &str) -> Result<Removal> {
    let p = match resolve(archive.root(), rel) {
        Ok(p) => p,
        Err(Error::Tampered { reason, .. }) => return Ok(Removal::Left(reason)),
        Err(e) => return Err(e),
    };
    let outcome = match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_dir() => return Ok(Removal::Left("a folder where a file belongs".into())),
        Ok(m) => match not_regular(&m) {
            Some(why) => Removal::NameOnly(why.into()),
            None => Removal::Removed,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Absent),
        Err(e) => return Err(Error::io(p.display(), e)),
    };
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(outcome),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removal::Absent),
        Err(e) => Err(Error::io(p.display(), e)),
    }
}

impl Archive {
    /// Names (not paths) in folder `rel` of the archive, sorted; an absent folder is empty;
    /// temporary files skipped. A link or a file where the folder belongs is refused
    /// (`Error::Tampered`), not followed.
    pub fn list(&self, rel: &str) -> Result<Vec<String>> {
        let dir = if rel.is_empty() {
            self.root().to_path_buf()
        } else {
            resolve(self.root(), rel)?
        };
        if !rel.is_empty() && !check_folder(&dir)? {
            return Ok(Vec::new());
        }
        list_dir(&dir)
    }

    /// Read a whole object (at most `MAX_READ` bytes; a regular file, never through a link).
    pub fn read(&self, rel: &str) -> Result<Vec<u8>> {
        read_capped(&resolve(self.root(), rel)?, MAX_READ)
    }

    /// Open an archive object to stream it (audio): a regular file, never through a link.
    pub fn open_object(&self, rel: &str) -> Result<File> {
        open_regular(&resolve(self.root(), rel)?)
    }

    /// Read the first `max` bytes of an archive object (an audio object's header).
    pub fn read_head(&self, rel: &str, max: u64) -> Result<Vec<u8>> {
        let p = resolve(self.root(), rel)?;
        let mut buf = Vec::new();
        self.open_object(rel)?
            .take(max)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(p.display(), e))?;
        Ok(buf)
    }

    /// The SHA-256 of an archive object, streamed (audio objects may be large).
    pub fn sha256_object(&self, rel: &str) -> Result<[u8; 32]> {
        use sha2::Digest;
        let p = resolve(self.root(), rel)?;
        let mut f = self.open_object(rel)?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(p.display(), e))?;
            if n == 0 {
                return Ok(h.finalize().into());
            }
            h.update(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_in(dir: &Path) -> Archive {
        let k = String::new();
        Archive {
            current: Default::default(),
            admin_epochs: Default::default(),
            root: dir.to_path_buf(),
            config: super::super::ArchiveConfig {
                format: "callvault-archive".into(),
                v: 1,
                id: "00".repeat(16),
                created_at: String::new(),
                keys: super::super::PublicKeys {
                    metadata: k.clone(),
                    custodian: k.clone(),
                    audit: k.clone(),
                    admin: k.clone(),
                    signing: k,
                },
                kdf: crate::crypto::KdfParams {
                    m_kib: 8,
                    t: 1,
                    p: 1,
                },
                kdf_measured_ms: 0,
                user_salt: String::new(),
                segment_size: 4096,
                timezone: "Europe/London".into(),
                readers: None,
            },
            config_bytes: Vec::new(),
        }
    }

    fn refused_reason(e: Error) -> String {
        match e {
            Error::Tampered { reason, .. } => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn names_leaving_the_archive_are_refused() {
        let d = tempfile::tempdir().unwrap();
        for rel in ["../x", "a/../../x", "a//b", "", "a\\b", "c:x"] {
            assert!(
                matches!(resolve(d.path(), rel), Err(Error::Invalid(_))),
                "{rel}"
            );
        }
        assert_eq!(
            resolve(d.path(), "no/such/file").unwrap(),
            d.path().join("no/such/file")
        );
    }

    #[test]
    fn an_oversized_file_or_a_folder_is_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big");
        std::fs::File::create(&p).unwrap().set_len(1025).unwrap();
        let why = refused_reason(read_capped(&p, 1024).unwrap_err());
        assert!(why.contains("more than the 1 KiB"), "{why}");
        assert_eq!(read_capped(&p, 2048).unwrap().len(), 1025);
        let why = refused_reason(read_capped(d.path(), 1 << 20).unwrap_err());
        assert!(why.contains("folder"), "{why}");
        assert!(matches!(
            read_capped(&d.path().join("absent"), 10),
            Err(Error::NotFound(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn links_and_pipes_are_never_opened() {
        let d = tempfile::tempdir().unwrap();
        let a = archive_in(d.path());
        std::fs::create_dir_all(d.path().join("journal/dev")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.path().join("journal/dev/zero")).unwrap();
        let fifo = d.path().join("journal/dev/fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let why = refused_reason(a.read("journal/dev/zero").unwrap_err());
        assert!(why.contains("a link"), "{why}");
        if made.is_ok_and(|s| s.success()) {
            let why = refused_reason(a.read("journal/dev/fifo").unwrap_err());
            assert!(why.contains("not a regular file"), "{why}");
            assert!(a.open_object("journal/dev/fifo").is_err());
        }
        // A folder of the archive replaced by a link: nothing under it is read, listed or written.
        std::fs::create_dir_all(d.path().join("elsewhere/dev")).unwrap();
        std::fs::write(d.path().join("elsewhere/dev/0.cvl"), b"x").unwrap();
        std::os::unix::fs::symlink(d.path().join("elsewhere"), d.path().join("audit")).unwrap();
        assert!(refused_reason(a.read("audit/dev/0.cvl").unwrap_err()).contains("a link"));
        assert!(refused_reason(a.list("audit").unwrap_err()).contains("a link"));
        assert!(a.write_new("audit/dev/1.cvl", b"y").is_err());
        assert!(!d.path().join("elsewhere/dev/1.cvl").exists());
    }

    /// An envelope of `magic` whose header names `fields`, padded to `header_len`, then `body`.
    fn envelope(
        magic: &[u8; 8],
        fields: serde_json::Value,
        header_len: usize,
        body: usize,
    ) -> Vec<u8> {
        let mut h = serde_json::to_vec(&fields).unwrap();
        h.pop();
        h.extend_from_slice(b",\"pad\":\"");
        h.resize(header_len - 2, b'p');
        h.extend_from_slice(b"\"}");
        serde_json::from_slice::<serde_json::Value>(&h).unwrap();
        super::super::join_envelope(magic, &h, &vec![7u8; body])
    }

    #[cfg(unix)]
    #[test]
    fn shredding_overwrites_the_whole_header_of_the_object_named_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let a = archive_in(d.path());
        let id = "ab".repeat(16);
        let other = "cd".repeat(16);
        let rel = format!("rec/ab/{id}.cva");
        std::fs::create_dir_all(d.path().join("rec/ab")).unwrap();
        // A genuine object with a 200 KiB header: all of it goes, and nothing past 64 KiB after it.
        let obj = envelope(
            super::super::audio::MAGIC,
            serde_json::json!({"id": id}),
            200 << 10,
            300 << 10,
        );
        std::fs::write(a.path(&rel), &obj).unwrap();
        let keep = d.path().join("kept-link");
        std::fs::hard_link(a.path(&rel), &keep).unwrap();
        assert_eq!(shred_and_remove(&a, &rel).unwrap(), Removal::Shredded);
        assert!(!a.path(&rel).exists());
        let after = std::fs::read(&keep).unwrap();
        let head = 12 + (200 << 10);
        assert_eq!(after.len(), obj.len());
        assert_ne!(&after[..8], &obj[..8]);
        // Random bytes: no 64-byte window of the old header survives.
        assert!(after[..head]
            .chunks(64)
            .zip(obj[..head].chunks(64))
            .all(|(x, y)| x != y));
        assert_eq!(&after[head..], &obj[head..]);
        // A small object: at least 64 KiB (here all of it).
        let small = envelope(
            super::super::audio::MAGIC,
            serde_json::json!({"id": id}),
            100,
            1000,
        );
        std::fs::write(a.path(&rel), &small).unwrap();
        std::fs::hard_link(a.path(&rel), d.path().join("small")).unwrap();
        assert_eq!(shred_and_remove(&a, &rel).unwrap(), Removal::Shredded);
        assert_ne!(std::fs::read(d.path().join("small")).unwrap(), small);
        // Another recording's object linked in under this name: its name goes, it stays whole.
        let theirs = envelope(
            super::super::audio::MAGIC,
            serde_json::json!({"id": other}),
            100,
            1000,
        );
        std::fs::write(d.path().join("theirs"), &theirs).unwrap();
        std::fs::hard_link(d.path().join("theirs"), a.path(&rel)).unwrap();
        assert!(
            matches!(shred_and_remove(&a, &rel).unwrap(), Removal::NameOnly(w) if w.contains("another object"))
        );
        assert_eq!(std::fs::read(d.path().join("theirs")).unwrap(), theirs);
        // A foreign file (not a Callvault object), linked in: untouched.
        std::fs::write(d.path().join("notes.txt"), b"the maintainer's own notes").unwrap();
        std::fs::hard_link(d.path().join("notes.txt"), a.path(&rel)).unwrap();
        assert!(matches!(
            shred_and_remove(&a, &rel).unwrap(),
            Removal::NameOnly(_)
        ));
        assert_eq!(
            std::fs::read(d.path().join("notes.txt")).unwrap(),
            b"the maintainer's own notes"
        );
        // A symbolic link to one: the link goes, never written through.
        std::os::unix::fs::symlink(d.path().join("theirs"), a.path(&rel)).unwrap();
        assert!(
            matches!(shred_and_remove(&a, &rel).unwrap(), Removal::NameOnly(w) if w.contains("a link"))
        );
        assert!(a.path(&rel).symlink_metadata().is_err());
        assert_eq!(std::fs::read(d.path().join("theirs")).unwrap(), theirs);
        // A folder: left; nothing at all: absent.
        std::fs::create_dir(a.path(&rel)).unwrap();
        assert!(matches!(
            shred_and_remove(&a, &rel).unwrap(),
            Removal::Left(_)
        ));
        assert!(matches!(remove(&a, &rel).unwrap(), Removal::Left(_)));
        std::fs::remove_dir(a.path(&rel)).unwrap();
        assert_eq!(shred_and_remove(&a, &rel).unwrap(), Removal::Absent);
        // A journal segment is checked against its device, number and generation.
        let dev = "ee".repeat(16);
        let seg = format!("journal/{dev}/0000000000000003-0002.cvj");
        std::fs::create_dir_all(d.path().join(format!("journal/{dev}"))).unwrap();
        let wrong = envelope(
            super::super::journal::MAGIC,
            serde_json::json!({"device": dev, "seq": 3, "gen": 1}),
            100,
            10,
        );
        std::fs::write(a.path(&seg), &wrong).unwrap();
        std::fs::hard_link(a.path(&seg), d.path().join("seg")).unwrap();
        assert!(matches!(
            shred_and_remove(&a, &seg).unwrap(),
            Removal::NameOnly(_)
        ));
        assert_eq!(std::fs::read(d.path().join("seg")).unwrap(), wrong);
        let right = envelope(
            super::super::journal::MAGIC,
            serde_json::json!({"device": dev, "seq": 3, "gen": 2}),
            100,
            10,
        );
        std::fs::write(a.path(&seg), &right).unwrap();
        assert_eq!(shred_and_remove(&a, &seg).unwrap(), Removal::Shredded);
    }
}
