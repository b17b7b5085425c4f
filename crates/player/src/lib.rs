//! Callvault's native player: plays a recording the core decodes (a [`callvault_core::audio::decode::Decoder`],
//! in the app over the decrypting reader) on an output device through cpal, with pause, seek,
//! ±10 s, speed 0.5×–2× with the pitch kept ([`stretch`]), volume and loudness normalisation.
//!
//! A crate of its own because it is the one part of Callvault that needs the sound system to
//! build (cpal: ALSA's headers, libasound2-dev, on Linux): the core, and whatever uses only the
//! core, builds without them. `scripts/check-layers` checks that cpal stays out of the core.

pub mod player;
pub mod stretch;

pub use player::{output_devices, Player, PlayerEvent, PlayerStats, MAX_VOLUME, SKIP_SECONDS};
