//! Staff breach self-reports (the policy: "any member of staff [who] feels he/she has accidentally
//! breached the above policy ... will be required to inform their line manager immediately").
//! Any user reports what happened, when, and which calls if known — their ids only, never their
//! content. The report goes to the line manager (supervisors) and the data controller, who assesses
//! it within 72 hours (UK GDPR Art. 33: is it reportable to the ICO?) and closes it. The reporter
//! follows their own reports.
//!
//! Reports live in the journal as `breach` events, signed by their authors and addressed to the
//! reporter (besides the metadata key's holders); their state is folded here at read time, every
//! rule checked again: an assessment by anyone but the data controller, a second report under an
//! id, or a closing before the assessment counts for nothing.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Hours the data controller has to decide whether a breach is reportable to the ICO.
pub const ICO_HOURS: i64 = 72;
/// Characters of a report's or an assessment's text, at most.
pub const MAX_TEXT: usize = 4000;
/// Calls one report may name, at most.
pub const MAX_CALLS: usize = 100;

/// One event in a breach report's life.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreachEvent {
    /// What happened (the reporter's words), when if known, which calls (ids) if known. `nonce`
    /// binds the report's id to its reporter ([`breach_id`]).
    Reported {
        nonce: String,
        what: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        happened_at: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        calls: Vec<String>,
    },
    /// The data controller's assessment: reportable to the ICO within 72 hours, or not, and why.
    Assessed { reportable: bool, reason: String },
    /// The data controller closes the report (after assessing it).
    Closed { note: String },
}

/// A journal entry: an event of breach report `breach`, raised by `reporter`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BreachEntry {
    pub breach: String,
    pub reporter: String,
    pub event: BreachEvent,
    /// Who wrote this event (the entry's signer).
    pub by: String,
    pub at: String,
}

/// Where a report stands.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BreachState {
    /// Reported, not yet assessed.
    Received,
    Assessed,
    Closed,
}

impl BreachState {
    pub fn as_str(&self) -> &'static str {
        match self {
            BreachState::Received => "received",
            BreachState::Assessed => "assessed",
            BreachState::Closed => "closed",
        }
    }
}

/// A report as its events make it.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    pub id: String,
    pub reporter: String,
    pub what: String,
    pub happened_at: Option<String>,
    pub calls: Vec<String>,
    pub reported_at: String,
    pub state: BreachState,
    pub reportable: Option<bool>,
    pub assessment: Option<String>,
    pub assessed_by: Option<String>,
    pub assessed_at: Option<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub note: Option<String>,
    /// Events that broke a rule, each named (ignored).
    pub ignored: Vec<String>,
}

impl Breach {
    /// When the ICO decision is due: 72 hours after the report.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.reported_at)
            .ok()
            .map(|t| t.with_timezone(&Utc) + Duration::hours(ICO_HOURS))
    }

    /// Not assessed, and past its 72 hours.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.state == BreachState::Received && self.due().is_some_and(|d| now > d)
    }
}

/// A report's id: bound to its reporter by a nonce of theirs, so nobody else can write a report
/// under it (32 hex digits).
pub fn breach_id(reporter: &str, nonce: &str) -> String {
    let m = format!("callvault/v1/breach\n{reporter}\n{nonce}");
    hex::encode(&crate::crypto::sha256(m.as_bytes())[..16])
}

