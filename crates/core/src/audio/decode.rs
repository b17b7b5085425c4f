//! Decoding a recording to interleaved `f32`, from any [`MediaSource`] — in the app, a
//! [`DecryptingReader`] over the encrypted object, so plaintext exists only in memory and only for
//! the segments being decoded.
//!
//! - [`codecs`]: symphonia's codecs plus GSM 06.10 ([`super::gsm`]).
//! - [`probe_format`]: opens any supported container: WAV (PCM, µ-law, A-law, IMA and MS ADPCM),
//!   MP3 (gapless), FLAC, Ogg Vorbis and M4A/AAC through symphonia; raw GSM and WAV49 through
//!   [`super::gsm`].
//! - [`Decoder`]: blocks of samples, seekable to any frame; a read or decode failure (for an
//!   archive object, a segment that does not authenticate) stops it with [`Error::Audio`] saying
//!   where: "recording damaged at mm:ss". Nothing after that point is returned.
//! - [`decode_all`], and [`peaks`] for waveforms.

use super::gsm::{RawGsmReader, Wav49Reader, CODEC_TYPE_GSM, CODEC_TYPE_GSM_MS, FRAME_SAMPLES};
use crate::archive::audio::DecryptingReader;
use crate::error::{Error, Result};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, OnceLock};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecRegistry, CodecType, DecoderOptions, CODEC_TYPE_AAC, CODEC_TYPE_ADPCM_IMA_WAV,
    CODEC_TYPE_ADPCM_MS, CODEC_TYPE_FLAC, CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3,
    CODEC_TYPE_NULL, CODEC_TYPE_VORBIS,
};
use symphonia::core::errors::{Error as SymError, SeekErrorKind};
use symphonia::core::formats::{FormatOptions, FormatReader, Packet, SeekMode, SeekTo};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, SeekBuffered};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Window of [`peaks`] used for waveforms.
pub const PEAK_WINDOW_MS: u32 = 10;

/// GSM frames (2 s) decoded and discarded before a seek target, so that the decoder's recursive
/// filters hold what they would have held had it decoded from the start. GSM's state never resets
/// by itself; on speech, with or without background noise or mains hum, 50 frames were always
/// enough for sample-exact output here (30 usually). A steady pure tone never converges exactly,
/// in any GSM decoder (the long-term predictor replays its memory at unity gain).
const GSM_PREROLL_FRAMES: u64 = 100;

/// Frames decoded and discarded before a seek target in MP3, AAC and Vorbis (1 s at 8 kHz).
const LOSSY_PREROLL_FRAMES: u64 = 8192;

/// How many bytes [`probe_format`] looks at to recognise GSM.
const SNIFF_LEN: usize = 4096;

/// An archive object's plaintext as a symphonia source (seekable, length known).
impl<R: Read + Seek + Send + Sync> MediaSource for DecryptingReader<R> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len())
    }
}

/// A source shared between the format reader and the [`Decoder`], which can then make a fresh
/// reader over it (symphonia 0.5's `MediaSourceStream` cannot give its source back).
#[derive(Clone)]
struct SharedSource(Arc<Mutex<Box<dyn MediaSource>>>);

impl SharedSource {
    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, Box<dyn MediaSource>>> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("audio source poisoned"))
    }
}

impl Read for SharedSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.lock()?.read(buf)
    }
}

impl Seek for SharedSource {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.lock()?.seek(pos)
    }
}

impl MediaSource for SharedSource {
    fn is_seekable(&self) -> bool {
        self.lock().map(|s| s.is_seekable()).unwrap_or(false)
    }

    fn byte_len(&self) -> Option<u64> {
        self.lock().ok().and_then(|s| s.byte_len())
    }
}

/// symphonia's default codecs plus GSM 06.10 (`gsm`, `gsm_ms`).
pub fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_all::<super::gsm::GsmDecoder>();
        r
    })
}

/// The short name of a codec ("pcm_mulaw", "mp3", "gsm_ms", ...), as shown to users.
pub fn codec_name(codec: CodecType) -> &'static str {
    codecs()
        .get_codec(codec)
        .map(|d| d.short_name)
        .unwrap_or("unknown")
}

