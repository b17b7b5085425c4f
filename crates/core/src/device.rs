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

/// As `open`, with an explicit app-data folder (tests simulate several devices in one process).
pub fn open_in(root: &Path, data: &Path) -> Result<(Archive, Device, Vec<String>)> {
    let data = data.to_path_buf();
    let mut warnings = Vec::new();
    let shared = Archive::open(root);
    let archive_id = match &shared {
        Ok(a) => a.config.id.clone(),
        Err(Error::NotFound(m)) => return Err(Error::NotFound(m.clone())),
        Err(e) => {
            // Damaged archive.json: find this device's pinned copy by path.
            let want = canonical(root);
            let mut found = None;
            for id in archive::list_dir(&data.join("archives"))? {
                if let Ok(b) = std::fs::read(data.join("archives").join(&id).join("device.json")) {
                    if let Ok(df) = serde_json::from_slice::<DeviceFile>(&b) {
                        if df.archive_path == want {
                            found = Some(df.archive_id);
                        }
                    }
                }
            }
            match found {
                Some(id) => {
                    warnings.push(format!("{e}; using this device's pinned copy"));
                    id
                }
                None => {
                    return Err(Error::archive(
                        root.join("archive.json").display(),
                        e.to_string(),
                    ))
                }
            }
        }
    };
    if !archive::is_id(&archive_id) {
        return Err(Error::tampered(
            root.join("archive.json").display(),
            "archive id malformed",
        ));
    }
    let dir = data.join("archives").join(&archive_id);
    let dfile = dir.join("device.json");
    let df: DeviceFile = match std::fs::read(&dfile) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            Error::archive(
                dfile.display(),
                format!("this device's state is damaged ({e})"),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let a = shared
                .as_ref()
                .map_err(|e| Error::archive(root.display(), e.to_string()))?;
            let df = DeviceFile {
                device_id: crypto::new_id(),
                archive_id: archive_id.clone(),
                archive_path: canonical(root),
                pinned_archive_json: crypto::b64(&a.config_bytes),
            };
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
            match archive::write_new(
                &dir,
                "device.json",
                &serde_json::to_vec_pretty(&df).expect("serialisable"),
            ) {
                Ok(()) => df,
                // Another process of this device got there first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let b = std::fs::read(&dfile).map_err(|e| Error::io(dfile.display(), e))?;
                    serde_json::from_slice(&b)
                        .map_err(|e| Error::archive(dfile.display(), e.to_string()))?
                }
                Err(e) => return Err(Error::io(dfile.display(), e)),
            }
        }
        Err(e) => return Err(Error::io(dfile.display(), e)),
    };
    let pinned = crypto::unb64(&df.pinned_archive_json, &dfile.display().to_string())?;
    let archive = match shared {
        Ok(a) if a.config_bytes == pinned => a,
        Ok(_) => {
            warnings.push(format!(
                "{}: differs from the copy this device pinned on first use; the pinned copy is used",
                root.join("archive.json").display()
            ));
            Archive::from_bytes(root, pinned)?
        }
        Err(_) => Archive::from_bytes(root, pinned)?,
    };
    Ok((
        archive,
        Device {
            id: df.device_id,
            dir,
        },
        warnings,
    ))
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
    let path = device.dir.join("users-seen.json");
    let tmp = device
        .dir
        .join(format!(".users-seen-{}.tmp", crypto::new_id()));
    std::fs::write(&tmp, serde_json::to_vec(&merged).expect("serialisable"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path.display(), e)
        })
}
