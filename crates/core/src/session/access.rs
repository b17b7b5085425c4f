//! Requests, decisions, the data controller's cases and consent marks, through `Session`; and the
//! access check that every play and export goes through (`Session::authorize`). Each decision,
//! allowed or refused, is audited with the request it served.

use super::{now_rfc3339_ms, Session};
use crate::archive::journal::{self, JournalEntry};
use crate::error::{Error, Result};
use crate::policy::journal::{may_author, EntryKind};
use crate::policy::{self, Action};
use crate::requests::{self, ConsentKind, ConsentMark, Right};
use chrono::Utc;
use serde::Serialize;
use std::collections::HashMap;

/// Permission to listen to or export one recording, as decided by `authorize`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Grant {
    pub recording: String,
    pub right: Right,
    pub request: Option<String>,
    pub expires_at: Option<String>,
}

impl Session {
    /// Mark a call "caller objected; recording stopped at mm:ss" or "not recorded at caller's
    /// request": its staff member or a supervisor.
    pub async fn mark_consent(
        &mut self,
        recording: &str,
        kind: ConsentKind,
        stopped_at_ms: Option<u64>,
        note: Option<&str>,
    ) -> Result<()> {
        let id = recording.trim().to_ascii_lowercase();
        let Some((meta, _)) = self.index.get(&id).await? else {
            return self.refuse(
                Action::MarkConsent,
                vec![id.clone()],
                Error::unseen("recording", &id),
            );
        };
        let own = meta.staff_uid.as_deref() == Some(self.user.uid.as_str());
        if !policy::listen::may_mark_consent(self.roles(), own) {
            return self.refuse(
                Action::MarkConsent,
                vec![id.clone()],
                Error::Forbidden(format!(
                    "recording {id}: only its staff member or a supervisor may mark consent"
                )),
            );
        }
        if let Some(ms) = stopped_at_ms {
            if ms > meta.duration_ms + 1000 {
                return Err(Error::Invalid(format!(
                    "{} is after the end of recording {id}",
                    requests::mmss(ms)
                )));
            }
        }
        let mark = ConsentMark {
            recording: id.clone(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
            kind,
            stopped_at_ms,
            note: note.map(str::to_string),
        };
        self.journal(vec![JournalEntry::Consent(Box::new(mark))])
            .await?;
        self.audit(Action::MarkConsent, "allowed", vec![id], None)
    }

    /// Link a call to a patient's NHS number (`unlink`: take such a link back), a supervisor or the
    /// data controller, typically after listening: the call is then among the candidates of that
    /// patient's SAR, erasure or portability request, and its exports carry the number. Audited,
    /// allowed or refused; an invalid NHS number is refused with the reason and nothing is written.
    pub async fn link_patient(&mut self, recording: &str, nhs: &str, unlink: bool) -> Result<()> {
        let id = recording.trim().to_ascii_lowercase();
        if !crate::archive::is_id(&id) {
            return Err(Error::Invalid(format!(
                "'{id}' is not a recording id (32 hex digits)"
            )));
        }
        let nhs =
            crate::patient::parse(nhs).map_err(|e| Error::Invalid(format!("NHS number: {e}")))?;
        // Decided on what the share says now: a link made a moment ago on another computer counts,
        // and so do roles changed there.
        self.refresh().await?;
        if !policy::listen::may_link_patient(self.roles()) {
            return self.refuse(
                Action::LinkPatient,
                vec![id.clone()],
                Error::Forbidden(format!(
                    "recording {id}: a call is linked to a patient by a supervisor or the data controller"
                )),
            );
        }
        let Some(_) = self.index.get(&id).await? else {
            return self.refuse(
                Action::LinkPatient,
                vec![id.clone()],
                Error::unseen("recording", &id),
            );
        };
        let current = self.index.patient_link(&id, &nhs).await?;
        let now_linked = current.is_some_and(|(_, linked)| linked);
        if now_linked != unlink {
            return self.refuse(
                Action::LinkPatient,
                vec![id.clone()],
                Error::Invalid(format!(
                    "recording {id} is {} that NHS number",
                    if unlink {
                        "not linked to"
                    } else {
                        "already linked to"
                    },
                )),
            );
        }
        // Later than the link it changes, whatever this computer's clock says (the latest counts;
        // readers refuse a time from the year 9000 on, so this one is always readable).
        let now = Utc::now().timestamp_millis();
        let at = current.map_or(now, |(at, _)| now.max(at + 1));
        if at >= crate::index::LINK_TIME_LIMIT_MS {
            return self.refuse(
                Action::LinkPatient,
                vec![id.clone()],
                Error::Invalid(format!(
                    "recording {id}: its link to that NHS number is dated at the end of the year 8999, beyond what a later link can follow (not written by Callvault); deleting the call removes it"
                )),
            );
        }
        let at = chrono::DateTime::from_timestamp_millis(at)
            .unwrap_or_else(Utc::now)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let link = requests::PatientLink {
            recording: id.clone(),
            nhs_number: nhs,
            unlink,
            by: self.user.uid.clone(),
            at,
        };
        self.journal(vec![JournalEntry::PatientLink(Box::new(link))])
            .await?;
        // The number itself is personal data: the trail names the call and what was done.
        self.audit(
            Action::LinkPatient,
            "allowed",
            vec![id],
            Some(
                if unlink {
                    "link to a patient taken back"
                } else {
                    "linked to a patient"
                }
                .into(),
            ),
        )
    }

    /// The approved requests under which this user may use `right` (listen, export) on recording
    /// `id` now, newest first: what the call page offers instead of a request id to type. Only
    /// requests this user may see (their own, or a data controller's cases), decided by the same
    /// rule as `authorize`, which decides each again from the signed journal when it is used.
    /// Audited as a `request.list` naming the call and the requests offered; an id that is not a
    /// call of theirs is refused (and audited) as not found.
    pub async fn approvals_for(&self, id: &str, right: Right) -> Result<Vec<super::RequestView>> {
        let id = id.trim().to_ascii_lowercase();
        self.require_for(Action::ListRequests, std::slice::from_ref(&id))?;
        if !crate::archive::is_id(&id) || self.index.get(&id).await?.is_none() {
            return self.refuse(
                Action::ListRequests,
                vec![],
                Error::unseen("recording", &id),
            );
        }
        let rules = self.fold_rules().await?;
        let now = Utc::now();
        let mut out = Vec::new();
        for rid in self.index.request_ids().await? {
            let events = self.index.request_events(&rid).await?;
            let Some(st) = requests::fold(&rid, events, &|u| self.roles_of(u), &rules) else {
                continue;
            };
            if self.may_see_request(&st)
                && policy::listen::access_refusal(
                    &st,
                    &self.user.uid,
                    self.roles(),
                    &id,
                    right,
                    now,
                )
                .is_none()
            {
                out.push(self.request_view(st, vec![], &rules));
            }
        }
        out.sort_by(|a, b| b.raised_at.cmp(&a.raised_at));
        let offered: Vec<&str> = out.iter().map(|r| r.id.as_str()).collect();
        self.audit(
            Action::ListRequests,
            "allowed",
            vec![id],
            Some(format!(
                "approved requests covering the call for {}: [{}]",
                right.as_str(),
                offered.join(",")
            )),
        )?;
        Ok(out)
    }

    /// May this user listen to or export this recording now? Supervisors, approvers and the data
    /// controller only through an approved, unexpired request naming it; a clinician or staff
    /// member may listen to a call they were a party to after stating a reason. Every answer is
    /// audited with the request it served.
    pub async fn authorize(
        &self,
        recording: &str,
        right: Right,
        request: Option<&str>,
        reason: Option<&str>,
    ) -> Result<Grant> {
        let action = match right {
            Right::Listen => Action::Listen,
            Right::Export => Action::Export,
        };
        let id = recording.trim().to_ascii_lowercase();
        let Some((_, rowid)) = self.index.get(&id).await? else {
            return self.refuse(action, vec![id.clone()], Error::unseen("recording", &id));
        };
        if let Some(rid) = request {
            let st = match self.request_state_from_journal(rid).await {
                Ok(st) => st,
                Err(e) => return self.refuse_request(action, rid, vec![id], e),
            };
            if let Some(why) = policy::listen::access_refusal(
                &st,
                &self.user.uid,
                self.roles(),
                &id,
                right,
                Utc::now(),
            ) {
                return self.refuse_request(action, &st.id, vec![id], Error::Forbidden(why));
            }
            let expires_at = st.approval.as_ref().map(|a| a.expires_at.clone());
            self.audit_request(
                action,
                "allowed",
                &st.id,
                vec![id.clone()],
                reason.map(str::to_string),
            )?;
            return Ok(Grant {
                recording: id,
                right,
                request: Some(st.id),
                expires_at,
            });
        }
        // No request: only a party to the call, to listen, with a stated reason.
        let party = self.index.is_party(&self.user.uid, rowid).await?
            && self.party_in_journal(&id, rowid, action).await?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let refusal =
            policy::listen::own_call_refusal(self.roles(), &id, right, party, reason.is_some());
        if let Some(why) = refusal {
            return self.refuse(action, vec![id], Error::Forbidden(why));
        }
        self.audit(
            action,
            "allowed",
            vec![id.clone()],
            Some(format!("own call; reason: {}", reason.unwrap_or_default())),
        )?;
        Ok(Grant {
            recording: id,
            right,
            request: None,
            expires_at: None,
        })
    }
}

impl Session {
    /// The entries of journal segment `device`/`seq` as the share holds them now, signatures and
    /// place checked.
    fn segment_entries(&self, device: &str, seq: u64) -> Result<Vec<JournalEntry>> {
        let listing = journal::list_device(&self.archive, device)?;
        let (gen, name) = listing.current.get(&seq).cloned().ok_or_else(|| {
            Error::NotFound(format!("journal/{device}/{}", journal::segment_name(seq)))
        })?;
        let rel = format!("journal/{device}/{name}");
        let bytes = self.archive.read(&rel)?;
        // As this user reads the journal: a party reader only the segments addressed to them.
        self.journal_reader()
            .open(&bytes, device, seq, gen, &self.signer_keys(), &rel)?
            .map(|(_, e, _)| e)
            .map_err(|_| Error::NotFound(rel))
    }

