//! The transport types of requests: a request as shown ([`RequestInfo`], mirroring the core's
//! `RequestView` field by field, destructured so that a field added in the core fails to compile
//! here), and what the web view sends to raise, approve or mark one. Dates travel as `YYYY-MM-DD`
//! strings and times as RFC 3339.

use crate::search::{some_text as text, Recording};
use crate::vocab::{Purpose, RequestState, Right};
use callvault_core::requests::{Purpose as CorePurpose, RequestDetails};
use callvault_core::session::RequestView;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub(crate) fn date(d: Option<chrono::NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// A request as the app shows it (with its candidate calls when shown alone).
#[derive(Clone, Debug, Serialize, TS)]
pub struct RequestInfo {
    pub id: String,
    pub purpose: Purpose,
    pub state: RequestState,
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
    pub received: Option<String>,
    pub identity: Option<String>,
    pub due_date: Option<String>,
    pub days_left: Option<i32>,
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
    pub ignored: Vec<String>,
    pub candidates: Vec<Recording>,
    /// Is this purpose one of the data controller's cases (SAR, police, erasure, portability)?
    pub data_controller_case: bool,
    /// May this user decide it now (the core's answer: open and theirs to decide; not their own
    /// unless it is a data controller's case)?
    pub may_decide: bool,
}

impl From<RequestView> for RequestInfo {
    fn from(v: RequestView) -> Self {
        let RequestView {
            id,
            purpose,
            state,
            raised_by,
            raised_at,
            reason,
            call_time,
            staff,
            number,
            nhs_number,
            other_numbers,
            parties,
            info,
            received,
            identity,
            due_date,
            days_left,
            approved_by,
            approved_recordings,
            allow,
            expires_at,
            rejected_by,
            rejection_reason,
            agreement_by,
            agreement,
            extensions,
            completed_by,
            ignored,
            candidates,
            may_decide,
        } = v;
        RequestInfo {
            id,
            purpose: purpose.into(),
            state: state.into(),
            raised_by,
            raised_at,
            reason,
            call_time,
            staff,
            number,
            nhs_number,
            other_numbers,
            parties,
            info,
            received: date(received),
            identity,
            due_date: date(due_date),
            days_left: days_left.map(|d| d.clamp(-99_999, 99_999) as i32),
            approved_by,
            approved_recordings,
            allow: allow.iter().map(Right::from).collect(),
            expires_at,
            rejected_by,
            rejection_reason,
            agreement_by,
            agreement,
            extensions,
            completed_by,
            ignored,
            candidates: candidates.into_iter().map(Recording::from).collect(),
            data_controller_case: purpose.is_data_controller_case(),
            may_decide,
        }
    }
}

/// The policy's fields of a new request, as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct NewRequest {
    /// A purpose; empty while a draft is being typed (candidates only).
    #[ts(type = "Purpose | \"\"")]
    pub purpose: String,
    pub reason: String,
    /// `YYYY-MM-DD`, or a date and time.
    pub call_time: Option<String>,
    pub staff: Option<String>,
    pub number: Option<String>,
    /// Other numbers the patient uses (each finds their calls).
    pub other_numbers: Vec<String>,
    /// The patient's NHS number (the core checks its check digit).
    pub nhs_number: Option<String>,
    pub parties: Vec<String>,
    pub info: Option<String>,
    /// SAR: the date it was received in writing (`YYYY-MM-DD`; default today).
    pub received: Option<String>,
    /// SAR: how the requester's identity was checked.
    pub identity: Option<String>,
}

impl NewRequest {
    /// The core's details; `draft` leaves the purpose optional (candidates while typing).
    pub fn details(self, draft: bool) -> callvault_core::Result<RequestDetails> {
        let NewRequest {
            purpose,
            reason,
            call_time,
            staff,
            number,
            other_numbers,
            nhs_number,
            parties,
            info,
            received,
            identity,
        } = self;
        let purpose = match (purpose.trim(), draft) {
            ("", true) => None,
            (p, _) => Some(CorePurpose::parse(p)?),
        };
        let received = match text(received) {
            None => None,
            Some(r) => Some(
                chrono::NaiveDate::parse_from_str(&r, "%Y-%m-%d").map_err(|_| {
                    callvault_core::Error::Invalid(format!("date received '{r}': use YYYY-MM-DD"))
                })?,
            ),
        };
        Ok(RequestDetails {
            purpose,
            reason: reason.trim().to_string(),
            call_time: text(call_time),
            staff: text(staff),
            number: text(number),
            other_numbers: other_numbers
                .into_iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            nhs_number: text(nhs_number),
            parties: parties
                .into_iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            info: text(info),
            received,
            identity: text(identity),
        })
    }
}

/// An approval as the approver gives it.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct ApprovalIn {
    pub recordings: Vec<String>,
    /// Days from now until the approval expires (1 to 365).
    pub expires_days: u32,
    /// "listen" and/or "export" (read by the core, which words any other right's refusal).
    #[ts(as = "Vec<Right>")]
    pub allow: Vec<String>,
}

/// A call linked to a patient's NHS number (or the link taken back), as a supervisor or the data
/// controller gives it.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct PatientLinkIn {
    pub recording: String,
    /// As typed: spaces and hyphens allowed (the core checks the check digit).
    pub nhs_number: String,
    /// Take the link back.
    #[serde(default)]
    pub unlink: bool,
}

/// A consent mark as the staff member or a supervisor gives it.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct ConsentIn {
    pub recording: String,
    /// caller_objected or not_recorded.
    pub kind: String,
    /// Where the recording stopped, `mm:ss` (caller objected).
    pub stopped_at: Option<String>,
    pub note: Option<String>,
}
