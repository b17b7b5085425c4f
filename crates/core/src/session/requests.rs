//! Access requests through `Session`: raising them, the candidate calls their details find, seeing
//! them, deciding (approve, reject), the data controller's agreement and extensions, completion.
//! Every decision, allowed or refused, is audited against its request.

use super::*;
use crate::archive::journal::JournalEntry;
use crate::audit::{self};
use crate::calendar;
use crate::error::{Error, Result};
use crate::policy::{self, Action};
use crate::requests::{
    self, Purpose, RequestDetails, RequestEntry, RequestEvent, RequestState, Right, State,
};
use crate::time;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::path::Path;

/// The longest an approval may last (a year): access is for a defined purpose, not for ever.
pub const MAX_APPROVAL_DAYS: i64 = 365;

/// A request as shown to a user: its state with people's names, and candidate recordings.
#[derive(Clone, Debug, Serialize)]
pub struct RequestView {
    pub id: String,
    pub purpose: Purpose,
    pub state: State,
    pub raised_by: Option<String>,
    pub raised_at: String,
    pub reason: String,
    pub call_time: Option<String>,
    pub staff: Option<String>,
    pub number: Option<String>,
    /// The patient's NHS number, ten digits.
    pub nhs_number: Option<String>,
    /// Other numbers the patient uses.
    pub other_numbers: Vec<String>,
    pub parties: Vec<String>,
    pub info: Option<String>,
    /// SAR: date received in writing, `YYYY-MM-DD`.
    pub received: Option<NaiveDate>,
    /// SAR: how identity was checked.
    pub identity: Option<String>,
    /// SAR: statutory due date (extensions included), `YYYY-MM-DD`, a working day.
    pub due_date: Option<NaiveDate>,
    /// SAR: calendar days from today to the due date (negative when overdue).
    pub days_left: Option<i64>,
    pub approved_by: Option<String>,
    pub approved_recordings: Vec<String>,
    pub allow: Vec<Right>,
    pub expires_at: Option<String>,
    pub rejected_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub agreement_by: Option<String>,
    pub agreement: Option<String>,
    pub extensions: Vec<String>,
    pub completed_by: Option<String>,
    /// Events that broke a rule and were ignored.
    pub ignored: Vec<String>,
    /// Recordings matching the request's details that this user may see (on `show`).
    pub candidates: Vec<RecordingView>,
    /// May this user decide it now (open and theirs to decide; not their own unless it is a data
    /// controller's case)?
    pub may_decide: bool,
}

/// `YYYY-MM-DD` stays a date; `YYYY-MM-DDTHH:MM` (local) becomes RFC 3339 UTC.
pub(super) fn normalise_call_time(t: &str, tz: chrono_tz::Tz) -> Result<String> {
    let t = t.trim();
    if NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
        return Ok(t.to_string());
    }
    Ok(time::rfc3339(time::parse_bound(t, tz, false)?))
}

/// The largest scanned agreement read (50 MB).
pub const MAX_SCAN_BYTES: u64 = 50 << 20;

/// "Signed agreement scanned: NAME (SHA-256 …)", for the agreement's text.
fn scan_line(p: &Path) -> Result<String> {
    let unreadable = |e| Error::io(format!("scan {}", p.display()), e);
    let refuse = || {
        Err(Error::Invalid(format!(
            "scan {}: choose the scanned letter itself (a file of at most {} MB)",
            p.display(),
            MAX_SCAN_BYTES >> 20
        )))
    };
    // Only a path the user chose in full: a relative one would be read from wherever the
    // program happens to run.
    if !p.is_absolute() {
        return refuse();
    }
    let meta = std::fs::metadata(p).map_err(unreadable)?;
    if !meta.is_file() || meta.len() > MAX_SCAN_BYTES {
        return refuse();
    }
    let bytes = std::fs::read(p).map_err(unreadable)?;
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(format!(
        "Signed agreement scanned: {name} (SHA-256 {})",
        hex::encode(crate::crypto::sha256(&bytes))
    ))
}

impl Session {
    pub(super) fn audit_request(
        &self,
        action: Action,
        outcome: &str,
        request: &str,
        targets: Vec<String>,
        detail: Option<String>,
    ) -> Result<()> {
        let mut e = entry(
            &self.device.id,
            &self.user.uid,
            action,
            outcome,
            targets,
            detail,
        );
        e.request = Some(request.to_string());
        audit::append(&self.archive, &self.device.id, &[e], Some(&self.signer()))
    }

