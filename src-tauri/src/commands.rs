//! The IPC commands. Each one calls the core and maps its result to a [`crate::dto`] type or an
//! [`ApiError`] `{code, message}`. None returns a key or a password (the demo accounts, shown only in
//! demo mode, are made up), and audio never crosses to the web view: the player is native.

use crate::dto::{
    clamp_ms, role_name, ApiError, ApiResult, AppStatus, DemoAccount, Peaks, PlayerUpdate, Playing,
    Recording, Search, ShareLogin, UserInfo,
};
use crate::state::{emit_player, idle_lock_seconds, AppState};
use callvault_core::credentials::{self, ShareCredential};
use callvault_core::secret::Password;
use callvault_core::Session;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tauri::{AppHandle, Runtime, State};

pub(crate) fn not_logged_on() -> ApiError {
    ApiError::new("logged_off", "nobody is logged on: log on first")
}

fn user_info(s: &Session, idle_lock_secs: u64) -> UserInfo {
    UserInfo {
        name: s.user_name().to_string(),
        roles: s.roles().iter().map(role_name).collect(),
        idle_lock_minutes: u32::try_from(idle_lock_secs.div_ceil(60)).unwrap_or(u32::MAX),
        warnings: s.warnings.clone(),
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
fn connect_share(path: &std::path::Path, login: Option<ShareLogin>) -> ApiResult<()> {
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
        .ok_or_else(|| ApiError::new("invalid", "no archive is chosen"))?;
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
        return Err(ApiError::new("invalid", "choose an archive folder"));
    }
    connect_share(&path, login)?;
    callvault_core::archive::Archive::open(&path)?;
    state.end_session().await;
    state.set_archive(path.clone())?;
    Ok(path.display().to_string())
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
        .ok_or_else(|| ApiError::new("invalid", "open an archive first"))?;
    state.end_session().await;
    connect_share(&archive, None)?;
    let password = Password::new(password);
    // A new device over a large archive first builds its index: the web view is told how far.
    let progress: callvault_core::index::Progress = std::sync::Arc::new(move |done, total| {
        crate::workflow::progress(&app, "index", done, total)
    });
    let data = callvault_core::device::data_root()?;
    let s = Session::logon_with_progress(&archive, &data, user.trim(), &password, Some(progress))
        .await?;
    let setting = s.setting("idle-lock-minutes").await.ok();
    let secs = idle_lock_seconds(
        setting.as_deref(),
        std::env::var("CALLVAULT_IDLE_LOCK_SECONDS").ok().as_deref(),
    );
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

/// Search the recordings this user may see.
#[tauri::command]
pub async fn search(state: State<'_, AppState>, query: Search) -> ApiResult<Vec<Recording>> {
    let g = crate::workflow::session(&state).await?;
    let rows = crate::workflow::s(&g).search(&query.into()).await?;
    Ok(rows.into_iter().map(Recording::from).collect())
}

/// The search criteria this user last used on this device (kept in the encrypted local index).
#[tauri::command]
pub async fn search_filters(state: State<'_, AppState>) -> ApiResult<Option<Search>> {
    let s = state.session.lock().await;
    let s = s.as_ref().ok_or_else(not_logged_on)?;
    Ok(s.preference(SEARCH_FILTERS)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok()))
}

/// Remember this user's search criteria on this device (`null` forgets them).
#[tauri::command]
pub async fn save_search_filters(
    state: State<'_, AppState>,
    query: Option<Search>,
) -> ApiResult<()> {
    let mut s = state.session.lock().await;
    let s = s.as_mut().ok_or_else(not_logged_on)?;
    let body = query.map(|q| serde_json::to_string(&q).expect("serialisable"));
    Ok(s.set_preference(SEARCH_FILTERS, body.as_deref()).await?)
}

const SEARCH_FILTERS: &str = "app.search-filters";

/// One recording's details, if this user may see it.
#[tauri::command]
pub async fn show(state: State<'_, AppState>, id: String) -> ApiResult<Recording> {
    let g = crate::workflow::session(&state).await?;
    Ok(crate::workflow::s(&g).show(&id).await?.into())
}

/// The stored waveform peaks of a recording this user may see.
#[tauri::command]
pub async fn waveform(state: State<'_, AppState>, id: String) -> ApiResult<Peaks> {
    state.touch();
    let s = state.session.lock().await;
    let s = s.as_ref().ok_or_else(not_logged_on)?;
    Ok(s.waveform(&id).await?.into())
}

/// Listen: the core authorises (an approved request, or for a party to the call a stated reason)
/// and audits, then the native player plays from the decrypting reader. Positions arrive as
/// `player` events.
#[tauri::command]
pub async fn play<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    request: Option<String>,
    reason: Option<String>,
) -> ApiResult<Playing> {
    state.touch();
    let request = request.filter(|r| !r.trim().is_empty());
    let (decoder, grant) = {
        let g = crate::workflow::session(&state).await?;
        crate::workflow::s(&g)
            .open_for_listening(&id, request.as_deref(), reason.as_deref())
            .await?
    };
    let duration_ms = decoder
        .total_frames()
        .filter(|_| decoder.sample_rate() > 0)
        .map(|f| clamp_ms(f * 1000 / u64::from(decoder.sample_rate())));
    let player = state.player()?;
    let events = player.play(decoder)?;
    std::thread::spawn(move || {
        for e in events {
            emit_player(&app, e.into());
        }
    });
    Ok(Playing {
        recording: grant.recording,
        request: grant.request,
        duration_ms,
        speed: player.speed(),
        volume: player.volume(),
    })
}

fn position_ms(p: &callvault_player::Player) -> u32 {
    p.position().map_or(0, |d| clamp_ms(d.as_millis() as u64))
}

#[tauri::command]
pub fn pause<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> ApiResult<()> {
    state.touch();
    let p = state.current_player()?;
    p.pause();
    emit_player(
        &app,
        PlayerUpdate::Paused {
            ms: position_ms(&p),
        },
    );
    Ok(())
}

#[tauri::command]
pub fn resume<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> ApiResult<()> {
    state.touch();
    let p = state.current_player()?;
    p.resume();
    emit_player(
        &app,
        PlayerUpdate::Resumed {
            ms: position_ms(&p),
        },
    );
    Ok(())
}

/// Jump to `ms` from the start of the recording.
#[tauri::command]
pub fn seek(state: State<'_, AppState>, ms: u32) -> ApiResult<()> {
    state.touch();
    Ok(state
        .current_player()?
        .seek(Duration::from_millis(u64::from(ms)))?)
}

/// Jump `seconds` back (negative) or forward.
#[tauri::command]
pub fn skip(state: State<'_, AppState>, seconds: i32) -> ApiResult<()> {
    state.touch();
    Ok(state.current_player()?.skip(i64::from(seconds))?)
}

/// Playback speed, 0.5 to 2 (pitch kept).
#[tauri::command]
pub fn set_speed(state: State<'_, AppState>, speed: f64) -> ApiResult<()> {
    state.touch();
    Ok(state.player()?.set_speed(speed)?)
}

/// Volume, 0 to 1.5.
#[tauri::command]
pub fn set_volume(state: State<'_, AppState>, volume: f32) -> ApiResult<()> {
    state.touch();
    Ok(state.player()?.set_volume(volume)?)
}

#[tauri::command]
pub fn stop<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> ApiResult<()> {
    state.touch();
    if let Ok(p) = state.current_player() {
        p.stop();
        emit_player(&app, PlayerUpdate::Stopped);
    }
    Ok(())
}
