//! The native player: `play` (the core authorises and audits, then audio is decoded and played
//! here; it never crosses to the web view), `pause`, `resume`, `seek`, `skip`, `set_speed`,
//! `set_volume` and `stop`. Positions and the end of playback reach the web view as `player`
//! events ([`PlayerUpdate`]).

use crate::error::ApiResult;
use crate::session::{s, session};
use crate::state::AppState;
use callvault_core::audio::decode::Playable;
use callvault_player::{Player, PlayerEvent};
use serde::Serialize;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Runtime, State};
use ts_rs::TS;

/// What `play` started.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Playing {
    pub recording: String,
    /// The request this listening was authorised under, if any.
    pub request: Option<String>,
    /// Length of the audio, when the decoder knows it.
    pub duration_ms: Option<u32>,
    pub speed: f64,
    pub volume: f32,
    /// When a whole conversation plays: its legs in order (this recording among them) and where
    /// each leg after the first begins, in ms (the markers on the timeline). Empty otherwise.
    pub legs: Vec<String>,
    pub joins_ms: Vec<u32>,
}

/// The payload of the `player` event.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlayerUpdate {
    /// The position in the recording, in milliseconds.
    Position {
        ms: u32,
    },
    Paused {
        ms: u32,
    },
    Resumed {
        ms: u32,
    },
    Ended,
    Stopped,
    Error {
        message: String,
    },
}

impl From<PlayerEvent> for PlayerUpdate {
    fn from(e: PlayerEvent) -> Self {
        match e {
            PlayerEvent::Position { ms } => PlayerUpdate::Position { ms: clamp_ms(ms) },
            PlayerEvent::Ended => PlayerUpdate::Ended,
            PlayerEvent::Error { message } => PlayerUpdate::Error { message },
        }
    }
}

/// Milliseconds as JSON numbers (u32 covers 49 days of audio).
pub fn clamp_ms(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}

/// Send a player update to the web view.
pub fn emit_player<R: Runtime>(app: &AppHandle<R>, u: PlayerUpdate) {
    let _ = app.emit("player", u);
}

fn position_ms(p: &Player) -> u32 {
    p.position().map_or(0, |d| clamp_ms(d.as_millis() as u64))
}

/// Listen: the core authorises (an approved request, or for a party to the call a stated reason)
/// and audits, then the native player plays from the decrypting reader. With `whole_conversation`,
/// every leg of the transferred call it is one of, in order, as one timeline (each leg authorised
/// and audited as its own recording). Positions arrive as `player` events.
#[tauri::command]
pub async fn play<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    request: Option<String>,
    reason: Option<String>,
    whole_conversation: Option<bool>,
) -> ApiResult<Playing> {
    state.touch();
    let request = request.filter(|r| !r.trim().is_empty());
    let player = state.player()?;
    let (events, duration_ms, grant, legs, joins_ms) = if whole_conversation.unwrap_or(false) {
        let c = {
            let g = session(&state).await?;
            s(&g)
                .open_conversation_for_listening(&id, request.as_deref(), reason.as_deref())
                .await?
        };
        let duration_ms = duration(&c.audio);
        let legs = c.grants.iter().map(|g| g.recording.clone()).collect();
        let joins = c.joins_ms.iter().map(|&m| clamp_ms(m)).collect();
        let grant = c
            .grants
            .into_iter()
            .find(|g| g.recording == id.trim().to_ascii_lowercase());
        (player.play(c.audio)?, duration_ms, grant, legs, joins)
    } else {
        let (decoder, grant) = {
            let g = session(&state).await?;
            s(&g)
                .open_for_listening(&id, request.as_deref(), reason.as_deref())
                .await?
        };
        let duration_ms = duration(&decoder);
        (
            player.play(decoder)?,
            duration_ms,
            Some(grant),
            vec![],
            vec![],
        )
    };
    std::thread::spawn(move || {
        for e in events {
            emit_player(&app, e.into());
        }
    });
    Ok(Playing {
        recording: grant.as_ref().map_or(id, |g| g.recording.clone()),
        request: grant.and_then(|g| g.request),
        duration_ms,
        speed: player.speed(),
        volume: player.volume(),
        legs,
        joins_ms,
    })
}

fn duration(p: &dyn Playable) -> Option<u32> {
    p.total_frames()
        .filter(|_| p.sample_rate() > 0)
        .map(|f| clamp_ms(f * 1000 / u64::from(p.sample_rate())))
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
