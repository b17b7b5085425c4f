//! Retention, legal hold and erasure (policy (h); UK GDPR Art. 17). A deletion leaves only a
//! tombstone (recording id, call date — not time —, when, by whom, why, under which request or
//! rule, and the keyed hash of the audio so an erased source cannot be re-imported); the audio
//! object is shredded with every wrap of its key, and every journal segment that held the
//! recording's metadata is rewritten without it (compaction, under the archive's maintenance lock).

pub mod certificate;
pub mod lock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What remains of a deleted recording.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tombstone {
    pub recording: String,
    /// The day of the call (not its time).
    pub call_date: NaiveDate,
    pub deleted_at: String,
    /// uid of who deleted it.
    pub by: String,
    pub reason: String,
    /// The erasure request it served, if any.
    pub request: Option<String>,
    /// The retention rule that swept it (e.g. "older than 36 months"), if any.
    pub rule: Option<String>,
    /// Keyed hash of the deleted audio: an erased source is refused at import.
    pub dedup: String,
    /// The deletion run (its certificate id).
    pub run: String,
}

/// A legal hold: these recordings survive the sweep and manual deletion until released.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Hold {
    pub hold: String,
    pub recordings: Vec<String>,
    pub reason: String,
    /// The complaint, claim or investigation (a request id), if any.
    pub request: Option<String>,
    pub by: String,
    pub at: String,
}

/// The data controller's release of a hold.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HoldRelease {
    pub hold: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// An archive setting, set by the data controller; the latest wins.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub by: String,
    pub at: String,
}

/// The settings the data controller may change, with their defaults.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "retention-months",
        "36",
        "months a recording is kept after its call",
    ),
    ("audit-retention-years", "6", "years audit entries are kept"),
    ("practice-name", "", "the practice's name, for letters"),
    (
        "practice-address",
        "",
        "the practice's address, for letters",
    ),
    (
        "idle-lock-minutes",
        "10",
        "minutes before the desktop app locks",
    ),
    (
        "second-authoriser",
        "off",
        "on: SAR, police, erasure and portability decisions need an approver or a second data controller besides the one who raised them (off: the data controller may decide her own)",
    ),
];

/// Default minutes of inactivity before the desktop app locks (the setting `idle-lock-minutes`).
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 10;

/// Seconds of inactivity before the app locks: the archive's `idle-lock-minutes` (default 10; a
/// value that is not a whole number above 0 counts as the default, so 0 is not "never"), or
/// `local_seconds` set on this computer (`CALLVAULT_IDLE_LOCK_SECONDS`: a kiosk-style PC, or a
/// test) if that is shorter: a computer can shorten the practice's setting, never lengthen it.
pub fn idle_lock_seconds(setting: Option<&str>, local_seconds: Option<&str>) -> u64 {
    let minutes = setting
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_IDLE_LOCK_MINUTES);
    let secs = u64::from(minutes) * 60;
    local_seconds
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(secs, |e| e.min(secs))
}

/// A hold as it stands.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HoldView {
    pub hold: String,
    pub recordings: Vec<String>,
    pub reason: String,
    pub request: Option<String>,
    pub by: Option<String>,
    pub at: String,
    pub released: Option<String>,
}

/// One recording the sweep would delete, and why.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Due {
    pub recording: String,
    pub call_date: NaiveDate,
    pub rule: String,
    /// Held recordings are listed but kept.
    pub held_by: Option<String>,
}

#[cfg(test)]
mod idle_lock_tests {
    use super::idle_lock_seconds;

    #[test]
    fn the_idle_lock_follows_the_practice_setting_and_can_only_be_shortened_locally() {
        assert_eq!(idle_lock_seconds(None, None), 600);
        assert_eq!(idle_lock_seconds(Some("5"), None), 300);
        assert_eq!(idle_lock_seconds(Some(" 30 "), None), 1800);
        assert_eq!(idle_lock_seconds(Some("0"), None), 600, "0 is not 'never'");
        assert_eq!(idle_lock_seconds(Some("soon"), None), 600);
        assert_eq!(idle_lock_seconds(Some("5"), Some("3")), 3);
        assert_eq!(
            idle_lock_seconds(Some("5"), Some("3600")),
            300,
            "never longer"
        );
        assert_eq!(idle_lock_seconds(None, Some("0")), 600);
    }
}