    /// Refuse, auditing the refusal against the request.
    pub(super) fn refuse_request<T>(
        &self,
        action: Action,
        request: &str,
        targets: Vec<String>,
        e: Error,
    ) -> Result<T> {
        self.audit_request(action, "refused", request, targets, Some(e.to_string()))?;
        Err(e)
    }

    pub(super) async fn request_state(&self, id: &str) -> Result<RequestState> {
        let id = id.trim().to_ascii_lowercase();
        if !crate::archive::is_id(&id) {
            return Err(Error::Invalid(format!(
                "'{id}' is not a request id (32 hex digits)"
            )));
        }
        let events = self.index.request_events(&id).await?;
        let rules = self.fold_rules().await?;
        requests::fold(&id, events, &|u| self.roles_of(u), &rules)
            .ok_or_else(|| Error::unseen("request", &id))
    }

    /// As `request_state`, for a decision or a view by `action`: a request this user's index does
    /// not hold (an unknown id, or — for a party reader — one not addressed to them) is refused and
    /// audited as such.
    pub(super) async fn request_state_for(&self, id: &str, action: Action) -> Result<RequestState> {
        match self.request_state(id).await {
            Err(e @ Error::NotFound(_)) => {
                self.refuse(action, vec![id.trim().to_ascii_lowercase()], e)
            }
            other => other,
        }
    }

    /// As `request_state_for`, for a decision: taken on what the share says now, not on what this
    /// computer had read — the session catches up first (`refresh`), so a request raised a moment
    /// ago on another computer is found, a decision taken there meanwhile counts, and an account
    /// disabled there decides nothing.
    pub(super) async fn decision_state(
        &mut self,
        id: &str,
        action: Action,
    ) -> Result<RequestState> {
        self.refresh().await?;
        self.request_state_for(id, action).await
    }

    /// The rules requests are folded under: the bank holidays, and since when the data
    /// controller's setting `second-authoriser` has been on (the first "on" since it was last
    /// off; only her settings count).
    pub(super) async fn fold_rules(&self) -> Result<requests::FoldRules> {
        let mut since: Option<String> = None;
        for s in self.index.setting_entries().await? {
            if s.key != "second-authoriser"
                || !policy::retention::may_change_settings(&self.roles_of(&s.by))
            {
                continue;
            }
            if s.value.trim() == "on" {
                since.get_or_insert(s.at.clone());
            } else {
                since = None;
            }
        }
        Ok(requests::FoldRules {
            holidays: calendar::bank_holidays(),
            second_authoriser_since: since,
        })
    }

    /// May this user see this request at all? Deciders and the data controller see every request;
    /// others see the ones they raised.
    pub(super) fn may_see_request(&self, st: &RequestState) -> bool {
        policy::requests::may_see_request(self.roles(), st.raised_by == self.user.uid)
    }

