//! The local index: SQLite (through sqlx) encrypted at rest with SQLCipher, in this device's app-data
//! folder. It is a cache of the archive's journals — synchronised incrementally at each logon and
//! rebuilt from scratch by `index rebuild` — with indexes and a trigram FTS5 table so search stays
//! fast at a million recordings. Its key is derived from the archive's metadata secret and this
//! device's id, so only a logged-on user of this archive can open it, with no key stored anywhere.

use crate::archive::journal::{self, JournalEntry, RecordingMeta};
use crate::archive::{Archive, SignerKeys};
use crate::audit::Problem;
use crate::crypto;
use crate::error::{Error, Result};
use crate::phone;
use crate::secret::Key32;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS recordings (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        started_at INTEGER NOT NULL,
        direction TEXT NOT NULL,
        staff_uid TEXT,
        external_digits TEXT,
        duration_ms INTEGER NOT NULL,
        dedup TEXT NOT NULL,
        meta TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rec_started ON recordings(started_at)",
    "CREATE INDEX IF NOT EXISTS rec_number ON recordings(external_digits, started_at)",
    "CREATE INDEX IF NOT EXISTS rec_staff ON recordings(staff_uid, started_at)",
    "CREATE INDEX IF NOT EXISTS rec_duration ON recordings(duration_ms)",
    "CREATE INDEX IF NOT EXISTS rec_dedup ON recordings(dedup)",
    // Recent imports for the app's overview (an index on the expression `imports_since` reads, so
    // no row is parsed; built once when an older index is first opened).
    "CREATE INDEX IF NOT EXISTS rec_imported ON recordings(json_extract(meta, '$.imported_at'))",
    "CREATE TABLE IF NOT EXISTS recording_parties (
        uid TEXT NOT NULL, rec_rowid INTEGER NOT NULL, PRIMARY KEY(uid, rec_rowid)) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE IF NOT EXISTS recordings_fts USING fts5(parties, notes, tokenize='trigram')",
    "CREATE TABLE IF NOT EXISTS applied_segments (
        device TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(device, seq)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS request_events (
        request TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        event TEXT NOT NULL, PRIMARY KEY(request, device, seq, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS consent_marks (
        recording TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        mark TEXT NOT NULL, PRIMARY KEY(recording, device, seq, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS tombstones (recording TEXT PRIMARY KEY, dedup TEXT NOT NULL, tombstone TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tomb_dedup ON tombstones(dedup)",
    "CREATE TABLE IF NOT EXISTS holds (hold TEXT PRIMARY KEY, entry TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS hold_releases (hold TEXT NOT NULL, at TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY(hold, at))",
    "CREATE TABLE IF NOT EXISTS settings (key TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        entry TEXT NOT NULL, PRIMARY KEY(key, device, seq, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS extra_wraps (recording TEXT NOT NULL, label TEXT NOT NULL, wrap TEXT NOT NULL,
        PRIMARY KEY(recording, label)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS audit_heads (device TEXT PRIMARY KEY, files INTEGER NOT NULL, last_hash TEXT NOT NULL)",
    // A user's own preferences on this device (e.g. the app's last search criteria): personal data,
    // so kept here in the encrypted index, never in web storage or plain files.
    "CREATE TABLE IF NOT EXISTS preferences (uid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY(uid, key)) WITHOUT ROWID",
];

/// What signers may write: maintainers may compact journals; ingest-only identities may only add
/// recordings.
#[derive(Clone, Debug, Default)]
pub struct SignerRoles {
    pub maintainers: HashSet<String>,
    pub ingest_only: HashSet<String>,
}

/// Told how far a long catch-up has got: (journal segments applied, segments to apply).
pub type Progress = std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>;

/// The local index of one archive on this device.
pub struct Index {
    pool: SqlitePool,
    path: PathBuf,
    progress: Option<Progress>,
}

/// What a sync did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub segments_applied: usize,
    pub recordings_added: usize,
    pub recordings_erased: usize,
    pub problems: Vec<Problem>,
}

/// Search criteria, already resolved to archive terms by the session.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub number: Option<String>,
    pub staff_uids: Option<Vec<String>>,
    pub party: Option<String>,
    pub direction: Option<String>,
    pub min_ms: Option<i64>,
    pub max_ms: Option<i64>,
    pub text: Option<String>,
    pub limit: i64,
    /// Visibility: restrict to recordings this uid was a party to.
    pub party_to: Option<String>,
}

fn key_hex(metadata: &Key32, device: &str) -> zeroize::Zeroizing<String> {
    let k = crypto::hkdf(
        metadata.expose(),
        format!("callvault/v1/local-index/{device}").as_bytes(),
    );
    zeroize::Zeroizing::new(hex::encode(k.expose()))
}

impl Index {
    /// Open (creating if needed) the encrypted index at `dir/index.db`. If it cannot be opened
    /// with this key (damaged, or from an older archive), it is set aside and rebuilt.
    pub async fn open(dir: &Path, metadata: &Key32, device: &str) -> Result<Index> {
        let path = dir.join("index.db");
        match Self::open_at(&path, metadata, device).await {
            Ok(i) => Ok(i),
            Err(_) if path.exists() => {
                Self::remove_files(&path);
                Self::open_at(&path, metadata, device).await
            }
            Err(e) => Err(e),
        }
    }

    fn remove_files(path: &Path) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    async fn open_at(path: &Path, metadata: &Key32, device: &str) -> Result<Index> {
        let key = key_hex(metadata, device);
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .pragma("key", format!("\"x'{}'\"", key.as_str()))
            .pragma("temp_store", "MEMORY")
            // Deleted rows are overwritten, so an erased call's details do not linger in free pages.
            .pragma("secure_delete", "ON")
            .pragma("cache_size", "-65536")
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        for s in SCHEMA {
            sqlx::query(s).execute(&pool).await?;
        }
        Ok(Index {
            pool,
            path: path.to_path_buf(),
            progress: None,
        })
    }

    /// Drop everything and start again (for `index rebuild`).
    pub async fn reset(self, metadata: &Key32, device: &str) -> Result<Index> {
        let path = self.path.clone();
        let progress = self.progress.clone();
        self.pool.close().await;
        Self::remove_files(&path);
        let mut i = Self::open_at(&path, metadata, device).await?;
        i.progress = progress;
        Ok(i)
    }

    /// Report the progress of each later `sync` (for a first logon on a new device, which applies
    /// the whole journal).
    pub fn set_progress(&mut self, progress: Option<Progress>) {
        self.progress = progress;
    }

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
        for device in archive.list("journal")? {
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
            let listing = journal::list_device(archive, &device)?;
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
            if let Some(&max) = present.iter().max() {
                for gap in (0..max).filter(|s| !present.contains(s) && !applied.contains(s)) {
                    rep.problems.push(Problem {
                        object: format!("journal/{device}/{}", journal::segment_name(gap as u64)),
                        reason: "segment missing from the journal's sequence (removed)".into(),
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

    /// The recording already holding this keyed audio hash, if any.
    pub async fn find_dedup(&self, dedup: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM recordings WHERE dedup = ? LIMIT 1")
                .bind(dedup)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// One recording's metadata.
    pub async fn get(&self, id: &str) -> Result<Option<(RecordingMeta, i64)>> {
        let row = sqlx::query("SELECT meta, rowid FROM recordings WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let m: String = r.get(0);
            serde_json::from_str(&m)
                .map(|meta| (meta, r.get::<i64, _>(1)))
                .map_err(|e| Error::Index(format!("recording {id}: {e}")))
        })
        .transpose()
    }

    /// Is `uid` a party to the recording with this rowid?
    pub async fn is_party(&self, uid: &str, rowid: i64) -> Result<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT 1 FROM recording_parties WHERE uid = ? AND rec_rowid = ?",
        )
        .bind(uid)
        .bind(rowid)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM recordings")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Every recording (id, object sha256) for verification.
    pub async fn all_objects(&self) -> Result<Vec<RecordingMeta>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT meta FROM recordings ORDER BY started_at")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|m| serde_json::from_str(m).map_err(|e| Error::Index(e.to_string())))
            .collect()
    }

    /// Run a search, newest first.
    pub async fn search(&self, q: &Query) -> Result<Vec<RecordingMeta>> {
        // The matching rows are chosen and ordered first, and only the chosen few are read whole.
        // A user who reaches only their own calls, listing them by time (no number, staff, party or
        // text to narrow by): walk the start-time index newest first and keep theirs, rather than
        // sorting all their calls (which reads every one of their rows: 0.4 s at 100,000 calls).
        let by_time = q.party_to.is_some()
            && q.number.is_none()
            && q.staff_uids.is_none()
            && q.party.is_none()
            && q.text.is_none();
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(if by_time {
            "SELECT meta FROM recordings WHERE rowid IN (SELECT r.rowid FROM recordings r INDEXED BY rec_started WHERE 1=1"
        } else {
            "SELECT meta FROM recordings WHERE rowid IN (SELECT r.rowid FROM recordings r WHERE 1=1"
        });
        if let Some(uid) = &q.party_to {
            b.push(" AND r.rowid IN (SELECT rec_rowid FROM recording_parties WHERE uid = ")
                .push_bind(uid.clone())
                .push(")");
        }
        if let Some(t) = q.from_ms {
            b.push(" AND r.started_at >= ").push_bind(t);
        }
        if let Some(t) = q.to_ms {
            b.push(" AND r.started_at < ").push_bind(t);
        }
        if let Some(n) = &q.number {
            if n.len() >= 10 {
                b.push(" AND r.external_digits = ").push_bind(n.clone());
            } else {
                b.push(" AND r.external_digits LIKE ")
                    .push_bind(format!("%{}%", like_escape(n)))
                    .push(" ESCAPE '\\'");
            }
        }
        if let Some(uids) = &q.staff_uids {
            b.push(" AND r.staff_uid IN (");
            let mut sep = b.separated(", ");
            for u in uids {
                sep.push_bind(u.clone());
            }
            if uids.is_empty() {
                sep.push("NULL");
            }
            b.push(")");
        }
        if let Some(d) = &q.direction {
            b.push(" AND r.direction = ").push_bind(d.clone());
        }
        if let Some(m) = q.min_ms {
            b.push(" AND r.duration_ms >= ").push_bind(m);
        }
        if let Some(m) = q.max_ms {
            b.push(" AND r.duration_ms <= ").push_bind(m);
        }
        if let Some(p) = &q.party {
            b.push(" AND r.rowid IN (SELECT rowid FROM recordings_fts WHERE parties LIKE ")
                .push_bind(format!("%{}%", like_escape(p)))
                .push(" ESCAPE '\\')");
        }
        if let Some(t) = &q.text {
            let pat = format!("%{}%", like_escape(t));
            b.push(" AND r.rowid IN (SELECT rowid FROM recordings_fts WHERE notes LIKE ")
                .push_bind(pat.clone())
                .push(" ESCAPE '\\' OR parties LIKE ")
                .push_bind(pat)
                .push(" ESCAPE '\\')");
        }
        b.push(" ORDER BY r.started_at DESC LIMIT ")
            .push_bind(q.limit)
            .push(") ORDER BY started_at DESC");
        let rows: Vec<String> = b.build_query_scalar().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|m| serde_json::from_str(m).map_err(|e| Error::Index(e.to_string())))
            .collect()
    }

    /// Every journalled event of one request.
    pub async fn request_events(
        &self,
        request: &str,
    ) -> Result<Vec<crate::requests::RequestEntry>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT event FROM request_events WHERE request = ?")
                .bind(request)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(|e| Error::Index(e.to_string())))
            .collect()
    }

    /// Every request id, newest first.
    pub async fn request_ids(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT request FROM request_events GROUP BY request ORDER BY min(at) DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The latest consent mark of each of these recordings.
    pub async fn consent_marks(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, crate::requests::ConsentMark>> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let mut b: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT mark FROM consent_marks WHERE recording IN (");
            let mut sep = b.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            b.push(") ORDER BY at");
            let rows: Vec<String> = b.build_query_scalar().fetch_all(&self.pool).await?;
            for r in rows {
                let m: crate::requests::ConsentMark =
                    serde_json::from_str(&r).map_err(|e| Error::Index(e.to_string()))?;
                out.insert(m.recording.clone(), m);
            }
        }
        Ok(out)
    }

    /// The tombstone of a deleted recording with this keyed audio hash, if any.
    pub async fn erased_dedup(&self, dedup: &str) -> Result<Option<crate::retention::Tombstone>> {
        let t: Option<String> =
            sqlx::query_scalar("SELECT tombstone FROM tombstones WHERE dedup = ? LIMIT 1")
                .bind(dedup)
                .fetch_optional(&self.pool)
                .await?;
        t.map(|t| serde_json::from_str(&t).map_err(|e| Error::Index(e.to_string())))
            .transpose()
    }

    /// A wrap of a recording's data key kept outside its object (an assignment), for `label`.
    pub async fn extra_wrap(
        &self,
        recording: &str,
        label: &str,
    ) -> Result<Option<crate::crypto::Wrapped>> {
        let w: Option<String> =
            sqlx::query_scalar("SELECT wrap FROM extra_wraps WHERE recording = ? AND label = ?")
                .bind(recording)
                .bind(label)
                .fetch_optional(&self.pool)
                .await?;
        w.map(|w| serde_json::from_str(&w).map_err(|e| Error::Index(e.to_string())))
            .transpose()
    }

    /// Every tombstone.
    pub async fn tombstones(&self) -> Result<Vec<crate::retention::Tombstone>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT tombstone FROM tombstones")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|t| serde_json::from_str(t).map_err(|e| Error::Index(e.to_string())))
            .collect()
    }

    /// Holds and their releases.
    pub async fn holds(
        &self,
    ) -> Result<(
        Vec<crate::retention::Hold>,
        Vec<crate::retention::HoldRelease>,
    )> {
        let h: Vec<String> = sqlx::query_scalar("SELECT entry FROM holds")
            .fetch_all(&self.pool)
            .await?;
        let r: Vec<String> = sqlx::query_scalar("SELECT entry FROM hold_releases ORDER BY at")
            .fetch_all(&self.pool)
            .await?;
        let parse = |v: &String| serde_json::from_str(v).map_err(|e| Error::Index(e.to_string()));
        Ok((
            h.iter().map(parse).collect::<Result<_>>()?,
            r.iter()
                .map(|v| serde_json::from_str(v).map_err(|e| Error::Index(e.to_string())))
                .collect::<Result<_>>()?,
        ))
    }

    /// Every setting entry, oldest first.
    pub async fn setting_entries(&self) -> Result<Vec<crate::retention::Setting>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT entry FROM settings ORDER BY at")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|t| serde_json::from_str(t).map_err(|e| Error::Index(e.to_string())))
            .collect()
    }

    /// How many recordings started before `before_ms`.
    pub async fn count_started_before(&self, before_ms: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM recordings WHERE started_at < ?")
                .bind(before_ms)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Recordings that started before `before_ms`: (id, started_at ms).
    pub async fn older_than(&self, before_ms: i64) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, started_at FROM recordings WHERE started_at < ? ORDER BY started_at",
        )
        .bind(before_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Start times (ms) of the recordings that started at or after `from_ms`, optionally only
    /// those `party_to` was a party to (for the overview's calls-per-day chart).
    pub async fn started_since(&self, from_ms: i64, party_to: Option<&str>) -> Result<Vec<i64>> {
        Ok(match party_to {
            None => {
                sqlx::query_scalar("SELECT started_at FROM recordings WHERE started_at >= ?")
                    .bind(from_ms)
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(uid) => {
                // The start-time index alone (it holds each row's rowid): no row is read.
                sqlx::query_scalar(
                    "SELECT r.started_at FROM recordings r INDEXED BY rec_started
                     WHERE r.rowid IN (SELECT rec_rowid FROM recording_parties WHERE uid = ?)
                     AND r.started_at >= ?",
                )
                .bind(uid)
                .bind(from_ms)
                .fetch_all(&self.pool)
                .await?
            }
        })
    }

    /// How many recordings were imported in each of these UTC days (`YYYY-MM-DD`), counted on the
    /// `rec_imported` expression index alone (no row is read): one range count per day.
    pub async fn imports_on(&self, days: &[String]) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(days.len());
        for d in days {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM recordings WHERE json_extract(meta, '$.imported_at') >= ?
                 AND json_extract(meta, '$.imported_at') < ?",
            )
            .bind(format!("{d}T"))
            .bind(format!("{d}U"))
            .fetch_one(&self.pool)
            .await?;
            out.push(n);
        }
        Ok(out)
    }

    /// The audit heads this device saw at its last verification (device, files, last hash).
    pub async fn audit_heads(&self) -> Result<Vec<(String, i64, String)>> {
        Ok(
            sqlx::query_as("SELECT device, files, last_hash FROM audit_heads")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn set_audit_head(&self, device: &str, files: i64, hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO audit_heads (device, files, last_hash) VALUES (?, ?, ?)",
        )
        .bind(device)
        .bind(files)
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user's preference on this device, if set.
    pub async fn preference(&self, uid: &str, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM preferences WHERE uid = ? AND key = ?")
                .bind(uid)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Set (or with `None`, forget) a user's preference on this device.
    pub async fn set_preference(&self, uid: &str, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => {
                sqlx::query("INSERT OR REPLACE INTO preferences (uid, key, value) VALUES (?, ?, ?)")
                    .bind(uid)
                    .bind(key)
                    .bind(v)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM preferences WHERE uid = ? AND key = ?")
                    .bind(uid)
                    .bind(key)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(())
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
