//! Audio: decoding every format a recording may arrive in (GSM 06.10 included), from the
//! decrypting reader, to samples in memory. Playing them on a device is the `callvault-player`
//! crate's (cpal), so the core builds without the sound system.

pub mod decode;
pub mod gsm;
