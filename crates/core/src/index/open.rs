//! Opening the local index: its schema, its key (derived from the archive's metadata secret and
//! this device's id), the SQLCipher connection, and starting again from nothing (`index rebuild`).
//! [`Index`] itself is defined here; the other files of `index` add its queries.

use crate::crypto;
use crate::error::Result;
use crate::secret::Key32;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
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
        meta TEXT NOT NULL,
        src TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS rec_started ON recordings(started_at)",
    "CREATE INDEX IF NOT EXISTS rec_number ON recordings(external_digits, started_at)",
    "CREATE INDEX IF NOT EXISTS rec_staff ON recordings(staff_uid, started_at)",
    "CREATE INDEX IF NOT EXISTS rec_duration ON recordings(duration_ms)",
    "CREATE INDEX IF NOT EXISTS rec_dedup ON recordings(dedup)",
    // Recent imports for the app's overview (an index on the expression `imports_since` reads, so
    // no row is parsed; built once when an older index is first opened).
    "CREATE INDEX IF NOT EXISTS rec_imported ON recordings(json_extract(meta, '$.imported_at'))",
    // The legs of one conversation (`conversation`, e.g. a FreePBX linkedid): built once when an
    // older index is first opened (no entry before it carried one).
    "CREATE INDEX IF NOT EXISTS rec_conversation ON recordings(json_extract(meta, '$.conversation'))",
    // `src`: the journal segment (`<device>/<seq>`) whose entry made the user a party, so a
    // decision resting on it is checked against the signed journal, not this cache alone.
    "CREATE TABLE IF NOT EXISTS recording_parties (
        uid TEXT NOT NULL, rec_rowid INTEGER NOT NULL, src TEXT NOT NULL DEFAULT '',
        PRIMARY KEY(uid, rec_rowid)) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE IF NOT EXISTS recordings_fts USING fts5(parties, notes, tokenize='trigram')",
    // `legacy`: written before format 2 (its entries carry no signatures of their own).
    "CREATE TABLE IF NOT EXISTS applied_segments (
        device TEXT NOT NULL, seq INTEGER NOT NULL, legacy INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY(device, seq)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS format_upgrades (legacy TEXT NOT NULL PRIMARY KEY, by TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS request_events (
        request TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        event TEXT NOT NULL, PRIMARY KEY(request, device, seq, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS consent_marks (
        recording TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        mark TEXT NOT NULL, PRIMARY KEY(recording, device, seq, idx)) WITHOUT ROWID",
    // Calls linked to patients' NHS numbers: by the import's metadata (`origin` import, `at` 0) or
    // a `patient_link` entry (`origin` link, `at` its time in ms); for one call and number the
    // latest `at` counts, then the later `src` (`linked` 0 = taken back), whatever order the
    // journals are read in. (Added without a rebuild: no entry before it carried an NHS number.)
    "CREATE TABLE IF NOT EXISTS patient_links (nhs TEXT NOT NULL, recording TEXT NOT NULL, at INTEGER NOT NULL,
        linked INTEGER NOT NULL, src TEXT NOT NULL, origin TEXT NOT NULL, PRIMARY KEY(nhs, recording)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS patient_links_rec ON patient_links(recording)",
    "CREATE TABLE IF NOT EXISTS tombstones (recording TEXT PRIMARY KEY, dedup TEXT NOT NULL, tombstone TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tomb_dedup ON tombstones(dedup)",
    "CREATE TABLE IF NOT EXISTS holds (hold TEXT PRIMARY KEY, entry TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS breach_events (breach TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL,
       idx INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY(device, seq, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS hold_releases (hold TEXT NOT NULL, at TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY(hold, at))",
    "CREATE TABLE IF NOT EXISTS settings (key TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        entry TEXT NOT NULL, PRIMARY KEY(key, device, seq, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS extra_wraps (recording TEXT NOT NULL, label TEXT NOT NULL, wrap TEXT NOT NULL,
        PRIMARY KEY(recording, label)) WITHOUT ROWID",
    // Calls a supervisor assigned without their key (they hold none), until an approver or the
    // data controller delivers it: who assigned (`by`) and when (`at`).
    "CREATE TABLE IF NOT EXISTS pending_keys (recording TEXT NOT NULL, uid TEXT NOT NULL,
        by TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(recording, uid)) WITHOUT ROWID",
    // Later imports of audio already in the archive (two importers at once), hidden from search
    // until the next maintenance run reclaims them: `of` is the recording that stands.
    "CREATE TABLE IF NOT EXISTS duplicates (id TEXT PRIMARY KEY, of TEXT NOT NULL, dedup TEXT NOT NULL, meta TEXT NOT NULL)",
    // Admins' checkpoints of user record revisions (the highest per user counts).
    "CREATE TABLE IF NOT EXISTS user_checkpoints (uid TEXT NOT NULL, rev INTEGER NOT NULL, disabled INTEGER NOT NULL,
        heads TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        PRIMARY KEY(uid, device, seq, idx)) WITHOUT ROWID",
    // The users' keys as admins' checkpoints name them (`user_checkpoint.keys`): more than one for
    // a user, or one a record disagrees with, is a forgery. (Added without a rebuild: checkpoints
    // applied before carried no keys.)
    "CREATE TABLE IF NOT EXISTS user_keys (uid TEXT NOT NULL, keys TEXT NOT NULL, PRIMARY KEY(uid, keys)) WITHOUT ROWID",
    // Assignments whose call this index does not hold yet (a party reader's, before the copy of
    // the call reaches it): kept, and tried again at every sync, never dropped.
    "CREATE TABLE IF NOT EXISTS waiting_entries (device TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
        legacy INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY(device, seq, idx)) WITHOUT ROWID",
    // What syncing refused (rules broken, malformed ids), for `verify` to name every time.
    "CREATE TABLE IF NOT EXISTS refused_entries (object TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(object, reason)) WITHOUT ROWID",
    // Audit chain heads anchored in the journal (re-derived by a rebuild, unlike `audit_heads`).
    "CREATE TABLE IF NOT EXISTS audit_anchors (device TEXT NOT NULL, files INTEGER NOT NULL, last_hash TEXT NOT NULL,
        by TEXT NOT NULL, src TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(device, files, last_hash)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS audit_heads (device TEXT PRIMARY KEY, files INTEGER NOT NULL, last_hash TEXT NOT NULL)",
    // A user's own preferences on this device (e.g. the app's last search criteria): personal data,
    // so kept here in the encrypted index, never in web storage or plain files.
    "CREATE TABLE IF NOT EXISTS preferences (uid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY(uid, key)) WITHOUT ROWID",
];

