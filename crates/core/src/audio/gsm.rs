//! GSM 06.10 full-rate speech (RPE-LTP, 13 kbit/s), which symphonia lacks and which call recorders
//! (Oreka, FreePBX "wav49") write by default: a decoder and the two containers it comes in.
//!
//! The decoder follows ETSI GSM 06.10 (ETS 300 580-2) section 4.3 and the reference C
//! implementation's fixed-point algorithm (Jutta Degener and Carsten Bormann's libgsm, as shipped by
//! Debian), operation for operation, so its output is bit-exact against `untoast` and `sox`:
//!
//! 1. parameter unpacking: 8 log-area ratios, then per 40-sample sub-segment the LTP lag and gain,
//!    the RPE grid position, the block maximum and 13 pulses;
//! 2. APCM inverse quantisation of the pulses and RPE grid positioning (4.2.15–4.2.17);
//! 3. long-term synthesis filtering (4.3.2);
//! 4. short-term synthesis: LARs decoded (4.2.8), interpolated over the four parts of the frame
//!    (4.2.9), turned into reflection coefficients (4.2.10) and run through the lattice (4.3.4);
//! 5. de-emphasis, then upscaling and truncation to 13 bits (4.3.5–4.3.7).
//!
//! Two packings of the same 260-bit frame: the 33-byte frame of raw `.gsm` files (a 0xD magic
//! nibble, then each parameter most significant bit first) and Microsoft's 65-byte block holding
//! two frames (WAVE format tag 0x0031, "WAV49": one little-endian bit stream, each parameter least
//! significant bit first, the second frame starting at bit 260).
//!
//! [`GsmDecoder`] is a symphonia [`Decoder`] for both ([`CODEC_TYPE_GSM`], [`CODEC_TYPE_GSM_MS`]);
//! [`RawGsmReader`] and [`Wav49Reader`] are the [`FormatReader`]s, seekable to any frame (the
//! streams are constant-bitrate). `crate::audio::decode` registers and probes them.

use std::io::{ErrorKind, Seek, SeekFrom};
use symphonia::core::audio::{
    AsAudioBufferRef, AudioBuffer, AudioBufferRef, Channels, Signal, SignalSpec,
};
use symphonia::core::codecs::{
    decl_codec_type, CodecDescriptor, CodecParameters, CodecType, Decoder, DecoderOptions,
    FinalizeResult,
};
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

/// GSM 06.10 in 33-byte frames (raw `.gsm`, also RTP payload type 3).
pub const CODEC_TYPE_GSM: CodecType = decl_codec_type(b"gsm");
/// GSM 06.10 in Microsoft's 65-byte two-frame blocks (WAVE format tag 0x0031).
pub const CODEC_TYPE_GSM_MS: CodecType = decl_codec_type(b"gsmms");

/// Samples per frame (20 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 160;
/// Bytes per frame in the 33-byte packing.
pub const FRAME_BYTES: usize = 33;
/// Bytes per Microsoft block (two frames).
pub const MS_BLOCK_BYTES: usize = 65;
/// Samples per Microsoft block.
pub const MS_BLOCK_SAMPLES: usize = 2 * FRAME_SAMPLES;
/// The high nibble of every 33-byte frame.
pub const GSM_MAGIC: u8 = 0xD;
/// WAVE format tag of Microsoft GSM 6.10.
pub const WAVE_FORMAT_GSM610: u16 = 0x0031;
/// GSM's only sample rate.
pub const SAMPLE_RATE: u32 = 8000;

/// Frames (of 160 samples) per packet from the readers: 200 ms.
const FRAMES_PER_PACKET: u64 = 10;

// ---------------------------------------------------------------------------------------------
// Fixed-point arithmetic (GSM 06.10 section 4.1 / libgsm add.c)
// ---------------------------------------------------------------------------------------------

/// Saturating 16-bit addition (GSM_ADD).
#[inline(always)]
fn add(a: i16, b: i16) -> i16 {
    a.saturating_add(b)
}

/// Saturating 16-bit subtraction (GSM_SUB).
#[inline(always)]
fn sub(a: i16, b: i16) -> i16 {
    a.saturating_sub(b)
}

/// Multiplication with rounding (gsm_mult_r): `(a * b + 16384) >> 15`, MIN * MIN giving MAX.
#[inline(always)]
fn mult_r(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        i16::MAX
    } else {
        // In range for every other pair: |a * b| <= 32768 * 32767.
        ((i32::from(a) * i32::from(b) + 16384) >> 15) as i16
    }
}

