//! The device callback: it copies from the ring to the device, following the generation the
//! player wants heard, and applies volume (with a short ramp), loudness normalisation and a
//! limiter ([`Dsp`]). It never allocates or blocks on a lock.

use super::shared::{Shared, NONE};
use cpal::{FromSample, SizedSample};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The limiter's ceiling.
pub(super) const LIMIT: f32 = 0.95;
/// Loudness normalisation: the level aimed at (RMS, about −20 dBFS) ...
const TARGET_RMS: f32 = 0.1;
/// ... within these gains ...
const MIN_GAIN: f32 = 0.5;
const MAX_GAIN: f32 = 8.0;
/// ... measured only while the short-term level is above about −50 dBFS (not in pauses).
const GATE_MS: f32 = 1e-5;

/// Volume (with a short ramp), loudness normalisation and the limiter, per device frame.
pub(super) struct Dsp {
    vol: f32,
    vol_step: f32,
    limiter: f32,
    release: f32,
    short_ms: f32,
    long_ms: f32,
    gain: f32,
    a_short: f32,
    a_long: f32,
    a_gain: f32,
}

impl Dsp {
    pub(super) fn new(rate: u32, volume: f32) -> Dsp {
        let r = rate.max(1) as f32;
        let coef = |secs: f32| 1.0 - (-1.0 / (secs * r)).exp();
        Dsp {
            vol: volume,
            vol_step: 1.0 / (0.01 * r),
            limiter: 1.0,
            release: (-1.0 / (0.1 * r)).exp(),
            short_ms: 0.0,
            long_ms: TARGET_RMS * TARGET_RMS,
            gain: 1.0,
            a_short: coef(0.05),
            a_long: coef(1.5),
            a_gain: coef(0.3),
        }
    }

    /// At volume 1 without normalisation a frame in [-1, 1] passes unchanged.
    pub(super) fn process(&mut self, frame: &mut [f32], volume: f32, normalize: bool) {
        if self.vol != volume {
            let d = volume - self.vol;
            self.vol = if d.abs() <= self.vol_step {
                volume
            } else {
                self.vol + self.vol_step.copysign(d)
            };
        }
        let mut g = self.vol;
        if normalize {
            let ms = frame.iter().map(|x| x * x).sum::<f32>() / frame.len() as f32;
            self.short_ms += (ms - self.short_ms) * self.a_short;
            if self.short_ms > GATE_MS {
                self.long_ms += (self.short_ms - self.long_ms) * self.a_long;
            }
            let target = (TARGET_RMS / self.long_ms.max(1e-12).sqrt()).clamp(MIN_GAIN, MAX_GAIN);
            self.gain += (target - self.gain) * self.a_gain;
            g *= self.gain;
        }
        if g != 1.0 {
            for x in frame.iter_mut() {
                *x *= g;
            }
        }
        if g > 1.0 || self.limiter < 1.0 {
            let peak = frame.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            if peak * self.limiter > LIMIT {
                self.limiter = LIMIT / peak;
            }
            if self.limiter < 1.0 {
                for x in frame.iter_mut() {
                    *x *= self.limiter;
                }
                self.limiter = 1.0 - (1.0 - self.limiter) * self.release;
                if self.limiter > 0.9999 {
                    self.limiter = 1.0;
                }
            }
        }
        for x in frame.iter_mut() {
            *x = x.clamp(-1.0, 1.0);
        }
    }
}

/// The state the device callback keeps between calls.
pub(super) struct Output {
    shared: Arc<Shared>,
    gen: u64,
    start: usize,
    end: Option<usize>,
    finished: bool,
    note_seek: bool,
    frame: Vec<f32>,
    dsp: Dsp,
}

impl Output {
    pub(super) fn new(shared: Arc<Shared>) -> Output {
        let volume = f32::from_bits(shared.volume.load(Ordering::Relaxed));
        Output {
            frame: vec![0.0; shared.channels],
            dsp: Dsp::new(shared.rate, volume),
            shared,
            gen: NONE,
            start: 0,
            end: None,
            finished: false,
            note_seek: false,
        }
    }

