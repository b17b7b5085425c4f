//! The session thread of one playback: it owns the decoder, decodes block by block through the
//! [`Pipeline`] into the ring, follows repositions (seek, skip, speed), starts the device once
//! enough is buffered, and sends the [`PlayerEvent`]s.

use super::events::PlayerEvent;
use super::pipeline::Pipeline;
use super::shared::{lock, Epoch, Outcome, Shared};
use callvault_core::audio::decode::Playable;
use cpal::traits::StreamTrait;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Device audio buffered before the device is started.
const PREFILL_SECONDS: f64 = 0.05;
/// How often position events are sent while the position changes.
const POSITION_EVERY: Duration = Duration::from_millis(100);
/// Longest sleep of the session thread when it has nothing to do.
const IDLE_WAIT: Duration = Duration::from_millis(20);

pub(super) enum Cmd {
    Reposition { gen: u64, frame: u64, speed: f64 },
    Stop,
}

pub(super) enum Produce {
    Decoding,
    Flushing(Outcome),
    Done,
}

pub(super) struct Session {
    pub(super) decoder: Box<dyn Playable>,
    pub(super) shared: Arc<Shared>,
    pub(super) pipe: Pipeline,
    pub(super) cmds: Receiver<Cmd>,
    pub(super) events: Sender<PlayerEvent>,
    pub(super) gen: u64,
    pub(super) state: Produce,
    pub(super) src_rate: u32,
    pub(super) total: Option<u64>,
}

impl Session {
    fn ms(&self, frames: u64) -> u64 {
        let frames = self.total.map_or(frames, |t| frames.min(t));
        frames * 1000 / u64::from(self.src_rate.max(1))
    }

    fn reposition(&mut self, gen: u64, frame: u64, speed: f64) {
        self.pipe.reset(speed);
        let frame = self.total.map_or(frame, |t| frame.min(t));
        self.state = match self.decoder.seek(frame) {
            Ok(()) => Produce::Decoding,
            Err(e) => Produce::Flushing(Outcome::Failed(e.to_string())),
        };
        self.gen = gen;
        let mut e = lock(&self.shared.epoch);
        *e = Epoch {
            gen,
            start: self.shared.ring.write_idx(),
            src_start: frame,
            ratio: self.pipe.ratio(),
            end: None,
        };
    }

    /// One step of decoding or writing; false if there was nothing to do.
    fn produce(&mut self) -> bool {
        let p = &mut self.pipe;
        if p.pending_at < p.pending.len() {
            let n = self.shared.ring.push(&p.pending[p.pending_at..], p.dev_ch);
            p.pending_at += n;
            if p.pending_at < p.pending.len() {
                return n > 0;
            }
            p.pending.clear();
            p.pending_at = 0;
        }
        match std::mem::replace(&mut self.state, Produce::Done) {
            Produce::Decoding => {
                match self.decoder.next_block() {
                    Ok(Some(block)) => {
                        self.pipe.process(&block);
                        self.state = Produce::Decoding;
                    }
                    Ok(None) => {
                        self.pipe.finish();
                        self.state = Produce::Flushing(Outcome::Ended);
                    }
                    Err(e) => {
                        // Play what was decoded before the damage, then stop.
                        self.pipe.finish();
                        self.state = Produce::Flushing(Outcome::Failed(e.to_string()));
                    }
                }
                true
            }
            Produce::Flushing(outcome) => {
                let mut e = lock(&self.shared.epoch);
                e.end = Some((self.shared.ring.write_idx(), outcome));
                true
            }
            Produce::Done => false,
        }
    }

    pub(super) fn run(mut self, stream: cpal::Stream) {
        let sh = self.shared.clone();
        let prefill = ((f64::from(sh.rate) * PREFILL_SECONDS) as usize * sh.channels)
            .min(sh.ring.capacity() / 2);
        let mut started = false;
        let mut last_emit: Option<Instant> = None;
        let mut last_ms = None;
        loop {
            let mut repos = None;
            loop {
                match self.cmds.try_recv() {
                    Ok(Cmd::Reposition { gen, frame, speed }) => repos = Some((gen, frame, speed)),
                    Ok(Cmd::Stop) | Err(TryRecvError::Disconnected) => return,
                    Err(TryRecvError::Empty) => break,
                }
            }
            if let Some((gen, frame, speed)) = repos {
                self.reposition(gen, frame, speed);
                let ms = self.ms(frame);
                let _ = self.events.send(PlayerEvent::Position { ms });
                last_ms = Some(ms);
                last_emit = Some(Instant::now());
            }
            if let Some(message) = lock(&sh.device_error).take() {
                let _ = self.events.send(PlayerEvent::Error { message });
                return;
            }
            let progressed = self.produce();
            if !started && (sh.ring.len() >= prefill || matches!(self.state, Produce::Done)) {
                if let Err(e) = stream.play() {
                    let _ = self.events.send(PlayerEvent::Error {
                        message: format!("audio output device: cannot start ({e})"),
                    });
                    return;
                }
                started = true;
            }
            if sh.finished_gen.load(Ordering::Acquire) == self.gen {
                let outcome = lock(&sh.epoch).end.as_ref().map(|(_, o)| o.clone());
                let ms = self.ms(sh.position());
                if last_ms != Some(ms) {
                    let _ = self.events.send(PlayerEvent::Position { ms });
                }
                let event = match outcome {
                    Some(Outcome::Failed(message)) => PlayerEvent::Error { message },
                    _ => PlayerEvent::Ended,
                };
                // Close the device before the receiver sees the end.
                drop(stream);
                let _ = self.events.send(event);
                return;
            }
            if last_emit.is_none_or(|t| t.elapsed() >= POSITION_EVERY) {
                let ms = self.ms(sh.position());
                if last_ms != Some(ms) {
                    let _ = self.events.send(PlayerEvent::Position { ms });
                    last_ms = Some(ms);
                }
                last_emit = Some(Instant::now());
            }
            if !progressed {
                thread::park_timeout(IDLE_WAIT);
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Runs before the fields (the events sender among them) are dropped.
        self.shared.over.store(true, Ordering::Release);
    }
}