thread_local! {
    /// Set while [`guard`] runs: a panic then is reported as an error, not printed.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run a call into a container reader or codec, turning a panic into an error. Some of
/// symphonia's readers and codecs panic on hostile input (an arithmetic overflow in the MS ADPCM
/// decoder, found by fuzzing): a recording that does that is refused as damaged, like any other,
/// rather than taking the app down. The panic message is not printed (the error says what failed).
pub(crate) fn guard<T>(
    f: impl FnOnce() -> std::result::Result<T, SymError>,
) -> std::result::Result<T, SymError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info)
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    r.unwrap_or(Err(SymError::DecodeError(
        "the audio decoder failed on this data (damaged or malformed)",
    )))
}

/// Open the container of `source`. WAV49 and raw GSM are recognised by content (raw GSM more
/// readily with the `gsm` extension), before symphonia's own probe, which would refuse the first
/// and could mistake the second for MPEG audio. Gapless trimming is on.
pub fn probe_format(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> std::result::Result<Box<dyn FormatReader>, SymError> {
    guard(|| probe_unguarded(source, extension))
}

fn probe_unguarded(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> std::result::Result<Box<dyn FormatReader>, SymError> {
    let mut mss = MediaSourceStream::new(source, Default::default());
    let opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };

    // Look at the first bytes, then give them back (they stay in the stream's buffer).
    let mut head = vec![0u8; SNIFF_LEN];
    let mut got = 0;
    while got < head.len() {
        match mss.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(SymError::IoError(e)),
        }
    }
    head.truncate(got);
    mss.seek_buffered_rev(got);

    // (symphonia's probe skips junk before a marker, and may sync on a later one when the first
    // fails: check every FLAC marker in the head.)
    let marks: Vec<usize> = head
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"fLaC")
        .map(|(i, _)| i)
        .collect();
    for at in marks {
        check_flac_comments(&mut mss, at)?;
    }
    let is_gsm_ext = extension.is_some_and(|e| e.eq_ignore_ascii_case("gsm"));
    if Wav49Reader::sniff(&head).is_some_and(|f| f.tag == super::gsm::WAVE_FORMAT_GSM610) {
        return Ok(Box::new(<Wav49Reader as FormatReader>::try_new(
            mss, &opts,
        )?));
    }
    if RawGsmReader::sniff(&head, mss.byte_len(), is_gsm_ext) {
        return Ok(Box::new(<RawGsmReader as FormatReader>::try_new(
            mss, &opts,
        )?));
    }
    let mut hint = Hint::new();
    if let Some(e) = extension {
        hint.with_extension(e);
    }
    symphonia::default::get_probe()
        .format(&hint, mss, &opts, &MetadataOptions::default())
        .map(|p| p.format)
}