/// The index's schema version (`PRAGMA user_version`): an index made by an older build is rebuilt
/// from the journals, since what it applied was checked by older rules.
const INDEX_VERSION: i64 = 4;

/// Told how far a long catch-up has got: (journal segments applied, segments to apply).
pub type Progress = std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>;

/// The local index of one archive on this device.
pub struct Index {
    pub(super) pool: SqlitePool,
    path: PathBuf,
    pub(super) progress: Option<Progress>,
    /// The SQLCipher key (hex), to open the file again after a reset.
    key: zeroize::Zeroizing<String>,
    /// A party reader's index (`open_party`): the uid it is for, to whom `recording_copy`
    /// entries addressed to them give their calls. `None`: a metadata holder's.
    pub(super) party: Option<String>,
}

fn key_hex(metadata: &Key32, device: &str) -> zeroize::Zeroizing<String> {
    let k = crypto::hkdf(
        metadata.expose(),
        format!("callvault/v1/local-index/{device}").as_bytes(),
    );
    zeroize::Zeroizing::new(hex::encode(k.expose()))
}

/// The key of a party reader's own index on this device: from their own secret, so no other
/// user of the computer (nor a metadata holder) opens it.
fn party_key_hex(secret: &Key32, uid: &str, device: &str) -> zeroize::Zeroizing<String> {
    let k = crypto::hkdf(
        secret.expose(),
        format!("callvault/v4/party-index/{uid}/{device}").as_bytes(),
    );
    zeroize::Zeroizing::new(hex::encode(k.expose()))
}

impl Index {
    /// Open (creating if needed) the encrypted index at `dir/index.db`. If it cannot be opened
    /// with this key (damaged, or from an older archive), it is set aside and rebuilt.
    pub async fn open(dir: &Path, metadata: &Key32, device: &str) -> Result<Index> {
        Self::open_or_rebuild(&dir.join("index.db"), key_hex(metadata, device), None).await
    }

