//! The two containers GSM 06.10 comes in, as symphonia [`FormatReader`]s seekable to any frame
//! (the streams are constant-bitrate): [`RawGsmReader`] (33-byte frames back to back) and
//! [`Wav49Reader`] (Microsoft GSM 6.10 in RIFF/WAVE), with the sniffing that recognises them.

use super::tables::{
    CODEC_TYPE_GSM, CODEC_TYPE_GSM_MS, FRAMES_PER_PACKET, FRAME_BYTES, FRAME_SAMPLES, GSM_MAGIC,
    MS_BLOCK_BYTES, MS_BLOCK_SAMPLES, SAMPLE_RATE, WAVE_FORMAT_GSM610,
};
use std::io::{ErrorKind, Seek, SeekFrom};
use symphonia::core::audio::Channels;
use symphonia::core::codecs::{CodecParameters, CodecType};
use symphonia::core::errors::{
    decode_error, end_of_stream_error, seek_error, unsupported_error, Error as SymError,
    Result as SymResult, SeekErrorKind,
};
use symphonia::core::formats::{
    Cue, FormatOptions, FormatReader, Packet, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, SeekBuffered};
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::sample::SampleFormat;
use symphonia::core::units::TimeBase;

/// What the two readers share: a constant-bitrate run of `unit`-byte units of `unit_frames`
/// samples each, from `data_start` to `data_end`.
struct CbrStream {
    reader: MediaSourceStream,
    tracks: Vec<Track>,
    metadata: MetadataLog,
    data_start: u64,
    /// End of the audio data; `None` if the source's length is unknown (read to its end).
    data_end: Option<u64>,
    unit: u64,
    unit_frames: u64,
    /// Samples to deliver in all (a WAVE `fact` chunk may say fewer than the blocks hold).
    n_frames: Option<u64>,
    /// A read error met after part of a packet had been read, returned by the next call.
    pending: Option<std::io::Error>,
}

impl CbrStream {
    #[allow(clippy::too_many_arguments)]
    fn new(
        reader: MediaSourceStream,
        codec: CodecType,
        data_start: u64,
        data_end: Option<u64>,
        unit: usize,
        unit_frames: usize,
        n_frames: Option<u64>,
    ) -> Self {
        let mut params = CodecParameters::new();
        params
            .for_codec(codec)
            .with_sample_rate(SAMPLE_RATE)
            .with_time_base(TimeBase::new(1, SAMPLE_RATE))
            .with_channels(Channels::FRONT_LEFT)
            .with_sample_format(SampleFormat::S16)
            .with_frames_per_block(unit_frames as u64)
            .with_max_frames_per_packet(FRAMES_PER_PACKET * FRAME_SAMPLES as u64);
        if let Some(n) = n_frames {
            params.with_n_frames(n);
        }
        CbrStream {
            reader,
            tracks: vec![Track::new(0, params)],
            metadata: MetadataLog::default(),
            data_start,
            data_end,
            unit: unit as u64,
            unit_frames: unit_frames as u64,
            n_frames,
            pending: None,
        }
    }

    fn units_per_packet(&self) -> u64 {
        (FRAMES_PER_PACKET * FRAME_SAMPLES as u64 / self.unit_frames).max(1)
    }

    fn next_packet(&mut self) -> SymResult<Packet> {
        if let Some(e) = self.pending.take() {
            return Err(SymError::IoError(e));
        }
        let pos = self.reader.pos();
        let rel = pos.saturating_sub(self.data_start);
        let ts = rel / self.unit * self.unit_frames;
        let mut want = self.units_per_packet();
        if let Some(end) = self.data_end {
            want = want.min(end.saturating_sub(pos) / self.unit);
        }
        if let Some(n) = self.n_frames {
            want = want.min(n.saturating_sub(ts).div_ceil(self.unit_frames));
        }
        if want == 0 {
            return end_of_stream_error();
        }
        let mut buf = vec![0u8; (want * self.unit) as usize];
        let mut got = 0usize;
        for chunk in buf.chunks_exact_mut(self.unit as usize) {
            match self.reader.read_buf_exact(chunk) {
                Ok(()) => got += 1,
                // A partial unit at the end of the stream is dropped.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
                Err(e) if got > 0 => {
                    self.pending = Some(e);
                    break;
                }
                Err(e) => return Err(SymError::IoError(e)),
            }
        }
        if got == 0 {
            return end_of_stream_error();
        }
        buf.truncate(got * self.unit as usize);
        let mut dur = got as u64 * self.unit_frames;
        let mut packet = Packet::new_from_boxed_slice(0, ts, dur, buf.into_boxed_slice());
        if let Some(n) = self.n_frames {
            if ts + dur > n {
                packet.trim_end = (ts + dur - n) as u32;
                dur = n - ts;
                packet.dur = dur;
            }
        }
        Ok(packet)
    }

