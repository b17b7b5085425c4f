//! Synchronising the index from the archive's journals: every segment not yet applied is read,
//! its signature and its signer's right to each entry checked, and its entries written into the
//! tables ([`Index::sync`]); damaged or missing segments are reported, not fatal.

use super::open::Index;
use crate::archive::journal::{self, JournalEntry, RecordingMeta};
use crate::archive::{Archive, SignerKeys};
use crate::audit::Problem;
use crate::error::{Error, Result};
use crate::phone;
use crate::secret::Key32;
use std::collections::HashSet;

/// What signers may write: maintainers may compact journals; ingest-only identities may only add
/// recordings.
#[derive(Clone, Debug, Default)]
pub struct SignerRoles {
    pub maintainers: HashSet<String>,
    pub ingest_only: HashSet<String>,
}

/// What a sync did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub segments_applied: usize,
    pub recordings_added: usize,
    pub recordings_erased: usize,
    pub problems: Vec<Problem>,
}

/// The runs of sequence numbers below the highest present that are neither present nor applied
/// before, as (first, last) inclusive: found from the numbers there are, not by counting up to the
/// highest (which anyone can make huge by planting a file name).
fn gaps(present: &HashSet<i64>, applied: &HashSet<i64>) -> Vec<(u64, u64)> {
    let Some(&max) = present.iter().max() else {
        return Vec::new();
    };
    let mut known: Vec<i64> = present
        .iter()
        .chain(applied.iter())
        .copied()
        .filter(|&s| (0..=max).contains(&s))
        .collect();
    known.sort_unstable();
    known.dedup();
    let mut out = Vec::new();
    let mut next = 0i64;
    for s in known {
        if s > next {
            out.push((next as u64, (s - 1) as u64));
        }
        next = s + 1;
    }
    out
}

/// A journal folder that could not be listed, as a problem.
fn unlisted(object: &str, e: &Error) -> Problem {
    Problem {
        object: object.to_string(),
        reason: match e {
            Error::Tampered { reason, .. } => reason.clone(),
            other => other.to_string(),
        },
    }
}

