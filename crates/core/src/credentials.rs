//! Credentials for the network share that holds the archive, kept in the OS keychain (Secret
//! Service on Linux, Credential Manager on Windows, Keychain on macOS) and never in Callvault's own
//! files. The archive's own secrets never go here: they stay sealed under each user's password.
//!
//! A share is named by its root (`\\server\share`, or `smb://server/share`): one entry per share
//! and device, whatever folder of it holds the archive. On Windows the app connects to the share
//! with them (`WNetAddConnection2W`) before opening the archive; on macOS and Linux the share is
//! mounted by the system (Finder, the file manager), which keeps its own keychain entry, so the app
//! only ever reads a mounted path there.

use crate::error::{Error, Result};
use crate::secret::Password;
use std::path::Path;

/// The keychain service name under which Callvault keeps share credentials.
pub const SERVICE: &str = "Callvault network share";

/// A user name and password for a network share.
pub struct ShareCredential {
    pub user: String,
    pub password: Password,
}

impl std::fmt::Debug for ShareCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareCredential")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// The share an archive path lives on: `\\server\share` for a UNC path (either slash), or
/// `smb://server/share`; `None` for a local path (or a share mounted as a local folder).
pub fn share_of(path: &Path) -> Option<String> {
    let s = path.to_string_lossy();
    if let Some(rest) = s.strip_prefix("smb://") {
        let mut parts = rest.split('/').filter(|p| !p.is_empty());
        let (server, share) = (parts.next()?, parts.next()?);
        return Some(format!("smb://{}/{}", server.to_lowercase(), share));
    }
    let rest = s
        .strip_prefix(r"\\")
        .or_else(|| s.strip_prefix("//"))
        .filter(|r| !r.starts_with(['?', '.']))?;
    let mut parts = rest.split(['\\', '/']).filter(|p| !p.is_empty());
    let (server, share) = (parts.next()?, parts.next()?);
    Some(format!(r"\\{}\{}", server.to_lowercase(), share))
}

fn keychain_error(share: &str, e: keyring::Error) -> Error {
    let why = match &e {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => format!(
            "not available on this computer ({e}); on Linux a Secret Service such as \
             gnome-keyring must be running and unlocked"
        ),
        _ => e.to_string(),
    };
    Error::Keychain(format!("{share}: {why}"))
}

fn entry(share: &str) -> Result<keyring::Entry> {
    if share.is_empty() || share.len() > 512 {
        return Err(Error::Invalid(format!("share name {share:?}")));
    }
    keyring::Entry::new(SERVICE, share).map_err(|e| keychain_error(share, e))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    user: String,
    password: String,
}

/// Remember `cred` for `share` in the OS keychain (replacing any earlier entry).
pub fn remember(share: &str, cred: &ShareCredential) -> Result<()> {
    if cred.user.trim().is_empty() {
        return Err(Error::Invalid(format!("{share}: a user name is needed")));
    }
    let body = serde_json::to_string(&Stored {
        user: cred.user.clone(),
        password: cred.password.expose().to_string(),
    })
    .map_err(|e| Error::Invalid(e.to_string()))?;
    entry(share)?
        .set_password(&body)
        .map_err(|e| keychain_error(share, e))
}

/// The credentials remembered for `share`, if any.
pub fn recall(share: &str) -> Result<Option<ShareCredential>> {
    match entry(share)?.get_password() {
        Ok(body) => {
            let s: Stored = serde_json::from_str(&body).map_err(|_| {
                Error::Keychain(format!("{share}: the keychain entry is not Callvault's"))
            })?;
            Ok(Some(ShareCredential {
                user: s.user,
                password: Password::new(s.password),
            }))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error(share, e)),
    }
}

/// Forget the credentials for `share` (no error if none were kept).
pub fn forget(share: &str) -> Result<()> {
    match entry(share)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keychain_error(share, e)),
    }
}

/// Connect to the share holding `path` with `cred`, so the archive can be opened. On Windows this
/// is `WNetAddConnection2W` (a connection without a drive letter); elsewhere the share must be
/// mounted by the system and there is nothing to do but check the folder is reachable.
pub fn connect(path: &Path, cred: &ShareCredential) -> Result<()> {
    let share = share_of(path).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: not a network share path (\\\\server\\share\\…)",
            path.display()
        ))
    })?;
    connect_share(&share, path, cred)
}

#[cfg(windows)]
fn connect_share(share: &str, _path: &Path, cred: &ShareCredential) -> Result<()> {
    // Not compiled on the project's Linux machines: see README "Platforms".
    use windows_sys::Win32::NetworkManagement::WNet::{
        WNetAddConnection2W, CONNECT_TEMPORARY, NETRESOURCEW, RESOURCETYPE_DISK,
    };
    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }
    let mut remote = wide(share);
    let user = wide(&cred.user);
    let mut password = wide(cred.password.expose());
    // SAFETY: NETRESOURCEW is a plain C struct for which all-zero is a valid "unset" value; every
    // pointer passed points to a NUL-terminated UTF-16 buffer that outlives the call.
    let rc = unsafe {
        let mut res: NETRESOURCEW = std::mem::zeroed();
        res.dwType = RESOURCETYPE_DISK;
        res.lpRemoteName = remote.as_mut_ptr();
        WNetAddConnection2W(&res, password.as_ptr(), user.as_ptr(), CONNECT_TEMPORARY)
    };
    zeroize::Zeroize::zeroize(&mut password);
    match rc {
        0 => Ok(()),
        // ERROR_SESSION_CREDENTIAL_CONFLICT: already connected (with these or other credentials).
        1219 => Ok(()),
        // ERROR_LOGON_FAILURE / ERROR_ACCESS_DENIED
        1326 | 5 => Err(Error::Forbidden(format!(
            "{share}: the share refused this user name or password"
        ))),
        code => Err(Error::Archive {
            path: share.to_string(),
            reason: format!("cannot connect to the share (Windows error {code})"),
        }),
    }
}

#[cfg(not(windows))]
fn connect_share(share: &str, path: &Path, _cred: &ShareCredential) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    Err(Error::Archive {
        path: share.to_string(),
        reason: "on this system a network share is opened through the file manager (Finder on a \
                 Mac): connect to it there, then choose the archive folder inside it"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_named_by_their_root() {
        for (p, want) in [
            (r"\\FILES01\Practice\callvault", Some(r"\\files01\Practice")),
            ("//files01/Practice/a/b", Some(r"\\files01\Practice")),
            (
                "smb://Files01/Practice/callvault",
                Some("smb://files01/Practice"),
            ),
            (r"\\files01", None),
            (r"\\?\C:\callvault", None),
            ("/srv/callvault", None),
            (r"C:\callvault", None),
        ] {
            assert_eq!(share_of(Path::new(p)).as_deref(), want, "{p}");
        }
    }

    #[test]
    fn a_credential_never_debug_prints_its_password() {
        let c = ShareCredential {
            user: "PRACTICE\\pm".into(),
            password: Password::new("s3cret-share-pass"),
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
