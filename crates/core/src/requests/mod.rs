//! The policy's access workflow (paragraphs (b)–(g)): access requests with a valid purpose, the
//! approver's decision on specific recordings with an expiry and rights, the data controller's cases
//! (subject access, police, disciplinary agreement, erasure, portability), and consent marks.
//!
//! Requests live in the archive as journal events (encrypted, signed by their author), so the PC
//! that raises and the Mac that approves see the same state. The state of a request is folded from
//! its events here, at read time, checking every rule again: an event that breaks a rule (an
//! approver approving their own request, a non-approver approving) is ignored and reported.

use crate::calendar;
use crate::error::{Error, Result};
use crate::policy::requests as policy;
use crate::policy::Role;

pub use crate::policy::listen::access_refusal;
pub use crate::policy::requests::may_decide;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The valid reasons for access the policy lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    Complaint,
    MedicoLegal,
    StaffProtection,
    Training,
    Regulatory,
    Disciplinary,
    Sar,
    Police,
    Erasure,
    Portability,
}

impl Purpose {
    pub const ALL: [Purpose; 10] = [
        Purpose::Complaint,
        Purpose::MedicoLegal,
        Purpose::StaffProtection,
        Purpose::Training,
        Purpose::Regulatory,
        Purpose::Disciplinary,
        Purpose::Sar,
        Purpose::Police,
        Purpose::Erasure,
        Purpose::Portability,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Purpose::Complaint => "complaint",
            Purpose::MedicoLegal => "medico-legal",
            Purpose::StaffProtection => "staff-protection",
            Purpose::Training => "training",
            Purpose::Regulatory => "regulatory",
            Purpose::Disciplinary => "disciplinary",
            Purpose::Sar => "sar",
            Purpose::Police => "police",
            Purpose::Erasure => "erasure",
            Purpose::Portability => "portability",
        }
    }

    pub fn parse(s: &str) -> Result<Purpose> {
        let s = s.trim().to_ascii_lowercase();
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
                Error::Invalid(format!("purpose '{s}' is not one of {}", all.join(", ")))
            })
    }

    /// Requests decided and completed by the data controller (policy (e), (f); erasure; portability).
    pub fn is_data_controller_case(&self) -> bool {
        matches!(
            self,
            Purpose::Sar | Purpose::Police | Purpose::Erasure | Purpose::Portability
        )
    }
}

/// What an approval allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    Listen,
    Export,
}

impl Right {
    pub fn as_str(&self) -> &'static str {
        match self {
            Right::Listen => "listen",
            Right::Export => "export",
        }
    }
    pub fn parse_list(s: &str) -> Result<Vec<Right>> {
        let mut v = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let r = match p.to_ascii_lowercase().as_str() {
                "listen" => Right::Listen,
                "export" => Right::Export,
                other => {
                    return Err(Error::Invalid(format!(
                        "right '{other}': use listen or export"
                    )))
                }
            };
            if !v.contains(&r) {
                v.push(r);
            }
        }
        if v.is_empty() {
            return Err(Error::Invalid(
                "at least one right (listen, export) is needed".into(),
            ));
        }
        Ok(v)
    }
}

/// What the requester gives when raising a request (the policy's list).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RequestDetails {
    pub purpose: Option<Purpose>,
    pub reason: String,
    /// Date and time of the call if known: RFC 3339 UTC, or a bare date `YYYY-MM-DD`.
    pub call_time: Option<String>,
    /// Staff member making or receiving the call (user name or telephony identity).
    pub staff: Option<String>,
    pub number: Option<String>,
    pub parties: Vec<String>,
    pub info: Option<String>,
    /// For a SAR: the date it was received in writing.
    pub received: Option<NaiveDate>,
    /// For a SAR: how the requester's identity was checked.
    pub identity: Option<String>,
    /// The patient's NHS number (ten digits, check digit verified): finds every call linked to
    /// them, whatever number they rang from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
    /// Other numbers the patient is known to use, besides `number`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_numbers: Vec<String>,
}

/// One event in a request's life, as journalled.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestEvent {
    Raised(RequestDetails),
    Approved {
        recordings: Vec<String>,
        expires_at: String,
        allow: Vec<Right>,
        note: Option<String>,
        /// Each approved recording's data key wrapped to the requester (`KeyGrant`): approval
        /// hands over the key. Absent in approvals written before it (and in the data
        /// controller's cases, which she uses with her own key).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keys: Vec<KeyGrant>,
    },
    Rejected {
        reason: String,
    },
    /// The data controller's written agreement (disciplinary release).
    Agreed {
        text: String,
    },
    /// A SAR deadline extension.
    Extended {
        days: u32,
        reason: String,
    },
    Completed {
        note: Option<String>,
    },
    /// An erasure request's details were erased with its calls (journalled by the data
    /// controller's erasure run, beside its tombstones): the `raised` event, with the number,
    /// names and reason, is compacted away; this says who raised it and when, and nothing more.
    Erased {
        raised_by: String,
        raised_at: String,
    },
}

