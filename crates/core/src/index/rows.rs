//! Row-level helpers of the sync: taking a recording out of the searchable tables, hiding a
//! duplicate import, and checking every id an entry names before it is stored or used.

use crate::archive::journal::{JournalEntry, RecordingMeta};
use crate::error::Result;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

/// Take a recording out of the searchable tables (its row, parties and text). True if it was there.
pub(super) async fn remove_row(tx: &mut Tx<'_>, id: &str) -> Result<bool> {
    let Some(rowid) = sqlx::query_scalar::<_, i64>("SELECT rowid FROM recordings WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM recordings_fts WHERE rowid = ?")
        .bind(rowid)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recording_parties WHERE rec_rowid = ?")
        .bind(rowid)
        .execute(&mut **tx)
        .await?;
    // The links its recording entry made go with the row (a forged entry that gave way to the
    // importer's own leaves none behind); links people made stay for the entry that stands.
    sqlx::query("DELETE FROM patient_links WHERE recording = ? AND origin = 'import'")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recordings WHERE rowid = ?")
        .bind(rowid)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Keep a second import of the same audio out of sight, remembering which recording it doubles.
pub(super) async fn hide_duplicate(tx: &mut Tx<'_>, m: &RecordingMeta, of: &str) -> Result<()> {
    sqlx::query("INSERT OR IGNORE INTO duplicates (id, of, dedup, meta) VALUES (?, ?, ?, ?)")
        .bind(&m.id)
        .bind(of)
        .bind(&m.dedup)
        .bind(serde_json::to_string(m).expect("serialisable"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Every id an entry names must be one Callvault makes (32 lower-case hex digits) before it is
/// stored or used to build a path (`rec/<id[..2]>/…`).
pub(super) fn check_ids(e: &JournalEntry) -> std::result::Result<(), String> {
    let ids: Vec<(&str, &str)> = match e {
        JournalEntry::Recording(m) => vec![("recording", &m.id)],
        JournalEntry::Request(r) => vec![("request", &r.request)],
        JournalEntry::Consent(c) => vec![("recording", &c.recording)],
        JournalEntry::PatientLink(l) => vec![("recording", &l.recording)],
        JournalEntry::Tombstone(t) => vec![("recording", &t.recording)],
        JournalEntry::Hold(h) => std::iter::once(("hold", h.hold.as_str()))
            .chain(h.recordings.iter().map(|r| ("recording", r.as_str())))
            .collect(),
        JournalEntry::HoldRelease(h) => vec![("hold", &h.hold)],
        JournalEntry::Setting(_) => vec![],
        JournalEntry::Breach(b) => {
            let calls = match &b.event {
                crate::breach::BreachEvent::Reported { calls, .. } => calls.as_slice(),
                _ => &[],
            };
            [("breach", b.breach.as_str()), ("user", b.reporter.as_str())]
                .into_iter()
                .chain(calls.iter().map(|c| ("recording", c.as_str())))
                .collect()
        }
        JournalEntry::Assign(a) => vec![("recording", &a.recording), ("user", &a.staff_uid)],
        JournalEntry::RecordingCopy(c) => vec![
            ("recording", &c.recording),
            ("user", &c.to),
            ("device", &c.device),
        ],
        JournalEntry::FormatUpgrade(f) => f.legacy.keys().map(|d| ("device", d.as_str())).collect(),
        JournalEntry::AuditAnchor(a) => a
            .heads
            .iter()
            .map(|h| ("device", h.device.as_str()))
            .collect(),
        JournalEntry::UserCheckpoint(c) => std::iter::once(("user", c.uid.as_str()))
            .chain(c.heads.keys().map(|d| ("device", d.as_str())))
            .collect(),
    };
    match ids.into_iter().find(|(_, id)| !crate::archive::is_id(id)) {
        Some((what, id)) => Err(format!("malformed {what} id {:?}", truncate(id))),
        None => Ok(()),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
