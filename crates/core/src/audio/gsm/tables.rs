//! GSM 06.10's numbers: the frame and block sizes, magic and format tag of its two packings, the
//! codec types symphonia knows it by, and the decoder's tables (GSM 06.10 section 5 / libgsm
//! table.c).

use symphonia::core::codecs::{decl_codec_type, CodecType};

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
pub(super) const FRAMES_PER_PACKET: u64 = 10;

/// Table 4.1: decoding of the log-area ratios, per coefficient.
pub(super) const MIC: [i16; 8] = [-32, -32, -16, -16, -8, -8, -4, -4];
pub(super) const B: [i16; 8] = [0, 0, 2048, -2560, 94, -1792, -341, -1144];
pub(super) const INVA: [i16; 8] = [13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708];
/// Table 4.3b: LTP gain.
pub(super) const QLB: [i16; 4] = [3277, 11469, 21299, 32767];
/// Table 4.5: normalised inverse mantissa for APCM inverse quantisation.
pub(super) const FAC: [i16; 8] = [18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767];
/// Bits of each log-area ratio.
pub(super) const LAR_BITS: [u32; 8] = [6, 6, 5, 5, 4, 4, 3, 3];