/// What remains of an erasure request's details once they are erased.
pub const ERASED_REASON: &str = "the requester's details were erased with their calls";

/// The details an erased request keeps: its purpose, and that they were erased.
pub fn erased_details() -> RequestDetails {
    RequestDetails {
        purpose: Some(Purpose::Erasure),
        reason: ERASED_REASON.into(),
        ..Default::default()
    }
}

/// One approved recording's data key, wrapped (HPKE) to the user who may use the approval, with
/// info `grant_info(request, recording, uid)`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyGrant {
    pub recording: String,
    pub to: String,
    pub wrap: crate::crypto::Wrapped,
}

/// The HPKE info of a key grant: bound to the request, the recording and the recipient, so a
/// wrap cannot be moved to another approval, call or user.
pub fn grant_info(request: &str, recording: &str, to: &str) -> Vec<u8> {
    format!("callvault/v2/grant/{request}/{recording}/{to}").into_bytes()
}

/// A journalled request event with its author and time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RequestEntry {
    pub request: String,
    /// uid of the author (must be the journal segment's signer).
    pub by: String,
    /// RFC 3339 UTC, milliseconds.
    pub at: String,
    pub event: RequestEvent,
    /// On a `raised` event: the randomness the request's id was derived from with its raiser and
    /// the device whose journal holds it (`request_id`), so no one else can raise it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A request's id, bound to the event that raised it: who raised it, on which device's journal,
/// and fresh randomness. A `raised` event whose id does not derive so is refused on every device.
pub fn request_id(raiser: &str, device: &str, nonce: &str) -> String {
    let m = format!("callvault/v2/request\n{raiser}\n{device}\n{nonce}");
    hex::encode(&crate::crypto::sha256(m.as_bytes())[..16])
}

/// A consent mark on a call: the caller objected (recording stopped at a time) or asked not to be
/// recorded.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConsentMark {
    pub recording: String,
    pub by: String,
    pub at: String,
    pub kind: ConsentKind,
    /// Where the recording stopped, in milliseconds from its start.
    pub stopped_at_ms: Option<u64>,
    pub note: Option<String>,
}

/// A call linked to a patient's NHS number (or the link taken back) by a supervisor or the data
/// controller, typically after listening: the call is then found by that NHS number (a SAR's,
/// an erasure's or a portability request's candidates) and the number goes into its exports.
/// For one call and number the latest entry (by `at`) counts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PatientLink {
    pub recording: String,
    /// Ten digits, check digit verified (every device checks it again).
    pub nhs_number: String,
    /// True: the link is taken back (a call linked to the wrong patient).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlink: bool,
    pub by: String,
    pub at: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    CallerObjected,
    NotRecorded,
}

impl ConsentKind {
    /// `caller_objected` or `not_recorded`, as the app sends them.
    pub fn parse(s: &str) -> Result<ConsentKind> {
        match s.trim() {
            "caller_objected" => Ok(ConsentKind::CallerObjected),
            "not_recorded" => Ok(ConsentKind::NotRecorded),
            other => Err(Error::Invalid(format!(
                "consent mark '{other}': use caller_objected or not_recorded"
            ))),
        }
    }
}

impl ConsentMark {
    /// The words shown in search results and exports.
    pub fn describe(&self) -> String {
        match (self.kind, self.stopped_at_ms) {
            (ConsentKind::CallerObjected, Some(ms)) => {
                format!("caller objected; recording stopped at {}", mmss(ms))
            }
            (ConsentKind::CallerObjected, None) => "caller objected; recording stopped".into(),
            (ConsentKind::NotRecorded, _) => "not recorded at caller's request".into(),
        }
    }
}

