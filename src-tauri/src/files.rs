//! Files and folders the user chose in the system's dialogs, checked before anything is written:
//! the web view can only ever name an existing folder, or a file of the kind asked for.

use crate::error::{ApiError, ApiResult};
use std::path::PathBuf;

/// A file the user named in the system's save dialog, for a file of kind `ext` (csv, json): a
/// name without an extension gets it; another extension is refused, so that the web view can
/// only ever write files of the kind asked for.
pub(crate) fn chosen_file(file: &str, ext: &str, what: &str) -> ApiResult<PathBuf> {
    let mut p = PathBuf::from(file.trim());
    if !p.is_absolute() || p.is_dir() || p.file_name().is_none() {
        return Err(ApiError::invalid(format!("choose a file name for {what}")));
    }
    match p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    {
        None => {
            p.set_extension(ext);
        }
        Some(e) if e == ext => {}
        Some(e) => {
            return Err(ApiError::invalid(format!(
                "{}: {what} is a .{ext} file, not .{e}",
                p.display()
            )))
        }
    }
    Ok(p)
}

/// A folder the user chose in the system dialog: it must exist and be a folder.
pub(crate) fn chosen_folder(folder: &str) -> ApiResult<PathBuf> {
    let p = PathBuf::from(folder.trim());
    if !p.is_absolute() {
        return Err(ApiError::invalid("choose a folder"));
    }
    if !p.is_dir() {
        return Err(ApiError::invalid(format!(
            "folder {}: not found (choose an existing folder)",
            p.display()
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::chosen_file;

    #[test]
    fn a_chosen_file_is_only_ever_of_the_kind_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit-2026");
        let got = chosen_file(&p.display().to_string(), "csv", "the audit CSV").unwrap();
        assert_eq!(got, dir.path().join("audit-2026.csv"));
        let ok = dir.path().join("x.CSV");
        assert_eq!(
            chosen_file(&ok.display().to_string(), "csv", "the audit CSV").unwrap(),
            ok
        );
        let bad = chosen_file(
            &dir.path().join(".bashrc.sh").display().to_string(),
            "csv",
            "the audit CSV",
        )
        .unwrap_err();
        assert!(bad.message.contains("not .sh"), "{}", bad.message);
        assert!(chosen_file("  ", "json", "the ingest profile").is_err());
        assert!(chosen_file("relative.csv", "csv", "the audit CSV").is_err());
        assert!(chosen_file(&dir.path().display().to_string(), "json", "x").is_err());
    }
}
