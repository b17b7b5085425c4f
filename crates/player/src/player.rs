//! Playing a recording on an output device (cpal): pause, resume, stop, seek, ±10 s, speed
//! 0.5×–2× with the pitch kept ([`crate::stretch`]), volume up to 150 %, optional loudness
//! normalisation, and position updates as events for the UI.
//!
//! How it runs (one playback at a time per [`Player`]):
//!
//! - A **session thread** owns the [`Decoder`] (in the app, over a `DecryptingReader`, so only
//!   the segments being played are ever decrypted, in memory). It decodes block by block, stretches
//!   (at the recording's rate), resamples to the device's rate (rubato's FFT resampler), maps the
//!   channels (mono to every channel) and writes into a **bounded ring buffer** of about a second
//!   of device audio; when the ring is full it sleeps until the device has taken some. Memory is
//!   therefore the same for a one-minute and a one-hour call. It also sends the events.
//! - The **device callback** copies from the ring to the device, applying volume, normalisation
//!   and a limiter. It never allocates or blocks on a lock (the one lock it touches, it only
//!   `try_lock`s); when the ring is empty it waits at most one callback's worth of time for the
//!   session thread before playing silence.
//! - Seeking (and changing speed, which re-starts the stretch from the current position) drops what
//!   is buffered: every reposition starts a new *generation*; the callback discards what the ring
//!   holds of older ones and plays the new one as soon as it is written.
//! - A read or decode failure (for an archive object, a segment that does not authenticate) ends
//!   the audio at that point: everything decoded before it is played, nothing after it is, and the
//!   playback ends with [`PlayerEvent::Error`] ("recording damaged at mm:ss").
//!
//! Pause keeps the device open and feeds it silence (so a paused player can still seek, and
//! resumes at once). Positions are of the audio handed to the device, which sounds up to two device
//! periods (40 ms) later.
//!
//! Nothing decoded is written anywhere: samples live only in the decoder's buffers, the pipeline's
//! scratch vectors and the ring, all in memory, and are never logged.

use crate::stretch::{TimeStretch, MAX_SPEED, MIN_SPEED};
use callvault_core::audio::decode::Decoder;
use callvault_core::{Error, Result};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Loudest volume offered (150 %).
pub const MAX_VOLUME: f32 = 1.5;
/// The step of the UI's back and forward buttons.
pub const SKIP_SECONDS: i64 = 10;

/// Device audio the ring buffer holds (rounded up to a power of two samples).
const RING_SECONDS: f64 = 1.0;
/// Device audio buffered before the device is started.
const PREFILL_SECONDS: f64 = 0.05;
/// How often position events are sent while the position changes.
const POSITION_EVERY: Duration = Duration::from_millis(100);
/// Longest sleep of the session thread when it has nothing to do.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// Device buffer period aimed at (the device holds two): long enough to ride out a busy machine,
/// short enough for a seek, pause or volume change to be heard at once (the callback comes round
/// at least this often).
const PERIOD_SECONDS: f64 = 0.02;
/// Input frames per resampler call.
const RESAMPLE_CHUNK: usize = 1024;
/// The limiter's ceiling.
const LIMIT: f32 = 0.95;
/// Loudness normalisation: the level aimed at (RMS, about −20 dBFS) ...
const TARGET_RMS: f32 = 0.1;
/// ... within these gains ...
const MIN_GAIN: f32 = 0.5;
const MAX_GAIN: f32 = 8.0;
/// ... measured only while the short-term level is above about −50 dBFS (not in pauses).
const GATE_MS: f32 = 1e-5;

const NONE: u64 = u64::MAX;

/// What a playback reports, in order: positions while it plays, then `Ended` or `Error` (after
/// which the receiver is closed). [`Player::stop`] closes it without either.
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
    /// From [`Player::play`] to the first buffer of audio handed to the device.
    pub first_buffer: Option<Duration>,
    /// From the last seek (or skip, or speed change) to the first buffer from the new position.
    pub last_seek: Option<Duration>,
    /// Frames of silence the device got because the decoder was late.
    pub underrun_frames: u64,
}

// ---- the ring buffer ----

/// A single-producer single-consumer ring of `f32` samples, lock-free (the samples are stored as
/// atomic bits, so no `unsafe`). `write` and `read` count samples since the start and only grow.
struct Ring {
    slots: Box<[AtomicU32]>,
    mask: usize,
    write: AtomicUsize,
    read: AtomicUsize,
}