/// Arithmetic shift right by `n`, left for negative `n` (gsm_asr).
fn asr(a: i16, n: i16) -> i16 {
    if n >= 16 {
        -i16::from(a < 0)
    } else if n <= -16 {
        0
    } else if n < 0 {
        (i32::from(a) << -n) as i16
    } else {
        a >> n
    }
}

/// Shift left by `n`, right for negative `n` (gsm_asl).
fn asl(a: i16, n: i16) -> i16 {
    if n >= 16 {
        0
    } else if n <= -16 {
        -i16::from(a < 0)
    } else if n < 0 {
        asr(a, -n)
    } else {
        (i32::from(a) << n) as i16
    }
}

// ---------------------------------------------------------------------------------------------
// Tables (GSM 06.10 section 5 / libgsm table.c)
// ---------------------------------------------------------------------------------------------

/// Table 4.1: decoding of the log-area ratios, per coefficient.
const MIC: [i16; 8] = [-32, -32, -16, -16, -8, -8, -4, -4];
const B: [i16; 8] = [0, 0, 2048, -2560, 94, -1792, -341, -1144];
const INVA: [i16; 8] = [13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708];
/// Table 4.3b: LTP gain.
const QLB: [i16; 4] = [3277, 11469, 21299, 32767];
/// Table 4.5: normalised inverse mantissa for APCM inverse quantisation.
const FAC: [i16; 8] = [18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767];
/// Bits of each log-area ratio.
const LAR_BITS: [u32; 8] = [6, 6, 5, 5, 4, 4, 3, 3];

// ---------------------------------------------------------------------------------------------
// Parameters and their two packings
// ---------------------------------------------------------------------------------------------

/// The 76 parameters of one 20 ms frame, as coded (all non-negative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameParams {
    /// Log-area ratios LARc[1..8] (6, 6, 5, 5, 4, 4, 3, 3 bits).
    pub larc: [i16; 8],
    /// Per sub-segment: LTP lag Nc (7 bits).
    pub nc: [i16; 4],
    /// LTP gain bc (2 bits).
    pub bc: [i16; 4],
    /// RPE grid position Mc (2 bits).
    pub mc: [i16; 4],
    /// Block amplitude xmaxc (6 bits).
    pub xmaxc: [i16; 4],
    /// RPE pulses xMc (13 × 3 bits).
    pub xmc: [[i16; 13]; 4],
}

/// Read the parameters in coded order, `take(n)` giving the next `n`-bit field.
fn read_params(mut take: impl FnMut(u32) -> i16) -> FrameParams {
    let mut p = FrameParams::default();
    for (l, &bits) in p.larc.iter_mut().zip(&LAR_BITS) {
        *l = take(bits);
    }
    for s in 0..4 {
        p.nc[s] = take(7);
        p.bc[s] = take(2);
        p.mc[s] = take(2);
        p.xmaxc[s] = take(6);
        for x in p.xmc[s].iter_mut() {
            *x = take(3);
        }
    }
    p
}

/// A bit reader over bytes, most significant bit first (the 33-byte packing).
struct MsbBits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl MsbBits<'_> {
    fn take(&mut self, bits: u32) -> i16 {
        while self.n < bits {
            self.acc = (self.acc << 8) | u32::from(self.data[self.pos]);
            self.pos += 1;
            self.n += 8;
        }
        self.n -= bits;
        ((self.acc >> self.n) & ((1 << bits) - 1)) as i16
    }
}

/// A bit reader over bytes, least significant bit first (Microsoft's packing).
struct LsbBits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl LsbBits<'_> {
    fn take(&mut self, bits: u32) -> i16 {
        while self.n < bits {
            self.acc |= u32::from(self.data[self.pos]) << self.n;
            self.pos += 1;
            self.n += 8;
        }
        let v = (self.acc & ((1 << bits) - 1)) as i16;
        self.acc >>= bits;
        self.n -= bits;
        v
    }
}

/// Unpack a 33-byte frame; `None` if its magic nibble is not 0xD (libgsm refuses such a frame).
pub fn unpack_frame(frame: &[u8; FRAME_BYTES]) -> Option<FrameParams> {
    let mut r = MsbBits {
        data: frame,
        pos: 0,
        acc: 0,
        n: 0,
    };
    if r.take(4) != i16::from(GSM_MAGIC) {
        return None;
    }
    Some(read_params(|bits| r.take(bits)))
}