    /// Open (creating if needed) the index of a user who holds no metadata key (a clinician or a
    /// member of staff in an archive whose segments carry their readers), at
    /// `dir/index-<uid>.db`, keyed from their own secret: it holds only the entries addressed to
    /// them, and only they open it.
    pub async fn open_party(dir: &Path, secret: &Key32, uid: &str, device: &str) -> Result<Index> {
        Self::open_or_rebuild(
            &dir.join(format!("index-{uid}.db")),
            party_key_hex(secret, uid, device),
            Some(uid.to_string()),
        )
        .await
    }

    async fn open_or_rebuild(
        path: &Path,
        key: zeroize::Zeroizing<String>,
        party: Option<String>,
    ) -> Result<Index> {
        match Self::open_at(path, key.clone(), party.clone()).await {
            Ok(i) => Ok(i),
            Err(_) if path.exists() => {
                Self::remove_files(path);
                Self::open_at(path, key, party).await
            }
            Err(e) => Err(e),
        }
    }

    /// Remove `uid`'s own index on this computer (`open_party`), if any: a disabled account's at
    /// its refused logon, or one whose roles now give it the metadata key (its own index is then
    /// no longer used). Best effort: a cache, and encrypted with their own secret.
    pub fn remove_party(dir: &Path, uid: &str) {
        Self::remove_files(&dir.join(format!("index-{uid}.db")));
    }

    fn remove_files(path: &Path) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    async fn open_at(
        path: &Path,
        key: zeroize::Zeroizing<String>,
        party: Option<String>,
    ) -> Result<Index> {
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
            .foreign_keys(false)
            // Another process of this computer may hold the index a while (a long catch-up).
            .busy_timeout(std::time::Duration::from_secs(120));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&pool)
            .await?;
        if version != INDEX_VERSION {
            for t in [
                "recordings",
                "recording_parties",
                "recordings_fts",
                "applied_segments",
                "request_events",
                "consent_marks",
                "patient_links",
                "tombstones",
                "holds",
                "hold_releases",
                "breach_events",
                "settings",
                "extra_wraps",
                "pending_keys",
                "duplicates",
                "user_checkpoints",
                "user_keys",
                "waiting_entries",
            ] {
                sqlx::query(&format!("DROP TABLE IF EXISTS {t}"))
                    .execute(&pool)
                    .await?;
            }
        }
        for s in SCHEMA {
            sqlx::query(s).execute(&pool).await?;
        }
        if version != INDEX_VERSION {
            sqlx::query(&format!("PRAGMA user_version = {INDEX_VERSION}"))
                .execute(&pool)
                .await?;
        }
        Ok(Index {
            pool,
            path: path.to_path_buf(),
            progress: None,
            key,
            party,
        })
    }

    /// A fresh index in memory only (never on disk), for re-deriving what the signed journal says
    /// before a decision that destroys: synced from nothing, it owes nothing to this computer's
    /// index file, which any user of the computer could edit.
    pub async fn in_memory() -> Result<Index> {
        let opts = SqliteConnectOptions::new()
            .in_memory(true)
            .pragma("temp_store", "MEMORY")
            .pragma("secure_delete", "ON")
            .foreign_keys(false);
        // One connection for the index's life: an in-memory database lives as long as it does.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        for s in SCHEMA {
            sqlx::query(s).execute(&pool).await?;
        }
        Ok(Index {
            pool,
            path: PathBuf::new(),
            progress: None,
            key: Default::default(),
            party: None,
        })
    }

    /// The index's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The uid a party reader's index is for (`None`: the metadata holders').
    pub fn party_uid(&self) -> Option<&str> {
        self.party.as_deref()
    }

    /// As [`Index::in_memory`], for the same reader as `like` (a party reader's, or a metadata
    /// holder's).
    pub async fn in_memory_as(like: &Index) -> Result<Index> {
        let mut i = Self::in_memory().await?;
        i.party = like.party.clone();
        Ok(i)
    }

    /// Drop everything and start again (for `index rebuild`).
    pub async fn reset(self) -> Result<Index> {
        let path = self.path.clone();
        let progress = self.progress.clone();
        let (key, party) = (self.key.clone(), self.party.clone());
        self.pool.close().await;
        Self::remove_files(&path);
        let mut i = Self::open_at(&path, key, party).await?;
        i.progress = progress;
        Ok(i)
    }

    /// Report the progress of each later `sync` (for a first logon on a new device, which applies
    /// the whole journal).
    pub fn set_progress(&mut self, progress: Option<Progress>) {
        self.progress = progress;
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}
