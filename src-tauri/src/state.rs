//! What the shell keeps between commands: the archive folder remembered on this device, the logged-on
//! `Session` (behind a tokio mutex), the native player, and the idle lock.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::events::SessionEnded;
use callvault_core::retention::certificate::Certificate;
use callvault_core::Session;
use callvault_player::Player;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub struct AppState {
    pub demo: bool,
    /// The app-data folder of this device, where `device.json` remembers the archive.
    data_dir: PathBuf,
    archive: Mutex<Option<PathBuf>>,
    pub session: tokio::sync::Mutex<Option<Session>>,
    player: Mutex<Option<Arc<Player>>>,
    last_activity_ms: AtomicI64,
    /// Seconds of inactivity before the idle lock (the core's `Session::idle_lock_seconds`).
    pub idle_lock_secs: AtomicU64,
    /// Deletion certificates made in this session, until saved where the user chooses (they are
    /// signed and hold no audio; forgotten when the session ends).
    certificates: Mutex<Vec<Certificate>>,
    /// When the session last caught up with other computers' changes.
    last_refresh: Mutex<Option<std::time::Instant>>,
}

/// How often the workflow screens catch up with what other computers wrote.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct DeviceFile {
    archive: Option<PathBuf>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl AppState {
    pub fn new(demo: bool, data_dir: PathBuf, preset: Option<PathBuf>) -> Self {
        let remembered = std::fs::read(data_dir.join("device.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<DeviceFile>(&b).ok())
            .and_then(|d| d.archive);
        AppState {
            demo,
            data_dir,
            archive: Mutex::new(preset.or(remembered)),
            session: tokio::sync::Mutex::new(None),
            player: Mutex::new(None),
            last_activity_ms: AtomicI64::new(now_ms()),
            idle_lock_secs: AtomicU64::new(
                u64::from(callvault_core::retention::DEFAULT_IDLE_LOCK_MINUTES) * 60,
            ),
            certificates: Mutex::new(Vec::new()),
            last_refresh: Mutex::new(None),
        }
    }

    pub fn archive(&self) -> Option<PathBuf> {
        self.archive.lock().expect("archive lock").clone()
    }

    /// Choose the archive and remember it on this device (written to a temp file, then renamed).
    pub fn set_archive(&self, path: PathBuf) -> ApiResult<()> {
        *self.archive.lock().expect("archive lock") = Some(path.clone());
        let io = |e: std::io::Error| {
            ApiError::new(
                ErrorCode::Io,
                format!(
                    "{}: cannot remember the archive: {e}",
                    self.data_dir.display()
                ),
            )
        };
        std::fs::create_dir_all(&self.data_dir).map_err(io)?;
        let body = serde_json::to_vec_pretty(&DeviceFile {
            archive: Some(path),
        })
        .expect("serialisable");
        let tmp = self.data_dir.join("device.json.tmp");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, self.data_dir.join("device.json")).map_err(io)
    }

    /// Note user activity (any command, or the UI's `touch`), which postpones the idle lock.
    pub fn touch(&self) {
        self.last_activity_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        Duration::from_millis(
            (now_ms() - self.last_activity_ms.load(Ordering::Relaxed)).max(0) as u64,
        )
    }

    /// The native player, opened on the default output device the first time it is needed.
    pub fn player(&self) -> ApiResult<Arc<Player>> {
        let mut p = self.player.lock().expect("player lock");
        if let Some(p) = p.as_ref() {
            return Ok(p.clone());
        }
        let player = Arc::new(Player::new(None)?);
        *p = Some(player.clone());
        Ok(player)
    }

    /// The player if one was opened (for pause, seek, ... which need no new device).
    pub fn current_player(&self) -> ApiResult<Arc<Player>> {
        self.player
            .lock()
            .expect("player lock")
            .clone()
            .ok_or_else(|| ApiError::invalid("nothing is playing"))
    }

    /// End the session (logout, lock or idle lock): stop playback, close the local index.
    /// Is it time to catch up with other computers (and so note that it is being done now)?
    pub fn refresh_due(&self) -> bool {
        let mut last = self.last_refresh.lock().expect("refresh lock");
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < REFRESH_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// When the session ended without `end_session` (the core ended it): stop the player and
    /// forget the session's certificates.
    pub fn forget_session_extras(&self) {
        if let Some(p) = self.player.lock().expect("player lock").as_ref() {
            p.stop();
        }
        self.certificates.lock().expect("certificates lock").clear();
    }

    pub fn keep_certificate(&self, c: Certificate) {
        self.certificates.lock().expect("certificates lock").push(c);
    }

    pub fn certificate(&self, id: &str) -> Option<Certificate> {
        self.certificates
            .lock()
            .expect("certificates lock")
            .iter()
            .find(|c| c.certificate == id)
            .cloned()
    }

    pub async fn end_session(&self) -> bool {
        self.certificates.lock().expect("certificates lock").clear();
        if let Some(p) = self.player.lock().expect("player lock").as_ref() {
            p.stop();
        }
        let s = self.session.lock().await.take();
        match s {
            Some(s) => {
                s.close().await;
                true
            }
            None => false,
        }
    }
}

/// Lock the app after `idle-lock-minutes` without activity: the session is dropped and the web
/// view told (`session` event), so it shows the lock screen, which shows nothing personal.
pub fn spawn_idle_lock<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let state = app.state::<AppState>();
            let limit = Duration::from_secs(state.idle_lock_secs.load(Ordering::Relaxed));
            if state.idle_for() >= limit && state.end_session().await {
                let _ = app.emit(
                    "session",
                    SessionEnded {
                        reason: "idle".into(),
                    },
                );
            }
        }
    });
}
