//! Applying one journal segment's entries to the index (`Index::apply`, called by the sync): each
//! entry's ids and its author's right to write it checked against the rulebook, then its rows
//! written, all in one transaction. Entries that depend on a recording another device's journal
//! holds (a consent mark, an assignment) wait, when it is not there yet, until the sync has applied
//! every segment, so every device decides them the same way whatever order it read the journals in.

use super::open::Index;
use super::rows::{check_ids, hide_duplicate, remove_row};
use super::sync::SignerRoles;
use crate::archive::journal::{self, JournalEntry, RecordingMeta};
use crate::error::{Error, Result};
use crate::phone;
use crate::policy::journal::{may_author, EntryKind};

/// What applying a segment's entries did.
#[derive(Default)]
pub(super) struct Applied {
    pub added: usize,
    pub erased: usize,
    /// Why each refused entry was refused.
    pub refused: Vec<String>,
    /// Entries (by their place in the segment) that wait for a recording not applied yet.
    pub waiting: Vec<(usize, JournalEntry)>,
}

impl Index {
    /// Apply one segment's entries (each with its place in the segment): those whose author may not
    /// write them, or that name a malformed id, are refused (returned as problems) and the rest
    /// applied, in one transaction. Until the `last` pass, a consent mark or an assignment whose
    /// recording is not applied yet waits (returned) instead of being decided.
    pub(super) async fn apply(
        &self,
        device: &str,
        seq: u64,
        legacy: bool,
        entries: &[(usize, &JournalEntry)],
        roles: &SignerRoles,
        last: bool,
    ) -> Result<Applied> {
        let mut tx = self.pool.begin().await?;
        let mut added: i64 = 0;
        let mut erased = 0;
        let mut refused = Vec::new();
        let mut waiting = Vec::new();
        for &(idx, e) in entries {
            // A party reader's index: a copy of a recording addressed to this reader (a call
            // assigned to them) stands for the recording itself, its id bound to the place the
            // original has in its importer's journal (its signature there was checked when the
            // segment was opened); the index's `src` names the copy, which this reader can open
            // again. Its writer must be one who may assign; everyone else ignores it (the
            // metadata key's holders read the original).
            let copied;
            let (e, rdev) = match (e, &self.party) {
                (JournalEntry::RecordingCopy(c), Some(me)) if c.to == *me => {
                    if let Err(why) = check_ids(e) {
                        refused.push(format!("entry {idx}: {why}; refused"));
                        continue;
                    }
                    if !may_author(roles.of(e.author()), EntryKind::RecordingCopy) {
                        refused.push(format!(
                            "entry {idx} (recording_copy) by {}: their roles may not write it; refused",
                            e.author()
                        ));
                        continue;
                    }
                    // A disabled importer's original counts only within their disablement's
                    // journal heads, as it would read in its own journal.
                    if roles.disabled.contains(&c.entry.imported_by)
                        && !within_disablement(&mut *tx, &c.entry.imported_by, &c.device, c.seq)
                            .await?
                    {
                        refused.push(format!(
                            "entry {idx} (recording_copy): its original was written by {} after their account was disabled; refused",
                            c.entry.imported_by
                        ));
                        continue;
                    }
                    copied = JournalEntry::Recording(c.entry.clone());
                    (&copied, c.device.as_str())
                }
                _ => (e, device),
            };
            if let Err(why) = check_ids(e) {
                refused.push(format!("entry {idx}: {why}; refused"));
                continue;
            }
            let kind = match e {
                JournalEntry::Recording(_) => EntryKind::Recording,
                JournalEntry::Request(_) => EntryKind::Request,
                JournalEntry::Consent(c) => {
                    let party: Option<i64> = sqlx::query_scalar(
                        "SELECT 1 FROM recordings r JOIN recording_parties p ON p.rec_rowid = r.rowid
                         WHERE r.id = ? AND p.uid = ?",
                    )
                    .bind(&c.recording)
                    .bind(&c.by)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let kind = EntryKind::Consent {
                        own_call: party.is_some(),
                    };
                    // Its author's own call, perhaps, once another journal's recording or
                    // assignment is applied.
                    if !last && !may_author(roles.of(e.author()), kind) {
                        waiting.push((idx, e.clone()));
                        continue;
                    }
                    kind
                }
                JournalEntry::Tombstone(_) => EntryKind::Tombstone,
                JournalEntry::Hold(_) => EntryKind::Hold,
                JournalEntry::HoldRelease(_) => EntryKind::HoldRelease,
                JournalEntry::Setting(_) => EntryKind::Setting,
                JournalEntry::Assign(_) => EntryKind::Assign,
                JournalEntry::UserCheckpoint(_) => EntryKind::UserCheckpoint,
                JournalEntry::AuditAnchor(_) => EntryKind::AuditAnchor,
                JournalEntry::FormatUpgrade(_) => EntryKind::FormatUpgrade,
                JournalEntry::RecordingCopy(_) => EntryKind::RecordingCopy,
                JournalEntry::PatientLink(_) => EntryKind::PatientLink,
                JournalEntry::Breach(b) => EntryKind::Breach {
                    decision: !matches!(b.event, crate::breach::BreachEvent::Reported { .. }),
                },
            };
            if !may_author(roles.of(e.author()), kind) {
                refused.push(format!(
                    "entry {idx} ({}) by {}: their roles may not write it; refused",
                    e.kind_name(),
                    e.author()
                ));
                continue;
            }
            match e {
                // Checked when its segment was opened (its importer's signature); the original is
                // in the journal for whoever holds the metadata key.
                JournalEntry::RecordingCopy(_) => {}
                JournalEntry::FormatUpgrade(f) => {
                    sqlx::query("INSERT OR IGNORE INTO format_upgrades (legacy, by) VALUES (?, ?)")
                        .bind(serde_json::to_string(&f.legacy).expect("serialisable"))
                        .bind(&f.by)
                        .execute(&mut *tx)
                        .await?;
                }
                JournalEntry::AuditAnchor(a) => {
                    for h in &a.heads {
                        sqlx::query(
                            "INSERT OR IGNORE INTO audit_anchors (device, files, last_hash, by, src, at) VALUES (?, ?, ?, ?, ?, ?)",
                        )
                        .bind(&h.device)
                        .bind(h.files as i64)
                        .bind(&h.last)
                        .bind(&a.by)
                        .bind(device)
                        .bind(&a.at)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                JournalEntry::UserCheckpoint(c) => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO user_checkpoints (uid, rev, disabled, heads, device, seq, idx)
                         VALUES (?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&c.uid)
                    .bind(c.rev as i64)
                    .bind(c.disabled)
                    .bind(serde_json::to_string(&c.heads).expect("serialisable"))
                    .bind(device)
                    .bind(seq as i64)
                    .bind(idx as i64)
                    .execute(&mut *tx)
                    .await?;
                    if let Some(k) = &c.keys {
                        sqlx::query("INSERT OR IGNORE INTO user_keys (uid, keys) VALUES (?, ?)")
                            .bind(&c.uid)
                            .bind(k)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                JournalEntry::Tombstone(t) => {
                    if remove_row(&mut tx, &t.recording).await? {
                        erased += 1;
                    }
                    sqlx::query("DELETE FROM duplicates WHERE id = ?")
                        .bind(&t.recording)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM consent_marks WHERE recording = ?")
                        .bind(&t.recording)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM patient_links WHERE recording = ?")
                        .bind(&t.recording)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM extra_wraps WHERE recording = ?")
                        .bind(&t.recording)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM pending_keys WHERE recording = ?")
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
                    let Some((rowid, meta)) = row else {
                        if !last {
                            waiting.push((idx, e.clone()));
                        } else {
                            // Its call is not here yet (a party reader's copy of it may come in
                            // a later sync): kept, tried again at every sync.
                            sqlx::query(
                                "INSERT OR IGNORE INTO waiting_entries (device, seq, idx, legacy, entry) VALUES (?, ?, ?, ?, ?)",
                            )
                            .bind(device)
                            .bind(seq as i64)
                            .bind(idx as i64)
                            .bind(legacy)
                            .bind(serde_json::to_string(e).expect("serialisable"))
                            .execute(&mut *tx)
                            .await?;
                        }
                        continue;
                    };
                    // Decided now (applied or refused below): no longer waiting.
                    sqlx::query(
                        "DELETE FROM waiting_entries WHERE device = ? AND seq = ? AND idx = ?",
                    )
                    .bind(device)
                    .bind(seq as i64)
                    .bind(idx as i64)
                    .execute(&mut *tx)
                    .await?;
                    // From a key holder who is not a supervisor: only the delivery of the key of
                    // a call a supervisor assigned to this staff member (waiting for that
                    // assignment until the end of the sync).
                    if !crate::policy::listen::may_assign(roles.of(&a.by)) {
                        let assigned: Option<String> =
                            sqlx::query_scalar("SELECT staff_uid FROM recordings WHERE rowid = ?")
                                .bind(rowid)
                                .fetch_one(&mut *tx)
                                .await?;
                        if assigned.as_deref() != Some(a.staff_uid.as_str()) || a.wrap.is_none() {
                            if !last {
                                waiting.push((idx, e.clone()));
                            } else {
                                refused.push(format!(
                                    "entry {idx}: {} delivers a key for an assignment of recording {} to {} that no supervisor made; refused",
                                    a.by, a.recording, a.staff_uid
                                ));
                            }
                            continue;
                        }
                    }
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
                        "INSERT OR IGNORE INTO recording_parties (uid, rec_rowid, src) VALUES (?, ?, ?)",
                    )
                    .bind(&a.staff_uid)
                    .bind(rowid)
                    .bind(format!("{device}/{seq}"))
                    .execute(&mut *tx)
                    .await?;
                    if let Some(w) = &a.wrap {
                        sqlx::query(
                            "INSERT OR REPLACE INTO extra_wraps (recording, label, wrap) VALUES (?, ?, ?)",
                        )
                        .bind(&a.recording)
                        .bind(format!("user:{}", a.staff_uid))
                        .bind(serde_json::to_string(w).expect("serialisable"))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query("DELETE FROM pending_keys WHERE recording = ? AND uid = ?")
                            .bind(&a.recording)
                            .bind(&a.staff_uid)
                            .execute(&mut *tx)
                            .await?;
                    } else {
                        // Assigned without its key: until an approver or the data controller delivers it.
                        sqlx::query(
                            "INSERT OR IGNORE INTO pending_keys (recording, uid, by, at)
                             SELECT ?, ?, ?, ? WHERE NOT EXISTS
                               (SELECT 1 FROM extra_wraps WHERE recording = ? AND label = ?)",
                        )
                        .bind(&a.recording)
                        .bind(&a.staff_uid)
                        .bind(&a.by)
                        .bind(&a.at)
                        .bind(&a.recording)
                        .bind(format!("user:{}", a.staff_uid))
                        .execute(&mut *tx)
                        .await?;
                    }
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
                JournalEntry::Breach(b) => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO breach_events (breach, device, seq, idx, entry) VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(&b.breach)
                    .bind(device)
                    .bind(seq as i64)
                    .bind(idx as i64)
                    .bind(serde_json::to_string(b).expect("serialisable"))
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
                    use crate::requests::{RequestEntry, RequestEvent};
                    let stored: Vec<String> =
                        sqlx::query_scalar("SELECT event FROM request_events WHERE request = ?")
                            .bind(&r.request)
                            .fetch_all(&mut *tx)
                            .await?;
                    let parsed = |e: &String| serde_json::from_str::<RequestEntry>(e).ok();
                    // The data controller's `erased` event minimises a request: its `raised`
                    // event (number, names, reason) leaves this index too, and none is stored
                    // after it, whichever journal this device read first (as the fold decides).
                    let is_raised = |e: &RequestEntry| matches!(e.event, RequestEvent::Raised(_));
                    let dc_erased = |e: &RequestEntry| {
                        matches!(e.event, RequestEvent::Erased { .. })
                            && crate::policy::requests::may_erase_details(roles.of(&e.by))
                    };
                    if matches!(r.event, RequestEvent::Erased { .. })
                        && crate::policy::requests::may_erase_details(roles.of(&r.by))
                    {
                        for old in stored
                            .iter()
                            .filter(|e| parsed(e).is_some_and(|e| is_raised(&e)))
                        {
                            delete_request_event(&mut tx, &r.request, old).await?;
                        }
                    }
                    if is_raised(r) && stored.iter().filter_map(parsed).any(|e| dc_erased(&e)) {
                        continue;
                    }
                    if is_raised(r) {
                        // One `raised` event per request, bound to its raiser: a second one (to
                        // take a request over or make it vanish) is refused.
                        if let Some(n) = &r.nonce {
                            if crate::requests::request_id(&r.by, device, n) != r.request {
                                refused.push(format!(
                                    "entry {idx}: request {} was not raised by {} on this journal (its id is not theirs); refused",
                                    r.request, r.by
                                ));
                                continue;
                            }
                        }
                        let raised_before = stored
                            .iter()
                            .find(|e| parsed(e).is_some_and(|e| is_raised(&e)));
                        let unbound_before = raised_before
                            .is_some_and(|e| parsed(e).is_some_and(|e| e.nonce.is_none()));
                        if let (Some(old), true, Some(_)) =
                            (raised_before, unbound_before, &r.nonce)
                        {
                            // An unbound `raised` (written by an older Callvault, or forged without
                            // one) gives way to the raiser's own, whose id proves it.
                            delete_request_event(&mut tx, &r.request, old).await?;
                            refused.push(format!(
                                "entry {idx}: an unbound earlier `raised` of request {} gave way to its raiser's; that one is refused",
                                r.request
                            ));
                        } else if raised_before.is_some() {
                            refused.push(format!(
                                "entry {idx}: request {} raised a second time by {}; refused",
                                r.request, r.by
                            ));
                            continue;
                        }
                    }
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
                JournalEntry::PatientLink(l) => {
                    if !crate::patient::is_canonical(&l.nhs_number) {
                        refused.push(format!(
                            "entry {idx} (patient_link) by {}: its NHS number fails its check; refused",
                            l.by
                        ));
                        continue;
                    }
                    // Its time orders it against the other links of the call and number.
                    let Some(at) = chrono::DateTime::parse_from_rfc3339(&l.at)
                        .ok()
                        .map(|t| t.timestamp_millis())
                        .filter(|t| *t > 0 && *t < LINK_TIME_LIMIT_MS)
                    else {
                        refused.push(format!(
                            "entry {idx} (patient_link) by {}: its time is not a time; refused",
                            l.by
                        ));
                        continue;
                    };
                    let gone: Option<i64> =
                        sqlx::query_scalar("SELECT 1 FROM tombstones WHERE recording = ?")
                            .bind(&l.recording)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if gone.is_some() {
                        continue;
                    }
                    link_patient(
                        &mut tx,
                        &l.nhs_number,
                        &l.recording,
                        at,
                        !l.unlink,
                        &link_place(device, seq, idx),
                        "link",
                    )
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
                    // A bound id proves the entry is its importer's, written in this journal.
                    if let Some(n) = &m.nonce {
                        if journal::recording_id(&m.imported_by, rdev, n) != m.id {
                            refused.push(format!(
                                "entry {idx}: recording {} was not imported by {} on this journal (its id is not theirs); refused",
                                m.id, m.imported_by
                            ));
                            continue;
                        }
                    }
                    // A deleted recording never comes back (a stale segment, another device's order).
                    let gone: Option<i64> =
                        sqlx::query_scalar("SELECT 1 FROM tombstones WHERE recording = ?")
                            .bind(&m.id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if gone.is_some() {
                        continue;
                    }
                    // One recording entry per id: its importer's bound one, else (ids made before
                    // they were bound) the first applied; a later one (which could move the call's
                    // date, parties or audio) is refused and reported.
                    let existing: Option<String> =
                        sqlx::query_scalar("SELECT meta FROM recordings WHERE id = ? UNION ALL SELECT meta FROM duplicates WHERE id = ?")
                            .bind(&m.id)
                            .bind(&m.id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(first) = existing {
                        if first == serde_json::to_string(m).expect("serialisable") {
                            continue;
                        }
                        let unbound_before = serde_json::from_str::<RecordingMeta>(&first)
                            .is_ok_and(|f| f.nonce.is_none());
                        if !(unbound_before && m.nonce.is_some()) {
                            refused.push(format!(
                                "entry {idx}: a second recording entry for recording {} (by {}); the first stands, this one is refused",
                                m.id, m.imported_by
                            ));
                            continue;
                        }
                        // An unbound entry (forged, or in a journal read first) gives way to the
                        // importer's own, whose id proves it.
                        if remove_row(&mut tx, &m.id).await? {
                            added -= 1;
                        }
                        sqlx::query("DELETE FROM duplicates WHERE id = ?")
                            .bind(&m.id)
                            .execute(&mut *tx)
                            .await?;
                        refused.push(format!(
                            "entry {idx}: an unbound earlier recording entry for recording {} gave way to its importer's; that one is refused",
                            m.id
                        ));
                    }
                    // The same audio imported twice (two computers or processes importing one
                    // folder at once): on every device the earliest import (then the lower id)
                    // stands and the others are hidden, to be reclaimed by the next maintenance run.
                    let twin: Option<(String, String)> =
                        sqlx::query_as("SELECT id, meta FROM recordings WHERE dedup = ? LIMIT 1")
                            .bind(&m.dedup)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some((twin_id, twin_meta)) = twin {
                        let t: RecordingMeta = serde_json::from_str(&twin_meta)
                            .map_err(|e| Error::Index(e.to_string()))?;
                        if (&t.imported_at, &t.id) <= (&m.imported_at, &m.id) {
                            hide_duplicate(&mut tx, m, &t.id).await?;
                            continue;
                        }
                        // This one is earlier: it stands, the one applied before is hidden.
                        remove_row(&mut tx, &twin_id).await?;
                        hide_duplicate(&mut tx, &t, &m.id).await?;
                        added -= 1;
                    }
                    let digits = m.external_number.as_deref().and_then(phone::normalize);
                    let started = chrono::DateTime::parse_from_rfc3339(&m.started_at)
                        .map_err(|_| Error::Index(format!("recording {}: bad start time", m.id)))?
                        .timestamp_millis();
                    let res = sqlx::query(
                        "INSERT OR IGNORE INTO recordings (id, started_at, direction, staff_uid, external_digits,
                         duration_ms, dedup, meta, src) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&m.id)
                    .bind(started)
                    .bind(m.direction.as_str())
                    .bind(&m.staff_uid)
                    .bind(&digits)
                    .bind(m.duration_ms as i64)
                    .bind(&m.dedup)
                    .bind(serde_json::to_string(m).expect("serialisable"))
                    .bind(format!("{device}/{seq}"))
                    .execute(&mut *tx)
                    .await?;
                    if res.rows_affected() == 0 {
                        continue;
                    }
                    let rowid = res.last_insert_rowid();
                    // Only checked NHS numbers are believed (an importer's own tool could write
                    // anything): one that fails the check is left out and reported.
                    for n in &m.nhs_numbers {
                        if !crate::patient::is_canonical(n) {
                            refused.push(format!(
                                "entry {idx}: recording {} names an NHS number that fails its check; that number is ignored",
                                m.id
                            ));
                            continue;
                        }
                        // Before any link or unlink a person makes (time 0): whatever times the
                        // importer's entry claims, a supervisor can always take it back.
                        link_patient(
                            &mut tx,
                            n,
                            &m.id,
                            0,
                            true,
                            &link_place(device, seq, idx),
                            "import",
                        )
                        .await?;
                    }
                    for uid in &m.party_uids {
                        sqlx::query("INSERT OR IGNORE INTO recording_parties (uid, rec_rowid, src) VALUES (?, ?, ?)")
                            .bind(uid)
                            .bind(rowid)
                            .bind(format!("{device}/{seq}"))
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
        sqlx::query(
            "INSERT OR IGNORE INTO applied_segments (device, seq, legacy) VALUES (?, ?, ?)",
        )
        .bind(device)
        .bind(seq as i64)
        .bind(legacy)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let added = added.max(0) as usize;
        if erased > 0 {
            // Purge the erased text from the full-text index's segments and the write-ahead log.
            sqlx::query("INSERT INTO recordings_fts(recordings_fts) VALUES('optimize')")
                .execute(&self.pool)
                .await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(Applied {
            added,
            erased,
            refused,
            waiting,
        })
    }
}

/// Was segment `device`/`seq` within the journal heads named by the disablement of `uid` now in
/// force (its first checkpoint since the user was last enabled, so a later edit of the disabled
/// record cannot widen them)? A disablement journalled by an older Callvault names no heads:
/// nothing to go by.
pub(super) async fn within_disablement<'c, E>(
    db: E,
    uid: &str,
    device: &str,
    seq: u64,
) -> Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    let heads: Option<String> = sqlx::query_scalar(
        "SELECT heads FROM user_checkpoints WHERE uid = ?1 AND disabled = 1
         AND rev > coalesce((SELECT max(rev) FROM user_checkpoints WHERE uid = ?1 AND disabled = 0), -1)
         ORDER BY rev ASC LIMIT 1",
    )
    .bind(uid)
    .fetch_optional(db)
    .await?;
    Ok(match heads {
        None => true,
        Some(h) => serde_json::from_str::<std::collections::BTreeMap<String, u64>>(&h)
            .ok()
            .and_then(|h| h.get(device).copied())
            .is_some_and(|head| seq <= head),
    })
}

/// Remove one stored request event (its JSON as stored) of `request`.
async fn delete_request_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    request: &str,
    event: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM request_events WHERE request = ? AND event = ?")
        .bind(request)
        .bind(event)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The first instant (ms) of the year 9000: a `patient_link` dated from then on is refused, so
/// that every time a reader believes can be parsed, and so followed by a later link (a writer
/// dates its link a millisecond after the one it changes).
pub const LINK_TIME_LIMIT_MS: i64 = 221_845_392_000_000;

/// A link's place in the journals, ordered as text as it is as numbers.
fn link_place(device: &str, seq: u64, idx: usize) -> String {
    format!("{device}/{seq:020}/{idx:010}")
}

/// Link a call to an NHS number (or take the link back) as of `at` (milliseconds; 0 for the
/// import's own): for one call and number the latest `at` counts, then the later place in the
/// journals (`src`, `<device>/<seq>/<idx>`), in whatever order the journals are applied.
/// `origin`: `import` (the recording entry's) or `link` (a `patient_link` entry).
async fn link_patient(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    nhs: &str,
    recording: &str,
    at: i64,
    linked: bool,
    src: &str,
    origin: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO patient_links (nhs, recording, at, linked, src, origin) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(nhs, recording) DO UPDATE SET at = excluded.at, linked = excluded.linked,
         src = excluded.src, origin = excluded.origin
         WHERE excluded.at > patient_links.at
            OR (excluded.at = patient_links.at AND excluded.src > patient_links.src)",
    )
    .bind(nhs)
    .bind(recording)
    .bind(at)
    .bind(linked)
    .bind(src)
    .bind(origin)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
