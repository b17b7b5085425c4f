//! Retention sweeps, legal holds, manual deletion and erasure through `Session`, with deletion
//! certificates. Every decision is checked here and audited.

use super::{entry, now_rfc3339_ms, Session};
use crate::archive::audio;
use crate::archive::journal::{self, JournalEntry, RecordingMeta};
use crate::audit;
use crate::crypto;
use crate::error::{Error, Result};
use crate::policy::{self, Action};
use crate::requests::{Purpose, RequestEvent, State};
use crate::retention::certificate::Certificate;
use crate::retention::{lock, Due, Hold, HoldRelease, HoldView, Setting, Tombstone, SETTINGS};
use chrono::{DateTime, Months, Utc};
use std::collections::{HashMap, HashSet};

/// One recording to delete, and why.
struct Deletion {
    id: String,
    reason: String,
    request: Option<String>,
    rule: Option<String>,
}

impl Session {
    // ---- settings ----

    /// Every setting with its value (the data controller's latest, else the default) and meaning.
    pub async fn settings(&self) -> Result<Vec<(String, String, String)>> {
        let mut latest: HashMap<String, String> = HashMap::new();
        for s in self.index.setting_entries().await? {
            // Only the data controller's settings count.
            if policy::retention::may_change_settings(&self.roles_of(&s.by)) {
                latest.insert(s.key.clone(), s.value.clone());
            }
        }
        Ok(SETTINGS
            .iter()
            .map(|(k, default, about)| {
                (
                    k.to_string(),
                    latest
                        .get(*k)
                        .cloned()
                        .unwrap_or_else(|| default.to_string()),
                    about.to_string(),
                )
            })
            .collect())
    }