impl Index {
    /// Apply every journal segment not yet applied. Damaged segments are reported, not fatal:
    /// the rest still sync, and they are retried next time.
    pub async fn sync(
        &self,
        archive: &Archive,
        metadata: &Key32,
        signers: &SignerKeys,
        roles: &SignerRoles,
    ) -> Result<SyncReport> {
        let mut rep = SyncReport::default();
        // First every device's listing, so the amount of work is known for progress reports.
        let mut devices = Vec::new();
        // A folder that cannot be listed (a file or link planted where it belongs) is reported,
        // never a reason to stop: the other devices' journals still sync.
        let names = archive.list("journal").unwrap_or_else(|e| {
            rep.problems.push(unlisted("journal", &e));
            Vec::new()
        });
        for device in names {
            if !crate::archive::is_id(&device) {
                rep.problems.push(Problem {
                    object: format!("journal/{device}"),
                    reason: "unexpected folder in journal/".into(),
                });
                continue;
            }
            let applied: HashSet<i64> =
                sqlx::query_scalar("SELECT seq FROM applied_segments WHERE device = ?")
                    .bind(&device)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .collect();
            let listing = match journal::list_device(archive, &device) {
                Ok(l) => l,
                Err(e) => {
                    rep.problems
                        .push(unlisted(&format!("journal/{device}"), &e));
                    continue;
                }
            };
            devices.push((device, applied, listing));
        }
        let total: u64 = devices
            .iter()
            .map(|(_, applied, l)| {
                l.current
                    .keys()
                    .filter(|s| !applied.contains(&(**s as i64)))
                    .count() as u64
            })
            .sum();
        let mut done = 0u64;
        if let (Some(p), true) = (&self.progress, total > 0) {
            p(0, total);
        }
        for (device, applied, listing) in devices {
            for name in listing.unexpected {
                rep.problems.push(Problem {
                    object: format!("journal/{device}/{name}"),
                    reason: "unexpected file in a journal".into(),
                });
            }
            let mut present = HashSet::new();
            for (seq, (gen, name)) in listing.current {
                let rel = format!("journal/{device}/{name}");
                present.insert(seq as i64);
                if applied.contains(&(seq as i64)) {
                    continue;
                }
                done += 1;
                if let Some(p) = &self.progress {
                    if done.is_multiple_of(64) || done == total {
                        p(done, total);
                    }
                }
                let (signer, entries) = match archive.read(&rel).and_then(|b| {
                    journal::open_segment_gen(&b, metadata, &device, seq, gen, signers, &rel)
                }) {
                    Ok(e) => e,
                    Err(e) => {
                        rep.problems.push(Problem {
                            object: rel,
                            reason: e.to_string(),
                        });
                        continue;
                    }
                };
                // A first generation is signed by the author of every entry; a compacted one by a
                // maintainer (supervisor or data controller) who rewrote it for an erasure.
                let bad = if gen == 0 {
                    entries
                        .iter()
                        .find(|e| e.author() != signer)
                        .map(|b| {
                            format!(
                                "an entry claims author {} but the segment was signed by {signer}",
                                b.author()
                            )
                        })
                        .or_else(|| {
                            // Only a maintainer (supervisor, data controller) deletes or assigns.
                            (!roles.maintainers.contains(&signer)
                                && entries
                                    .iter()
                                    .any(|e| matches!(e, JournalEntry::Tombstone(_) | JournalEntry::Assign(_))))
                            .then(|| format!("{signer} may not delete recordings (not a supervisor or data controller)"))
                        })
                        .or_else(|| {
                            // An ingest machine may only add recordings.
                            (roles.ingest_only.contains(&signer)
                                && entries.iter().any(|e| !matches!(e, JournalEntry::Recording(_))))
                            .then(|| format!("ingest identity {signer} wrote something other than a recording"))
                        })
                } else if !roles.maintainers.contains(&signer) {
                    Some(format!(
                        "compacted by {signer}, who is not a supervisor or data controller"
                    ))
                } else {
                    None
                };
                if let Some(reason) = bad {
                    rep.problems.push(Problem {
                        object: rel,
                        reason,
                    });
                    continue;
                }
                let (added, erased) = self.apply(&device, seq, &entries).await?;
                rep.recordings_added += added;
                rep.recordings_erased += erased;
                rep.segments_applied += 1;
            }
            for (from, to) in gaps(&present, &applied) {
                if to - from < 64 {
                    for gap in from..=to {
                        rep.problems.push(Problem {
                            object: format!("journal/{device}/{}", journal::segment_name(gap)),
                            reason: "segment missing from the journal's sequence (removed)".into(),
                        });
                    }
                } else {
                    // One problem for a long run: a segment planted with a huge number must not
                    // make this loop (or this report) go on for ever.
                    rep.problems.push(Problem {
                        object: format!("journal/{device}/{}", journal::segment_name(from)),
                        reason: format!(
                            "segments {from:016x} to {to:016x} ({} in all) missing from the journal's sequence (removed, or a segment with a far higher number planted)",
                            to - from + 1
                        ),
                    });
                }
            }
            for missing in applied.difference(&present) {
                rep.problems.push(Problem {
                    object: format!(
                        "journal/{device}/{}",
                        journal::segment_name(*missing as u64)
                    ),
                    reason: "segment seen before is missing from the archive (removed)".into(),
                });
            }
        }
        Ok(rep)
    }