impl Ring {
    fn new(min_samples: usize) -> Ring {
        let cap = min_samples.max(1024).next_power_of_two();
        Ring {
            slots: (0..cap).map(|_| AtomicU32::new(0)).collect(),
            mask: cap - 1,
            write: AtomicUsize::new(0),
            read: AtomicUsize::new(0),
        }
    }

    fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn write_idx(&self) -> usize {
        self.write.load(Ordering::Acquire)
    }

    fn read_idx(&self) -> usize {
        self.read.load(Ordering::Acquire)
    }

    fn len(&self) -> usize {
        self.write_idx() - self.read_idx()
    }

    /// Producer: append as many whole `unit`s of `data` as fit; returns the samples written.
    fn push(&self, data: &[f32], unit: usize) -> usize {
        let w = self.write.load(Ordering::Relaxed);
        let free = self.capacity() - (w - self.read.load(Ordering::Acquire));
        let n = data.len().min(free) / unit * unit;
        for (i, v) in data[..n].iter().enumerate() {
            self.slots[(w + i) & self.mask].store(v.to_bits(), Ordering::Relaxed);
        }
        self.write.store(w + n, Ordering::Release);
        n
    }

    /// Consumer: the sample at `idx` (with `read <= idx < write`).
    fn get(&self, idx: usize) -> f32 {
        f32::from_bits(self.slots[idx & self.mask].load(Ordering::Relaxed))
    }

    /// Consumer: everything before `idx` has been taken (or dropped).
    fn set_read(&self, idx: usize) {
        self.read.store(idx, Ordering::Release);
    }
}

// ---- state shared by the player, the session thread and the device callback ----

#[derive(Debug, Clone)]
enum Outcome {
    Ended,
    Failed(String),
}

/// One generation of audio in the ring: what the session thread wrote after a (re)start.
#[derive(Debug, Clone)]
struct Epoch {
    gen: u64,
    /// Ring index of its first sample.
    start: usize,
    /// The recording's frame it starts at.
    src_start: u64,
    /// Recording frames per device frame (speed × rate ratio).
    ratio: f64,
    /// Ring index just past its last sample, once known, and how it ended.
    end: Option<(usize, Outcome)>,
}

struct Shared {
    ring: Ring,
    channels: usize,
    rate: u32,
    /// The generation the player wants heard.
    want_gen: AtomicU64,
    /// The generation the session thread writes (published before its first sample).
    epoch: Mutex<Epoch>,
    /// A reposition asked for and not yet started: (generation, frame).
    asked: Mutex<(u64, u64)>,
    /// Set by the callback when it has played a generation to its end.
    finished_gen: AtomicU64,
    paused: AtomicBool,
    /// Set when the session has ended (before its events receiver closes).
    over: AtomicBool,
    volume: AtomicU32,
    normalize: AtomicBool,
    session: OnceLock<Thread>,
    device_error: Mutex<Option<String>>,
    t0: Instant,
    first_buffer_ns: AtomicU64,
    seek_asked_ns: AtomicU64,
    seek_done_ns: AtomicU64,
    underrun_frames: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn since_t0(&self) -> u64 {
        (self.t0.elapsed().as_nanos() as u64).max(1)
    }

    fn wake_session(&self) {
        if let Some(t) = self.session.get() {
            t.unpark();
        }
    }

