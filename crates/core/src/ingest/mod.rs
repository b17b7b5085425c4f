//! Import: each telephony layout is one file in `layouts/` that turns files (or a whole folder)
//! into `CallSource`s (audio bytes plus what is known of the call) or rejections; the common path
//! checks the audio, detects duplicates with a keyed hash, encrypts it into the archive and
//! journals its metadata.
//!
//! Who imports whom (no circles): `source`, `walk`, `names` and `understand` (the `Layout` trait
//! and what it is given and gives back) import no layout; each layout in `layouts/` imports them; the
//! registry (`layouts/mod.rs`) imports the layouts; the planner (`plan`) imports the registry.

pub mod layouts;
pub mod names;
pub mod plan;
pub mod probe;
pub mod seal;
pub mod source;
pub mod unattended;
pub mod understand;
pub mod walk;

/// The layouts' modules at the paths they have always had.
pub use layouts::{csv_manifest, freepbx, oreka, sidecar, threecx};
/// The planner, by the name it has always had (`ingest::layout::{plan, Layout, Understood, ..}`).
pub use plan as layout;
pub use source::{CallSource, Duplicate, ImportReport, Imported, Rejected, AUDIO_EXTENSIONS};
