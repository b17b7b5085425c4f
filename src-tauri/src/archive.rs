//! The archive folder: what the app shows before anyone logs on (`app_status`), choosing an
//! archive (`open_archive`, connecting to its network share first), creating one, verifying every
//! object in it and rebuilding this computer's index of it; the share sign-in kept in the OS
//! keychain (`forget_share_login`). With their transport types.

use crate::error::{ApiError, ApiResult};
use crate::logon::{user_info, UserInfo};
use crate::session::{s_mut, session};
use crate::state::AppState;
use callvault_core::credentials::{self, ShareCredential};
use callvault_core::secret::Password;
use callvault_core::Session;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use tauri::State;
use ts_rs::TS;

/// What the app shows before anything personal: demo mode, the remembered archive, who is logged on.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AppStatus {
    pub demo: bool,
    /// The archive folder remembered on this device, if any.
    pub archive: Option<String>,
    /// The logged-on user, if any.
    pub user: Option<UserInfo>,
    /// Whether this system lets the app sign in to a network share itself (Windows); elsewhere
    /// the share is connected in the file manager first.
    pub share_sign_in: bool,
}

/// A network share's user name and password, typed once to connect; kept in the OS keychain only
/// if `remember` is set. Never sent back to the web view.
#[derive(Clone, Deserialize, TS)]
pub struct ShareLogin {
    pub user: String,
    pub password: String,
    pub remember: bool,
}

impl std::fmt::Debug for ShareLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareLogin")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The result of reading and authenticating every object of the archive.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ArchiveCheck {
    pub ok: bool,
    pub objects_checked: u32,
    pub recordings_checked: u32,
    pub recordings_decrypted: u32,
    /// Audio objects no journal entry refers to (e.g. left by an interrupted import): not trusted.
    pub unreferenced: u32,
    /// Older generations of compacted journal segments (an interrupted erasure): removed next run.
    pub superseded: u32,
    pub problems: Vec<String>,
}

impl From<callvault_core::session::VerifyReport> for ArchiveCheck {
    fn from(r: callvault_core::session::VerifyReport) -> Self {
        let callvault_core::session::VerifyReport {
            objects_checked,
            recordings_checked,
            recordings_decrypted,
            unreferenced,
            superseded,
            problems,
        } = r;
        ArchiveCheck {
            ok: problems.is_empty(),
            objects_checked: objects_checked as u32,
            recordings_checked: recordings_checked as u32,
            recordings_decrypted: recordings_decrypted as u32,
            unreferenced: unreferenced.len() as u32,
            superseded: superseded.len() as u32,
            problems: problems
                .into_iter()
                .map(|p| format!("{}: {}", p.object, p.reason))
                .collect(),
        }
    }
}

/// Demo mode, the remembered archive and who is logged on (nothing else).
#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> ApiResult<AppStatus> {
    let s = state.session.lock().await;
    Ok(AppStatus {
        demo: state.demo,
        archive: state.archive().map(|p| p.display().to_string()),
        user: s
            .as_ref()
            .map(|s| user_info(s, state.idle_lock_secs.load(Ordering::Relaxed))),
        share_sign_in: cfg!(windows),
    })
}

