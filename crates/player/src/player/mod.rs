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
//!
//! By job: `events` (what a playback reports), `ring` (the lock-free ring buffer), `shared` (the
//! state the player, the session thread and the device callback share), `output` (the device
//! callback: volume, normalisation, limiter), `pipeline` (stretch, resample, channels), `session`
//! (the session thread) and `device` (cpal: listing devices, choosing a configuration, opening the
//! stream). This file holds [`Player`] itself.

mod device;
mod events;
mod output;
mod pipeline;
mod ring;
mod session;
mod shared;

pub use events::{PlayerEvent, PlayerStats};

use crate::stretch::{TimeStretch, MAX_SPEED, MIN_SPEED};
use callvault_core::audio::decode::Playable;
use callvault_core::{Error, Result};
use cpal::traits::HostTrait;
use device::{build_stream, choose_config, device_error, device_id, labelled_devices, name_of};
use pipeline::{Pipeline, Resample};
use ring::Ring;
use session::{Cmd, Produce, Session};
use shared::{lock, Epoch, Shared, NONE};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Loudest volume offered (150 %).
pub const MAX_VOLUME: f32 = 1.5;
/// The step of the UI's back and forward buttons.
pub const SKIP_SECONDS: i64 = 10;

/// Device audio the ring buffer holds (rounded up to a power of two samples).
const RING_SECONDS: f64 = 1.0;

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

    /// Play `decoder` (one recording's decoder, or a conversation's legs stitched) from its
    /// current position (stopping whatever was playing). The events of this playback arrive on
    /// the receiver, which closes when it ends or is stopped.
    pub fn play(&self, decoder: impl Playable + 'static) -> Result<Receiver<PlayerEvent>> {
        let decoder: Box<dyn Playable> = Box::new(decoder);
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
mod tests;