    async fn apply(
        &self,
        device: &str,
        seq: u64,
        entries: &[JournalEntry],
    ) -> Result<(usize, usize)> {
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        let mut erased = 0;
        for (idx, e) in entries.iter().enumerate() {
            match e {
                JournalEntry::Tombstone(t) => {
                    if let Some(rowid) =
                        sqlx::query_scalar::<_, i64>("SELECT rowid FROM recordings WHERE id = ?")
                            .bind(&t.recording)
                            .fetch_optional(&mut *tx)
                            .await?
                    {
                        sqlx::query("DELETE FROM recordings_fts WHERE rowid = ?")
                            .bind(rowid)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM recording_parties WHERE rec_rowid = ?")
                            .bind(rowid)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM recordings WHERE rowid = ?")
                            .bind(rowid)
                            .execute(&mut *tx)
                            .await?;
                        erased += 1;
                    }
                    sqlx::query("DELETE FROM consent_marks WHERE recording = ?")
                        .bind(&t.recording)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM extra_wraps WHERE recording = ?")
                        .bind(&t.recording)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("INSERT OR IGNORE INTO tombstones (recording, dedup, tombstone) VALUES (?, ?, ?)")
                        .bind(&t.recording)
                        .bind(&t.dedup)
                        .bind(serde_json::to_string(t).expect("serialisable"))
                        .execute(&mut *tx)
                        .await?;
                }
                JournalEntry::Assign(a) => {
                    let row: Option<(i64, String)> =
                        sqlx::query_as("SELECT rowid, meta FROM recordings WHERE id = ?")
                            .bind(&a.recording)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let Some((rowid, meta)) = row else { continue };
                    let mut m: RecordingMeta =
                        serde_json::from_str(&meta).map_err(|e| Error::Index(e.to_string()))?;
                    m.staff_uid = Some(a.staff_uid.clone());
                    if !m.party_uids.contains(&a.staff_uid) {
                        m.party_uids.push(a.staff_uid.clone());
                    }
                    sqlx::query("UPDATE recordings SET staff_uid = ?, meta = ? WHERE rowid = ?")
                        .bind(&a.staff_uid)
                        .bind(serde_json::to_string(&m).expect("serialisable"))
                        .bind(rowid)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT OR IGNORE INTO recording_parties (uid, rec_rowid) VALUES (?, ?)",
                    )
                    .bind(&a.staff_uid)
                    .bind(rowid)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT OR REPLACE INTO extra_wraps (recording, label, wrap) VALUES (?, ?, ?)",
                    )
                    .bind(&a.recording)
                    .bind(format!("user:{}", a.staff_uid))
                    .bind(serde_json::to_string(&a.wrap).expect("serialisable"))
                    .execute(&mut *tx)
                    .await?;
                }
                JournalEntry::Hold(h) => {
                    sqlx::query("INSERT OR IGNORE INTO holds (hold, entry) VALUES (?, ?)")
                        .bind(&h.hold)
                        .bind(serde_json::to_string(h).expect("serialisable"))
                        .execute(&mut *tx)
                        .await?;
                }
                JournalEntry::HoldRelease(h) => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO hold_releases (hold, at, entry) VALUES (?, ?, ?)",
                    )
                    .bind(&h.hold)
                    .bind(&h.at)
                    .bind(serde_json::to_string(h).expect("serialisable"))
                    .execute(&mut *tx)
                    .await?;
                }
                JournalEntry::Setting(st) => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO settings (key, at, device, seq, idx, entry) VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&st.key)
                    .bind(&st.at)
                    .bind(device)
                    .bind(seq as i64)
                    .bind(idx as i64)
                    .bind(serde_json::to_string(st).expect("serialisable"))
                    .execute(&mut *tx)
                    .await?;
                }
                JournalEntry::Request(r) => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO request_events (request, at, device, seq, idx, event) VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&r.request)
                    .bind(&r.at)
                    .bind(device)
                    .bind(seq as i64)
                    .bind(idx as i64)
                    .bind(serde_json::to_string(r).expect("serialisable"))
                    .execute(&mut *tx)
                    .await?;
                }
                JournalEntry::Consent(c) => {
                    let gone: Option<i64> =
                        sqlx::query_scalar("SELECT 1 FROM tombstones WHERE recording = ?")
                            .bind(&c.recording)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if gone.is_some() {
                        continue;
                    }
                    sqlx::query(
                        "INSERT OR IGNORE INTO consent_marks (recording, at, device, seq, idx, mark) VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&c.recording)
                    .bind(&c.at)
                    .bind(device)
                    .bind(seq as i64)
                    .bind(idx as i64)
                    .bind(serde_json::to_string(c).expect("serialisable"))
                    .execute(&mut *tx)
                    .await?;
                }
                JournalEntry::Recording(m) => {
                    // A deleted recording never comes back (a stale segment, another device's order).
                    let gone: Option<i64> =
                        sqlx::query_scalar("SELECT 1 FROM tombstones WHERE recording = ?")
                            .bind(&m.id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if gone.is_some() {
                        continue;
                    }
                    let digits = m.external_number.as_deref().and_then(phone::normalize);
                    let started = chrono::DateTime::parse_from_rfc3339(&m.started_at)
                        .map_err(|_| Error::Index(format!("recording {}: bad start time", m.id)))?
                        .timestamp_millis();
                    let res = sqlx::query(
                        "INSERT OR IGNORE INTO recordings (id, started_at, direction, staff_uid, external_digits,
                         duration_ms, dedup, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&m.id)
                    .bind(started)
                    .bind(m.direction.as_str())
                    .bind(&m.staff_uid)
                    .bind(&digits)
                    .bind(m.duration_ms as i64)
                    .bind(&m.dedup)
                    .bind(serde_json::to_string(m).expect("serialisable"))
                    .execute(&mut *tx)
                    .await?;
                    if res.rows_affected() == 0 {
                        continue;
                    }
                    let rowid = res.last_insert_rowid();
                    for uid in &m.party_uids {
                        sqlx::query("INSERT OR IGNORE INTO recording_parties (uid, rec_rowid) VALUES (?, ?)")
                            .bind(uid)
                            .bind(rowid)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let mut parties = m.parties.join("; ");
                    if let Some(l) = &m.staff_label {
                        parties.push_str("; ");
                        parties.push_str(l);
                    }
                    sqlx::query(
                        "INSERT INTO recordings_fts (rowid, parties, notes) VALUES (?, ?, ?)",
                    )
                    .bind(rowid)
                    .bind(parties)
                    .bind(m.notes.clone().unwrap_or_default())
                    .execute(&mut *tx)
                    .await?;
                    added += 1;
                }
            }
        }
        sqlx::query("INSERT OR IGNORE INTO applied_segments (device, seq) VALUES (?, ?)")
            .bind(device)
            .bind(seq as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if erased > 0 {
            // Purge the erased text from the full-text index's segments and the write-ahead log.
            sqlx::query("INSERT INTO recordings_fts(recordings_fts) VALUES('optimize')")
                .execute(&self.pool)
                .await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok((added, erased))
    }

    /// The highest journal segment number applied from `device`.
    pub async fn max_applied(&self, device: &str) -> Result<Option<u64>> {
        let m: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM applied_segments WHERE device = ?")
                .bind(device)
                .fetch_one(&self.pool)
                .await?;
        Ok(m.map(|m| m as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::gaps;
    use std::collections::HashSet;

    #[test]
    fn gaps_are_found_from_the_numbers_there_are() {
        let set = |v: &[i64]| v.iter().copied().collect::<HashSet<i64>>();
        assert_eq!(gaps(&set(&[]), &set(&[0, 1])), vec![]);
        assert_eq!(gaps(&set(&[0, 1, 4]), &set(&[2])), vec![(3, 3)]);
        assert_eq!(gaps(&set(&[2, 9]), &set(&[])), vec![(0, 1), (3, 8)]);
        // A planted name with a huge number: one run, found at once.
        let huge = (1i64 << 48) - 1;
        assert_eq!(
            gaps(&set(&[0, huge]), &set(&[])),
            vec![(1, huge as u64 - 1)]
        );
    }
}
