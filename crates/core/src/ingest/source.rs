//! What an import is made of, whatever the layout: a call found (`CallSource`), a file refused
//! (`Rejected`), and the report of an import. Imports no layout.

use crate::archive::journal::Direction;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One call found by a layout, ready for the common import path.
#[derive(Clone, Debug)]
pub struct CallSource {
    /// The file's name as shown to the user (relative to the import folder).
    pub name: String,
    pub bytes: Vec<u8>,
    pub started_at: DateTime<Utc>,
    pub direction: Direction,
    /// A user name or telephony identity.
    pub staff: Option<String>,
    pub extension: Option<String>,
    pub external_number: Option<String>,
    pub parties: Vec<String>,
    pub notes: Option<String>,
    /// The patient's NHS numbers (canonical, checked) as the source gave them.
    pub nhs_numbers: Vec<String>,
    /// The phone system's id of the conversation this call is one leg of (checked by
    /// [`crate::conversation::check_key`]), e.g. `freepbx:<linkedid>`.
    pub conversation: Option<String>,
}

/// A file or row that will not be imported, and why.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Rejected {
    pub file: String,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub imported: Vec<Imported>,
    pub duplicates: Vec<Duplicate>,
    pub rejected: Vec<Rejected>,
    /// Calls not kept because their number or extension is on the do-not-record list: only
    /// how many (their files' names may carry the number).
    pub not_kept: usize,
    /// Versions of the do-not-record list that were not believed (the calls they would have
    /// dropped were kept), named with why.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Imported {
    pub file: String,
    pub id: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub file: String,
    /// The recording that already holds this audio.
    pub existing_id: String,
}

/// Audio file extensions an import folder is expected to hold.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "mp3", "flac", "ogg", "oga", "m4a", "mp4", "aac", "gsm", "au",
];