    /// The recording frame being played.
    fn position(&self) -> u64 {
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

// ---- the device callback ----

/// Volume (with a short ramp), loudness normalisation and the limiter, per device frame.
struct Dsp {
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
    fn new(rate: u32, volume: f32) -> Dsp {
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
    fn process(&mut self, frame: &mut [f32], volume: f32, normalize: bool) {
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
struct Output {
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
    fn new(shared: Arc<Shared>) -> Output {
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

    fn fill<T: SizedSample + FromSample<f32>>(&mut self, data: &mut [T]) {
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

// ---- the pipeline: stretch, resample, channels ----

/// Streaming resampling with rubato's FFT resampler (a pass-through at equal rates), its delay
/// trimmed so output frame `j` is input frame `j × src / dst`.
struct Resample {
    fft: Option<Fft<f32>>,
    ch: usize,
    src: u32,
    dst: u32,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    trim: usize,
    fed: u64,
    emitted: u64,
}

impl Resample {
    fn new(src: u32, dst: u32, ch: usize) -> Result<Resample> {
        let fft = if src == dst {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    src as usize,
                    dst as usize,
                    RESAMPLE_CHUNK,
                    ch,
                    FixedSync::Input,
                )
                .map_err(|e| Error::Audio {
                    file: "player".into(),
                    reason: format!("cannot resample {src} Hz to {dst} Hz ({e})"),
                })?,
            )
        };
        let mut r = Resample {
            scratch: vec![0.0; fft.as_ref().map_or(0, |f| f.output_frames_max() * ch)],
            fft,
            ch,
            src,
            dst,
            pending: Vec::new(),
            trim: 0,
            fed: 0,
            emitted: 0,
        };
        r.reset();
        Ok(r)
    }

    fn reset(&mut self) {
        if let Some(f) = &mut self.fft {
            f.reset();
            self.trim = f.output_delay();
        }
        self.pending.clear();
        self.fed = 0;
        self.emitted = 0;
    }

    /// Resample one chunk from `pending[off..]` (`partial` frames valid if given).
    fn run(&mut self, off: usize, partial: Option<usize>, out: &mut Vec<f32>) -> usize {
        let fft = self.fft.as_mut().expect("resampling");
        let ch = self.ch;
        let frames = self.pending.len() / ch;
        let input = InterleavedSlice::new(&self.pending[..], ch, frames).expect("sized");
        let out_frames = self.scratch.len() / ch;
        let mut output =
            InterleavedSlice::new_mut(&mut self.scratch[..], ch, out_frames).expect("sized");
        let mut idx = Indexing::new().input_offset(off);
        if let Some(p) = partial {
            idx = idx.partial_len(p);
        }
        let (used, made) = fft
            .process_into_buffer(&input, &mut output, Some(&idx))
            .expect("buffers sized from the resampler");
        let drop = self.trim.min(made);
        self.trim -= drop;
        out.extend_from_slice(&self.scratch[drop * ch..made * ch]);
        self.emitted += (made - drop) as u64;
        used
    }

    fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let Some(fft) = &self.fft else {
            out.extend_from_slice(input);
            return;
        };
        let need = fft.input_frames_next();
        self.pending.extend_from_slice(input);
        self.fed += (input.len() / self.ch) as u64;
        let mut off = 0;
        while self.pending.len() / self.ch - off >= need {
            off += self.run(off, None, out);
        }
        self.pending.drain(..off * self.ch);
    }

    /// The end: the rest, up to `round(input × dst / src)` frames.
    fn finish(&mut self, out: &mut Vec<f32>) {
        if self.fft.is_none() {
            return;
        }
        let target = (self.fed as f64 * f64::from(self.dst) / f64::from(self.src)).round() as u64;
        let start = out.len();
        let left = self.pending.len() / self.ch;
        if left > 0 {
            self.run(0, Some(left), out);
        }
        self.pending.clear();
        self.pending.resize(self.ch, 0.0);
        while self.emitted < target {
            self.run(0, Some(0), out);
        }
        let extra = ((self.emitted - target) as usize * self.ch).min(out.len() - start);
        out.truncate(out.len() - extra);
        self.emitted = target;
        self.pending.clear();
    }
}

/// `input` (interleaved, `from` channels) as `to` channels: mono to every channel, more channels
/// folded down by averaging, extra output channels silent.
fn map_channels(input: &[f32], from: usize, to: usize, out: &mut Vec<f32>) {
    if from == to {
        out.extend_from_slice(input);
    } else if from == 1 {
        for &s in input {
            out.extend(std::iter::repeat_n(s, to));
        }
    } else {
        for f in input.chunks_exact(from) {
            for c in 0..to {
                let (sum, n) = f
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % to == c)
                    .fold((0.0f32, 0usize), |(s, n), (_, v)| (s + v, n + 1));
                out.push(if n == 0 { 0.0 } else { sum / n as f32 });
            }
        }
    }
}

struct Pipeline {
    src_rate: u32,
    src_ch: usize,
    dev_rate: u32,
    dev_ch: usize,
    stretch: TimeStretch,
    resample: Resample,
    a: Vec<f32>,
    b: Vec<f32>,
    /// Device samples not yet in the ring, from `pending_at`.
    pending: Vec<f32>,
    pending_at: usize,
}

impl Pipeline {
    fn ratio(&self) -> f64 {
        self.stretch.speed() * f64::from(self.src_rate) / f64::from(self.dev_rate)
    }

    fn reset(&mut self, speed: f64) {
        if speed != self.stretch.speed() {
            self.stretch = TimeStretch::new(self.src_rate, self.src_ch, speed);
        } else {
            self.stretch.reset();
        }
        self.resample.reset();
        self.pending.clear();
        self.pending_at = 0;
    }

    fn process(&mut self, block: &[f32]) {
        self.a.clear();
        self.stretch.process(block, &mut self.a);
        self.b.clear();
        self.resample.push(&self.a, &mut self.b);
        map_channels(&self.b, self.src_ch, self.dev_ch, &mut self.pending);
    }

    fn finish(&mut self) {
        self.a.clear();
        self.stretch.finish(&mut self.a);
        self.b.clear();
        self.resample.push(&self.a, &mut self.b);
        self.resample.finish(&mut self.b);
        map_channels(&self.b, self.src_ch, self.dev_ch, &mut self.pending);
    }
}

// ---- the session thread ----

enum Cmd {
    Reposition { gen: u64, frame: u64, speed: f64 },
    Stop,
}

enum Produce {
    Decoding,
    Flushing(Outcome),
    Done,
}

struct Session {
    decoder: Decoder,
    shared: Arc<Shared>,
    pipe: Pipeline,
    cmds: Receiver<Cmd>,
    events: Sender<PlayerEvent>,
    gen: u64,
    state: Produce,
    src_rate: u32,
    total: Option<u64>,
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

    fn run(mut self, stream: cpal::Stream) {
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

// ---- devices ----

fn device_error(name: &str, reason: String) -> Error {
    Error::Audio {
        file: format!("output device '{name}'"),
        reason,
    }
}

fn name_of(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| "unnamed device".into())
}

fn device_id(d: &cpal::Device) -> String {
    d.id().map(|i| i.id().to_string()).unwrap_or_default()
}

/// Every output device with the label [`Player::new`] accepts: its name, or "name (id)" where
/// two devices share a name.
fn labelled_devices(host: &cpal::Host) -> Result<Vec<(String, cpal::Device)>> {
    let devices: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|e| device_error("*", format!("cannot list output devices ({e})")))?
        .collect();
    let names: Vec<String> = devices.iter().map(name_of).collect();
    Ok(devices
        .into_iter()
        .zip(names.iter())
        .map(|(d, n)| {
            let label = if names.iter().filter(|m| *m == n).count() > 1 {
                format!("{n} ({})", device_id(&d))
            } else {
                n.clone()
            };
            (label, d)
        })
        .collect())
}

const FORMATS: [SampleFormat; 10] = [
    SampleFormat::F32,
    SampleFormat::I16,
    SampleFormat::I32,
    SampleFormat::F64,
    SampleFormat::U16,
    SampleFormat::I8,
    SampleFormat::U8,
    SampleFormat::U32,
    SampleFormat::I64,
    SampleFormat::U64,
];

/// The device's default configuration, or one at the same rate in a format we can write.
fn choose_config(
    d: &cpal::Device,
) -> std::result::Result<cpal::SupportedStreamConfig, cpal::Error> {
    let def = d.default_output_config()?;
    if FORMATS.contains(&def.sample_format()) {
        return Ok(def);
    }
    d.supported_output_configs()?
        .filter(|c| FORMATS.contains(&c.sample_format()))
        .filter_map(|c| c.try_with_sample_rate(def.sample_rate()))
        .next()
        .ok_or_else(|| {
            cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!(
                    "no supported sample format (default {})",
                    def.sample_format()
                ),
            )
        })
}

/// The stream configuration: the device's, with a period of about [`PERIOD_SECONDS`] where the
/// device says which sizes it takes.
fn stream_config(config: &cpal::SupportedStreamConfig) -> cpal::StreamConfig {
    let mut c = config.config();
    if let cpal::SupportedBufferSize::Range { min, max } = *config.buffer_size() {
        let want = (f64::from(config.sample_rate()) * PERIOD_SECONDS) as u32;
        c.buffer_size = cpal::BufferSize::Fixed(want.clamp(min, max.max(min)));
    }
    c
}

fn build_stream(
    device: &cpal::Device,
    config: &cpal::SupportedStreamConfig,
    shared: &Arc<Shared>,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    let preferred = stream_config(config);
    match build_stream_with(device, config.sample_format(), preferred, shared) {
        Err(_) if preferred.buffer_size != cpal::BufferSize::Default => {
            let fallback = config.config();
            build_stream_with(device, config.sample_format(), fallback, shared)
        }
        r => r,
    }
}

fn build_stream_with(
    device: &cpal::Device,
    format: SampleFormat,
    config: cpal::StreamConfig,
    shared: &Arc<Shared>,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    fn build<T: SizedSample + FromSample<f32>>(
        device: &cpal::Device,
        config: cpal::StreamConfig,
        shared: &Arc<Shared>,
    ) -> std::result::Result<cpal::Stream, cpal::Error> {
        let mut out = Output::new(shared.clone());
        let sh = shared.clone();
        device.build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], _: &cpal::OutputCallbackInfo| out.fill(data),
            move |e: cpal::Error| {
                if e.kind() != cpal::ErrorKind::Xrun {
                    if let Ok(mut slot) = sh.device_error.try_lock() {
                        slot.get_or_insert_with(|| format!("audio output device failed: {e}"));
                    }
                    sh.wake_session();
                }
            },
            None,
        )
    }
    match format {
        SampleFormat::F32 => build::<f32>(device, config, shared),
        SampleFormat::I16 => build::<i16>(device, config, shared),
        SampleFormat::I32 => build::<i32>(device, config, shared),
        SampleFormat::F64 => build::<f64>(device, config, shared),
        SampleFormat::U16 => build::<u16>(device, config, shared),
        SampleFormat::I8 => build::<i8>(device, config, shared),
        SampleFormat::U8 => build::<u8>(device, config, shared),
        SampleFormat::U32 => build::<u32>(device, config, shared),
        SampleFormat::I64 => build::<i64>(device, config, shared),
        SampleFormat::U64 => build::<u64>(device, config, shared),
        other => Err(cpal::Error::with_message(
            cpal::ErrorKind::UnsupportedConfig,
            format!("sample format {other} is not supported"),
        )),
    }
}

// ---- the player ----

/// Labels of every output device (for `callvault devices`), each accepted by [`Player::new`]: a
/// device's name, or "name (id)" where two share a name.
pub fn output_devices() -> Result<Vec<String>> {
    Ok(labelled_devices(&cpal::default_host())?
        .into_iter()
        .map(|(l, _)| l)
        .collect())
}

struct Settings {
    speed: f64,
    volume: f32,
    normalize: bool,
}

struct Playback {
    shared: Arc<Shared>,
    cmds: Sender<Cmd>,
    thread: Option<JoinHandle<()>>,
    src_rate: u32,
    total: Option<u64>,
}

impl Playback {
    fn reposition(&self, frame: u64, speed: f64) {
        let sh = &self.shared;
        let frame = self.total.map_or(frame, |t| frame.min(t));
        let gen = sh.want_gen.load(Ordering::Acquire) + 1;
        *lock(&sh.asked) = (gen, frame);
        sh.seek_asked_ns.store(sh.since_t0(), Ordering::Relaxed);
        sh.want_gen.store(gen, Ordering::Release);
        let _ = self.cmds.send(Cmd::Reposition { gen, frame, speed });
        sh.wake_session();
    }