/// symphonia 0.5 allocates each FLAC Vorbis comment's and PICTURE's stated length (up to 4 GiB)
/// before reading it (found by fuzzing): refuse a FLAC whose comment or picture block holds a
/// length beyond its own end.
/// Reads the metadata blocks after the `fLaC` marker at `at`, then returns to the start.
fn check_flac_comments(
    mss: &mut MediaSourceStream,
    at: usize,
) -> std::result::Result<(), SymError> {
    const DAMAGED: SymError =
        SymError::DecodeError("flac: a Vorbis comment or picture longer than its block");
    mss.ignore_bytes(at as u64 + 4)?;
    loop {
        let mut h = [0u8; 4];
        if mss.read_exact(&mut h).is_err() {
            break; // truncated: symphonia's reader says so
        }
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize; // at most 16 MiB
        if matches!(h[0] & 0x7f, 4 | 6) {
            // The block as far as the file holds it: symphonia allocates before finding it cut short.
            let mut body = Vec::new();
            (&mut *mss).take(len as u64).read_to_end(&mut body)?;
            let fits = if h[0] & 0x7f == 4 {
                vorbis_comment_fits(&body)
            } else {
                picture_fits(&body)
            };
            if !fits {
                return Err(DAMAGED);
            }
            if body.len() < len {
                break;
            }
        } else if mss.ignore_bytes(len as u64).is_err() {
            break;
        }
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    mss.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// Does every length in a FLAC PICTURE block (MIME type, description, picture data; big-endian)
/// fit inside it? symphonia allocates the stated picture length before reading it (found by fuzzing).
fn picture_fits(b: &[u8]) -> bool {
    let mut at = 4usize; // picture type
    let take = |at: &mut usize| -> Option<usize> {
        let v = b.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_be_bytes(v.try_into().ok()?) as usize)
    };
    let Some(mime) = take(&mut at) else {
        return false;
    };
    at = at.saturating_add(mime);
    let Some(desc) = take(&mut at) else {
        return false;
    };
    at = at.saturating_add(desc).saturating_add(16); // width, height, depth, colours
    match take(&mut at) {
        Some(data) => data <= b.len().saturating_sub(at),
        None => false,
    }
}

/// Does every length in a Vorbis comment block (vendor string, each comment) fit inside it?
fn vorbis_comment_fits(b: &[u8]) -> bool {
    let mut at = 0usize;
    let u32_at = |at: &mut usize| -> Option<usize> {
        let v = b.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_le_bytes(v.try_into().ok()?) as usize)
    };
    let Some(vendor) = u32_at(&mut at) else {
        return false;
    };
    at = at.saturating_add(vendor);
    let Some(n) = u32_at(&mut at) else {
        return false;
    };
    for _ in 0..n {
        match u32_at(&mut at) {
            Some(len) if len <= b.len().saturating_sub(at) => at += len,
            _ => return false,
        }
    }
    true
}

#[derive(Debug)]
enum State {
    Ready,
    Ended,
    Failed(String),
}

/// A recording being decoded: interleaved `f32` blocks, seekable to any frame.
pub struct Decoder {
    file: String,
    extension: Option<String>,
    source: SharedSource,
    /// `None` only if reopening it failed (the decoder has then failed for good).
    format: Option<Box<dyn FormatReader>>,
    codec: Box<dyn symphonia::core::codecs::Decoder>,
    codec_type: CodecType,
    track_id: u32,
    rate: u32,
    channels: u16,
    total_frames: Option<u64>,
    frames_per_block: u64,
    /// Frame index just past the last frame decoded (or the seek target).
    pos: u64,
    /// Frames before this index are decoded but not returned (after a seek).
    skip_to: u64,
    /// A block decoded at open (to learn the channel count), returned first.
    primed: Option<Vec<f32>>,
    /// A packet read while seeking, to decode next.
    held: Option<Packet>,
    /// Pre-roll frames are being decoded before `skip_to`: if they cannot be (damage), go straight
    /// to `skip_to` instead.
    in_preroll: bool,
    conv: Option<SampleBuffer<f32>>,
    state: State,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("file", &self.file)
            .field("codec", &self.codec_name())
            .field("rate", &self.rate)
            .field("channels", &self.channels)
            .field("total_frames", &self.total_frames)
            .field("pos", &self.pos)
            .field("state", &self.state)
            .finish()
    }
}

/// `frames` at `rate` as mm:ss (minutes not wrapped at the hour).
pub fn mmss(frames: u64, rate: u32) -> String {
    let s = frames / u64::from(rate.max(1));
    format!("{:02}:{:02}", s / 60, s % 60)
}

fn short(e: &SymError) -> String {
    e.to_string().chars().take(160).collect()
}

