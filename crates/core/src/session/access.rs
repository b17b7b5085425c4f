//! Requests, decisions, the data controller's cases and consent marks, through `Session`; and the
//! access check that every play and export goes through (`Session::authorize`). Each decision,
//! allowed or refused, is audited with the request it served.

use super::{now_rfc3339_ms, Session};
use crate::archive::journal::JournalEntry;
use crate::error::{Error, Result};
use crate::policy::{self, Action};
use crate::requests::{self, ConsentKind, ConsentMark, Right};
use chrono::Utc;
use serde::Serialize;

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
            return Err(Error::NotFound(format!("recording {id}")));
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
            return self.refuse(
                action,
                vec![id.clone()],
                Error::NotFound(format!("recording {id}")),
            );
        };
        if let Some(rid) = request {
            let st = match self.request_state(rid).await {
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
        let party = self.index.is_party(&self.user.uid, rowid).await?;
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