    fn is_running(&self) -> bool {
        !self.shared.over.load(Ordering::Acquire)
    }
}

/// An output device and what plays on it. All methods take `&self`; the player is `Send + Sync`.
pub struct Player {
    device: cpal::Device,
    name: String,
    config: cpal::SupportedStreamConfig,
    settings: Mutex<Settings>,
    current: Mutex<Option<Playback>>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("device", &self.name)
            .field("rate", &self.config.sample_rate())
            .field("channels", &self.config.channels())
            .field("format", &self.config.sample_format())
            .finish()
    }
}

impl Player {
    /// The output device named `device_name` (a label from [`Player::output_devices`], a device's
    /// name or its id, case-insensitive), or the default one. With no usable device (no sound
    /// card) this is an [`Error::Audio`] saying so.
    pub fn new(device_name: Option<&str>) -> Result<Player> {
        let host = cpal::default_host();
        let device = match device_name {
            None => host.default_output_device().ok_or_else(|| {
                device_error("default", "no sound output device is available".into())
            })?,
            Some(want) => {
                let devices = labelled_devices(&host)?;
                let found = devices.iter().position(|(label, d)| {
                    label.eq_ignore_ascii_case(want)
                        || name_of(d).eq_ignore_ascii_case(want)
                        || device_id(d).eq_ignore_ascii_case(want)
                });
                match found {
                    Some(i) => devices.into_iter().nth(i).expect("found").1,
                    None => {
                        let labels: Vec<&str> = devices.iter().map(|(l, _)| l.as_str()).collect();
                        return Err(device_error(
                            want,
                            format!(
                                "no such output device (there are: {})",
                                if labels.is_empty() {
                                    "none".to_string()
                                } else {
                                    labels.join(", ")
                                }
                            ),
                        ));
                    }
                }
            }
        };
        let name = name_of(&device);
        let config = choose_config(&device).map_err(|e| {
            device_error(
                &name,
                format!("no sound output device is available or usable ({e})"),
            )
        })?;
        Ok(Player {
            device,
            name,
            config,
            settings: Mutex::new(Settings {
                speed: 1.0,
                volume: 1.0,
                normalize: false,
            }),
            current: Mutex::new(None),
        })
    }