/// Unpack a 65-byte Microsoft block into its two frames.
pub fn unpack_ms_block(block: &[u8; MS_BLOCK_BYTES]) -> [FrameParams; 2] {
    let mut r = LsbBits {
        data: block,
        pos: 0,
        acc: 0,
        n: 0,
    };
    let first = read_params(|bits| r.take(bits));
    let second = read_params(|bits| r.take(bits));
    [first, second]
}

// ---------------------------------------------------------------------------------------------
// The RPE-LTP decoder (GSM 06.10 section 4.3)
// ---------------------------------------------------------------------------------------------

/// The decoder's memory between frames.
#[derive(Clone, Debug)]
pub struct GsmState {
    /// Reconstructed long-term residual: 120 samples of history, then the current sub-segment.
    dp0: [i16; 160],
    /// Last valid LTP lag.
    nrp: i16,
    /// The previous frame's decoded log-area ratios, for interpolation.
    larpp_prev: [i16; 8],
    /// Short-term synthesis lattice memory.
    v: [i16; 9],
    /// De-emphasis memory.
    msr: i16,
}

impl Default for GsmState {
    fn default() -> Self {
        GsmState {
            dp0: [0; 160],
            nrp: 40,
            larpp_prev: [0; 8],
            v: [0; 9],
            msr: 0,
        }
    }
}

impl GsmState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode one frame into 160 16-bit samples (13 significant bits).
    pub fn decode_frame(&mut self, p: &FrameParams, out: &mut [i16; FRAME_SAMPLES]) {
        let mut wt = [0i16; FRAME_SAMPLES];
        for j in 0..4 {
            let erp = rpe_decoding(p.xmaxc[j], p.mc[j], &p.xmc[j]);
            self.long_term_synthesis(p.nc[j], p.bc[j], &erp);
            wt[j * 40..j * 40 + 40].copy_from_slice(&self.dp0[120..160]);
        }
        self.short_term_synthesis(&p.larc, &wt, out);
        self.postprocess(out);
    }

    /// 4.3.2: long-term synthesis filtering of one sub-segment into `dp0[120..160]`, then the
    /// history shifted by 40.
    fn long_term_synthesis(&mut self, ncr: i16, bcr: i16, erp: &[i16; 40]) {
        // A lag outside 40..=120 (possible only in a damaged frame) repeats the last valid one.
        let nr = if (40..=120).contains(&ncr) {
            ncr
        } else {
            self.nrp
        };
        self.nrp = nr;
        let brp = QLB[bcr as usize & 3];
        let nr = nr as usize;
        for (k, &e) in erp.iter().enumerate() {
            let drpp = mult_r(brp, self.dp0[120 + k - nr]);
            self.dp0[120 + k] = add(e, drpp);
        }
        self.dp0.copy_within(40..160, 0);
        // dp0[120..160] is left holding the sub-segment just decoded (the copy does not touch it).
    }

    /// 4.2.8–4.2.10 and 4.3.4: short-term synthesis over the frame, with the reflection
    /// coefficients interpolated between the previous frame's LARs and this one's for samples
    /// 0..13, 13..27 and 27..40, this frame's alone for 40..160.
    fn short_term_synthesis(
        &mut self,
        larc: &[i16; 8],
        wt: &[i16; FRAME_SAMPLES],
        s: &mut [i16; FRAME_SAMPLES],
    ) {
        let cur = decode_lars(larc);
        let prev = self.larpp_prev;
        let mut larp = [0i16; 8];

        for i in 0..8 {
            larp[i] = add(add(prev[i] >> 2, cur[i] >> 2), prev[i] >> 1);
        }
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[0..13], &mut s[0..13]);

        for i in 0..8 {
            larp[i] = add(prev[i] >> 1, cur[i] >> 1);
        }
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[13..27], &mut s[13..27]);

        for i in 0..8 {
            larp[i] = add(add(prev[i] >> 2, cur[i] >> 2), cur[i] >> 1);
        }
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[27..40], &mut s[27..40]);

        larp = cur;
        larp_to_rp(&mut larp);
        self.lattice(&larp, &wt[40..160], &mut s[40..160]);

        self.larpp_prev = cur;
    }

    /// 4.3.4: the short-term synthesis lattice filter.
    fn lattice(&mut self, rrp: &[i16; 8], wt: &[i16], sr: &mut [i16]) {
        let v = &mut self.v;
        for (&w, out) in wt.iter().zip(sr.iter_mut()) {
            let mut sri = w;
            for i in (0..8).rev() {
                sri = sub(sri, mult_r(rrp[i], v[i]));
                v[i + 1] = add(v[i], mult_r(rrp[i], sri));
            }
            v[0] = sri;
            *out = sri;
        }
    }

    /// 4.3.5–4.3.7: de-emphasis, upscaling and truncation to 13 bits.
    fn postprocess(&mut self, s: &mut [i16; FRAME_SAMPLES]) {
        let mut msr = self.msr;
        for x in s.iter_mut() {
            let tmp = mult_r(msr, 28180);
            msr = add(*x, tmp);
            *x = add(msr, msr) & !7;
        }
        self.msr = msr;
    }
}

