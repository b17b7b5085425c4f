//! The journal's entries other than recordings, as the index holds them: access requests and
//! consent marks, tombstones of deleted recordings, key wraps kept outside an object
//! (assignments), legal holds and their releases, and settings.

use super::open::Index;
use crate::archive::journal::RecordingMeta;
use crate::error::{Error, Result};
use sqlx::{QueryBuilder, Sqlite};

impl Index {
    /// Every journalled event of one request.
    pub async fn request_events(
        &self,
        request: &str,
    ) -> Result<Vec<crate::requests::RequestEntry>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT event FROM request_events WHERE request = ? ORDER BY at, device, seq, idx",
        )
        .bind(request)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(|e| Error::Index(e.to_string())))
            .collect()
    }

    /// Every journalled event of one request with the segment that holds it (`device`, `seq`).
    pub async fn request_event_sources(
        &self,
        request: &str,
    ) -> Result<Vec<(crate::requests::RequestEntry, String, u64)>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT event, device, seq FROM request_events WHERE request = ? ORDER BY at, device, seq, idx")
                .bind(request)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(e, d, s)| {
                serde_json::from_str(&e)
                    .map(|e| (e, d, s as u64))
                    .map_err(|e| Error::Index(e.to_string()))
            })
            .collect()
    }

    /// The journal segment (`<device>/<seq>`) whose entry made `uid` a party to a recording.
    pub async fn party_source(&self, uid: &str, rowid: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT src FROM recording_parties WHERE uid = ? AND rec_rowid = ?")
                .bind(uid)
                .bind(rowid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The users who are parties to recording `id` (on the call, or assigned it), in uid order.
    pub async fn parties_of(&self, id: &str) -> Result<Vec<String>> {
        let mut out: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT p.uid FROM recording_parties p JOIN recordings r ON p.rec_rowid = r.rowid
             WHERE r.id = ? ORDER BY p.uid",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        // A hidden duplicate import: the parties its own entry names (its parties' indexes hold
        // it too, until its tombstone reaches them).
        let dup: Option<String> = sqlx::query_scalar("SELECT meta FROM duplicates WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(m) = dup.and_then(|m| serde_json::from_str::<RecordingMeta>(&m).ok()) {
            out.extend(m.staff_uid.into_iter().chain(m.party_uids));
            out.sort();
            out.dedup();
        }
        Ok(out)
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

    /// Assigned calls whose key no one has delivered to their staff member yet: (recording, uid,
    /// assigned by, assigned at).
    pub async fn pending_keys(&self) -> Result<Vec<(String, String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT recording, uid, by, at FROM pending_keys ORDER BY recording, uid",
        )
        .fetch_all(&self.pool)
        .await?)
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

    /// Every breach report event (any order).
    pub async fn breach_events(&self) -> Result<Vec<crate::breach::BreachEntry>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT entry FROM breach_events")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|t| serde_json::from_str(t).map_err(|e| Error::Index(e.to_string())))
            .collect()
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
}
