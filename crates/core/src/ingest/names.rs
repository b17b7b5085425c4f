//! Reading what file names and metadata say: wall-clock times (and the clocks' changes),
//! extensions and phone numbers, paths given inside metadata. Shared by every layout; knows
//! nothing of any one of them.
//!
//! - Times in file names are wall-clock time in the import's zone (`--tz`, default the archive's).
//!   A time in the spring's skipped hour does not exist and is refused; a time in the autumn's
//!   repeated hour takes the earlier instant, unless the name itself proves the later one (a
//!   FreePBX `uniqueid` is the call's start in epoch seconds), and the choice is written into the
//!   call's notes and the understood record.
//! - An extension is 2 to 5 digits and not a UK emergency or service number (999, 112, 111, 101,
//!   105, 119), so that a call to 999 is never taken for a call to extension 999.
//! - Paths given inside metadata (a sidecar's `file`, an Oreka CSV's `filename`) must stay inside
//!   the folder: `..` and absolute paths are rejected.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::path::{Component, Path};

/// A time as understood: the instant, and how the local time was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Instant {
    pub utc: DateTime<Utc>,
    /// As named, when it was a wall-clock time.
    pub local: Option<NaiveDateTime>,
    pub dst: String,
    /// Stored in the call's notes (the autumn's repeated hour).
    pub note: Option<String>,
}

/// How an offset is shown, e.g. `BST (UTC+01:00)`.
pub fn offset_name<T: TimeZone>(t: &DateTime<T>) -> String
where
    T::Offset: std::fmt::Display,
{
    format!("{} (UTC{})", t.format("%Z"), t.format("%:z"))
}

/// A wall-clock time in `tz` to an instant. The spring's skipped hour is refused; in the autumn's
/// repeated hour the earlier instant is taken, unless `not_before` (when the call is known to have
/// begun no earlier than, e.g. a FreePBX uniqueid) rules it out.
pub fn resolve_local(
    local: NaiveDateTime,
    tz: Tz,
    not_before: Option<DateTime<Utc>>,
) -> std::result::Result<Instant, String> {
    let shown = local.format("%Y-%m-%d %H:%M:%S");
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(Instant {
            utc: t.with_timezone(&Utc),
            local: Some(local),
            dst: offset_name(&t),
            note: None,
        }),
        LocalResult::Ambiguous(a, b) => {
            let (ea, eb) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            // Two seconds of slack: both clocks are the PBX's, read at whole seconds.
            let later = not_before.is_some_and(|nb| ea + chrono::Duration::seconds(2) < nb);
            if later {
                let nb = not_before.expect("checked");
                Ok(Instant {
                    utc: eb,
                    local: Some(local),
                    dst: format!(
                        "ambiguous (clocks went back): later instant taken, {} (the earlier, {}, is before the call's uniqueid time {})",
                        offset_name(&b),
                        offset_name(&a),
                        crate::time::rfc3339(nb)
                    ),
                    note: Some(format!(
                        "time ambiguous (clocks went back): later instant taken ({shown} {} = {}), as the call's uniqueid shows",
                        b.format("%Z"),
                        crate::time::rfc3339(eb)
                    )),
                })
            } else {
                Ok(Instant {
                    utc: ea,
                    local: Some(local),
                    dst: format!(
                        "ambiguous (clocks went back): earlier instant taken, {} (the later would be {})",
                        offset_name(&a),
                        offset_name(&b)
                    ),
                    note: Some(format!(
                        "time ambiguous (clocks went back): earlier instant taken ({shown} {} = {})",
                        a.format("%Z"),
                        crate::time::rfc3339(ea)
                    )),
                })
            }
        }
        LocalResult::None => Err(format!(
            "time {shown} does not exist in {} (the clocks went forward): check the phone system's clock or --tz",
            tz.name()
        )),
    }
}

/// `YYYYMMDD` and `HHMMSS` (or `YYYYMMDDHHMMSS` split by the caller) as a wall-clock time.
pub fn naive(date: &str, time: &str) -> std::result::Result<NaiveDateTime, String> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{date}' is not a date YYYYMMDD"));
    }
    if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{time}' is not a time HHMMSS"));
    }
    NaiveDateTime::parse_from_str(&format!("{date}{time}"), "%Y%m%d%H%M%S")
        .map_err(|_| format!("{date}-{time} is not a real date and time"))
}

/// UK numbers that are 2–5 digits long but are not extensions: emergency and public services.
const SERVICE_NUMBERS: &[&str] = &["999", "112", "111", "101", "105", "119"];

/// An internal extension: 2 to 5 digits, and not 999, 112, 111, 101, 105 or 119.
pub fn is_extension(s: &str) -> bool {
    (2..=5).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && !SERVICE_NUMBERS.contains(&s)
}

/// A number field of a name: digits (with `+`, `*`, `#`), empty, or a word a PBX writes when
/// there is no number (`unknown`, `anonymous`, `withheld`, ...), which gives None.
pub fn number_field(s: &str, what: &str) -> std::result::Result<Option<String>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let digits = s.strip_prefix('+').unwrap_or(s);
    if !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Ok(Some(s.to_string()));
    }
    if s.len() <= 20 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(None);
    }
    Err(format!("{what} '{s}' is not a phone number or extension"))
}

/// A path given inside metadata must name a file inside the folder.
pub fn inside(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty()
        && !p.is_absolute()
        && !rel.starts_with('/')
        && !rel.starts_with('\\')
        && !rel.contains('\\')
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && unportable(rel).is_none()
}

/// Why a path given inside metadata would name another file, or a device, on some system: a NUL
/// or other control character, a Windows device name (`CON`, `aux.wav`, `COM1`…), or a part
/// ending in a dot or a space (which Windows drops).
pub fn unportable(rel: &str) -> Option<String> {
    if rel.chars().any(char::is_control) {
        return Some("the name holds a control character".into());
    }
    for part in rel.split(['/', '\\']) {
        let stem = part
            .split('.')
            .next()
            .unwrap_or("")
            .trim_end()
            .to_ascii_uppercase();
        let device = matches!(
            stem.as_str(),
            "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
        ) || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
        if device {
            return Some(format!("'{part}' is a Windows device name, not a file"));
        }
        if part.ends_with('.') || part.ends_with(' ') {
            return Some(format!(
                "'{part}' ends in a dot or a space (Windows would read another file)"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_reach_another_file_or_a_device_are_not_inside() {
        for ok in [
            "a.wav",
            "2025/03/27/in-1.wav",
            "console.wav",
            "COM10.wav",
            "lpt.wav",
        ] {
            assert!(inside(ok), "{ok}");
        }
        for bad in [
            "../a.wav",
            "/etc/passwd",
            "a\\b.wav",
            "CON.wav",
            "sub/aux.wav",
            "nul",
            "COM1.wav",
            "lpt9.mp3",
            "x.wav.",
            "sub /x.wav",
            "a\0.wav",
            "",
        ] {
            assert!(!inside(bad), "{bad}");
        }
        assert!(unportable("Con .wav").unwrap().contains("device"));
    }
}
