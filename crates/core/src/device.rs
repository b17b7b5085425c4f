//! This device's own state for an archive, in the OS app-data folder (`XDG_DATA_HOME` honoured, or
//! `CALLVAULT_DATA_DIR`): its device id, the archive.json it pinned on first use, and the local index.

use crate::archive::{self, Archive};
use crate::crypto;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DeviceFile {
    device_id: String,
    archive_id: String,
    /// Where the archive was opened from (to find this state if archive.json is damaged).
    archive_path: String,
    /// archive.json as first seen, base64: later changes to it on the share are not trusted.
    pinned_archive_json: String,
}

/// This device, for one archive.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    /// The per-archive folder in app-data (holds `device.json` and `index.db`).
    pub dir: PathBuf,
}

/// The app-data folder.
pub fn data_root() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("CALLVAULT_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    directories::ProjectDirs::from("uk", "Callvault", "Callvault")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| Error::Invalid("no home folder: set CALLVAULT_DATA_DIR".into()))
}

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Open an archive through this device: pin archive.json on first use, and thereafter trust only
/// the pinned copy. Returns warnings for the user (e.g. archive.json altered on the share).
pub fn open(root: &Path) -> Result<(Archive, Device, Vec<String>)> {
    open_in(root, &data_root()?)
}

/// This device's state for the archive it first opened at the folder `want` (canonical path).
fn pinned_at(data: &Path, want: &str) -> Result<Option<DeviceFile>> {
    for id in archive::list_dir(&data.join("archives"))? {
        if let Ok(b) = std::fs::read(data.join("archives").join(&id).join("device.json")) {
            if let Ok(df) = serde_json::from_slice::<DeviceFile>(&b) {
                if df.archive_path == want && df.archive_id == id {
                    return Ok(Some(df));
                }
            }
        }
    }
    Ok(None)
}

/// As `open`, with an explicit app-data folder (tests simulate several devices in one process).
///
/// The archive is pinned by where it is: the first time this device opens a folder it keeps that
/// archive.json; later, an archive.json at the same folder with another identity (id, keys, KDF,
/// salt) is refused, whatever id it claims, so a member of staff cannot swap in keys of their own.
/// A first use says the archive's fingerprint, to compare with the practice's set-up sheet.
pub fn open_in(root: &Path, data: &Path) -> Result<(Archive, Device, Vec<String>)> {
    let data = data.to_path_buf();
    let mut warnings = Vec::new();
    let shared = Archive::open(root);
    if let Err(Error::NotFound(m)) = &shared {
        return Err(Error::NotFound(m.clone()));
    }
    let want = canonical(root);
    let json = root.join("archive.json").display().to_string();
    let df = match pinned_at(&data, &want)? {
        Some(df) => df,
        None => {
            let a = shared
                .as_ref()
                .map_err(|e| Error::archive(&json, e.to_string()))?;
            let dir = data.join("archives").join(&a.config.id);
            let dfile = dir.join("device.json");
            if dfile.exists() {
                // Known under this id at another folder (the share mapped elsewhere): the same
                // archive only if its identity is the one pinned there.
                let b = std::fs::read(&dfile).map_err(|e| Error::io(dfile.display(), e))?;
                let df: DeviceFile = serde_json::from_slice(&b).map_err(|e| {
                    Error::archive(
                        dfile.display(),
                        format!("this device's state is damaged ({e})"),
                    )
                })?;
                let pinned = crypto::unb64(&df.pinned_archive_json, &dfile.display().to_string())?;
                let p = Archive::from_bytes(root, pinned)?;
                if p.config.identity_hash() != a.config.identity_hash() {
                    return Err(changed(&json, &p, a));
                }
                warnings.push(format!(
                    "{}: this archive was first opened on this computer at {}",
                    root.display(),
                    df.archive_path
                ));
                df
            } else {
                let df = DeviceFile {
                    device_id: crypto::new_id(),
                    archive_id: a.config.id.clone(),
                    archive_path: want.clone(),
                    pinned_archive_json: crypto::b64(&a.config_bytes),
                };
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
                match archive::write_new(
                    &dir,
                    "device.json",
                    &serde_json::to_vec_pretty(&df).expect("serialisable"),
                ) {
                    Ok(()) => {
                        warnings.push(format!(
                            "First use of the archive at {} on this computer: its fingerprint is {}. Compare it with the fingerprint on the practice's set-up sheet; if they differ, stop and tell the practice manager.",
                            root.display(),
                            a.config.fingerprint()
                        ));
                        df
                    }
                    // Another process of this device got there first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let b = std::fs::read(&dfile).map_err(|e| Error::io(dfile.display(), e))?;
                        serde_json::from_slice(&b)
                            .map_err(|e| Error::archive(dfile.display(), e.to_string()))?
                    }
                    Err(e) => return Err(Error::io(dfile.display(), e)),
                }
            }
        }
    };
    let dir = data.join("archives").join(&df.archive_id);
    let dfile = dir.join("device.json");
    let pinned = crypto::unb64(&df.pinned_archive_json, &dfile.display().to_string())?;
    let pinned = Archive::from_bytes(root, pinned)?;
    let archive = match shared {
        Ok(a) if a.config_bytes == pinned.config_bytes => a,
        Ok(a) if a.config.identity_hash() != pinned.config.identity_hash() => {
            return Err(changed(&json, &pinned, &a));
        }
        Ok(_) => {
            warnings.push(format!(
                "{json}: differs from the copy this device pinned on first use; the pinned copy is used"
            ));
            pinned
        }
        Err(e) => {
            warnings.push(format!("{e}; using this device's pinned copy"));
            pinned
        }
    };
    let device = Device {
        id: df.device_id,
        dir,
    };
    // What is written before anyone logs on (a failed logon's audit entry) goes to the newest
    // epoch of the metadata and audit keys too.
    let _ = crate::session::point_writers(&archive, &device, false);
    Ok((archive, device, warnings))
}