    fn seek(&mut self, to: SeekTo) -> SymResult<SeekedTo> {
        let ts = match to {
            SeekTo::TimeStamp { ts, .. } => ts,
            SeekTo::Time { time, .. } => TimeBase::new(1, SAMPLE_RATE).calc_timestamp(time),
        };
        if self.n_frames.is_some_and(|n| ts > n) {
            return seek_error(SeekErrorKind::OutOfRange);
        }
        let unit_index = ts / self.unit_frames;
        let target = self.data_start + unit_index * self.unit;
        if self.reader.is_seekable() {
            self.reader.seek(SeekFrom::Start(target))?;
        } else {
            let here = self.reader.pos();
            if target < here {
                return seek_error(SeekErrorKind::ForwardOnly);
            }
            self.reader.ignore_bytes(target - here)?;
        }
        self.pending = None;
        Ok(SeekedTo {
            track_id: 0,
            required_ts: ts,
            actual_ts: unit_index * self.unit_frames,
        })
    }
}

/// Implements [`FormatReader`] for a reader wrapping a `CbrStream` in field `s`.
macro_rules! cbr_format_reader {
    ($t:ty) => {
        impl FormatReader for $t {
            fn try_new(source: MediaSourceStream, options: &FormatOptions) -> SymResult<Self> {
                <$t>::open(source, options)
            }

            fn cues(&self) -> &[Cue] {
                &[]
            }

            fn metadata(&mut self) -> Metadata<'_> {
                self.s.metadata.metadata()
            }

            fn seek(&mut self, _mode: SeekMode, to: SeekTo) -> SymResult<SeekedTo> {
                self.s.seek(to)
            }

            fn tracks(&self) -> &[Track] {
                &self.s.tracks
            }

            fn next_packet(&mut self) -> SymResult<Packet> {
                self.s.next_packet()
            }

            fn into_inner(self: Box<Self>) -> MediaSourceStream {
                self.s.reader
            }
        }
    };
}

/// Raw GSM 06.10: 33-byte frames back to back, 8 kHz mono, no header.
pub struct RawGsmReader {
    s: CbrStream,
}

impl RawGsmReader {
    fn open(mut source: MediaSourceStream, _options: &FormatOptions) -> SymResult<Self> {
        let data_start = source.pos();
        let first = source.read_byte()?;
        source.seek_buffered_rev(1);
        if first >> 4 != GSM_MAGIC {
            return unsupported_error("gsm: not a raw GSM 06.10 stream");
        }
        let data_end = source.byte_len().filter(|&l| l >= data_start);
        let n_frames =
            data_end.map(|e| (e - data_start) / FRAME_BYTES as u64 * FRAME_SAMPLES as u64);
        Ok(RawGsmReader {
            s: CbrStream::new(
                source,
                CODEC_TYPE_GSM,
                data_start,
                data_end,
                FRAME_BYTES,
                FRAME_SAMPLES,
                n_frames,
            ),
        })
    }

    /// Does `head` (a stream's first bytes) look like raw GSM? Every whole frame in it must carry
    /// the magic nibble; without a `.gsm` extension, `len` (if known) must also be whole frames
    /// and at least one.
    pub fn sniff(head: &[u8], len: Option<u64>, gsm_extension: bool) -> bool {
        if head.is_empty() || head[0] >> 4 != GSM_MAGIC {
            return false;
        }
        let frames_ok = head
            .chunks_exact(FRAME_BYTES)
            .all(|f| f[0] >> 4 == GSM_MAGIC);
        if gsm_extension {
            return frames_ok;
        }
        let whole_frames = match len {
            None => true,
            Some(l) => l > 0 && l % FRAME_BYTES as u64 == 0,
        };
        frames_ok && head.len() >= FRAME_BYTES && whole_frames
    }
}

cbr_format_reader!(RawGsmReader);

/// Microsoft GSM 6.10 in RIFF/WAVE (format tag 0x0031): 65-byte blocks of two frames. Honours the
/// `fact` chunk's sample count (the last block's padding is trimmed).
pub struct Wav49Reader {
    s: CbrStream,
}

/// The fields of a WAVE `fmt ` chunk that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaveFmt {
    pub tag: u16,
    pub channels: u16,
    pub sample_rate: u32,
    pub block_align: u16,
}