    pub async fn setting(&self, key: &str) -> Result<String> {
        self.settings()
            .await?
            .into_iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v)
            .ok_or_else(|| Error::Invalid(format!("no setting '{key}'")))
    }

    /// Change a setting (data controller).
    pub async fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.require(Action::ChangeSetting)?;
        if !SETTINGS.iter().any(|(k, _, _)| *k == key) {
            let keys: Vec<&str> = SETTINGS.iter().map(|(k, _, _)| *k).collect();
            return Err(Error::Invalid(format!(
                "setting '{key}' is not one of {}",
                keys.join(", ")
            )));
        }
        if key == "second-authoriser" && !matches!(value.trim(), "on" | "off") {
            return Err(Error::Invalid(
                "setting 'second-authoriser' takes on or off".into(),
            ));
        }
        if key.ends_with("-months") || key.ends_with("-years") || key.ends_with("-minutes") {
            match value.trim().parse::<u32>() {
                Ok(n) if (1..=1200).contains(&n) => {}
                _ => {
                    return Err(Error::Invalid(format!(
                        "setting '{key}' takes a whole number from 1 to 1200"
                    )))
                }
            }
        }
        let s = Setting {
            key: key.to_string(),
            value: value.trim().to_string(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
        };
        self.journal(vec![JournalEntry::Setting(Box::new(s))])
            .await?;
        self.audit(
            Action::ChangeSetting,
            "allowed",
            vec![],
            Some(format!("{key} = {}", value.trim())),
        )
    }

    // ---- holds ----

    /// Holds in force and released, newest first: for those who place or release them
    /// (supervisors, approvers, the data controller), as their reasons may name a patient. Reading
    /// the list is audited.
    pub async fn holds(&self) -> Result<Vec<HoldView>> {
        self.require(Action::ListHolds)?;
        let out = self.holds_unaudited().await?;
        self.audit(
            Action::ListHolds,
            "allowed",
            vec![],
            Some(format!("{} holds", out.len())),
        )?;
        Ok(out)
    }

    /// For the overview (which is audited as a whole; its caller checks the roles).
    pub(super) async fn holds_in_force(&self) -> Result<Vec<HoldView>> {
        self.holds_unaudited().await
    }

    async fn holds_unaudited(&self) -> Result<Vec<HoldView>> {
        let (holds, releases) = self.index.holds().await?;
        let mut out: Vec<HoldView> = holds
            .into_iter()
            .map(|h| {
                let released = releases
                    .iter()
                    .find(|r| {
                        r.hold == h.hold && policy::holds::may_release_hold(&self.roles_of(&r.by))
                    })
                    .map(|r| {
                        format!(
                            "{} by {}: {}",
                            r.at,
                            self.name_of(&r.by).unwrap_or_default(),
                            r.reason
                        )
                    });
                HoldView {
                    by: self.name_of(&h.by),
                    hold: h.hold,
                    recordings: h.recordings,
                    reason: h.reason,
                    request: h.request,
                    at: h.at,
                    released,
                }
            })
            .collect();
        out.sort_by(|a, b| b.at.cmp(&a.at));
        Ok(out)
    }

    /// Recording id -> hold id, for holds in force.
    pub(super) async fn held(&self) -> Result<HashMap<String, String>> {
        let mut m = HashMap::new();
        for h in self.holds_unaudited().await? {
            if h.released.is_none() {
                for r in h.recordings {
                    m.insert(r, h.hold.clone());
                }
            }
        }
        Ok(m)
    }

    /// Place a legal hold on recordings (or, with none named, on every recording matching the
    /// request's details): supervisors, approvers and the data controller.
    pub async fn add_hold(
        &mut self,
        recordings: &[String],
        reason: &str,
        request: Option<&str>,
    ) -> Result<String> {
        self.require_for(Action::AddHold, recordings)?;
        if reason.trim().is_empty() {
            return Err(Error::Invalid("a hold needs a reason".into()));
        }
        let mut ids: Vec<String> = Vec::new();
        for r in recordings {
            let r = r.trim().to_ascii_lowercase();
            if self.index.get(&r).await?.is_none() {
                return Err(Error::NotFound(format!("recording {r}")));
            }
            if !ids.contains(&r) {
                ids.push(r);
            }
        }
        let request = match request {
            Some(rid) => {
                let v = self.request(rid).await?;
                if ids.is_empty() {
                    ids = v.candidates.iter().map(|c| c.id.clone()).collect();
                    ids.extend(v.approved_recordings.iter().cloned());
                    ids.sort();
                    ids.dedup();
                }
                Some(v.id)
            }
            None => None,
        };
        if ids.is_empty() {
            return Err(Error::Invalid(
                "name recordings to hold, or a request whose details find them".into(),
            ));
        }
        let hold = crypto::new_id();
        let h = Hold {
            hold: hold.clone(),
            recordings: ids.clone(),
            reason: reason.trim().to_string(),
            request: request.clone(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
        };
        self.journal(vec![JournalEntry::Hold(Box::new(h))]).await?;
        let mut e = entry(
            &self.device.id,
            &self.user.uid,
            Action::AddHold,
            "allowed",
            ids,
            Some(format!("hold {hold}")),
        );
        e.request = request;
        audit::append(&self.archive, &self.device.id, &[e], Some(&self.signer()))?;
        Ok(hold)
    }

    /// Release a hold (data controller), with a reason.
    pub async fn release_hold(&mut self, hold: &str, reason: &str) -> Result<()> {
        self.require_for(Action::ReleaseHold, &[hold.to_string()])?;
        let hold = hold.trim().to_ascii_lowercase();
        let Some(h) = self.holds().await?.into_iter().find(|h| h.hold == hold) else {
            return Err(Error::NotFound(format!("hold {hold}")));
        };
        if h.released.is_some() {
            return Err(Error::Invalid(format!("hold {hold} is already released")));
        }
        if reason.trim().is_empty() {
            return Err(Error::Invalid("releasing a hold needs a reason".into()));
        }
        let r = HoldRelease {
            hold: hold.clone(),
            reason: reason.trim().to_string(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
        };
        self.journal(vec![JournalEntry::HoldRelease(Box::new(r))])
            .await?;
        self.audit(
            Action::ReleaseHold,
            "allowed",
            h.recordings,
            Some(format!("hold {hold}")),
        )
    }

    // ---- retention and deletion ----

    pub(super) async fn retention_due_here(&self) -> Result<Vec<Due>> {
        self.require(Action::PlanRetention)?;
        let months: u32 = self
            .setting("retention-months")
            .await?
            .parse()
            .unwrap_or(36);
        let cutoff = Utc::now()
            .checked_sub_months(Months::new(months))
            .ok_or_else(|| Error::Invalid("retention period too long".into()))?;
        let held = self.held().await?;
        let rule = format!("older than the {months}-month retention period");
        Ok(self
            .index
            .older_than(cutoff.timestamp_millis())
            .await?
            .into_iter()
            .map(|(id, ms)| Due {
                held_by: held.get(&id).cloned(),
                call_date: self.call_date(ms),
                recording: id,
                rule: rule.clone(),
            })
            .collect())
    }

    fn call_date(&self, ms: i64) -> chrono::NaiveDate {
        DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.tz)
            .date_naive()
    }

    pub(super) async fn retention_run_here(&mut self) -> Result<Option<Certificate>> {
        let due = self.retention_due_here().await?;
        let items: Vec<Deletion> = due
            .into_iter()
            .filter(|d| d.held_by.is_none())
            .map(|d| Deletion {
                id: d.recording,
                reason: "retention period ended".into(),
                request: None,
                rule: Some(d.rule),
            })
            .chain(
                // Second imports of the same audio (two importers at once), hidden since: reclaimed.
                self.index
                    .duplicates()
                    .await?
                    .into_iter()
                    .map(|(id, of, _)| Deletion {
                        id,
                        reason: format!("a second import of recording {of} (the same audio)"),
                        request: None,
                        rule: Some("duplicate import".into()),
                    }),
            )
            .collect();
        self.deletion_run("retention", items, None, vec![]).await
    }

    pub(super) async fn delete_here(
        &mut self,
        ids: &[String],
        reason: &str,
    ) -> Result<Certificate> {
        self.require_for(Action::DeleteRecording, ids)?;
        if reason.trim().is_empty() {
            return Err(Error::Invalid("a deletion needs a reason".into()));
        }
        let held = self.held().await?;
        for id in ids {
            if let Some(h) = held.get(&id.trim().to_ascii_lowercase()) {
                return self.refuse(
                    Action::DeleteRecording,
                    vec![id.clone()],
                    Error::Forbidden(format!("recording {id} is under legal hold {h}; the data controller must release it first")),
                );
            }
        }
        let items = ids
            .iter()
            .map(|id| Deletion {
                id: id.trim().to_ascii_lowercase(),
                reason: reason.trim().to_string(),
                request: None,
                rule: None,
            })
            .collect();
        self.deletion_run("deletion", items, None, vec![])
            .await?
            .ok_or_else(|| {
                Error::NotFound("none of those recordings exists (already deleted?)".into())
            })
    }

    pub(super) async fn erase_here(&mut self, request: &str) -> Result<Certificate> {
        self.require(Action::EraseRecording)?;
        let st = self
            .request_state_for(request, Action::EraseRecording)
            .await?;
        if st.purpose != Purpose::Erasure || st.state != State::Approved {
            return Err(Error::Invalid(format!(
                "request {} is a {} request that is {}: erasure needs an approved erasure request",
                st.id,
                st.purpose.as_str(),
                st.state.as_str()
            )));
        }
        let recs = st
            .approval
            .as_ref()
            .map(|a| a.recordings.clone())
            .unwrap_or_default();
        let held = self.held().await?;
        if let Some((r, h)) = recs.iter().find_map(|r| held.get(r).map(|h| (r, h))) {
            return self.refuse(
                Action::EraseRecording,
                vec![r.clone()],
                Error::Forbidden(format!(
                    "recording {r} is under legal hold {h}; release it before erasing"
                )),
            );
        }
        let items = recs
            .into_iter()
            .map(|id| Deletion {
                id,
                // The request's id, never its free text: what remains of an erasure names no one.
                reason: format!("erasure request {}", st.id),
                request: Some(st.id.clone()),
                rule: None,
            })
            .collect();
        // Journalled with the tombstones: the request's details go with its calls.
        let erased = JournalEntry::Request(Box::new(crate::requests::RequestEntry {
            nonce: None,
            request: st.id.clone(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
            event: RequestEvent::Erased {
                raised_by: st.raised_by.clone(),
                raised_at: st.raised_at.clone(),
            },
        }));
        let cert = self
            .deletion_run("erasure", items, Some(st.id.clone()), vec![erased.clone()])
            .await?;
        if cert.is_none() {
            // Its calls were already deleted: its details are minimised all the same.
            self.journal(vec![erased]).await?;
        }
        let note = format!(
            "erased {} recording(s); certificate {}",
            cert.as_ref().map_or(0, |c| c.tombstones.len()),
            cert.as_ref().map(|c| c.certificate.as_str()).unwrap_or("-")
        );
        let e = crate::requests::RequestEntry {
            nonce: None,
            request: st.id.clone(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
            event: RequestEvent::Completed { note: Some(note) },
        };
        self.journal(vec![JournalEntry::Request(Box::new(e))])
            .await?;
        cert.ok_or_else(|| Error::NotFound("the request's recordings were already deleted".into()))
    }

    /// Delete under the maintenance lock: tombstones first (the decision), then the audio and
    /// every key wrap, then compaction of every journal segment holding their details.
    async fn deletion_run(
        &mut self,
        kind: &str,
        items: Vec<Deletion>,
        request: Option<String>,
        also: Vec<JournalEntry>,
    ) -> Result<Option<Certificate>> {
        let archive = self.archive.clone();
        let lock = lock::acquire(
            &archive,
            &self.device.id,
            &self.user.uid,
            chrono::Duration::minutes(15),
            std::time::Duration::from_secs(120),
        )?;
        // Another device may have deleted some of these a moment ago.
        let metadata = self.user.secrets.ring("metadata")?;
        self.index
            .sync(
                &self.archive,
                &self.journal_reader(),
                &self.signer_keys(),
                &self.signer_roles(),
            )
            .await?;
        let run = crypto::new_id();
        let mut tombs = Vec::new();
        let duplicates: HashMap<String, RecordingMeta> = self
            .index
            .duplicates()
            .await?
            .into_iter()
            .map(|(id, _, m)| (id, m))
            .collect();
        for d in items {
            let (meta, duplicate) = match self.index.get(&d.id).await? {
                Some((meta, _)) => (meta, false),
                None => match duplicates.get(&d.id) {
                    Some(m) => (m.clone(), true),
                    None => continue,
                },
            };
            let started = DateTime::parse_from_rfc3339(&meta.started_at)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0);
            tombs.push(Tombstone {
                recording: d.id,
                call_date: self.call_date(started),
                deleted_at: now_rfc3339_ms(),
                by: self.user.uid.clone(),
                reason: d.reason,
                request: d.request,
                rule: d.rule,
                // A duplicate's audio stays in the archive (the recording that stands): its
                // tombstone must not make that audio look deleted to a later import.
                dedup: if duplicate { String::new() } else { meta.dedup },
                run: run.clone(),
            });
        }
        // A run killed after journalling its tombstones leaves their audio (and perhaps journal
        // details) behind: finish that work now, whatever this run deletes.
        // Found by listing the 256 object folders (not one stat per tombstone: years of
        // tombstones on a network share would make that slow).
        let decided: std::collections::HashSet<String> = self
            .index
            .tombstones()
            .await?
            .into_iter()
            .map(|t| t.recording)
            .collect();
        let mut unfinished = std::collections::BTreeSet::new();
        if !decided.is_empty() {
            for shard in self.archive.list("rec")? {
                // A file or link planted where a shard folder belongs holds no object: skipped
                // (verify names it), never a reason to stop the run.
                let Ok(names) = self.archive.list(&format!("rec/{shard}")) else {
                    continue;
                };
                for name in names {
                    // Any object of a recording: as imported, re-wrapped, a re-wrap record, peaks.
                    if let Some((id, _)) = audio::parse_object_name(&name) {
                        if decided.contains(id) {
                            unfinished.insert(id.to_string());
                        }
                    }
                }
            }
        }
        let interrupted_compaction = self.archive.list("journal")?.iter().any(|dev| {
            crate::archive::is_id(dev)
                && journal::list_device(&self.archive, dev).is_ok_and(|l| !l.superseded.is_empty())
        });
        // A retention run also retries the compaction of segments a run could not open before.
        if tombs.is_empty()
            && unfinished.is_empty()
            && !interrupted_compaction
            && (kind != "retention" || decided.is_empty())
        {
            return Ok(None);
        }
        lock.check()?;
        // 1. The decision, journalled: every device drops these at its next sync.
        if !tombs.is_empty() {
            let entries: Vec<JournalEntry> = tombs
                .iter()
                .map(|t| JournalEntry::Tombstone(Box::new(t.clone())))
                .chain(also)
                .collect();
            self.journal_grouped(entries).await?;
        }
        // 2. The audio and every wrap of its key.
        let mut shards = std::collections::BTreeSet::new();
        let targets = tombs.iter().map(|t| &t.recording).chain(unfinished.iter());
        for (i, r) in targets.enumerate() {
            if i % 256 == 0 {
                lock.check()?;
            }
            let rel = audio::object_path(r);
            let done = crate::archive::shred_and_remove(&self.archive, &rel)?;
            self.warn_removal(&done, &rel);
            // Its re-wraps to later call keys, and their records.
            let shard = format!("rec/{}", &r[..2]);
            for name in self.archive.list(&shard).unwrap_or_default() {
                let rel = format!("{shard}/{name}");
                let done = match audio::parse_object_name(&name) {
                    Some((id, audio::ObjectName::Rewrapped(_))) if id == r => {
                        crate::archive::shred_and_remove(&self.archive, &rel)?
                    }
                    Some((id, audio::ObjectName::RewrapRecord(_))) if id == r => {
                        crate::archive::remove(&self.archive, &rel)?
                    }
                    _ => continue,
                };
                self.warn_removal(&done, &rel);
            }
            // The peaks are sealed under a key derived from the data key just destroyed.
            let prel = audio::peaks_path(r);
            let done = crate::archive::remove(&self.archive, &prel)?;
            self.warn_removal(&done, &prel);
            shards.insert(r[..2].to_string());
        }
        for s in shards {
            crate::archive::sync_folder(&self.archive, &format!("rec/{s}"));
        }
        // 3. Compaction: rewrite every segment still holding a deleted recording's details.
        let mut gone: HashSet<String> = self
            .index
            .tombstones()
            .await?
            .into_iter()
            .flat_map(|t| std::iter::once(t.recording).chain(t.request))
            .collect();
        gone.extend(
            tombs
                .iter()
                .flat_map(|t| std::iter::once(t.recording.clone()).chain(t.request.clone())),
        );
        let uncompacted = self.compact(&gone, &metadata, &lock)?;
        drop(lock);
        for rel in &uncompacted {
            let w = format!(
                "{rel}: could not be opened, so it may still hold a deleted recording's details; the next retention run tries again"
            );
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        self.sync_index().await?;
        if tombs.is_empty() {
            // Only an interrupted run was finished: nothing new to certify.
            return Ok(None);
        }
        // 4. Audit each deletion (one entry per recording, written together in audit files of up
        // to 1,000 entries); the certificate is bound to those audit files.
        let mut files = Vec::new();
        let mut hash_input = Vec::new();
        let entries: Vec<_> = tombs
            .iter()
            .map(|t| {
                let mut e = entry(
                    &self.device.id,
                    &self.user.uid,
                    Action::DeleteRecording,
                    "allowed",
                    vec![t.recording.clone()],
                    Some(format!(
                        "{kind}: {}",
                        t.rule.as_deref().unwrap_or(&t.reason)
                    )),
                );
                e.request = t.request.clone();
                e
            })
            .collect();
        for chunk in entries.chunks(1000) {
            let rel =
                audit::append_path(&self.archive, &self.device.id, chunk, Some(&self.signer()))?;
            hash_input.extend_from_slice(&self.archive.read(&rel)?);
            files.push(rel);
        }
        let mut cert = Certificate {
            certificate: run,
            archive: self.archive.config.id.clone(),
            kind: kind.to_string(),
            created_at: now_rfc3339_ms(),
            by: self.user.uid.clone(),
            by_name: self.user.profile.name.clone(),
            request,
            tombstones: tombs,
            audit_files: files,
            audit_sha256: hex::encode(crypto::sha256(&hash_input)),
            uncompacted,
            signature: String::new(),
        };
        cert.signature = crypto::b64(&crypto::ed25519_sign(&self.signing, &cert.signed_bytes()));
        Ok(Some(cert))
    }

    /// Tell the user of a file a deletion found planted in place of an object (not overwritten, or
    /// left in place).
    pub(super) fn warn_removal(&mut self, done: &crate::archive::Removal, rel: &str) {
        if let Some(w) = done.warning(rel) {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }

    /// The practice's name and address for letters and certificates (from settings; may be empty).
    pub async fn practice_line(&self) -> String {
        let get = |k: &str, list: &[(String, String, String)]| {
            list.iter()
                .find(|(key, _, _)| key == k)
                .map(|(_, v, _)| v.clone())
                .unwrap_or_default()
        };
        let list = self.settings().await.unwrap_or_default();
        [get("practice-name", &list), get("practice-address", &list)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every journal entry the archive holds, decrypted, as JSON lines: the data controller's proof
    /// that an erasure left nothing behind. Audited; the output goes only to the caller.
    pub async fn journal_dump(&self) -> Result<String> {
        self.require(Action::DumpJournal)?;
        let metadata = &self.user.secrets.ring("metadata")?;
        let signers = self.signer_keys();
        let mut out = String::new();
        for dev in self.archive.list("journal")? {
            let listing = journal::list_device(&self.archive, &dev)?;
            for (seq, (gen, name)) in listing.current {
                let rel = format!("journal/{dev}/{name}");
                let bytes = self.archive.read(&rel)?;
                let (_, entries) =
                    journal::open_segment_gen(&bytes, metadata, &dev, seq, gen, &signers, &rel)?;
                for e in entries {
                    out.push_str(&serde_json::to_string(&e).expect("serialisable"));
                    out.push('\n');
                }
            }
        }
        self.audit(Action::DumpJournal, "allowed", vec![], None)?;
        Ok(out)
    }

    /// Tombstones of deleted recordings (supervisor, data controller).
    pub async fn tombstones(&self) -> Result<Vec<Tombstone>> {
        self.require(Action::ListTombstones)?;
        self.index.tombstones().await
    }
}
