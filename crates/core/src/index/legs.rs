//! The legs of transferred and split calls: for each call asked about, the neighbours the index
//! holds (every call naming the same conversation id, or calls from the same number within
//! [`conversation::WINDOW_MS`]), joined by [`conversation::join`]. A few queries per page of
//! results, whatever its length: one for the calls themselves, one per conversation id, one per
//! number.

use super::open::Index;
use crate::conversation::{self, Joined, LegRow};
use crate::error::Result;
use sqlx::{QueryBuilder, Sqlite};
use std::collections::HashMap;

/// Neighbours read for one conversation id or one number, at most (a fault, not a conversation).
const NEIGHBOURS_MAX: i64 = 1000;

type Raw = (String, i64, i64, i64, Option<String>, Option<String>);

fn leg((id, rowid, started_ms, duration_ms, digits, conversation): Raw) -> LegRow {
    LegRow {
        id,
        rowid,
        started_ms,
        duration_ms,
        digits,
        // A reader checks the id as a writer does: one that fails joins nothing.
        conversation: conversation::valid(conversation),
    }
}

const COLUMNS: &str = "SELECT id, rowid, started_at, duration_ms, external_digits, \
     json_extract(meta, '$.conversation') FROM recordings";

impl Index {
    /// The conversations of these recordings (those that are legs of one), by id. With
    /// `party_to`, only calls that user is a party to are joined (a call they may not see neither
    /// joins nor bridges two of theirs).
    pub async fn conversations(
        &self,
        ids: &[String],
        party_to: Option<&str>,
    ) -> Result<HashMap<String, Joined>> {
        let mut anchors = Vec::new();
        for chunk in ids.chunks(500) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(COLUMNS);
            b.push(" WHERE id IN (");
            let mut sep = b.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            b.push(")");
            let rows: Vec<Raw> = b.build_query_as().fetch_all(&self.pool).await?;
            anchors.extend(rows.into_iter().map(leg));
        }
        let mut by_key: HashMap<String, Vec<LegRow>> = HashMap::new();
        let mut by_number: HashMap<String, (i64, i64)> = HashMap::new();
        for a in &anchors {
            match (&a.conversation, &a.digits) {
                (Some(k), _) => {
                    by_key.entry(k.clone()).or_default();
                }
                (None, Some(d)) => {
                    let r = by_number
                        .entry(d.clone())
                        .or_insert((a.started_ms, a.started_ms));
                    r.0 = r.0.min(a.started_ms);
                    r.1 = r.1.max(a.started_ms);
                }
                (None, None) => {}
            }
        }
        for (k, legs) in by_key.iter_mut() {
            let q = format!(
                "{COLUMNS} WHERE json_extract(meta, '$.conversation') = ? ORDER BY started_at LIMIT ?"
            );
            let rows: Vec<Raw> = sqlx::query_as(&q)
                .bind(k)
                .bind(NEIGHBOURS_MAX)
                .fetch_all(&self.pool)
                .await?;
            legs.extend(rows.into_iter().map(leg));
        }
        let mut near: HashMap<String, Vec<LegRow>> = HashMap::new();
        for (d, (lo, hi)) in &by_number {
            let q = format!(
                "{COLUMNS} INDEXED BY rec_number WHERE external_digits = ? AND started_at >= ? \
                 AND started_at <= ? ORDER BY started_at LIMIT ?"
            );
            let rows: Vec<Raw> = sqlx::query_as(&q)
                .bind(d)
                .bind(lo.saturating_sub(conversation::WINDOW_MS))
                .bind(hi.saturating_add(conversation::WINDOW_MS))
                .bind(NEIGHBOURS_MAX)
                .fetch_all(&self.pool)
                .await?;
            near.insert(d.clone(), rows.into_iter().map(leg).collect());
        }
        if let Some(uid) = party_to {
            let rowids: Vec<i64> = by_key
                .values()
                .chain(near.values())
                .flatten()
                .map(|l| l.rowid)
                .collect();
            let seen = self.party_rowids(uid, &rowids).await?;
            for legs in by_key.values_mut().chain(near.values_mut()) {
                legs.retain(|l| seen.contains(&l.rowid));
            }
        }
        let mut out = HashMap::new();
        for a in &anchors {
            let pool = match (&a.conversation, &a.digits) {
                (Some(k), _) => by_key.get(k),
                (None, Some(d)) => near.get(d),
                (None, None) => None,
            };
            if let Some(j) = pool.and_then(|p| conversation::join(a, p)) {
                out.insert(a.id.clone(), j);
            }
        }
        Ok(out)
    }

    /// Which of these recordings (by rowid) `uid` is a party to.
    pub async fn party_rowids(
        &self,
        uid: &str,
        rowids: &[i64],
    ) -> Result<std::collections::HashSet<i64>> {
        let mut out = std::collections::HashSet::new();
        for chunk in rowids.chunks(500) {
            let mut b: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT rec_rowid FROM recording_parties WHERE uid = ");
            b.push_bind(uid.to_string());
            b.push(" AND rec_rowid IN (");
            let mut sep = b.separated(", ");
            for r in chunk {
                sep.push_bind(*r);
            }
            b.push(")");
            let rows: Vec<(i64,)> = b.build_query_as().fetch_all(&self.pool).await?;
            out.extend(rows.into_iter().map(|r| r.0));
        }
        Ok(out)
    }

    /// The staff user a recording maps to, if any.
    pub async fn staff_of(&self, id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT staff_uid FROM recordings WHERE id = ?",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .flatten(),
        )
    }
}
