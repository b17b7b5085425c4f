//! The events the shell sends the web view besides the player's (see [`crate::player`]):
//! `progress` (how far a long task has got) and `session` (the session ended without the user
//! asking).

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime};
use ts_rs::TS;

/// The payload of the `progress` event: how far a long piece of work has got.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
pub struct ProgressUpdate {
    /// What is running, e.g. "index" (catching up with the archive's journal at logon).
    pub task: String,
    pub done: u32,
    pub total: u32,
}

/// The payload of the `session` event: why the session ended without the user asking.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SessionEnded {
    /// "idle" (the idle lock) or "error".
    pub reason: String,
}

/// Tell the web view how far a long task has got (`progress` events).
pub(crate) fn progress<R: Runtime>(app: &AppHandle<R>, task: &str, done: u64, total: u64) {
    let _ = app.emit(
        "progress",
        ProgressUpdate {
            task: task.into(),
            done: u32::try_from(done).unwrap_or(u32::MAX),
            total: u32::try_from(total).unwrap_or(u32::MAX),
        },
    );
}