impl Decoder {
    /// Open `source`; `file` names the recording in errors. The first block is decoded here, so a
    /// source that does not decode at all is refused at once.
    pub fn open<S: MediaSource + 'static>(
        source: S,
        extension: Option<&str>,
        file: &str,
    ) -> Result<Decoder> {
        let audio_err = |reason: String| Error::Audio {
            file: file.to_string(),
            reason,
        };
        let source = SharedSource(Arc::new(Mutex::new(Box::new(source))));
        let format = probe_format(Box::new(source.clone()), extension)
            .map_err(|e| audio_err(format!("not a recognised audio file ({})", short(&e))))?;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| audio_err("no audio track".into()))?
            .clone();
        let params = &track.codec_params;
        let codec = guard(|| codecs().make(params, &DecoderOptions::default()))
            .map_err(|e| audio_err(format!("audio codec not supported ({})", short(&e))))?;
        let rate = params
            .sample_rate
            .ok_or_else(|| audio_err("no sample rate".into()))?;
        let mut d = Decoder {
            file: file.to_string(),
            extension: extension.map(str::to_string),
            source,
            format: Some(format),
            codec,
            codec_type: params.codec,
            track_id: track.id,
            rate,
            channels: params.channels.map(|c| c.count() as u16).unwrap_or(0),
            total_frames: params.n_frames.filter(|&n| n > 0),
            frames_per_block: params.frames_per_block.unwrap_or(1),
            pos: 0,
            skip_to: 0,
            primed: None,
            held: None,
            in_preroll: false,
            conv: None,
            state: State::Ready,
        };
        // Decode the first block now: it settles the channel count and rate (which a stream's
        // header may leave out) and fails early on what cannot be decoded.
        d.primed = d.next_block()?;
        Ok(d)
    }

    /// The recording's name, as given to [`Decoder::open`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The codec's short name ("pcm_mulaw", "gsm_ms", ...).
    pub fn codec_name(&self) -> &'static str {
        codec_name(self.codec_type)
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Frames (samples per channel) in the recording, if the container says.
    pub fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }

    /// Frames before the next one [`Decoder::next_block`] returns (approximate after an error).
    pub fn position(&self) -> u64 {
        if let Some(b) = &self.primed {
            self.pos - (b.len() / usize::from(self.channels.max(1))) as u64
        } else {
            self.pos.max(self.skip_to)
        }
    }

    fn needs_scan_seek(&self) -> bool {
        // symphonia 0.5's WAV reader seeks block-coded (ADPCM) streams to the wrong byte offset
        // (frame index × block size); see `seek_reader`.
        matches!(
            self.codec_type,
            CODEC_TYPE_ADPCM_IMA_WAV | CODEC_TYPE_ADPCM_MS
        )
    }

    fn preroll(&self) -> u64 {
        match self.codec_type {
            CODEC_TYPE_GSM | CODEC_TYPE_GSM_MS => GSM_PREROLL_FRAMES * FRAME_SAMPLES as u64,
            // Overlapped transforms: the first packet after a reset only primes the overlap (a
            // Vorbis decoder returns nothing for it), and the filter banks need a frame or two.
            CODEC_TYPE_MP3 | CODEC_TYPE_MP2 | CODEC_TYPE_MP1 | CODEC_TYPE_AAC
            | CODEC_TYPE_VORBIS => LOSSY_PREROLL_FRAMES,
            _ => 0,
        }
    }

    fn fail(&mut self, at: u64, e: &SymError) -> Error {
        let reason = format!(
            "recording damaged at {} ({})",
            mmss(at, self.rate),
            short(e)
        );
        self.state = State::Failed(reason.clone());
        self.primed = None;
        self.held = None;
        Error::Audio {
            file: self.file.clone(),
            reason,
        }
    }

    /// The format reader (present unless reopening it failed, which fails the decoder).
    fn format(&mut self) -> std::result::Result<&mut Box<dyn FormatReader>, SymError> {
        self.format
            .as_mut()
            .ok_or(SymError::DecodeError("the container could not be reopened"))
    }

    /// Replace the format reader with a fresh one over the same source.
    fn reopen(&mut self) -> std::result::Result<(), SymError> {
        self.format = None;
        let mut source = self.source.clone();
        source.seek(SeekFrom::Start(0))?;
        self.format = Some(probe_format(Box::new(source), self.extension.as_deref())?);
        Ok(())
    }

    /// Position the reader at the packet holding `ts`; returns false if that is past the end.
    fn seek_reader(&mut self, ts: u64) -> std::result::Result<bool, SymError> {
        if self.codec_type == CODEC_TYPE_FLAC {
            // symphonia 0.5's FLAC reader keeps the last frame header it saw across a seek that
            // lands exactly on a frame, then refuses the frames that follow as out of sequence
            // (losing the last frame, or more after a seek backwards): start from a fresh reader.
            self.reopen()?;
        }
        let scan = self.needs_scan_seek();
        let (fpb, track_id) = (self.frames_per_block.max(1), self.track_id);
        let to = || SeekTo::TimeStamp {
            // symphonia 0.5's WAV reader seeks block-coded streams to byte `ts × block size`:
            // asking for the block index lands on a block at or before the target (and still
            // would, were that fixed); packets are then skipped up to the target.
            ts: if scan { ts / fpb } else { ts },
            track_id,
        };
        let mut sought = guard(|| self.format()?.seek(SeekMode::Accurate, to()));
        if let Err(SymError::IoError(e)) = &sought {
            if e.kind() != ErrorKind::UnexpectedEof {
                // An accurate seek may read its way there (MP3 does), through damage before the
                // target; a coarse one jumps (by the bitrate or a table of contents).
                sought = guard(|| self.format()?.seek(SeekMode::Coarse, to()));
            }
        }
        match sought {
            Ok(s) => self.pos = s.actual_ts,
            Err(SymError::SeekError(SeekErrorKind::OutOfRange)) => return Ok(false),
            Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e),
        }
        self.codec.reset();
        if scan {
            // Skip packets (read, not decoded) wholly before the target.
            let track = self.track_id;
            loop {
                match guard(|| self.format()?.next_packet()) {
                    Ok(p) if p.track_id() != track => {}
                    Ok(p) if p.ts + p.dur <= ts => self.pos = p.ts + p.dur,
                    Ok(p) => {
                        self.held = Some(p);
                        break;
                    }
                    Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                        return Ok(false)
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(true)
    }

    /// Continue from `frame` (clamped to the end). Clears an earlier error: what lies after a
    /// damaged segment can still be reached.
    pub fn seek(&mut self, frame: u64) -> Result<()> {
        let frame = self.total_frames.map_or(frame, |t| frame.min(t));
        self.primed = None;
        self.held = None;
        self.state = State::Ready;
        self.skip_to = frame;
        if self.total_frames.is_some_and(|t| frame >= t) {
            self.pos = frame;
            self.in_preroll = false;
            self.state = State::Ended;
            return Ok(());
        }
        let start = frame.saturating_sub(self.preroll());
        self.in_preroll = start < frame;
        match self.seek_reader(start) {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.pos = frame;
                self.state = State::Ended;
                Ok(())
            }
            Err(e) if self.in_preroll => self.skip_preroll(&e),
            Err(e) => Err(self.fail(frame, &e)),
        }
    }

    /// The pre-roll before a seek target could not be read or decoded: seek to the target itself
    /// (the decoder starting from a reset state there).
    fn skip_preroll(&mut self, _cause: &SymError) -> Result<()> {
        self.in_preroll = false;
        self.held = None;
        let frame = self.skip_to;
        match self.seek_reader(frame) {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.state = State::Ended;
                Ok(())
            }
            Err(e) => Err(self.fail(frame, &e)),
        }
    }

    /// The next block of interleaved samples, `None` at the end. After an error, every call
    /// returns that error until a [`Decoder::seek`].
    pub fn next_block(&mut self) -> Result<Option<Vec<f32>>> {
        if let Some(b) = self.primed.take() {
            return Ok(Some(b));
        }
        loop {
            match &self.state {
                State::Ready => {}
                State::Ended => return Ok(None),
                State::Failed(reason) => {
                    return Err(Error::Audio {
                        file: self.file.clone(),
                        reason: reason.clone(),
                    })
                }
            }
            let packet = match self.held.take() {
                Some(p) => p,
                None => match guard(|| self.format()?.next_packet()) {
                    Ok(p) => p,
                    Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                        self.state = State::Ended;
                        return Ok(None);
                    }
                    // A new chained stream: the recording proper has ended (as at import).
                    Err(SymError::ResetRequired) => {
                        self.state = State::Ended;
                        return Ok(None);
                    }
                    Err(e) if self.in_preroll && self.pos < self.skip_to => {
                        self.skip_preroll(&e)?;
                        continue;
                    }
                    Err(e) => {
                        let at = self.pos.max(self.skip_to);
                        return Err(self.fail(at, &e));
                    }
                },
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            if self.in_preroll && packet.ts + packet.dur > self.skip_to {
                self.in_preroll = false;
            }
            let codec = &mut self.codec;
            let decoded = match guard(|| codec.decode(&packet)) {
                Ok(d) => d,
                Err(e) if self.in_preroll => {
                    self.skip_preroll(&e)?;
                    continue;
                }
                Err(e) => return Err(self.fail(packet.ts, &e)),
            };
            let mut frames = decoded.frames();
            // A container may say a packet holds fewer frames than its codec's frame (the end of
            // an MP4 AAC track): keep what it says.
            if packet.dur > 0 && packet.dur < frames as u64 {
                frames = packet.dur as usize;
            }
            if frames == 0 {
                continue;
            }
            let spec = *decoded.spec();
            let ch = spec.channels.count();
            if self.channels == 0 || self.pos == 0 && self.skip_to == 0 {
                // Learnt from the first decoded block.
                self.channels = ch as u16;
                self.rate = spec.rate;
            } else if ch != usize::from(self.channels) {
                let e = SymError::DecodeError("the channel count changed mid-stream");
                return Err(self.fail(packet.ts, &e));
            }
            if !matches!(&self.conv, Some(c) if c.capacity() >= decoded.frames()) {
                self.conv = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
            }
            let conv = self.conv.as_mut().expect("just made");
            conv.copy_interleaved_ref(decoded);
            let start = packet.ts;
            self.pos = start + frames as u64;
            let drop = self.skip_to.saturating_sub(start).min(frames as u64) as usize;
            if drop == frames {
                continue;
            }
            return Ok(Some(conv.samples()[drop * ch..frames * ch].to_vec()));
        }
    }
}

