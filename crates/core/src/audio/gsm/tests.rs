//! Unit tests of the GSM 06.10 decoder: both packings round-trip, the APCM tables cover every
//! block maximum, the output keeps 13 bits, the codec trims and refuses partial frames, and WAVE
//! and raw GSM sniffing.

use super::codec::GsmDecoder;
use super::containers::{RawGsmReader, Wav49Reader, WaveFmt};
use super::params::{read_params, unpack_frame, unpack_ms_block, FrameParams};
use super::rpe::{xmaxc_to_exp_mant, GsmState};
use super::tables::{CODEC_TYPE_GSM, LAR_BITS};
use symphonia::core::codecs::{CodecParameters, Decoder, DecoderOptions};
use symphonia::core::formats::Packet;

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