impl Wav49Reader {
    fn open(mut source: MediaSourceStream, _options: &FormatOptions) -> SymResult<Self> {
        if &source.read_quad_bytes()? != b"RIFF" {
            return unsupported_error("wav49: missing RIFF marker");
        }
        let _riff_len = source.read_u32()?;
        if &source.read_quad_bytes()? != b"WAVE" {
            return unsupported_error("wav49: RIFF form is not WAVE");
        }
        let mut fmt: Option<WaveFmt> = None;
        let mut fact: Option<u32> = None;
        let data_len = loop {
            let id = match source.read_quad_bytes() {
                Ok(id) => id,
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    return decode_error("wav49: missing data chunk")
                }
                Err(e) => return Err(e.into()),
            };
            let len = source.read_u32()?;
            match &id {
                b"fmt " => {
                    if len < 16 {
                        return decode_error("wav49: fmt chunk too short");
                    }
                    let f = WaveFmt {
                        tag: source.read_u16()?,
                        channels: source.read_u16()?,
                        sample_rate: source.read_u32()?,
                        block_align: {
                            let _avg_bytes_per_sec = source.read_u32()?;
                            source.read_u16()?
                        },
                    };
                    let _bits_per_sample = source.read_u16()?;
                    let mut rest = u64::from(len) - 16;
                    if f.tag != WAVE_FORMAT_GSM610 {
                        return unsupported_error("wav49: format tag is not 0x0031 (GSM 6.10)");
                    }
                    if f.channels != 1 {
                        return unsupported_error("wav49: GSM 6.10 is mono");
                    }
                    if usize::from(f.block_align) != MS_BLOCK_BYTES {
                        return unsupported_error("wav49: block align is not 65");
                    }
                    if rest >= 4 {
                        let cb_size = source.read_u16()?;
                        let samples_per_block = source.read_u16()?;
                        rest -= 4;
                        if cb_size >= 2 && usize::from(samples_per_block) != MS_BLOCK_SAMPLES {
                            return unsupported_error("wav49: samples per block is not 320");
                        }
                    }
                    source.ignore_bytes(rest + u64::from(len & 1))?;
                    fmt = Some(f);
                }
                b"fact" if len >= 4 => {
                    fact = Some(source.read_u32()?);
                    source.ignore_bytes(u64::from(len - 4 + (len & 1)))?;
                }
                b"data" => break len,
                _ => source.ignore_bytes(u64::from(len) + u64::from(len & 1))?,
            }
        };
        if fmt.is_none() {
            return decode_error("wav49: data chunk before fmt chunk");
        }
        let data_start = source.pos();
        let byte_len = source.byte_len();
        // A writer that never finished the file leaves 0xFFFFFFFF: read to the end.
        let mut data_end = (data_len != u32::MAX).then(|| data_start + u64::from(data_len));
        if let Some(l) = byte_len {
            data_end = Some(data_end.map_or(l, |e| e.min(l)));
        }
        let capacity = data_end.map(|e| {
            e.saturating_sub(data_start) / MS_BLOCK_BYTES as u64 * MS_BLOCK_SAMPLES as u64
        });
        let n_frames = match (fact, capacity) {
            (Some(f), Some(c)) if f > 0 && u64::from(f) <= c => Some(u64::from(f)),
            (_, c) => c,
        };
        Ok(Wav49Reader {
            s: CbrStream::new(
                source,
                CODEC_TYPE_GSM_MS,
                data_start,
                data_end,
                MS_BLOCK_BYTES,
                MS_BLOCK_SAMPLES,
                n_frames,
            ),
        })
    }

    /// The format of a RIFF/WAVE stream whose `fmt ` chunk lies within `head`, if it is one.
    pub fn sniff(head: &[u8]) -> Option<WaveFmt> {
        if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
            return None;
        }
        let mut at = 12usize;
        while at + 8 <= head.len() {
            let id = &head[at..at + 4];
            let len = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?) as usize;
            if id == b"fmt " {
                let f = head.get(at + 8..at + 8 + 14)?;
                return Some(WaveFmt {
                    tag: u16::from_le_bytes([f[0], f[1]]),
                    channels: u16::from_le_bytes([f[2], f[3]]),
                    sample_rate: u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                    block_align: u16::from_le_bytes([f[12], f[13]]),
                });
            }
            if id == b"data" {
                return None;
            }
            at = at.checked_add(8 + len + (len & 1))?;
        }
        None
    }
}

cbr_format_reader!(Wav49Reader);