/// Decode the whole of `source`: (interleaved samples, sample rate, channels).
pub fn decode_all<S: MediaSource + 'static>(
    source: S,
    extension: Option<&str>,
    file: &str,
) -> Result<(Vec<f32>, u32, u16)> {
    let mut d = Decoder::open(source, extension, file)?;
    let mut out = Vec::with_capacity(
        d.total_frames().unwrap_or(0).min(1 << 28) as usize * usize::from(d.channels()),
    );
    while let Some(b) = d.next_block()? {
        out.extend_from_slice(&b);
    }
    Ok((out, d.sample_rate(), d.channels()))
}

/// Waveform peaks: the channels mixed to mono, then (min, max) of each `window_ms` window (the
/// last may be shorter), scaled to `i16`.
pub fn peaks(samples: &[f32], rate: u32, channels: u16, window_ms: u32) -> Vec<(i16, i16)> {
    let ch = usize::from(channels.max(1));
    let window = ((u64::from(rate) * u64::from(window_ms) / 1000).max(1)) as usize;
    let scale = |x: f32| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
    samples
        .chunks(window * ch)
        .filter(|w| w.len() >= ch)
        .map(|w| {
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for frame in w.chunks_exact(ch) {
                let m = if ch == 1 {
                    frame[0]
                } else {
                    frame.iter().sum::<f32>() / ch as f32
                };
                lo = lo.min(m);
                hi = hi.max(m);
            }
            (scale(lo), scale(hi))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: an MS ADPCM WAV whose step size grows until symphonia's decoder
    /// overflows (a panic in debug builds, which the app is). Refused as damaged, not a crash.
    /// Found by fuzzing: a FLAC whose Vorbis comment says it is 4 GiB long, which symphonia
    /// allocates before reading (out of memory, or an abort where the allocation fails).
    #[test]
    fn a_flac_comment_longer_than_its_block_is_refused_before_allocating() {
        let input = include_bytes!("../../fuzz/corpus/decode/oom-flac-comment-length");
        let flac = &input[1..];
        // The same with junk before the marker, which symphonia's probe skips.
        let junk = include_bytes!("../../fuzz/corpus/decode/oom-flac-comment-after-junk");
        let r = crate::ingest::probe::probe(junk[1..].into(), None);
        assert!(
            r.as_ref().is_err_and(|e| e.contains("Vorbis comment")),
            "{r:?}"
        );
        // And with the comment block cut short by the end of the file.
        let cut = include_bytes!("../../fuzz/corpus/decode/oom-flac-comment-cut-short");
        let r = crate::ingest::probe::probe(cut[1..].into(), Some("flac"));
        assert!(
            r.as_ref().is_err_and(|e| e.contains("Vorbis comment")),
            "{r:?}"
        );
        // A second marker further on, where the probe syncs when the first stream fails (found
        // by the CI fuzz run).
        let second = include_bytes!("../../fuzz/corpus/decode/oom-flac-second-marker");
        let r = crate::ingest::probe::probe(second[1..].into(), None);
        assert!(r.is_err(), "{r:?}");
        let r = crate::ingest::probe::probe(flac.into(), Some("flac"));
        assert!(
            r.as_ref().is_err_and(|e| e.contains("Vorbis comment")),
            "{r:?}"
        );
        let e = Decoder::open(std::io::Cursor::new(flac.to_vec()), None, "odd.flac").unwrap_err();
        assert!(e.to_string().contains("odd.flac"), "{e}");
        assert!(vorbis_comment_fits(&[
            0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', b'b'
        ]));
        assert!(!vorbis_comment_fits(&[
            0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, b'a', b'b'
        ]));
        assert!(!vorbis_comment_fits(&[9, 0, 0, 0]));
    }

    #[test]
    fn a_decoder_panic_on_hostile_audio_is_a_refusal() {
        let input = include_bytes!("../../fuzz/corpus/decode/crash-msadpcm-overflow");
        let wav = &input[1..]; // the fuzz target's first byte picks the extension hint
        let r = crate::ingest::probe::probe(wav.into(), Some("wav"));
        assert!(r.is_err(), "{r:?}");
        let mut blocks = 0;
        match Decoder::open(
            std::io::Cursor::new(wav.to_vec()),
            Some("wav"),
            "hostile.wav",
        ) {
            Err(e) => assert!(e.to_string().contains("hostile.wav"), "{e}"),
            Ok(mut d) => loop {
                match d.next_block() {
                    Ok(Some(_)) => blocks += 1,
                    Ok(None) => panic!("decoded to the end ({blocks} blocks)"),
                    Err(e) => {
                        assert!(e.to_string().contains("damaged"), "{e}");
                        break;
                    }
                }
            },
        }
    }

    #[test]
    fn peaks_mix_scale_and_window() {
        // Stereo at 1 kHz: 10 ms windows are 10 frames; 25 frames give 3 windows.
        let mut s = Vec::new();
        for i in 0..25 {
            let v = if i == 3 { 0.5 } else { 0.0 };
            s.extend([v, -v]); // mixes to 0
        }
        assert_eq!(peaks(&s, 1000, 2, 10), vec![(0, 0); 3]);
        let mono: Vec<f32> = (0..25).map(|i| if i == 12 { -1.0 } else { 0.25 }).collect();
        assert_eq!(
            peaks(&mono, 1000, 1, PEAK_WINDOW_MS),
            vec![(8192, 8192), (-32768, 8192), (8192, 8192)]
        );
        assert_eq!(peaks(&[1.5], 8000, 1, 10), vec![(32767, 32767)]);
        assert!(peaks(&[], 8000, 1, 10).is_empty());
    }

    #[test]
    fn mmss_formats_minutes_and_seconds() {
        assert_eq!(mmss(0, 8000), "00:00");
        assert_eq!(mmss(8000 * 83 + 7999, 8000), "01:23");
        assert_eq!(mmss(8000 * 3600 * 2, 8000), "120:00");
    }

    #[test]
    fn registry_names_gsm_and_keeps_symphonia_names() {
        assert_eq!(codec_name(CODEC_TYPE_GSM), "gsm");
        assert_eq!(codec_name(CODEC_TYPE_GSM_MS), "gsm_ms");
        assert_eq!(
            codec_name(symphonia::core::codecs::CODEC_TYPE_PCM_MULAW),
            "pcm_mulaw"
        );
    }

    #[test]
    fn garbage_is_refused_as_audio_error() {
        let e = Decoder::open(std::io::Cursor::new(vec![7u8; 5000]), None, "junk.wav").unwrap_err();
        assert!(matches!(e, Error::Audio { .. }), "{e}");
        assert!(e.to_string().contains("junk.wav"), "{e}");
    }
}