    /// Labels of every output device, each accepted by [`Player::new`] (as [`output_devices`]).
    pub fn output_devices() -> Result<Vec<String>> {
        output_devices()
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The device's sample rate, which every recording is resampled to.
    pub fn output_rate(&self) -> u32 {
        self.config.sample_rate()
    }

    pub fn output_channels(&self) -> u16 {
        self.config.channels()
    }

    /// The device's sample format ("f32", "i16", ...).
    pub fn output_format(&self) -> String {
        self.config.sample_format().to_string()
    }

    /// Play `decoder` from its current position (stopping whatever was playing). The events of
    /// this playback arrive on the receiver, which closes when it ends or is stopped.
    pub fn play(&self, decoder: Decoder) -> Result<Receiver<PlayerEvent>> {
        let t0 = Instant::now();
        self.stop();
        let src_rate = decoder.sample_rate();
        let src_ch = usize::from(decoder.channels());
        if src_rate == 0 || src_ch == 0 {
            return Err(Error::Audio {
                file: decoder.file().to_string(),
                reason: "no sample rate or channel count".into(),
            });
        }
        let dev_rate = self.config.sample_rate();
        let dev_ch = usize::from(self.config.channels());
        let (speed, volume, normalize) = {
            let s = lock(&self.settings);
            (s.speed, s.volume, s.normalize)
        };
        let pipe = Pipeline {
            src_rate,
            src_ch,
            dev_rate,
            dev_ch,
            stretch: TimeStretch::new(src_rate, src_ch, speed),
            resample: Resample::new(src_rate, dev_rate, src_ch)?,
            a: Vec::new(),
            b: Vec::new(),
            pending: Vec::new(),
            pending_at: 0,
        };
        let total = decoder.total_frames();
        let shared = Arc::new(Shared {
            ring: Ring::new((f64::from(dev_rate) * RING_SECONDS) as usize * dev_ch),
            channels: dev_ch,
            rate: dev_rate,
            want_gen: AtomicU64::new(0),
            epoch: Mutex::new(Epoch {
                gen: 0,
                start: 0,
                src_start: decoder.position(),
                ratio: pipe.ratio(),
                end: None,
            }),
            asked: Mutex::new((NONE, 0)),
            finished_gen: AtomicU64::new(NONE),
            paused: AtomicBool::new(false),
            over: AtomicBool::new(false),
            volume: AtomicU32::new(volume.to_bits()),
            normalize: AtomicBool::new(normalize),
            session: OnceLock::new(),
            device_error: Mutex::new(None),
            t0,
            first_buffer_ns: AtomicU64::new(0),
            seek_asked_ns: AtomicU64::new(0),
            seek_done_ns: AtomicU64::new(0),
            underrun_frames: AtomicU64::new(0),
        });
        let stream = build_stream(&self.device, &self.config, &shared)
            .map_err(|e| device_error(&self.name, format!("cannot open for playing ({e})")))?;
        let (events, receiver) = mpsc::channel();
        let (cmds, cmd_rx) = mpsc::channel();
        let session = Session {
            decoder,
            shared: shared.clone(),
            pipe,
            cmds: cmd_rx,
            events,
            gen: 0,
            state: Produce::Decoding,
            src_rate,
            total,
        };
        let sh = shared.clone();
        let thread = thread::Builder::new()
            .name("callvault-player".into())
            .spawn(move || {
                let _ = sh.session.set(thread::current());
                session.run(stream);
            })
            .map_err(|e| Error::Audio {
                file: "player".into(),
                reason: format!("cannot start the player thread ({e})"),
            })?;
        *lock(&self.current) = Some(Playback {
            shared,
            cmds,
            thread: Some(thread),
            src_rate,
            total,
        });
        Ok(receiver)
    }

    /// Stop playing and close the device. Returns once the device is closed.
    pub fn stop(&self) {
        let playback = lock(&self.current).take();
        if let Some(mut p) = playback {
            let _ = p.cmds.send(Cmd::Stop);
            p.shared.wake_session();
            if let Some(t) = p.thread.take() {
                let _ = t.join();
            }
        }
    }

    pub fn pause(&self) {
        if let Some(p) = lock(&self.current).as_ref() {
            p.shared.paused.store(true, Ordering::Relaxed);
        }
    }

    pub fn resume(&self) {
        if let Some(p) = lock(&self.current).as_ref() {
            p.shared.paused.store(false, Ordering::Relaxed);
            p.shared.wake_session();
        }
    }

    pub fn is_paused(&self) -> bool {
        lock(&self.current)
            .as_ref()
            .is_some_and(|p| p.shared.paused.load(Ordering::Relaxed))
    }

    /// True while a playback has not ended, failed or been stopped.
    pub fn is_playing(&self) -> bool {
        lock(&self.current)
            .as_ref()
            .is_some_and(Playback::is_running)
    }

    fn with_playback<T>(&self, f: impl FnOnce(&Playback) -> T) -> Result<T> {
        match lock(&self.current).as_ref() {
            Some(p) if p.is_running() => Ok(f(p)),
            _ => Err(Error::Invalid("nothing is playing".into())),
        }
    }

    /// Continue from `to` (clamped to the end); what was buffered is dropped.
    pub fn seek(&self, to: Duration) -> Result<()> {
        let speed = lock(&self.settings).speed;
        self.with_playback(|p| {
            let frame = (to.as_secs_f64() * f64::from(p.src_rate)).round() as u64;
            p.reposition(frame, speed);
        })
    }

    /// Jump `seconds` forward (or back, if negative) from the current position, within the
    /// recording. The UI's buttons use ±[`SKIP_SECONDS`].
    pub fn skip(&self, seconds: i64) -> Result<()> {
        let speed = lock(&self.settings).speed;
        self.with_playback(|p| {
            let now = p.shared.position() as i64;
            let frame = (now + seconds * i64::from(p.src_rate)).max(0) as u64;
            p.reposition(frame, speed);
        })
    }

    /// Where playback is in the recording.
    pub fn position(&self) -> Option<Duration> {
        lock(&self.current).as_ref().map(|p| {
            let f = p.shared.position();
            let f = p.total.map_or(f, |t| f.min(t));
            Duration::from_secs_f64(f as f64 / f64::from(p.src_rate))
        })
    }

    /// The length of what is playing, if its container says.
    pub fn duration(&self) -> Option<Duration> {
        lock(&self.current).as_ref().and_then(|p| {
            p.total
                .map(|t| Duration::from_secs_f64(t as f64 / f64::from(p.src_rate)))
        })
    }

    /// Playback speed, 0.5–2.0, the pitch kept; it applies at once (from the current position)
    /// and to later plays.
    pub fn set_speed(&self, speed: f64) -> Result<()> {
        if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
            return Err(Error::Invalid(format!(
                "speed {speed} is outside {MIN_SPEED}–{MAX_SPEED}"
            )));
        }
        let old = std::mem::replace(&mut lock(&self.settings).speed, speed);
        if old != speed {
            let _ = self.with_playback(|p| p.reposition(p.shared.position(), speed));
        }
        Ok(())
    }