    /// The local index disagrees with the signed journal (edited with a tool, or damaged): the
    /// decision is refused, and the index is rebuilt at the next logon on this computer.
    fn index_disagrees(&self, what: String) -> Error {
        crate::device::mark_index_for_rebuild(&self.device, self.index.party_uid());
        // (An index re-derived in memory for a decision has no file: the computer's is named.)
        let file = match self.index.path() {
            p if p.as_os_str().is_empty() => self.device.dir.join("index.db"),
            p => p.to_path_buf(),
        };
        Error::tampered(
            file.display(),
            format!("{what}: the local index does not match the signed journal (edited?); it is rebuilt at the next logon"),
        )
    }

    /// A request's state folded from its events as the signed journal holds them: every event the
    /// index lists must be in the segment it names. Access decisions rest on this, not on the
    /// local index alone, which any user of this computer could edit.
    pub(super) async fn request_state_from_journal(
        &self,
        id: &str,
    ) -> Result<crate::requests::RequestState> {
        let id = id.trim().to_ascii_lowercase();
        if !crate::archive::is_id(&id) {
            return Err(Error::Invalid(format!(
                "'{id}' is not a request id (32 hex digits)"
            )));
        }
        let mut events = Vec::new();
        let mut segments: HashMap<(String, u64), Vec<JournalEntry>> = HashMap::new();
        for (e, device, seq) in self.index.request_event_sources(&id).await? {
            let entries = match segments.entry((device.clone(), seq)) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(
                    self.segment_entries(&device, seq)
                        .map_err(|_| self.index_disagrees(format!("request {id}")))?,
                ),
            };
            let found = entries
                .iter()
                .any(|j| matches!(j, JournalEntry::Request(r) if **r == e));
            if !found {
                return Err(self.index_disagrees(format!("request {id}")));
            }
            events.push(e);
        }
        let rules = self.fold_rules().await?;
        crate::requests::fold(&id, events, &|u| self.roles_of(u), &rules)
            .ok_or_else(|| Error::unseen("request", &id))
    }