    /// Follow the generation the player wants; drop what the ring holds of older ones.
    fn sync(&mut self) {
        let sh = &*self.shared;
        let want = sh.want_gen.load(Ordering::Acquire);
        if self.gen != want {
            let Ok(e) = sh.epoch.try_lock() else { return };
            if e.gen == want {
                self.gen = want;
                self.start = e.start;
                self.end = e.end.as_ref().map(|(i, _)| *i);
                self.finished = false;
                self.note_seek = want > 0;
                if sh.ring.read_idx() < e.start {
                    sh.ring.set_read(e.start);
                }
            } else {
                // Everything written so far is older (the session thread publishes a new
                // generation, under this lock, before writing any of it).
                sh.ring.set_read(sh.ring.write_idx());
            }
        } else if self.end.is_none() && sh.ring.len() == 0 {
            if let Ok(e) = sh.epoch.try_lock() {
                if e.gen == self.gen {
                    self.end = e.end.as_ref().map(|(i, _)| *i);
                }
            }
        }
    }

    /// Copy what is ready into `out` (whole frames); returns the frames written.
    fn copy<T: SizedSample + FromSample<f32>>(&mut self, out: &mut [T]) -> usize {
        let sh = &*self.shared;
        let ch = sh.channels;
        let r = sh.ring.read_idx();
        let w = sh.ring.write_idx();
        let limit = self.end.map_or(w, |e| e.min(w));
        let n = (limit.saturating_sub(r) / ch).min(out.len() / ch);
        if n == 0 {
            return 0;
        }
        let volume = f32::from_bits(sh.volume.load(Ordering::Relaxed));
        let normalize = sh.normalize.load(Ordering::Relaxed);
        for (f, dst) in out[..n * ch].chunks_exact_mut(ch).enumerate() {
            for (c, s) in self.frame.iter_mut().enumerate() {
                *s = sh.ring.get(r + f * ch + c);
            }
            self.dsp.process(&mut self.frame, volume, normalize);
            for (d, s) in dst.iter_mut().zip(&self.frame) {
                *d = T::from_sample(*s);
            }
        }
        sh.ring.set_read(r + n * ch);
        let _ = sh.first_buffer_ns.compare_exchange(
            0,
            sh.since_t0(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if self.note_seek {
            self.note_seek = false;
            sh.seek_done_ns.store(sh.since_t0(), Ordering::Relaxed);
        }
        n
    }

    pub(super) fn fill<T: SizedSample + FromSample<f32>>(&mut self, data: &mut [T]) {
        let ch = self.shared.channels;
        let frames = data.len() / ch;
        // Waiting longer than the buffer we are filling lasts would only turn a gap into an
        // underrun; on a device that is not real time (ALSA's file plugin) it keeps the output
        // gapless.
        let budget = Duration::from_secs_f64(frames as f64 / f64::from(self.shared.rate));
        let began = Instant::now();
        let mut done = 0;
        let shared = Arc::clone(&self.shared);
        let sh = &*shared;
        loop {
            self.sync();
            if sh.paused.load(Ordering::Relaxed) || self.finished {
                break;
            }
            let current = self.gen == sh.want_gen.load(Ordering::Acquire);
            if current {
                done += self.copy(&mut data[done * ch..]);
                if done == frames {
                    break;
                }
                if self.end == Some(sh.ring.read_idx()) {
                    self.finished = true;
                    sh.finished_gen.store(self.gen, Ordering::Release);
                    sh.wake_session();
                    break;
                }
            }
            if began.elapsed() >= budget {
                if current {
                    sh.underrun_frames
                        .fetch_add((frames - done) as u64, Ordering::Relaxed);
                }
                break;
            }
            sh.wake_session();
            thread::sleep(Duration::from_micros(200));
        }
        for s in &mut data[done * ch..] {
            *s = T::EQUILIBRIUM;
        }
        if sh.ring.len() < sh.ring.capacity() * 3 / 4 {
            sh.wake_session();
        }
    }
}
