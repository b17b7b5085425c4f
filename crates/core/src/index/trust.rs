//! What the index remembers of the archive's trust, as the signed journal gives it: admins'
//! checkpoints of user revisions and their upgrade runs, audit heads anchored by logons, each
//! device's journal heads, and every entry refused while syncing (for `verify` to name).

use super::open::Index;
use crate::audit::Problem;
use crate::error::Result;
use std::collections::{BTreeMap, HashMap};

/// The rows that destroying decisions rest on, by kind then key (each value a hash of the row).
pub type DecisionRows = BTreeMap<&'static str, BTreeMap<String, [u8; 32]>>;

/// What a retention run, a deletion or an erasure decides from: (kind, key, the rest of the row).
const DECISION_QUERIES: &[(&str, &str)] = &[
    // Not the whole row: a staff assignment's place in it depends on the order entries arrived.
    (
        "recordings",
        "SELECT id, started_at || ' ' || dedup FROM recordings",
    ),
    (
        "tombstones",
        "SELECT recording, dedup || ' ' || tombstone FROM tombstones",
    ),
    ("holds", "SELECT hold, entry FROM holds"),
    (
        "hold releases",
        "SELECT hold || ' ' || at, entry FROM hold_releases",
    ),
    (
        "duplicates",
        "SELECT id, of || ' ' || dedup FROM duplicates",
    ),
    (
        "settings",
        "SELECT key || ' ' || device || ' ' || seq || ' ' || idx, entry FROM settings",
    ),
    (
        "request events",
        "SELECT request || ' ' || device || ' ' || seq || ' ' || idx, event FROM request_events",
    ),
];

impl Index {
    /// The highest audit head anchored in the journal for each device: (device, files, last hash,
    /// who anchored it).
    pub async fn audit_anchors(&self) -> Result<Vec<(String, u64, String, String)>> {
        let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
            "SELECT device, files, last_hash, by FROM audit_anchors a
             WHERE files = (SELECT max(files) FROM audit_anchors b WHERE b.device = a.device)",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(d, f, h, b)| (d, f as u64, h, b))
            .collect())
    }

    /// Each device's highest journal segment written before format 2, if an admin's upgrade run
    /// has not yet journalled them (None once it has).
    pub async fn legacy_heads_to_record(&self) -> Result<Option<BTreeMap<String, u64>>> {
        let done: Option<i64> = sqlx::query_scalar("SELECT 1 FROM format_upgrades LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if done.is_some() {
            return Ok(None);
        }
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT device, max(seq) FROM applied_segments WHERE legacy = 1 GROUP BY device",
        )
        .fetch_all(&self.pool)
        .await?;
        // Even none: the record that the run happened, after which format 1 is believed nowhere.
        Ok(Some(rows.into_iter().map(|(d, s)| (d, s as u64)).collect()))
    }

    /// When this device last anchored the audit heads in its journal (its own clock), if ever.
    pub async fn last_anchor_at(&self, device: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT max(at) FROM audit_anchors WHERE src = ?")
                .bind(device)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Every entry or segment refused while syncing, for `verify` to name.
    pub async fn refused_entries(&self) -> Result<Vec<Problem>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT object, reason FROM refused_entries ORDER BY object, reason")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(object, reason)| Problem { object, reason })
            .collect())
    }

    /// The journal segment (`<device>/<seq>`) whose signed entry made this recording, as applied.
    pub async fn recording_source(&self, id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT src FROM recordings WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The highest revision an admin's checkpoint names for each user.
    pub async fn checkpointed_revs(&self) -> Result<HashMap<String, u64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT uid, max(rev) FROM user_checkpoints GROUP BY uid")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(u, r)| (u, r as u64)).collect())
    }

    /// Each user's keys as admins' checkpoints name them (one per user, unless forged).
    pub async fn checkpointed_keys(&self) -> Result<HashMap<String, Vec<String>>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT uid, keys FROM user_keys")
            .fetch_all(&self.pool)
            .await?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (u, k) in rows {
            out.entry(u).or_default().push(k);
        }
        Ok(out)
    }

    /// Each device's highest journal segment applied here (a disablement's checkpoint names them).
    pub async fn journal_heads(&self) -> Result<BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT device, max(seq) FROM applied_segments GROUP BY device")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(d, s)| (d, s as u64)).collect())
    }

    /// The rows a destroying decision rests on (recordings and their dates, tombstones, holds and
    /// releases, duplicates, settings, request events), to compare with an index re-derived from
    /// the signed journal.
    pub async fn decision_rows(&self) -> Result<DecisionRows> {
        let mut out = DecisionRows::new();
        for (kind, q) in DECISION_QUERIES {
            let rows: Vec<(String, String)> = sqlx::query_as(q).fetch_all(&self.pool).await?;
            out.insert(
                kind,
                rows.into_iter()
                    .map(|(k, v)| (k, crate::crypto::sha256(v.as_bytes())))
                    .collect(),
            );
        }
        Ok(out)
    }
}

/// How `local` differs from `journal` (both from [`Index::decision_rows`]), e.g. "holds: 1
/// missing; tombstones: 2 not in the journal", or None if they agree.
pub fn decision_differences(local: &DecisionRows, journal: &DecisionRows) -> Option<String> {
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for (kind, _) in DECISION_QUERIES {
        let l = local.get(kind).unwrap_or(&empty);
        let j = journal.get(kind).unwrap_or(&empty);
        let missing = j.keys().filter(|k| !l.contains_key(*k)).count();
        let added = l.keys().filter(|k| !j.contains_key(*k)).count();
        let changed = l
            .iter()
            .filter(|(k, v)| j.get(*k).is_some_and(|w| w != *v))
            .count();
        let mut parts = Vec::new();
        if missing > 0 {
            parts.push(format!("{missing} missing"));
        }
        if added > 0 {
            parts.push(format!("{added} not in the journal"));
        }
        if changed > 0 {
            parts.push(format!("{changed} changed"));
        }
        if !parts.is_empty() {
            out.push(format!("{kind}: {}", parts.join(", ")));
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}