    pub fn speed(&self) -> f64 {
        lock(&self.settings).speed
    }

    /// Volume, 0.0–1.5 (above 1.0 the limiter keeps peaks below full scale).
    pub fn set_volume(&self, volume: f32) -> Result<()> {
        if !(0.0..=MAX_VOLUME).contains(&volume) {
            return Err(Error::Invalid(format!(
                "volume {volume} is outside 0–{MAX_VOLUME}"
            )));
        }
        lock(&self.settings).volume = volume;
        if let Some(p) = lock(&self.current).as_ref() {
            p.shared.volume.store(volume.to_bits(), Ordering::Relaxed);
        }
        Ok(())
    }

    pub fn volume(&self) -> f32 {
        lock(&self.settings).volume
    }

    /// Loudness normalisation (off by default): quiet calls brought up towards a common level
    /// (RMS about −20 dBFS, at most +18 dB), loud ones down a little, with a limiter.
    pub fn set_normalize(&self, on: bool) {
        lock(&self.settings).normalize = on;
        if let Some(p) = lock(&self.current).as_ref() {
            p.shared.normalize.store(on, Ordering::Relaxed);
        }
    }

    pub fn normalize(&self) -> bool {
        lock(&self.settings).normalize
    }

    /// Timings of the current or last playback.
    pub fn stats(&self) -> PlayerStats {
        let cur = lock(&self.current);
        let Some(p) = cur.as_ref() else {
            return PlayerStats::default();
        };
        let sh = &p.shared;
        let ns = |a: &AtomicU64| match a.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        };
        let asked = ns(&sh.seek_asked_ns);
        let done = ns(&sh.seek_done_ns);
        PlayerStats {
            first_buffer: ns(&sh.first_buffer_ns).map(Duration::from_nanos),
            last_seek: match (asked, done) {
                (Some(a), Some(d)) if d >= a => Some(Duration::from_nanos(d - a)),
                _ => None,
            },
            underrun_frames: sh.underrun_frames.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Player>();
        send_sync::<PlayerEvent>();
    }

