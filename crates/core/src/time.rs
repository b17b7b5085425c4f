//! Times as people write them: ISO 8601 with an offset, or local wall-clock time in the archive's
//! zone (Europe/London by default), with the clocks' changes handled.

use crate::error::{Error, Result};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub fn zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| Error::Invalid(format!("time zone '{name}' is not known")))
}

/// Parse a manifest time: RFC 3339 (with offset or Z), or `YYYY-MM-DD[T ]HH:MM[:SS]` local to `tz`.
pub fn parse_instant(s: &str, tz: Tz) -> std::result::Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return local(n, tz);
        }
    }
    Err(format!(
        "'{s}' is not an ISO 8601 date and time (e.g. 2025-03-27T09:25:17)"
    ))
}

/// Is `t` a plausible start for a recorded call? Not before 1990 (no practice recorded calls
/// digitally then: a PBX clock reset to its epoch) and not more than a day ahead of this device's
/// clock (a PBX clock set wrong). Such a time would file the call where nobody looks for it, and
/// have the retention sweep delete it at once or never.
pub fn check_call_time(t: DateTime<Utc>) -> std::result::Result<(), String> {
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a real date")
        .and_utc();
    let latest = Utc::now() + chrono::Duration::days(1);
    if t < earliest {
        return Err(format!(
            "{} is before 1990: check the phone system's clock",
            rfc3339(t)
        ));
    }
    if t > latest {
        return Err(format!(
            "{} is in the future (this computer's clock says {}): check the phone system's clock",
            rfc3339(t),
            rfc3339(Utc::now())
        ));
    }
    Ok(())
}

/// Local wall-clock time to UTC. In the autumn's repeated hour the earlier instant is taken; a time
/// inside the spring's skipped hour does not exist and is refused.
pub fn local(n: NaiveDateTime, tz: Tz) -> std::result::Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&n) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{n} does not exist in {tz} (the clocks went forward)"
        )),
    }
}

/// Parse a search bound `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (local). `end` makes a bare date mean the
/// end of that day (exclusive bound at the next midnight).
pub fn parse_bound(s: &str, tz: Tz, end: bool) -> Result<DateTime<Utc>> {
    let bad = || Error::Invalid(format!("time '{s}': use YYYY-MM-DD or YYYY-MM-DDTHH:MM"));
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        let d = if end {
            d.succ_opt().ok_or_else(bad)?
        } else {
            d
        };
        let n = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return local(n, tz).map_err(Error::Invalid);
    }
    let n = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").map_err(|_| bad())?;
    let t = local(n, tz).map_err(Error::Invalid)?;
    Ok(if end {
        t + chrono::Duration::minutes(1)
    } else {
        t
    })
}

/// RFC 3339 in UTC with seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_times_from_a_clock_set_wrong_are_refused() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(check_call_time(t("2025-05-01T10:00:00Z")).is_ok());
        assert!(check_call_time(Utc::now()).is_ok());
        let e = check_call_time(t("1900-01-01T00:00:00Z")).unwrap_err();
        assert!(e.contains("before 1990"), "{e}");
        let e = check_call_time(t("2200-01-01T00:00:00Z")).unwrap_err();
        assert!(e.contains("in the future"), "{e}");
        assert!(check_call_time(Utc::now() + chrono::Duration::days(3)).is_err());
    }

    #[test]
    fn london_dst() {
        let tz = zone("Europe/London").unwrap();
        // Summer: BST = UTC+1.
        assert_eq!(
            rfc3339(parse_instant("2025-06-02T10:00:00", tz).unwrap()),
            "2025-06-02T09:00:00Z"
        );
        // Winter: GMT.
        assert_eq!(
            rfc3339(parse_instant("2025-01-02 10:00", tz).unwrap()),
            "2025-01-02T10:00:00Z"
        );
        // Offset given wins.
        assert_eq!(
            rfc3339(parse_instant("2025-06-02T10:00:00+00:00", tz).unwrap()),
            "2025-06-02T10:00:00Z"
        );
        // Spring gap: 30 March 2025 01:30 does not exist.
        assert!(parse_instant("2025-03-30T01:30:00", tz).is_err());
        // Autumn overlap: the earlier (BST) instant.
        assert_eq!(
            rfc3339(parse_instant("2025-10-26T01:30:00", tz).unwrap()),
            "2025-10-26T00:30:00Z"
        );
        assert!(parse_instant("27/03/2025", tz).is_err());
    }
}
