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
//!
//! By job: `tables` (the format's constants and GSM 06.10's tables), `arith` (the fixed-point
//! arithmetic), `params` (the frame's parameters and their two packings), `rpe` (the RPE-LTP
//! decoder), `codec` ([`GsmDecoder`]) and `containers` ([`RawGsmReader`], [`Wav49Reader`]).
//!
//! [`Decoder`]: symphonia::core::codecs::Decoder
//! [`FormatReader`]: symphonia::core::formats::FormatReader

mod arith;
mod codec;
mod containers;
mod params;
mod rpe;
mod tables;

pub use codec::GsmDecoder;
pub use containers::{RawGsmReader, Wav49Reader, WaveFmt};
pub use params::{unpack_frame, unpack_ms_block, FrameParams};
pub use rpe::GsmState;
pub use tables::{
    CODEC_TYPE_GSM, CODEC_TYPE_GSM_MS, FRAME_BYTES, FRAME_SAMPLES, GSM_MAGIC, MS_BLOCK_BYTES,
    MS_BLOCK_SAMPLES, SAMPLE_RATE, WAVE_FORMAT_GSM610,
};

#[cfg(test)]
mod tests;
