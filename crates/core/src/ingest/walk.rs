//! Walking an import folder: every regular file under it, in name order, with the entries that
//! cannot be taken (symbolic links, special files, names that are not UTF-8 or hold control
//! characters, unreadable folders) as rejections. Hidden files and the folders NAS boxes and OSes
//! add are skipped. Knows nothing of layouts.

use super::source::Rejected;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A regular file found in the folder.
pub struct Entry {
    /// Path relative to the import folder, `/`-separated.
    pub rel: String,
    pub path: PathBuf,
    pub size: u64,
}

const SKIP_DIRS: &[&str] = &[
    "@eaDir",
    "#recycle",
    "$RECYCLE.BIN",
    "System Volume Information",
];
const SKIP_FILES: &[&str] = &["Thumbs.db", "desktop.ini"];

pub(crate) fn io_kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "it is gone".into(),
        k => k.to_string(),
    }
}

/// Can the file be opened and read?
pub fn readable(path: &Path) -> std::result::Result<(), String> {
    let mut f =
        std::fs::File::open(path).map_err(|e| format!("cannot read the file ({})", io_kind(&e)))?;
    let mut b = [0u8; 1];
    f.read(&mut b)
        .map_err(|e| format!("cannot read the file ({})", io_kind(&e)))?;
    Ok(())
}

/// Every regular file under `dir` (sorted), with the entries that cannot be taken as rejections.
pub fn walk(dir: &Path, skip: Option<&Path>) -> (Vec<Entry>, Vec<Rejected>) {
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel_dir)) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => {
                rejected.push(Rejected {
                    file: if rel_dir.is_empty() {
                        ".".into()
                    } else {
                        format!("{rel_dir}/")
                    },
                    reason: format!("cannot read the folder ({})", io_kind(&e)),
                });
                continue;
            }
        };
        let mut names: Vec<_> = rd.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for ent in names {
            let os = ent.file_name();
            let lossy = os.to_string_lossy().into_owned();
            let rel = if rel_dir.is_empty() {
                lossy.clone()
            } else {
                format!("{rel_dir}/{lossy}")
            };
            let reject = |reason: &str| Rejected {
                file: rel.clone(),
                reason: reason.to_string(),
            };
            let Some(name) = os.to_str() else {
                rejected.push(reject(
                    "the name is not valid UTF-8 (shown with replacement characters): rename it",
                ));
                continue;
            };
            if name.chars().any(char::is_control) {
                rejected.push(reject("the name holds control characters: rename it"));
                continue;
            }
            if name.starts_with('.') || SKIP_FILES.contains(&name) {
                continue;
            }
            let path = ent.path();
            let md = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    rejected.push(reject(&format!("cannot read the file ({})", io_kind(&e))));
                    continue;
                }
            };
            let ft = md.file_type();
            if ft.is_symlink() {
                rejected.push(reject(
                    "a symbolic link: not followed (copy the recording itself into the folder)",
                ));
            } else if ft.is_dir() {
                if !SKIP_DIRS.contains(&name) {
                    subdirs.push((path, rel));
                }
            } else if !ft.is_file() {
                rejected.push(reject("not a regular file (a pipe, socket or device)"));
            } else if skip.is_some_and(|s| std::fs::canonicalize(&path).ok().as_deref() == Some(s))
            {
                // the metadata CSV given with --cdr
            } else {
                out.push(Entry {
                    rel,
                    path,
                    size: md.len(),
                });
            }
        }
        // Depth first, in name order.
        for s in subdirs.into_iter().rev() {
            stack.push(s);
        }
    }
    (out, rejected)
}