/// The refusal of an archive.json whose identity is not the one pinned for its folder.
fn changed(json: &str, pinned: &Archive, found: &Archive) -> Error {
    let mut what = Vec::new();
    if pinned.config.id != found.config.id {
        what.push(format!(
            "id {} is now {}",
            pinned.config.id, found.config.id
        ));
    }
    for k in ["metadata", "custodian", "audit", "admin", "signing"] {
        if pinned.config.keys.get(k).ok() != found.config.keys.get(k).ok() {
            what.push(format!("its {k} key differs"));
        }
    }
    if pinned.config.kdf != found.config.kdf {
        what.push("its password-hashing cost differs".into());
    }
    if pinned.config.user_salt != found.config.user_salt {
        what.push("its user-name salt differs".into());
    }
    Error::tampered(
        json,
        format!(
            "the archive identity at this folder has changed: {} (fingerprint {} was pinned, {} found). Nothing was opened; tell the practice manager",
            if what.is_empty() { "its segment size differs".to_string() } else { what.join(", ") },
            pinned.config.fingerprint(),
            found.config.fingerprint()
        ),
    )
}

/// The highest revision of each user's record this device has seen (`users-seen.json` beside the
/// index, kept by `index rebuild`): a record found older than this was rolled back.
pub fn seen_revisions(device: &Device) -> std::collections::BTreeMap<String, u64> {
    std::fs::read(device.dir.join("users-seen.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Remember the revisions seen (only ever raised), replacing the file in one step.
pub fn remember_revisions(
    device: &Device,
    seen: &std::collections::BTreeMap<String, u64>,
) -> Result<()> {
    let mut merged = seen_revisions(device);
    let mut changed = false;
    for (uid, rev) in seen {
        let e = merged.entry(uid.clone()).or_insert(0);
        if *rev > *e {
            *e = *rev;
            changed = true;
        }
    }
    if !changed {
        return Ok(());
    }
    replace_json(device, "users-seen", &merged)
}

/// Replace `<name>.json` in this device's folder in one step (a temporary file renamed over it).
fn replace_json(device: &Device, name: &str, value: &impl serde::Serialize) -> Result<()> {
    let path = device.dir.join(format!("{name}.json"));
    let tmp = device.dir.join(format!(".{name}-{}.tmp", crypto::new_id()));
    std::fs::write(&tmp, serde_json::to_vec(value).expect("serialisable"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path.display(), e)
        })
}

/// The keys of each user's record this device has seen first (`users-keys.json` beside the
/// index): `public_key` and `signing_key` as the record gives them. A user's keys never change
/// (a password reset re-seals the same secret), so a record found with other keys was forged
/// by someone holding the signing key (an admin) and is refused on this computer.
pub fn seen_keys(device: &Device) -> std::collections::BTreeMap<String, String> {
    std::fs::read(device.dir.join("users-keys.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Pin the keys of users not seen before (a pinned user's keys are never replaced).
pub fn remember_keys(
    device: &Device,
    keys: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    let mut merged = seen_keys(device);
    let before = merged.len();
    for (uid, k) in keys {
        merged.entry(uid.clone()).or_insert_with(|| k.clone());
    }
    if merged.len() == before {
        return Ok(());
    }
    replace_json(device, "users-keys", &merged)
}

/// The newest call key epoch this computer has seen (`call-key.json`: epoch and public key), so
/// that an epoch file removed from the share (the call key rolled back to one a leaver holds) is
/// noticed.
pub fn seen_call_key(device: &Device) -> Option<(u32, String)> {
    seen_key(device, "custodian")
}

/// Remember the newest call key epoch seen (only ever raised).
pub fn remember_call_key(device: &Device, epoch: u32, public_key: &str) -> Result<()> {
    remember_key(device, "custodian", epoch, public_key)
}

/// The file a rotating key's newest epoch seen is kept in: `call-key.json`, `metadata-key.json`,
/// `audit-key.json`, `admin-key.json`.
fn seen_key_file(name: &str) -> &'static str {
    match name {
        "custodian" => "call-key",
        "metadata" => "metadata-key",
        "admin" => "admin-key",
        // Not a key: the newest version of the do-not-record list seen (`crate::dnr`).
        "dnr" => "dnr-list",
        _ => "audit-key",
    }
}

/// As `seen_call_key`, for any rotating key.
pub fn seen_key(device: &Device, name: &str) -> Option<(u32, String)> {
    std::fs::read(device.dir.join(format!("{}.json", seen_key_file(name))))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// As `remember_call_key`, for any rotating key.
pub fn remember_key(device: &Device, name: &str, epoch: u32, public_key: &str) -> Result<()> {
    if seen_key(device, name).is_some_and(|(e, _)| e >= epoch) {
        return Ok(());
    }
    replace_json(device, seen_key_file(name), &(epoch, public_key))
}

/// How a user's keys are pinned: public and signing key, as the record gives them.
pub fn key_pin(public_key: &str, signing_key: &str) -> String {
    format!("{public_key} {signing_key}")
}

/// Wait for, then hold, this computer's import lock for the archive (an OS file lock, released
/// when the returned file is dropped, or by the OS if the process dies).
pub async fn import_lock(device: &Device) -> Result<std::fs::File> {
    let path = device.dir.join("import.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(path.display(), e))?;
    tokio::task::spawn_blocking(move || f.lock().map(|()| f))
        .await
        .map_err(|e| Error::Invalid(format!("import lock: {e}")))?
        .map_err(|e| Error::io(path.display(), e))
}

/// Ask for this device's local index to be rebuilt at the next logon (it disagreed with the
/// signed journal). Best effort: the refusal that found it stands either way.
/// `party`: the uid whose own index (`index-<uid>.db`) disagreed, or `None` for the metadata
/// holders' `index.db`; each has its own marker, so that another user's logon does not take it.
pub fn mark_index_for_rebuild(device: &Device, party: Option<&str>) {
    let _ = std::fs::write(device.dir.join(rebuild_marker(party)), b"");
}

/// Was a rebuild of that index asked for? Takes the request (removes the marker).
pub fn take_rebuild_request(device: &Device, party: Option<&str>) -> bool {
    std::fs::remove_file(device.dir.join(rebuild_marker(party))).is_ok()
}

fn rebuild_marker(party: Option<&str>) -> String {
    match party {
        None => "rebuild-index".into(),
        Some(uid) => format!("rebuild-index-{uid}"),
    }
}