    #[test]
    fn ring_wraps_and_keeps_whole_frames() {
        let r = Ring::new(10);
        assert_eq!(r.capacity(), 1024);
        let data: Vec<f32> = (0..1500).map(|i| i as f32).collect();
        assert_eq!(r.push(&data, 3), 1023);
        assert_eq!(r.push(&data, 3), 0);
        for i in 0..600 {
            assert_eq!(r.get(i), i as f32);
        }
        r.set_read(600);
        assert_eq!(r.push(&data[1023..], 3), 477);
        assert_eq!(r.len(), 900);
        for i in 600..1500 {
            assert_eq!(r.get(i), i as f32);
        }
    }

    #[test]
    fn channels_mono_to_all_and_fold_down() {
        let mut out = Vec::new();
        map_channels(&[0.5, -0.25], 1, 2, &mut out);
        assert_eq!(out, [0.5, 0.5, -0.25, -0.25]);
        out.clear();
        map_channels(&[0.5, -0.25], 2, 1, &mut out);
        assert_eq!(out, [0.125]);
        out.clear();
        map_channels(&[0.5, 0.25], 2, 4, &mut out);
        assert_eq!(out, [0.5, 0.25, 0.0, 0.0]);
    }

    #[test]
    fn resampler_is_aligned_and_exact_in_length() {
        let src: Vec<f32> = (0..8000 * 2)
            .map(|i| (2.0 * std::f32::consts::PI * 300.0 * i as f32 / 8000.0).sin() * 0.5)
            .collect();
        let mut r = Resample::new(8000, 48000, 1).unwrap();
        let mut out = Vec::new();
        for c in src.chunks(777) {
            r.push(c, &mut out);
        }
        r.finish(&mut out);
        assert_eq!(out.len(), src.len() * 6);
        // Aligned: output frame 6j is input frame j.
        let err = (100..src.len() - 100)
            .map(|j| (out[6 * j] - src[j]).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 0.01, "max error {err}");
        // Equal rates: untouched.
        let mut same = Resample::new(8000, 8000, 1).unwrap();
        let mut o = Vec::new();
        same.push(&src, &mut o);
        same.finish(&mut o);
        assert_eq!(o, src);
    }