/// 4.2.8: decoding of the coded log-area ratios.
fn decode_lars(larc: &[i16; 8]) -> [i16; 8] {
    let mut larpp = [0i16; 8];
    for i in 0..8 {
        // (LARc + MIC) is within -32..=31, so the shift stays within 16 bits.
        let mut temp1 = add(larc[i], MIC[i]) << 10;
        temp1 = sub(temp1, B[i] << 1);
        temp1 = mult_r(INVA[i], temp1);
        larpp[i] = add(temp1, temp1);
    }
    larpp
}

/// 4.2.10: interpolated log-area ratios to reflection coefficients (in place).
fn larp_to_rp(larp: &mut [i16; 8]) {
    fn magnitude(temp: i16) -> i16 {
        if temp < 11059 {
            temp << 1
        } else if temp < 20070 {
            temp + 11059
        } else {
            add(temp >> 2, 26112)
        }
    }
    for x in larp.iter_mut() {
        if *x < 0 {
            let temp = if *x == i16::MIN { i16::MAX } else { -*x };
            *x = -magnitude(temp);
        } else {
            *x = magnitude(*x);
        }
    }
}

/// 4.2.15: block amplitude code to exponent and mantissa.
fn xmaxc_to_exp_mant(xmaxc: i16) -> (i16, i16) {
    let mut exp = 0i16;
    if xmaxc > 15 {
        exp = (xmaxc >> 3) - 1;
    }
    let mut mant = xmaxc - (exp << 3);
    if mant == 0 {
        exp = -4;
        mant = 7;
    } else {
        while mant <= 7 {
            mant = (mant << 1) | 1;
            exp -= 1;
        }
        mant -= 8;
    }
    (exp, mant)
}

/// 4.2.16–4.2.17: APCM inverse quantisation and RPE grid positioning of one sub-segment.
fn rpe_decoding(xmaxc: i16, mc: i16, xmc: &[i16; 13]) -> [i16; 40] {
    let (exp, mant) = xmaxc_to_exp_mant(xmaxc & 63);
    let temp1 = FAC[mant as usize];
    let temp2 = sub(6, exp);
    let temp3 = asl(1, sub(temp2, 1));
    let mut erp = [0i16; 40];
    let mc = (mc & 3) as usize;
    for (i, &x) in xmc.iter().enumerate() {
        // Restore the sign: a 3-bit code becomes an odd value in -7..=7, scaled to 16 bits.
        let temp = (((x & 7) << 1) - 7) << 12;
        let temp = add(mult_r(temp1, temp), temp3);
        erp[mc + 3 * i] = asr(temp, temp2);
    }
    erp
}

// ---------------------------------------------------------------------------------------------
// symphonia codec
// ---------------------------------------------------------------------------------------------

/// symphonia [`Decoder`] for [`CODEC_TYPE_GSM`] (packets of whole 33-byte frames) and
/// [`CODEC_TYPE_GSM_MS`] (packets of whole 65-byte blocks). Output is mono 16-bit.
pub struct GsmDecoder {
    params: CodecParameters,
    ms: bool,
    state: GsmState,
    buf: AudioBuffer<i16>,
}

const DESCRIPTORS: &[CodecDescriptor] = &[
    CodecDescriptor {
        codec: CODEC_TYPE_GSM,
        short_name: "gsm",
        long_name: "GSM 06.10 full rate",
        inst_func: make_decoder,
    },
    CodecDescriptor {
        codec: CODEC_TYPE_GSM_MS,
        short_name: "gsm_ms",
        long_name: "GSM 06.10 full rate, Microsoft packing (WAV49)",
        inst_func: make_decoder,
    },
];