/// `mm:ss` for milliseconds.
pub fn mmss(ms: u64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

/// Parse `mm:ss` (or plain seconds) into milliseconds.
pub fn parse_mmss(s: &str) -> Result<u64> {
    let bad = || Error::Invalid(format!("time '{s}': use mm:ss"));
    match s.trim().split_once(':') {
        Some((m, sec)) => {
            let m: u64 = m.parse().map_err(|_| bad())?;
            let sec: u64 = sec.parse().map_err(|_| bad())?;
            if sec >= 60 {
                return Err(bad());
            }
            Ok((m * 60 + sec) * 1000)
        }
        None => Ok(s.trim().parse::<u64>().map_err(|_| bad())? * 1000),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Approved,
    Rejected,
    Completed,
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Open => "open",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Completed => "completed",
        }
    }
    pub fn parse(s: &str) -> Result<State> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(State::Open),
            "approved" => Ok(State::Approved),
            "rejected" => Ok(State::Rejected),
            "completed" => Ok(State::Completed),
            other => Err(Error::Invalid(format!(
                "state '{other}': use open, approved, rejected or completed"
            ))),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Approval {
    pub by: String,
    pub at: String,
    pub recordings: Vec<String>,
    pub expires_at: String,
    pub allow: Vec<Right>,
    /// The approved recordings' keys, wrapped to the requester.
    pub keys: Vec<KeyGrant>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Signed<T> {
    pub by: String,
    pub at: String,
    #[serde(flatten)]
    pub what: T,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Text {
    pub text: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Extension {
    pub days: u32,
    pub reason: String,
}

/// A request as it stands now, folded from its events. User ids, not names (the session maps them).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RequestState {
    pub id: String,
    pub purpose: Purpose,
    pub state: State,
    pub raised_by: String,
    pub raised_at: String,
    pub details: RequestDetails,
    pub approval: Option<Approval>,
    pub rejection: Option<Signed<Text>>,
    pub agreement: Option<Signed<Text>>,
    pub extensions: Vec<Signed<Extension>>,
    pub completed: Option<Signed<Text>>,
    /// SAR: statutory due date (with extensions), moved to a working day.
    pub due_date: Option<NaiveDate>,
    /// Events that broke a rule and were ignored.
    pub ignored: Vec<String>,
}

/// The practice's rules a request is folded under: the bank holidays (for SAR deadlines), and
/// since when (the data controller's setting `second-authoriser`, by her clock) a data
/// controller's case needs someone besides its raiser to decide it.
#[derive(Clone, Debug, Default)]
pub struct FoldRules {
    pub holidays: std::collections::BTreeSet<NaiveDate>,
    pub second_authoriser_since: Option<String>,
}

impl FoldRules {
    /// Was a second authoriser required for a decision made at `at`?
    pub fn second_at(&self, at: &str) -> bool {
        self.second_authoriser_since
            .as_deref()
            .is_some_and(|since| at >= since)
    }
}

fn own_decision(purpose: Purpose) -> &'static str {
    if purpose.is_data_controller_case() {
        "the practice requires a second authoriser: its raiser may not decide it"
    } else {
        "an approver may not decide their own request"
    }
}

/// Fold a request's events into its state. `roles_of` gives a user's roles. Every rule is checked
/// again here, so a rule-breaking event written by a modified client is ignored, not believed.
pub fn fold(
    id: &str,
    mut events: Vec<RequestEntry>,
    roles_of: &dyn Fn(&str) -> Vec<Role>,
    rules: &FoldRules,
) -> Option<RequestState> {
    let holidays = &rules.holidays;
    // The Raised event first whatever the clocks said; then the others by time.
    events.sort_by(|a, b| {
        let ra = !matches!(a.event, RequestEvent::Raised(_));
        let rb = !matches!(b.event, RequestEvent::Raised(_));
        (ra, &a.at).cmp(&(rb, &b.at))
    });
    // An erasure request whose `raised` event was compacted away starts from the data
    // controller's `erased` event, which names who raised it and when.
    let erased_by_dc = |e: &RequestEntry| {
        matches!(e.event, RequestEvent::Erased { .. })
            && policy::may_erase_details(&roles_of(&e.by))
    };
    // Once the data controller has erased its details, no `raised` event counts (a forged one,
    // written after the genuine one was compacted away, would take the request over): the
    // `erased` event stands in, on every device alike.
    if events.iter().any(erased_by_dc) {
        events.retain(|e| !matches!(e.event, RequestEvent::Raised(_)));
    }
    if !matches!(events.first()?.event, RequestEvent::Raised(_)) {
        let i = events.iter().position(erased_by_dc)?;
        let RequestEvent::Erased {
            raised_by,
            raised_at,
        } = events[i].event.clone()
        else {
            unreachable!("matched above")
        };
        events.insert(
            0,
            RequestEntry {
                request: id.to_string(),
                by: raised_by,
                at: raised_at,
                event: RequestEvent::Raised(erased_details()),
                nonce: None,
            },
        );
    }
    let mut it = events.into_iter();
    let first = it.next()?;
    let RequestEvent::Raised(details) = first.event else {
        return None;
    };
    let purpose = details.purpose?;
    let mut st = RequestState {
        id: id.to_string(),
        purpose,
        state: State::Open,
        raised_by: first.by.clone(),
        raised_at: first.at.clone(),
        due_date: match (purpose, details.received) {
            (Purpose::Sar, Some(r)) => Some(calendar::sar_due(r, holidays)),
            _ => None,
        },
        details,
        approval: None,
        rejection: None,
        agreement: None,
        extensions: vec![],
        completed: None,
        ignored: vec![],
    };
    for e in it {
        let roles = roles_of(&e.by);
        let mut ignore = |why: &str| {
            st.ignored.push(format!(
                "{} by {} at {}: {why}",
                kind_of(&e.event),
                e.by,
                e.at
            ))
        };
        match &e.event {
            RequestEvent::Raised(_) => ignore("raised twice"),
            RequestEvent::Approved {
                recordings,
                expires_at,
                allow,
                keys,
                ..
            } => {
                if st.state != State::Open {
                    ignore("request already decided");
                } else if !policy::may_decide_with(purpose, &roles, rules.second_at(&e.at)) {
                    ignore("author may not decide this kind of request");
                } else if e.by == st.raised_by
                    && !policy::may_decide_own(purpose, rules.second_at(&e.at))
                {
                    ignore(own_decision(purpose));
                } else if recordings.is_empty() {
                    ignore("no recordings named");
                } else {
                    st.state = State::Approved;
                    st.approval = Some(Approval {
                        by: e.by.clone(),
                        at: e.at.clone(),
                        recordings: recordings.clone(),
                        expires_at: expires_at.clone(),
                        allow: allow.clone(),
                        // Only keys to the recordings approved, for the one who may use them.
                        keys: keys
                            .iter()
                            .filter(|k| recordings.contains(&k.recording) && k.to == st.raised_by)
                            .cloned()
                            .collect(),
                    });
                }
            }
            RequestEvent::Rejected { reason } => {
                if st.state != State::Open {
                    ignore("request already decided");
                } else if !policy::may_decide_with(purpose, &roles, rules.second_at(&e.at)) {
                    ignore("author may not decide this kind of request");
                } else if e.by == st.raised_by
                    && !policy::may_decide_own(purpose, rules.second_at(&e.at))
                {
                    ignore(own_decision(purpose));
                } else {
                    st.state = State::Rejected;
                    st.rejection = Some(Signed {
                        by: e.by.clone(),
                        at: e.at.clone(),
                        what: Text {
                            text: reason.clone(),
                        },
                    });
                }
            }
            RequestEvent::Agreed { text } => {
                if purpose != Purpose::Disciplinary {
                    ignore("written agreement is only for disciplinary requests");
                } else if !policy::may_agree(&roles) {
                    ignore("only the data controller agrees");
                } else if st.agreement.is_some() {
                    ignore("agreement already recorded");
                } else {
                    st.agreement = Some(Signed {
                        by: e.by.clone(),
                        at: e.at.clone(),
                        what: Text { text: text.clone() },
                    });
                }
            }
            RequestEvent::Extended { days, reason } => {
                if purpose != Purpose::Sar || st.due_date.is_none() {
                    ignore("only a SAR's deadline can be extended");
                } else if !policy::may_extend(&roles) {
                    ignore("only the data controller extends a SAR");
                } else {
                    let received = st.details.received.expect("due date implies received");
                    let due = st.due_date.expect("checked");
                    let latest = calendar::sar_latest_extended(received, holidays);
                    let new = calendar::next_working_day(
                        due + chrono::Duration::days(*days as i64),
                        holidays,
                    );
                    if new > latest {
                        ignore("extension beyond two further months");
                    } else {
                        st.due_date = Some(new);
                        st.extensions.push(Signed {
                            by: e.by.clone(),
                            at: e.at.clone(),
                            what: Extension {
                                days: *days,
                                reason: reason.clone(),
                            },
                        });
                    }
                }
            }
            // The data controller's was decided before the loop (it stands in for `raised`).
            RequestEvent::Erased { .. } => {
                if !policy::may_erase_details(&roles) {
                    ignore("only the data controller erases a request's details");
                }
            }
            RequestEvent::Completed { note } => {
                let may = policy::may_complete(purpose, &roles, e.by == st.raised_by);
                if st.state == State::Completed {
                    ignore("already completed");
                } else if !may {
                    ignore("author may not complete this request");
                } else {
                    st.state = State::Completed;
                    st.completed = Some(Signed {
                        by: e.by.clone(),
                        at: e.at.clone(),
                        what: Text {
                            text: note.clone().unwrap_or_default(),
                        },
                    });
                }
            }
        }
    }
    Some(st)
}

fn kind_of(e: &RequestEvent) -> &'static str {
    match e {
        RequestEvent::Raised(_) => "raised",
        RequestEvent::Approved { .. } => "approval",
        RequestEvent::Rejected { .. } => "rejection",
        RequestEvent::Agreed { .. } => "agreement",
        RequestEvent::Extended { .. } => "extension",
        RequestEvent::Completed { .. } => "completion",
        RequestEvent::Erased { .. } => "erasure of details",
    }
}

#[cfg(test)]
mod tests;
