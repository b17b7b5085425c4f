//! Logon markers (docs/FORMAT.md, "Logon markers and lockout"): `auth/<uid>/<kind>-<ms>-<id>`,
//! written by any device, counted across all of them.

use super::{LOCKOUT_FAILURES, LOCKOUT_MS};
use crate::archive::Archive;
use crate::crypto;
use crate::error::{Error, Result};

/// Record a logon outcome: `f` failed, `s` succeeded, `r` password reset (clears failures).
pub fn mark(archive: &Archive, uid: &str, kind: char) -> Result<()> {
    let ms = chrono::Utc::now().timestamp_millis();
    let rel = format!("auth/{uid}/{kind}-{ms:013}-{}", &crypto::new_id()[..8]);
    archive
        .write_new(&rel, b"")
        .map_err(|e| Error::io(archive.path(&rel).display(), e))
}

/// How far ahead of this device's clock a logon marker may be dated and still count (other
/// devices' clocks run a little fast or slow).
pub const MARK_SKEW_MS: i64 = 5 * 60 * 1000;

/// If the account is locked now, until when (Unix ms). Counted from every device's markers.
///
/// Markers dated more than `MARK_SKEW_MS` ahead of `now_ms` are ignored, failures and clearings
/// alike: anyone can write a marker, and a success or reset dated in 2100 would otherwise disable
/// lockout for good, five failures dated then lock the account (an admin's too) for good. A folder
/// that cannot be listed (a file or link planted where it belongs) is an error naming it: no
/// password is tried while failures cannot be counted.
pub fn locked_until(archive: &Archive, uid: &str, now_ms: i64) -> Result<Option<i64>> {
    let mut clear = 0i64;
    let mut fails = Vec::new();
    for name in archive.list(&format!("auth/{uid}"))? {
        let Some((kind, ms)) = parse_mark(&name) else {
            continue;
        };
        if ms > now_ms.saturating_add(MARK_SKEW_MS) {
            continue;
        }
        match kind {
            'f' => fails.push(ms),
            _ => clear = clear.max(ms),
        }
    }
    let mut recent: Vec<i64> = fails
        .into_iter()
        .filter(|&t| t > clear && t > now_ms - LOCKOUT_MS)
        .collect();
    recent.sort();
    if recent.len() >= LOCKOUT_FAILURES {
        Ok(Some(recent[recent.len() - LOCKOUT_FAILURES] + LOCKOUT_MS))
    } else {
        Ok(None)
    }
}

/// Parse an auth marker name.
pub fn parse_mark(name: &str) -> Option<(char, i64)> {
    let mut parts = name.split('-');
    let kind = parts.next()?;
    let ms = parts.next()?;
    let rand = parts.next()?;
    if parts.next().is_some()
        || !matches!(kind, "f" | "s" | "r" | "k")
        || ms.len() != 13
        || rand.len() != 8
    {
        return None;
    }
    Some((kind.chars().next()?, ms.parse().ok()?))
}