fn make_decoder(params: &CodecParameters, opts: &DecoderOptions) -> SymResult<Box<dyn Decoder>> {
    Ok(Box::new(GsmDecoder::try_new(params, opts)?))
}

impl GsmDecoder {
    fn spec(&self) -> SignalSpec {
        SignalSpec::new(
            self.params.sample_rate.unwrap_or(SAMPLE_RATE),
            Channels::FRONT_LEFT,
        )
    }

    fn decode_inner(&mut self, packet: &Packet) -> SymResult<()> {
        let data = packet.buf();
        let (unit, per_unit) = if self.ms {
            (MS_BLOCK_BYTES, MS_BLOCK_SAMPLES)
        } else {
            (FRAME_BYTES, FRAME_SAMPLES)
        };
        if !data.chunks_exact(unit).remainder().is_empty() {
            return decode_error("gsm: packet is not a whole number of frames");
        }
        let n = data.len() / unit * per_unit;
        if self.buf.capacity() < n {
            self.buf = AudioBuffer::new(n as u64, self.spec());
        }
        self.buf.clear();
        self.buf.render_reserved(Some(n));
        let out = self.buf.chan_mut(0);
        for (bytes, samples) in data.chunks_exact(unit).zip(out.chunks_exact_mut(per_unit)) {
            if self.ms {
                let frames = unpack_ms_block(bytes.try_into().expect("65 bytes"));
                let (a, b) = samples.split_at_mut(FRAME_SAMPLES);
                self.state
                    .decode_frame(&frames[0], a.try_into().expect("160 samples"));
                self.state
                    .decode_frame(&frames[1], b.try_into().expect("160 samples"));
            } else {
                let Some(params) = unpack_frame(bytes.try_into().expect("33 bytes")) else {
                    return decode_error("gsm: bad frame (no 0xD magic)");
                };
                self.state
                    .decode_frame(&params, samples.try_into().expect("160 samples"));
            }
        }
        self.buf
            .trim(packet.trim_start() as usize, packet.trim_end() as usize);
        Ok(())
    }
}

impl Decoder for GsmDecoder {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> SymResult<Self> {
        let ms = match params.codec {
            CODEC_TYPE_GSM => false,
            CODEC_TYPE_GSM_MS => true,
            _ => return unsupported_error("gsm: not a GSM 06.10 stream"),
        };
        if params.channels.is_some_and(|c| c.count() != 1) {
            return unsupported_error("gsm: GSM 06.10 is mono");
        }
        let mut params = params.clone();
        let rate = params.sample_rate.unwrap_or(SAMPLE_RATE);
        params
            .with_sample_rate(rate)
            .with_channels(Channels::FRONT_LEFT)
            .with_sample_format(SampleFormat::S16);
        let unit = if ms { MS_BLOCK_SAMPLES } else { FRAME_SAMPLES } as u64;
        let capacity = params
            .max_frames_per_packet
            .unwrap_or(FRAMES_PER_PACKET * FRAME_SAMPLES as u64)
            .clamp(unit, 1 << 20);
        Ok(GsmDecoder {
            buf: AudioBuffer::new(capacity, SignalSpec::new(rate, Channels::FRONT_LEFT)),
            params,
            ms,
            state: GsmState::new(),
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        DESCRIPTORS
    }

    fn reset(&mut self) {
        self.state = GsmState::new();
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> SymResult<AudioBufferRef<'_>> {
        if let Err(e) = self.decode_inner(packet) {
            self.buf.clear();
            return Err(e);
        }
        Ok(self.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.buf.as_audio_buffer_ref()
    }
}

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (xorshift64*), so the tests need no extra crates.
    pub(crate) struct Rng(u64);
    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    fn random_params(rng: &mut Rng) -> FrameParams {
        let mut field = |bits: u32| (rng.next() >> 40) as i16 & ((1 << bits) - 1);
        read_params(&mut field)
    }

    fn fields(p: &FrameParams) -> Vec<(i16, u32)> {
        let mut v: Vec<(i16, u32)> = p.larc.iter().zip(LAR_BITS).map(|(&x, b)| (x, b)).collect();
        for s in 0..4 {
            v.extend([(p.nc[s], 7), (p.bc[s], 2), (p.mc[s], 2), (p.xmaxc[s], 6)]);
            v.extend(p.xmc[s].iter().map(|&x| (x, 3)));
        }
        v
    }

    /// Pack as libgsm's encoder does (33-byte frames).
    fn pack_frame(p: &FrameParams) -> [u8; 33] {
        let mut bits: Vec<u8> = vec![1, 1, 0, 1];
        for (x, n) in fields(p) {
            bits.extend((0..n).rev().map(|i| ((x >> i) & 1) as u8));
        }
        let mut out = [0u8; 33];
        for (i, b) in bits.iter().enumerate() {
            out[i / 8] |= b << (7 - i % 8);
        }
        out
    }

    /// Pack two frames as Microsoft's GSM 6.10 does (65-byte blocks).
    fn pack_ms(a: &FrameParams, b: &FrameParams) -> [u8; 65] {
        let mut bits: Vec<u8> = Vec::new();
        for (x, n) in fields(a).into_iter().chain(fields(b)) {
            bits.extend((0..n).map(|i| ((x >> i) & 1) as u8));
        }
        assert_eq!(bits.len(), 520);
        let mut out = [0u8; 65];
        for (i, b) in bits.iter().enumerate() {
            out[i / 8] |= b << (i % 8);
        }
        out
    }

    #[test]
    fn both_packings_round_trip() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let a = random_params(&mut rng);
            let b = random_params(&mut rng);
            assert_eq!(unpack_frame(&pack_frame(&a)), Some(a));
            assert_eq!(unpack_ms_block(&pack_ms(&a, &b)), [a, b]);
        }
        let mut bad = pack_frame(&FrameParams::default());
        bad[0] &= 0x0F;
        assert_eq!(unpack_frame(&bad), None);
    }

