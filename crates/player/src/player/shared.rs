//! The state shared by the player, the session thread and the device callback: the ring, the
//! generation the player wants heard and the one being written ([`Epoch`]), the volume and
//! normalisation switches, and the timings.

use super::ring::Ring;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::Instant;

/// "No generation".
pub(super) const NONE: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Ended,
    Failed(String),
}

/// One generation of audio in the ring: what the session thread wrote after a (re)start.
#[derive(Debug, Clone)]
pub(super) struct Epoch {
    pub(super) gen: u64,
    /// Ring index of its first sample.
    pub(super) start: usize,
    /// The recording's frame it starts at.
    pub(super) src_start: u64,
    /// Recording frames per device frame (speed × rate ratio).
    pub(super) ratio: f64,
    /// Ring index just past its last sample, once known, and how it ended.
    pub(super) end: Option<(usize, Outcome)>,
}

pub(super) struct Shared {
    pub(super) ring: Ring,
    pub(super) channels: usize,
    pub(super) rate: u32,
    /// The generation the player wants heard.
    pub(super) want_gen: AtomicU64,
    /// The generation the session thread writes (published before its first sample).
    pub(super) epoch: Mutex<Epoch>,
    /// A reposition asked for and not yet started: (generation, frame).
    pub(super) asked: Mutex<(u64, u64)>,
    /// Set by the callback when it has played a generation to its end.
    pub(super) finished_gen: AtomicU64,
    pub(super) paused: AtomicBool,
    /// Set when the session has ended (before its events receiver closes).
    pub(super) over: AtomicBool,
    pub(super) volume: AtomicU32,
    pub(super) normalize: AtomicBool,
    pub(super) session: OnceLock<Thread>,
    pub(super) device_error: Mutex<Option<String>>,
    pub(super) t0: Instant,
    pub(super) first_buffer_ns: AtomicU64,
    pub(super) seek_asked_ns: AtomicU64,
    pub(super) seek_done_ns: AtomicU64,
    pub(super) underrun_frames: AtomicU64,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(super) fn since_t0(&self) -> u64 {
        (self.t0.elapsed().as_nanos() as u64).max(1)
    }

    pub(super) fn wake_session(&self) {
        if let Some(t) = self.session.get() {
            t.unpark();
        }
    }

    /// The recording frame being played.
    pub(super) fn position(&self) -> u64 {
        let e = lock(&self.epoch);
        let asked = *lock(&self.asked);
        if asked.0 != NONE && asked.0 > e.gen {
            return asked.1;
        }
        let mut read = self.ring.read_idx();
        if let Some((end, _)) = &e.end {
            read = read.min(*end);
        }
        let played = read.saturating_sub(e.start) / self.channels;
        e.src_start + (played as f64 * e.ratio).round() as u64
    }
}