    /// A recording's entry as the signed journal holds it, in the segment the index names: what its
    /// audio and peaks objects are checked against (not the index's copy, which any user of this
    /// computer could edit together with a substituted object).
    pub(super) async fn recording_from_journal(
        &self,
        id: &str,
    ) -> Result<crate::archive::journal::RecordingMeta> {
        let src = self.index.recording_source(id).await?.unwrap_or_default();
        src.split_once('/')
            .and_then(|(d, s)| Some((d.to_string(), s.parse::<u64>().ok()?)))
            .and_then(|(d, s)| self.segment_entries(&d, s).ok())
            .and_then(|entries| {
                entries.into_iter().find_map(|e| match e {
                    JournalEntry::Recording(m) if m.id == id => Some(*m),
                    // A party reader's copy of a call assigned to them (checked against its
                    // importer's signature when the segment was opened).
                    JournalEntry::RecordingCopy(c)
                        if c.recording == id
                            && c.to == self.user.uid
                            && self.index.party_uid().is_some()
                            && may_author(&self.roles_of(&c.by), EntryKind::RecordingCopy) =>
                    {
                        Some(*c.entry)
                    }
                    _ => None,
                })
            })
            .ok_or_else(|| self.index_disagrees(format!("recording {id}")))
    }

    /// Is the user a party to the call by its signed `recording` (or `assign`) entry, as the
    /// index says? A refusal (audited) if the index disagrees with the journal.
    async fn party_in_journal(&self, id: &str, rowid: i64, action: Action) -> Result<bool> {
        let uid = &self.user.uid;
        let src = self
            .index
            .party_source(uid, rowid)
            .await?
            .unwrap_or_default();
        let ok = src
            .split_once('/')
            .and_then(|(d, s)| Some((d.to_string(), s.parse::<u64>().ok()?)))
            .and_then(|(d, s)| self.segment_entries(&d, s).ok())
            .is_some_and(|entries| {
                entries.iter().any(|e| match e {
                    JournalEntry::Recording(m) => m.id == id && m.party_uids.contains(uid),
                    JournalEntry::RecordingCopy(c) => {
                        c.recording == id
                            && c.to == *uid
                            && c.entry.party_uids.contains(uid)
                            && may_author(&self.roles_of(&c.by), EntryKind::RecordingCopy)
                    }
                    JournalEntry::Assign(a) => {
                        a.recording == id
                            && a.staff_uid == *uid
                            // (a supervisor's assignment: a key holder's delivery of its
                            // key follows one, and proves nothing alone)
                            && policy::listen::may_assign(&self.roles_of(&a.by))
                    }
                    _ => false,
                })
            });
        if ok {
            Ok(true)
        } else {
            let e = self.index_disagrees(format!("recording {id}"));
            self.refuse(action, vec![id.to_string()], e)
        }
    }
}
