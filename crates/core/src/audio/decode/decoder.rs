//! [`Decoder`]: a recording decoded to interleaved `f32` blocks, seekable to any frame (with
//! pre-roll where the codec needs it); a read or decode failure stops it with an error saying
//! where the recording is damaged. And [`decode_all`], the whole of a recording at once.

use super::probe::probe_format;
use super::registry::{codec_name, codecs, guard};
use super::source::SharedSource;
use crate::audio::gsm::{CODEC_TYPE_GSM, CODEC_TYPE_GSM_MS, FRAME_SAMPLES};
use crate::error::{Error, Result};
use std::io::{ErrorKind, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecType, DecoderOptions, CODEC_TYPE_AAC, CODEC_TYPE_ADPCM_IMA_WAV, CODEC_TYPE_ADPCM_MS,
    CODEC_TYPE_FLAC, CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3, CODEC_TYPE_NULL,
    CODEC_TYPE_VORBIS,
};
use symphonia::core::errors::{Error as SymError, SeekErrorKind};
use symphonia::core::formats::{FormatReader, Packet, SeekMode, SeekTo};
use symphonia::core::io::MediaSource;

/// GSM frames (2 s) decoded and discarded before a seek target, so that the decoder's recursive
/// filters hold what they would have held had it decoded from the start. GSM's state never resets
/// by itself; on speech, with or without background noise or mains hum, 50 frames were always
/// enough for sample-exact output here (30 usually). A steady pure tone never converges exactly,
/// in any GSM decoder (the long-term predictor replays its memory at unity gain).
const GSM_PREROLL_FRAMES: u64 = 100;

/// Frames decoded and discarded before a seek target in MP3, AAC and Vorbis (1 s at 8 kHz).
const LOSSY_PREROLL_FRAMES: u64 = 8192;

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
