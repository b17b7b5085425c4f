//! Audio: decoding every format a recording may arrive in (GSM 06.10 included), from the
//! decrypting reader, to samples in memory.

pub mod decode;
pub mod gsm;
pub mod player;
pub mod stretch;