/// Before opening an archive on a network share: connect with the credentials just typed (and
/// remember them in the OS keychain if asked), or with those the keychain already holds. A share
/// that needs no sign-in (or is mounted by the system) is left alone.
pub(crate) fn connect_share(path: &std::path::Path, login: Option<ShareLogin>) -> ApiResult<()> {
    let Some(share) = credentials::share_of(path) else {
        return Ok(());
    };
    match login {
        Some(l) => {
            let cred = ShareCredential {
                user: l.user.trim().to_string(),
                password: Password::new(l.password),
            };
            credentials::connect(path, &cred)?;
            if l.remember {
                credentials::remember(&share, &cred)?;
            }
            Ok(())
        }
        None if cfg!(windows) => {
            // Already connected, or remembered: a keychain that cannot be read is not fatal here;
            // opening the folder then says what is wrong.
            if let Ok(Some(cred)) = credentials::recall(&share) {
                credentials::connect(path, &cred)?;
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// Forget the share credentials this computer keeps for the archive's share (if any).
#[tauri::command]
pub fn forget_share_login(state: State<'_, AppState>) -> ApiResult<()> {
    let archive = state
        .archive()
        .ok_or_else(|| ApiError::invalid("no archive is chosen"))?;
    match credentials::share_of(&archive) {
        Some(share) => Ok(credentials::forget(&share)?),
        None => Ok(()),
    }
}

/// Choose the archive folder (checked by reading its `archive.json`) and remember it on this
/// device. Ends any session over the previous archive.
#[tauri::command]
pub async fn open_archive(
    state: State<'_, AppState>,
    path: String,
    login: Option<ShareLogin>,
) -> ApiResult<String> {
    let path = PathBuf::from(path.trim());
    if path.as_os_str().is_empty() {
        return Err(ApiError::invalid("choose an archive folder"));
    }
    connect_share(&path, login)?;
    callvault_core::archive::Archive::open(&path)?;
    state.end_session().await;
    state.set_archive(path.clone())?;
    Ok(path.display().to_string())
}

/// Create a new archive in an empty folder the user chose, with its first user (roles admin and
/// data controller) and the practice's name; this computer then uses it. The password's key
/// derivation is calibrated on this computer (about half a second).
#[tauri::command]
pub async fn create_archive(
    state: State<'_, AppState>,
    folder: String,
    admin: String,
    password: String,
    practice_name: String,
) -> ApiResult<CreatedArchive> {
    let root = PathBuf::from(folder.trim());
    if root.as_os_str().is_empty() {
        return Err(ApiError::invalid("choose a folder for the new archive"));
    }
    let practice_name = practice_name.trim().to_string();
    if practice_name.is_empty() {
        return Err(ApiError::invalid(
            "the practice's name: type it as letters will show it",
        ));
    }
    if std::fs::read_dir(&root).is_ok_and(|mut d| d.next().is_some()) {
        return Err(ApiError::invalid(format!(
            "folder {}: not empty (choose or make an empty folder for the archive)",
            root.display()
        )));
    }
    let password = Password::new(password);
    let data = callvault_core::device::data_root()?;
    state.end_session().await;
    let made = callvault_core::session::init_in(
        &root,
        &data,
        admin.trim(),
        &password,
        callvault_core::session::KdfChoice::Calibrated,
    )
    .await?;
    let mut s = Session::logon_in(&root, &data, admin.trim(), &password).await?;
    let set = s.set_setting("practice-name", &practice_name).await;
    s.close().await;
    set?;
    state.set_archive(root.clone())?;
    Ok(CreatedArchive {
        folder: root.display().to_string(),
        recovery_code: made.recovery_code.expose().to_string(),
    })
}

/// A new archive: its folder, and the practice's recovery code, shown once to be written down
/// and kept offline by the data controller.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CreatedArchive {
    pub folder: String,
    pub recovery_code: String,
}

/// Read and authenticate every object of the archive (signatures, hashes; recordings decrypted
/// where this user holds the key).
#[tauri::command]
pub async fn verify_archive(state: State<'_, AppState>) -> ApiResult<ArchiveCheck> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).verify().await?.into())
}

/// Drop this computer's index of the archive and rebuild it from the archive alone (e.g. after
/// restoring the archive from a backup). Returns how many recordings it holds.
#[tauri::command]
pub async fn rebuild_index(state: State<'_, AppState>) -> ApiResult<u32> {
    let mut g = session(&state).await?;
    let s = g.take().expect("checked by session()");
    match s.rebuild_index().await {
        Ok((s, _sync, n)) => {
            *g = Some(s);
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        }
        // The session was spent on a failed rebuild: log on again.
        Err(e) => {
            state.forget_session_extras();
            Err(ApiError::logged_off(format!(
                "{e}; the index could not be rebuilt and you have been logged off: log on again"
            )))
        }
    }
}
