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
//!
//! By job: `source` (archive objects and shared sources as symphonia sources), `registry` (the
//! codecs, and the guard around every call into them), `probe` (recognising the container, with
//! the checks that keep hostile files from symphonia's weak spots), `decoder` ([`Decoder`],
//! [`decode_all`]), `stitch` ([`Stitched`], the legs of a conversation as one timeline, and
//! [`Playable`], what the player plays) and `peaks`.
//!
//! [`MediaSource`]: symphonia::core::io::MediaSource
//! [`DecryptingReader`]: crate::archive::audio::DecryptingReader
//! [`Error::Audio`]: crate::error::Error::Audio

mod decoder;
mod peaks;
mod probe;
mod registry;
mod source;
mod stitch;

pub use decoder::{decode_all, mmss, Decoder};
pub use peaks::{peaks, PEAK_WINDOW_MS};
pub use probe::probe_format;
pub(crate) use registry::guard;
pub use registry::{codec_name, codecs};
pub use stitch::{Playable, Stitched};

#[cfg(test)]
mod tests;
