//! Logging on and off: `logon` (building this computer's index first, with `progress` events),
//! `logout`, `lock` (as logout; the web view shows the lock screen), `touch` (the user is active:
//! the idle lock waits) and `demo_info` (the made-up demo users, in demo mode only). With the
//! logged-on user as the web view sees them.

use crate::archive::connect_share;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::vocab::{roles, Abilities, Role};
use callvault_core::secret::Password;
use callvault_core::Session;
use callvault_testkit::demo::DemoUser;
use serde::Serialize;
use std::sync::atomic::Ordering;
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;

/// The logged-on user as the UI needs them.
#[derive(Clone, Debug, Serialize, TS)]
pub struct UserInfo {
    pub name: String,
    /// Role names as the policy words them ("supervisor", "clinician", ...).
    pub roles: Vec<Role>,
    /// What the user may do: the screens and buttons shown follow these, never role names (the
    /// core decides each action again).
    pub abilities: Abilities,
    /// Minutes of inactivity before the app locks (the archive's `idle-lock-minutes`).
    pub idle_lock_minutes: u32,
    /// Things the core asks the user to be told (e.g. a damaged journal segment).
    pub warnings: Vec<String>,
}

/// A made-up demo user, shown on the logon screen in demo mode only.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DemoAccount {
    pub name: String,
    pub password: String,
    pub who: String,
    pub roles: Vec<Role>,
}

impl From<DemoUser> for DemoAccount {
    fn from(u: DemoUser) -> Self {
        let DemoUser {
            name,
            roles: r,
            telephony_ids: _,
            password,
            who,
        } = u;
        DemoAccount {
            name,
            password,
            who,
            roles: roles(&r),
        }
    }
}

pub(crate) fn user_info(s: &Session, idle_lock_secs: u64) -> UserInfo {
    UserInfo {
        name: s.user_name().to_string(),
        roles: roles(s.roles()),
        abilities: s.abilities().into(),
        idle_lock_minutes: u32::try_from(idle_lock_secs.div_ceil(60)).unwrap_or(u32::MAX),
        warnings: s.warnings.clone(),
    }
}

/// The made-up demo users and their passwords, in demo mode only.
#[tauri::command]
pub fn demo_info(state: State<'_, AppState>) -> ApiResult<Vec<DemoAccount>> {
    if !state.demo {
        return Ok(vec![]);
    }
    Ok(callvault_testkit::demo::demo_users()
        .into_iter()
        .map(DemoAccount::from)
        .collect())
}

/// Log on to the chosen archive. The core counts failures and locks the account after repeated ones;
/// its messages are passed on as it words them.
#[tauri::command]
pub async fn logon<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    user: String,
    password: String,
) -> ApiResult<UserInfo> {
    let archive = state
        .archive()
        .ok_or_else(|| ApiError::invalid("open an archive first"))?;
    state.end_session().await;
    connect_share(&archive, None)?;
    let password = Password::new(password);
    // A new device over a large archive first builds its index: the web view is told how far.
    let progress: callvault_core::index::Progress =
        std::sync::Arc::new(move |done, total| crate::events::progress(&app, "index", done, total));
    let data = callvault_core::device::data_root()?;
    let s = Session::logon_with_progress(&archive, &data, user.trim(), &password, Some(progress))
        .await?;
    let secs = s
        .idle_lock_seconds(std::env::var("CALLVAULT_IDLE_LOCK_SECONDS").ok().as_deref())
        .await?;
    state.idle_lock_secs.store(secs, Ordering::Relaxed);
    state.touch();
    let info = user_info(&s, secs);
    *state.session.lock().await = Some(s);
    Ok(info)
}

/// Log off: the session is closed and forgotten.
#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> ApiResult<()> {
    state.end_session().await;
    Ok(())
}

/// Lock on demand: as logout (the session's keys are dropped), the UI then shows the lock screen.
#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> ApiResult<()> {
    state.end_session().await;
    Ok(())
}

/// The user is active (keyboard or pointer): postpone the idle lock.
#[tauri::command]
pub fn touch(state: State<'_, AppState>) {
    state.touch();
}
