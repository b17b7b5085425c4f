//! The archive's exclusive maintenance lock (`locks/maintenance.lock`), for the rare operations
//! that rewrite what other devices wrote (erasure compaction, retention sweeps). Taken by
//! publishing the lock file (never replacing one), then re-read a moment later to be sure no
//! other device took it over; a lock past its lease (a laptop closed mid-sweep) is moved aside
//! and taken over after the same re-check. So is a lock this same device took in a process that
//! is no longer running (killed mid-sweep), without waiting for its lease (checked on Linux; other
//! systems wait for the lease).

use crate::archive::Archive;
use crate::error::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub const PATH: &str = "locks/maintenance.lock";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct LockFile {
    token: String,
    device: String,
    user: String,
    at: String,
    lease_until: String,
    /// The process that took it, on `device`.
    #[serde(default)]
    pid: Option<u32>,
}

/// Is process `pid` of this computer still running? (Unknown counts as running.)
fn process_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

/// A held maintenance lock; released on drop.
pub struct MaintenanceLock<'a> {
    archive: &'a Archive,
    token: String,
}

/// How many stale locks one `acquire` moves aside at once, without pausing: a stale lock that
/// keeps coming back is someone's doing, and must not keep this loop spinning.
const MAX_TAKEOVERS: u32 = 3;

/// Take the lock, waiting up to `wait` for another device to finish. Bounded whatever is found at
/// the lock's name (a live lock, an unreadable or planted file, stale locks that keep coming back):
/// after `wait` it ends with an error saying what stood in the way.
pub fn acquire<'a>(
    archive: &'a Archive,
    device: &str,
    user: &str,
    lease: Duration,
    wait: std::time::Duration,
) -> Result<MaintenanceLock<'a>> {
    let start = std::time::Instant::now();
    let mut takeovers = 0u32;
    loop {
        let token = crate::crypto::new_id();
        let now = Utc::now();
        let lf = LockFile {
            token: token.clone(),
            device: device.to_string(),
            user: user.to_string(),
            at: crate::time::rfc3339(now),
            lease_until: crate::time::rfc3339(now + lease),
            pid: Some(std::process::id()),
        };
        let why: String = match archive.write_new(PATH, &serde_json::to_vec(&lf).expect("serialisable")) {
            Ok(()) => {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if read(archive).map(|l| l.token == token).unwrap_or(false) {
                    return Ok(MaintenanceLock { archive, token });
                }
                "the maintenance lock was taken over by another device as soon as it was taken; try again later".into()
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read(archive) {
                Some(held) => {
                    let expired = DateTime::parse_from_rfc3339(&held.lease_until)
                        .map(|t| t.with_timezone(&Utc) < Utc::now())
                        .unwrap_or(true);
                    // Taken on this device by a process that has since died (killed, or the
                    // computer restarted): nobody is sweeping.
                    let orphaned = held.device == device
                        && held
                            .pid
                            .is_some_and(|p| p != std::process::id() && !process_alive(p));
                    if expired || orphaned {
                        // Move the stale lock aside (only one device succeeds), then retry: at
                        // once the first few times, then only after the usual pause.
                        takeovers += 1;
                        let moved = std::fs::rename(
                            archive.path(PATH),
                            archive.path(&format!("locks/stale-{}", crate::crypto::new_id())),
                        );
                        match moved {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => format!(
                                "a stale maintenance lock (device {}, lease until {}) could not be moved aside ({e}); if no maintenance is running, remove it",
                                held.device, held.lease_until
                            ),
                            _ if takeovers <= MAX_TAKEOVERS => continue,
                            _ => format!(
                                "stale maintenance locks keep appearing here ({takeovers} moved aside; the last from device {} at {}): something is writing them; look in locks/",
                                held.device, held.at
                            ),
                        }
                    } else {
                        format!(
                            "maintenance is running on device {} since {} (lease until {}); try again later",
                            held.device, held.at, held.lease_until
                        )
                    }
                }
                // Unreadable (damaged, planted: a link, a pipe, a folder), or vanished between the
                // two calls: retry shortly, but not for ever (named so someone can remove it).
                None => "the maintenance lock file is unreadable; if no maintenance is running, remove it".into(),
            },
            Err(e) => return Err(Error::io(archive.path(PATH).display(), e)),
        };
        if start.elapsed() >= wait {
            return Err(Error::Archive {
                path: archive.path(PATH).display().to_string(),
                reason: why,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
}

/// The lock file as it stands: a regular file of at most 64 KiB, never read through a link (a pipe
/// or `/dev/zero` planted here must not hang or exhaust the maintainer's computer).
fn read(archive: &Archive) -> Option<LockFile> {
    crate::archive::read_capped(&archive.path(PATH), 64 << 10)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

impl MaintenanceLock<'_> {
    /// Still ours? (Checked before each irreversible step.)
    pub fn check(&self) -> Result<()> {
        match read(self.archive) {
            Some(l) if l.token == self.token => Ok(()),
            _ => Err(Error::Archive {
                path: self.archive.path(PATH).display().to_string(),
                reason: "the maintenance lock was taken over by another device; stopped".into(),
            }),
        }
    }
}

impl Drop for MaintenanceLock<'_> {
    fn drop(&mut self) {
        if read(self.archive)
            .map(|l| l.token == self.token)
            .unwrap_or(false)
        {
            let _ = std::fs::remove_file(self.archive.path(PATH));
        }
    }
}
