//! Reading recordings back from the index: [`Index::search`] by the criteria of a [`Query`], one
//! recording's metadata, duplicates by audio hash, and the counts and start times behind retention
//! and the app's overview.

use super::open::Index;
use crate::archive::journal::RecordingMeta;
use crate::error::{Error, Result};
use sqlx::{QueryBuilder, Row, Sqlite};

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
    /// Calls linked to this NHS number (ten digits).
    pub nhs: Option<String>,
    pub limit: i64,
    /// Visibility: restrict to recordings this uid was a party to.
    pub party_to: Option<String>,
}

/// A recording as [`Index::calls_between`] lists it.
#[derive(Clone, Debug)]
pub struct CallRow {
    pub id: String,
    pub started_ms: i64,
    pub duration_ms: u64,
    pub number: Option<String>,
    pub source_name: String,
    pub extension: Option<String>,
    pub has_peaks: bool,
    /// Audio channels (2: the caller and the practice may be on one each).
    pub channels: u16,
}

impl Index {
    /// The recording already holding this keyed audio hash, if any.
    pub async fn find_dedup(&self, dedup: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM recordings WHERE dedup = ? LIMIT 1")
                .bind(dedup)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The recordings that began in `[from_ms, to_ms)`, in time order, as the completeness check
    /// needs them (no row parsed whole): id, start, length, file name, normalised number,
    /// extension, and whether a waveform was stored.
    pub async fn calls_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<CallRow>> {
        let rows = sqlx::query(
            "SELECT id, started_at, duration_ms, external_digits, json_extract(meta, '$.source_name'),
             json_extract(meta, '$.extension'), json_extract(meta, '$.peaks_sha256') IS NOT NULL,
             json_extract(meta, '$.channels')
             FROM recordings INDEXED BY rec_started WHERE started_at >= ? AND started_at < ?
             ORDER BY started_at, id",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| CallRow {
                id: r.get(0),
                started_ms: r.get(1),
                duration_ms: r.get::<i64, _>(2).max(0) as u64,
                number: r.get(3),
                source_name: r.get::<Option<String>, _>(4).unwrap_or_default(),
                extension: r.get(5),
                has_peaks: r.get(6),
                channels: u16::try_from(r.get::<Option<i64>, _>(7).unwrap_or(1)).unwrap_or(1),
            })
            .collect())
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

    /// The NHS numbers each of these recordings is linked to now (import or `patient_link`).
    pub async fn nhs_links(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
        for chunk in ids.chunks(500) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT recording, nhs FROM patient_links WHERE linked = 1 AND recording IN (",
            );
            let mut sep = b.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            b.push(") ORDER BY recording, at, nhs");
            let rows: Vec<(String, String)> = b.build_query_as().fetch_all(&self.pool).await?;
            for (r, n) in rows {
                out.entry(r).or_default().push(n);
            }
        }
        Ok(out)
    }

    /// The latest link or unlink of this call to this NHS number: (its time in ms — 0 for the
    /// import's own — and whether it links).
    pub async fn patient_link(&self, recording: &str, nhs: &str) -> Result<Option<(i64, bool)>> {
        Ok(
            sqlx::query_as("SELECT at, linked FROM patient_links WHERE nhs = ? AND recording = ?")
                .bind(nhs)
                .bind(recording)
                .fetch_optional(&self.pool)
                .await?,
        )
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

    /// Later imports of audio already in the archive, hidden from search: (id, the recording that
    /// stands, metadata).
    pub async fn duplicates(&self) -> Result<Vec<(String, String, RecordingMeta)>> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, of, meta FROM duplicates ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, of, m)| {
                serde_json::from_str(&m)
                    .map(|m| (id, of, m))
                    .map_err(|e| Error::Index(e.to_string()))
            })
            .collect()
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
            && q.text.is_none()
            && q.nhs.is_none();
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
        if let Some(n) = &q.nhs {
            b.push(" AND r.id IN (SELECT recording FROM patient_links WHERE linked = 1 AND nhs = ")
                .push_bind(n.clone())
                .push(")");
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
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