    #[test]
    fn exponent_and_mantissa_cover_every_xmaxc() {
        for x in 0..64 {
            let (exp, mant) = xmaxc_to_exp_mant(x);
            assert!((-4..=6).contains(&exp), "{x}: exp {exp}");
            assert!((0..=7).contains(&mant), "{x}: mant {mant}");
        }
        assert_eq!(xmaxc_to_exp_mant(0), (-4, 7));
        assert_eq!(xmaxc_to_exp_mant(63), (6, 7));
    }

    #[test]
    fn silence_decodes_to_silence_and_output_has_13_bits() {
        // All-zero parameters are not silence (xMc 0 means -7); check the 13-bit truncation and
        // that an all-silent state stays put for a frame of lowest-amplitude pulses.
        let mut st = GsmState::new();
        let mut out = [1i16; 160];
        let mut rng = Rng(7);
        for _ in 0..50 {
            st.decode_frame(&random_params(&mut rng), &mut out);
            assert!(out.iter().all(|s| s & 7 == 0));
        }
    }

    #[test]
    fn decoder_trims_and_refuses_partial_frames() {
        let mut params = CodecParameters::new();
        params.for_codec(CODEC_TYPE_GSM);
        let mut d = GsmDecoder::try_new(&params, &DecoderOptions::default()).unwrap();
        let frame = pack_frame(&FrameParams::default());
        let two: Vec<u8> = frame.iter().chain(frame.iter()).copied().collect();
        let mut p = Packet::new_from_slice(0, 0, 320, &two);
        p.trim_end = 20;
        assert_eq!(d.decode(&p).unwrap().frames(), 300);
        let bad = Packet::new_from_slice(0, 0, 160, &two[..40]);
        assert!(d.decode(&bad).is_err());
        assert_eq!(d.last_decoded().frames(), 0);
    }

    #[test]
    fn wave_fmt_sniffing() {
        let mut h = b"RIFF\0\0\0\0WAVEfmt \x14\0\0\0".to_vec();
        h.extend_from_slice(&[0x31, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x59, 6, 0, 0, 65, 0, 0, 0]);
        let f = Wav49Reader::sniff(&h).unwrap();
        assert_eq!(
            f,
            WaveFmt {
                tag: 0x31,
                channels: 1,
                sample_rate: 8000,
                block_align: 65
            }
        );
        assert!(Wav49Reader::sniff(b"RIFF\0\0\0\0WAVE").is_none());
        assert!(RawGsmReader::sniff(&[0xD0; 66], Some(66), false));
        assert!(!RawGsmReader::sniff(&[0xD0; 66], Some(67), false));
        assert!(RawGsmReader::sniff(&[0xD0; 66], Some(67), true));
        assert!(!RawGsmReader::sniff(b"RIFF", None, true));
    }
}
