//! What a playback tells its listener ([`PlayerEvent`]: positions, then the end or an error), and
//! the timings kept for diagnostics ([`PlayerStats`]).

use serde::Serialize;
use std::time::Duration;

/// What a playback reports, in order: positions while it plays, then `Ended` or `Error` (after
/// which the receiver is closed). [`Player::stop`](super::Player::stop) closes it without either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlayerEvent {
    /// The position in the recording, in milliseconds from its start.
    Position { ms: u64 },
    /// Played to the end.
    Ended,
    /// Stopped by an error: the recording is damaged from that point ("recording damaged at
    /// mm:ss"), or the output device failed.
    Error { message: String },
}

/// Timings of the current (or last) playback, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayerStats {
    /// From [`Player::play`](super::Player::play) to the first buffer of audio handed to the
    /// device.
    pub first_buffer: Option<Duration>,
    /// From the last seek (or skip, or speed change) to the first buffer from the new position.
    pub last_seek: Option<Duration>,
    /// Frames of silence the device got because the decoder was late.
    pub underrun_frames: u64,
}