    #[test]
    fn dsp_is_exact_at_unity_and_limits_above() {
        let mut d = Dsp::new(48000, 1.0);
        let mut f = [0.123f32, -0.999];
        d.process(&mut f, 1.0, false);
        assert_eq!(f, [0.123, -0.999]);
        let mut d = Dsp::new(48000, 1.5);
        let mut peak = 0.0f32;
        for i in 0..48000 {
            let v = (i as f32 * 0.05).sin() * 0.9;
            let mut f = [v, v];
            d.process(&mut f, 1.5, false);
            peak = peak.max(f[0].abs());
        }
        assert!(peak <= LIMIT + 1e-6, "peak {peak}");
        assert!(peak > 0.9, "peak {peak}");
    }

    #[test]
    fn normalisation_lifts_quiet_audio_without_clipping() {
        let mut d = Dsp::new(8000, 1.0);
        let mut sum = 0.0f64;
        let mut peak = 0.0f32;
        for i in 0..8000 * 10 {
            let mut f = [(i as f32 * 0.2).sin() * 0.01];
            d.process(&mut f, 1.0, true);
            if i >= 8000 * 8 {
                sum += f64::from(f[0] * f[0]);
                peak = peak.max(f[0].abs());
            }
        }
        let rms = (sum / 16000.0).sqrt() as f32;
        // 0.007 RMS in, gain capped at 8x: about 0.057 out.
        assert!(rms > 0.05 && rms < 0.06, "rms {rms}");
        assert!(peak <= LIMIT);
        let mut d = Dsp::new(8000, 1.0);
        let mut peak = 0.0f32;
        for i in 0..8000 * 4 {
            let mut f = [(i as f32 * 0.2).sin() * 0.5];
            d.process(&mut f, 1.5, true);
            peak = peak.max(f[0].abs());
        }
        assert!(peak <= LIMIT + 1e-6, "peak {peak}");
    }
}