    /// Raise an access request (any logged-on user). Returns its id.
    pub async fn raise_request(&mut self, mut d: RequestDetails) -> Result<String> {
        self.require(Action::RaiseRequest)?;
        let purpose = d
            .purpose
            .ok_or_else(|| Error::Invalid("a request needs a purpose".into()))?;
        if d.reason.trim().is_empty() {
            return Err(Error::Invalid(
                "a request needs a reason (free text)".into(),
            ));
        }
        if let Some(t) = &d.call_time {
            d.call_time = Some(normalise_call_time(t, self.tz)?);
        }
        super::candidates::check_identifiers(&mut d)?;
        if purpose == Purpose::Sar {
            d.received
                .get_or_insert_with(|| Utc::now().with_timezone(&self.tz).date_naive());
        } else if d.received.is_some() {
            return Err(Error::Invalid(
                "--received is only for a subject access request (sar)".into(),
            ));
        }
        let nonce = crate::crypto::new_id();
        let id = requests::request_id(&self.user.uid, &self.device.id, &nonce);
        let e = RequestEntry {
            nonce: Some(nonce),
            request: id.clone(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
            event: RequestEvent::Raised(d),
        };
        self.journal(vec![JournalEntry::Request(Box::new(e))])
            .await?;
        self.audit_request(
            Action::RaiseRequest,
            "allowed",
            &id,
            vec![],
            Some(format!("purpose {}", purpose.as_str())),
        )?;
        Ok(id)
    }

    /// Requests this user may see, newest first, optionally in one state.
    pub async fn requests(&self, state: Option<State>) -> Result<Vec<RequestView>> {
        self.require(Action::ListRequests)?;
        let rules = self.fold_rules().await?;
        let mut out = Vec::new();
        for id in self.index.request_ids().await? {
            let events = self.index.request_events(&id).await?;
            let Some(st) = requests::fold(&id, events, &|u| self.roles_of(u), &rules) else {
                continue;
            };
            if self.may_see_request(&st) && state.is_none_or(|s| s == st.state) {
                out.push(self.request_view(st, vec![], &rules));
            }
        }
        self.audit(
            Action::ListRequests,
            "allowed",
            vec![],
            Some(format!("{} requests", out.len())),
        )?;
        Ok(out)
    }

    /// One request with the candidate recordings its details find (among those this user may see).
    pub async fn request(&self, id: &str) -> Result<RequestView> {
        self.require(Action::ListRequests)?;
        let st = self.request_state_for(id, Action::ListRequests).await?;
        if !self.may_see_request(&st) {
            return self.refuse_request(
                Action::ListRequests,
                &st.id,
                vec![],
                Error::Forbidden(format!("request {}: raised by someone else", st.id)),
            );
        }
        let candidates = self.candidates(&st.details).await?;
        let ids: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
        self.audit_request(
            Action::ListRequests,
            "allowed",
            &st.id,
            ids,
            Some("request shown with candidates".into()),
        )?;
        let rules = self.fold_rules().await?;
        Ok(self.request_view(st, candidates, &rules))
    }

    pub(super) fn request_view(
        &self,
        st: RequestState,
        candidates: Vec<RecordingView>,
        rules: &requests::FoldRules,
    ) -> RequestView {
        let name = |u: &str| {
            self.name_of(u)
                .or_else(|| Some(format!("unknown user {u}")))
        };
        let today = Utc::now().with_timezone(&self.tz).date_naive();
        let may_decide = self.may_decide_now(&st, rules);
        let d = st.details;
        RequestView {
            id: st.id,
            purpose: st.purpose,
            state: st.state,
            raised_by: name(&st.raised_by),
            raised_at: st.raised_at,
            reason: d.reason,
            call_time: d.call_time,
            staff: d.staff,
            number: d.number,
            nhs_number: d.nhs_number,
            other_numbers: d.other_numbers,
            parties: d.parties,
            info: d.info,
            received: d.received,
            identity: d.identity,
            due_date: st.due_date,
            days_left: st.due_date.map(|due| (due - today).num_days()),
            approved_by: st.approval.as_ref().and_then(|a| name(&a.by)),
            approved_recordings: st
                .approval
                .as_ref()
                .map(|a| a.recordings.clone())
                .unwrap_or_default(),
            allow: st
                .approval
                .as_ref()
                .map(|a| a.allow.clone())
                .unwrap_or_default(),
            expires_at: st.approval.as_ref().map(|a| a.expires_at.clone()),
            rejected_by: st.rejection.as_ref().and_then(|r| name(&r.by)),
            rejection_reason: st.rejection.map(|r| r.what.text),
            agreement_by: st.agreement.as_ref().and_then(|a| name(&a.by)),
            agreement: st.agreement.map(|a| a.what.text),
            extensions: st
                .extensions
                .iter()
                .map(|e| format!("{} days: {}", e.what.days, e.what.reason))
                .collect(),
            completed_by: st.completed.as_ref().and_then(|c| name(&c.by)),
            ignored: st.ignored,
            candidates,
            may_decide,
        }
    }

    /// Would `check_decider` let this user decide `st` now? (For showing what awaits them; the
    /// decision itself goes through `check_decider`.) The data controller decides her cases even
    /// when she logged them; anyone else decides only what someone else raised.
    pub(super) fn may_decide_now(&self, st: &RequestState, rules: &requests::FoldRules) -> bool {
        st.state == State::Open
            && policy::requests::may_decide_request(
                st.purpose,
                self.roles(),
                st.raised_by == self.user.uid,
                rules.second_authoriser_since.is_some(),
            )
    }

    /// Check that this user may decide `st` now; a refusal is audited.
    pub(super) fn check_decider(
        &self,
        st: &RequestState,
        action: Action,
        rules: &requests::FoldRules,
    ) -> Result<()> {
        let second = rules.second_authoriser_since.is_some();
        let refuse = |m: String| self.refuse_request(action, &st.id, vec![], Error::Forbidden(m));
        if let Err(e) = crate::policy::decide(self.roles(), action) {
            return self.refuse_request(action, &st.id, vec![], e);
        }
        if st.state != State::Open {
            return refuse(format!(
                "request {} is already {}",
                st.id,
                st.state.as_str()
            ));
        }
        if !policy::requests::may_decide_with(st.purpose, self.roles(), second) {
            let who = if st.purpose.is_data_controller_case() && second {
                "the data controller or an approver"
            } else if st.purpose.is_data_controller_case() {
                "the data controller"
            } else {
                "an approver (GP Partner or Practice Business Manager)"
            };
            return refuse(format!(
                "a {} request is decided by {who}",
                st.purpose.as_str()
            ));
        }
        if st.raised_by == self.user.uid && !policy::requests::may_decide_own(st.purpose, second) {
            return refuse(format!(
                "request {}: you raised it, so someone else must decide it{}",
                st.id,
                if second && st.purpose.is_data_controller_case() {
                    " (the practice requires a second authoriser: an approver or another data controller)"
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }

    /// Approval hands over the key: each approved recording's data key, opened with this
    /// decider's key and wrapped to the requester (not in the data controller's cases, which she
    /// uses with her own key). A recording whose key this session does not hold is refused.
    async fn hand_over_keys(
        &self,
        st: &RequestState,
        recs: &[String],
    ) -> Result<Vec<requests::KeyGrant>> {
        if st.purpose.is_data_controller_case() {
            return Ok(vec![]);
        }
        let to = self
            .users
            .iter()
            .find(|u| u.uid == st.raised_by)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "the user who raised request {} (their key is needed to hand over the calls' keys)",
                    st.id
                ))
            })?;
        let mut keys = Vec::new();
        for r in recs {
            let party = match self.index.get(r).await? {
                Some((_, rowid)) => self.index.is_party(&to.uid, rowid).await?,
                None => false,
            };
            if !policy::listen::may_receive_key(&to.roles, party) {
                // Clinicians and staff reach only their own calls, approval or not.
                continue;
            }
            let (_, header, rel) = self.open_checked_object(r).await?;
            let dek = self.dek_for(&header, &rel).await.map_err(|e| match e {
                Error::Forbidden(_) => Error::Forbidden(format!(
                    "recording {r}: this account holds no key to it, so it cannot hand the key over with an approval"
                )),
                e => e,
            })?;
            let info = requests::grant_info(&st.id, r, &to.uid);
            keys.push(requests::KeyGrant {
                recording: r.clone(),
                to: to.uid.clone(),
                wrap: crate::crypto::wrap(&to.public_key, &info, dek.expose())?,
            });
        }
        Ok(keys)
    }

    /// Approve specific recordings of a request, with an expiry and rights.
    pub async fn approve(
        &mut self,
        id: &str,
        recordings: &[String],
        expires_at: DateTime<Utc>,
        allow: &[Right],
    ) -> Result<()> {
        let st = self.decision_state(id, Action::DecideRequest).await?;
        let rules = self.fold_rules().await?;
        self.check_decider(&st, Action::DecideRequest, &rules)?;
        if recordings.is_empty() {
            return Err(Error::Invalid(
                "an approval names the specific recordings it covers: choose at least one".into(),
            ));
        }
        if expires_at <= Utc::now() {
            return Err(Error::Invalid(
                "the approval's expiry must be in the future".into(),
            ));
        }
        if expires_at > Utc::now() + chrono::Duration::days(MAX_APPROVAL_DAYS) {
            return Err(Error::Invalid(format!(
                "an approval lasts at most {MAX_APPROVAL_DAYS} days: approve again if more time is needed"
            )));
        }
        let mut recs = Vec::new();
        for r in recordings {
            let r = r.trim().to_ascii_lowercase();
            if !crate::archive::is_id(&r) || self.index.get(&r).await?.is_none() {
                return Err(Error::NotFound(format!("recording {r}")));
            }
            if !recs.contains(&r) {
                recs.push(r);
            }
        }
        // An approval of one leg of a transferred call covers the whole conversation: its other
        // legs, as the signed journal joins them, are named in the approval too.
        let chosen = recs.len();
        for r in recs.clone() {
            for leg in self.approval_legs(&r).await? {
                if !recs.contains(&leg) {
                    recs.push(leg);
                }
            }
        }
        let added = recs.len() - chosen;
        let keys = self.hand_over_keys(&st, &recs).await?;
        let e = RequestEntry {
            nonce: None,
            request: st.id.clone(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
            event: RequestEvent::Approved {
                recordings: recs.clone(),
                expires_at: time::rfc3339(expires_at),
                allow: allow.to_vec(),
                note: None,
                keys,
            },
        };
        self.journal(vec![JournalEntry::Request(Box::new(e))])
            .await?;
        let rights: Vec<&str> = allow.iter().map(|r| r.as_str()).collect();
        self.audit_request(
            Action::DecideRequest,
            "allowed",
            &st.id,
            recs,
            Some(format!(
                "approved: {} until {}{}",
                rights.join(","),
                time::rfc3339(expires_at),
                match added {
                    0 => String::new(),
                    n => format!("; with {n} more leg(s) of the same conversation(s)"),
                }
            )),
        )
    }

    /// Reject a request with a reason.
    pub async fn reject(&mut self, id: &str, reason: &str) -> Result<()> {
        let st = self.decision_state(id, Action::DecideRequest).await?;
        let rules = self.fold_rules().await?;
        self.check_decider(&st, Action::DecideRequest, &rules)?;
        if reason.trim().is_empty() {
            return Err(Error::Invalid("a rejection needs a reason".into()));
        }
        self.event(
            &st.id,
            RequestEvent::Rejected {
                reason: reason.trim().to_string(),
            },
        )
        .await?;
        self.audit_request(
            Action::DecideRequest,
            "allowed",
            &st.id,
            vec![],
            Some("rejected".into()),
        )
    }

    pub(super) async fn event(&mut self, id: &str, event: RequestEvent) -> Result<()> {
        let e = RequestEntry {
            nonce: None,
            request: id.to_string(),
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
            event,
        };
        self.journal(vec![JournalEntry::Request(Box::new(e))]).await
    }

    /// Record the data controller's written agreement to a disciplinary release: its text and,
    /// optionally, the scanned signed letter, whose name and SHA-256 are added to the text (the
    /// scan itself stays where it is). The scan is read only once the rulebook lets this user
    /// agree, and only a regular file of at most 50 MB given by its absolute path.
    pub async fn agree(&mut self, id: &str, text: &str, scan: Option<&Path>) -> Result<()> {
        let st = self.decision_state(id, Action::AgreeDisciplinary).await?;
        if let Err(e) = crate::policy::decide(self.roles(), Action::AgreeDisciplinary) {
            return self.refuse_request(Action::AgreeDisciplinary, &st.id, vec![], e);
        }
        if st.purpose != Purpose::Disciplinary {
            return Err(Error::Invalid(format!(
                "request {} is not a disciplinary request",
                st.id
            )));
        }
        let mut text = text.trim().to_string();
        if let Some(p) = scan {
            let line = scan_line(p)?;
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&line);
        }
        if text.is_empty() {
            return Err(Error::Invalid("the agreement needs its text".into()));
        }
        self.event(&st.id, RequestEvent::Agreed { text }).await?;
        self.audit_request(Action::AgreeDisciplinary, "allowed", &st.id, vec![], None)
    }

    /// Extend a SAR's deadline (up to two further months in all) with a reason.
    pub async fn extend(&mut self, id: &str, days: u32, reason: &str) -> Result<NaiveDate> {
        let st = self.decision_state(id, Action::ExtendSar).await?;
        if let Err(e) = crate::policy::decide(self.roles(), Action::ExtendSar) {
            return self.refuse_request(Action::ExtendSar, &st.id, vec![], e);
        }
        let (Some(received), Some(due)) = (st.details.received, st.due_date) else {
            return Err(Error::Invalid(format!(
                "request {} is not a subject access request",
                st.id
            )));
        };
        if reason.trim().is_empty() || days == 0 {
            return Err(Error::Invalid(
                "an extension needs a number of days and a reason".into(),
            ));
        }
        let holidays = calendar::bank_holidays();
        let new = calendar::next_working_day(due + chrono::Duration::days(days as i64), &holidays);
        let latest = calendar::sar_latest_extended(received, &holidays);
        if new > latest {
            return Err(Error::Invalid(format!(
                "an extension may reach {latest} at the latest (two further months); {new} is too late"
            )));
        }
        self.event(
            &st.id,
            RequestEvent::Extended {
                days,
                reason: reason.trim().to_string(),
            },
        )
        .await?;
        self.audit_request(
            Action::ExtendSar,
            "allowed",
            &st.id,
            vec![],
            Some(format!("{days} days, due {new}")),
        )?;
        Ok(new)
    }

    /// Mark a request completed (the data controller for their cases; else the requester or a decider).
    pub async fn complete(&mut self, id: &str, note: Option<&str>) -> Result<()> {
        let st = self.decision_state(id, Action::CompleteRequest).await?;
        if !policy::requests::may_complete(st.purpose, self.roles(), st.raised_by == self.user.uid)
        {
            return self.refuse_request(
                Action::CompleteRequest,
                &st.id,
                vec![],
                Error::Forbidden(format!("request {}: you may not complete it", st.id)),
            );
        }
        if st.state == State::Completed {
            return Err(Error::Invalid(format!(
                "request {} is already completed",
                st.id
            )));
        }
        self.event(
            &st.id,
            RequestEvent::Completed {
                note: note.map(str::to_string),
            },
        )
        .await?;
        self.audit_request(Action::CompleteRequest, "allowed", &st.id, vec![], None)
    }
}