/// Fold a report's events (in any order) into its state. `may_decide(uid)` says whether a user's
/// current roles let them assess and close reports (the data controller's). None if no valid
/// `reported` event exists: one by the reporter it names, under the id bound to them. The report
/// comes first whatever the clocks say (a decision dated before it still counts); decisions
/// follow in time order; a second report under the id (its reporter's own tool) is ignored and
/// named.
pub fn fold(
    id: &str,
    mut events: Vec<BreachEntry>,
    may_decide: &dyn Fn(&str) -> bool,
) -> Option<Breach> {
    let is_report = |e: &BreachEntry| matches!(e.event, BreachEvent::Reported { .. });
    events.sort_by(|a, b| (!is_report(a), &a.at).cmp(&(!is_report(b), &b.at)));
    // The same event read twice (a compacted generation re-read beside its first) counts once.
    let mut unique: Vec<BreachEntry> = Vec::with_capacity(events.len());
    for e in events {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    let events = unique;
    let mut out: Option<Breach> = None;
    let mut ignored = Vec::new();
    for e in events {
        if e.breach != id {
            continue;
        }
        match (&e.event, out.as_mut()) {
            (
                BreachEvent::Reported {
                    nonce,
                    what,
                    happened_at,
                    calls,
                },
                None,
            ) if e.by == e.reporter && breach_id(&e.reporter, nonce) == id => {
                let mut calls: Vec<String> = calls.clone();
                calls.dedup();
                calls.truncate(MAX_CALLS);
                out = Some(Breach {
                    id: id.to_string(),
                    reporter: e.reporter.clone(),
                    what: what.chars().take(MAX_TEXT).collect(),
                    happened_at: happened_at.clone(),
                    calls,
                    reported_at: e.at.clone(),
                    state: BreachState::Received,
                    reportable: None,
                    assessment: None,
                    assessed_by: None,
                    assessed_at: None,
                    closed_at: None,
                    closed_by: None,
                    note: None,
                    ignored: vec![],
                });
            }
            (BreachEvent::Reported { .. }, _) => ignored.push(format!(
                "a second or misattributed report under {id} by {} at {}",
                e.by, e.at
            )),
            (BreachEvent::Assessed { reportable, reason }, Some(b))
                if may_decide(&e.by) && b.state != BreachState::Closed && e.reporter == b.reporter =>
            {
                // A later assessment revises an earlier one (until closed).
                b.state = BreachState::Assessed;
                b.reportable = Some(*reportable);
                b.assessment = Some(reason.clone());
                b.assessed_by = Some(e.by.clone());
                b.assessed_at = Some(e.at.clone());
            }
            (BreachEvent::Closed { note }, Some(b))
                if may_decide(&e.by)
                    && b.state == BreachState::Assessed
                    && e.reporter == b.reporter =>
            {
                b.state = BreachState::Closed;
                b.closed_at = Some(e.at.clone());
                b.closed_by = Some(e.by.clone());
                b.note = Some(note.clone());
            }
            _ => ignored.push(format!(
                "a {} event on {id} by {} at {} breaks the rules (only the data controller assesses, then closes, a report)",
                match e.event {
                    BreachEvent::Assessed { .. } => "assessed",
                    BreachEvent::Closed { .. } => "closed",
                    BreachEvent::Reported { .. } => "reported",
                },
                e.by,
                e.at
            )),
        }
    }
    out.map(|mut b| {
        b.ignored = ignored;
        b
    })
}

/// A report's text as given: trimmed, 1–4000 characters. `field` names it in the error.
pub fn check_text(field: &str, text: &str) -> crate::Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(crate::Error::Invalid(format!(
            "field '{field}': empty; say what happened"
        )));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(crate::Error::Invalid(format!(
            "field '{field}': at most {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "r";
    const DC: &str = "dc";

    fn ev(by: &str, at: &str, event: BreachEvent) -> BreachEntry {
        BreachEntry {
            breach: breach_id(R, "n"),
            reporter: R.into(),
            event,
            by: by.into(),
            at: at.into(),
        }
    }

    fn reported(by: &str, at: &str, what: &str) -> BreachEntry {
        ev(
            by,
            at,
            BreachEvent::Reported {
                nonce: "n".into(),
                what: what.into(),
                happened_at: None,
                calls: vec![],
            },
        )
    }

    #[test]
    fn only_the_data_controller_assesses_then_closes() {
        let dc = |u: &str| u == DC;
        let id = breach_id(R, "n");
        let assessed = |by: &str, at: &str| {
            ev(
                by,
                at,
                BreachEvent::Assessed {
                    reportable: false,
                    reason: "no personal data left the practice".into(),
                },
            )
        };
        let closed = |by: &str, at: &str| {
            ev(
                by,
                at,
                BreachEvent::Closed {
                    note: "done".into(),
                },
            )
        };
        // Closing before the assessment, or by the reporter, counts for nothing.
        let b = fold(
            &breach_id(R, "n"),
            vec![
                closed(DC, "2026-01-01T10:01:00Z"),
                reported(R, "2026-01-01T10:00:00Z", "played the wrong call"),
                assessed(R, "2026-01-01T10:02:00Z"),
                // A second report under the same id by someone else does not replace it.
                reported("x", "2026-01-01T10:03:00Z", "nothing happened"),
            ],
            &dc,
        )
        .unwrap();
        assert_eq!(b.state, BreachState::Received);
        assert_eq!(b.what, "played the wrong call");
        assert_eq!(b.ignored.len(), 3, "{:?}", b.ignored);
        assert_eq!(b.due().unwrap().to_rfc3339(), "2026-01-04T10:00:00+00:00");
        assert!(b.overdue("2026-01-04T10:00:01Z".parse().unwrap()));
        assert!(!b.overdue("2026-01-04T09:59:59Z".parse().unwrap()));
        let b = fold(
            &breach_id(R, "n"),
            vec![
                reported(R, "2026-01-01T10:00:00Z", "x"),
                assessed(DC, "2026-01-01T11:00:00Z"),
                closed(DC, "2026-01-01T12:00:00Z"),
                assessed(DC, "2026-01-01T13:00:00Z"),
            ],
            &dc,
        )
        .unwrap();
        assert_eq!(b.state, BreachState::Closed);
        assert_eq!(b.reportable, Some(false));
        assert!(!b.overdue("2026-02-01T00:00:00Z".parse().unwrap()));
        assert_eq!(b.ignored.len(), 1, "an assessment after closing");
        // No report by its reporter: nothing.
        assert!(fold(&id, vec![reported("x", "2026-01-01T10:00:00Z", "y")], &dc).is_none());
        // A report under an id not bound to its reporter is none; a decision dated before the
        // report (a slow clock) still counts.
        let mut other = reported(R, "2026-01-01T10:00:00Z", "y");
        other.breach = breach_id("x", "n");
        assert!(fold(&other.breach.clone(), vec![other], &dc).is_none());
        let b = fold(
            &id,
            vec![
                assessed(DC, "2026-01-01T09:00:00Z"),
                reported(R, "2026-01-01T10:00:00Z", "x"),
            ],
            &dc,
        )
        .unwrap();
        assert_eq!(b.state, BreachState::Assessed);
    }
}
