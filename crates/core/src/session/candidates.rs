//! The calls a request's details find (its candidates), through `Session`: the person's
//! identifiers — the NHS number, every number they use, the parties — within the call's day and
//! staff member; for a raised request's page and, as the requester types, for the "Raise a
//! request" form (`draft_candidates`, audited as a search).

use super::requests::normalise_call_time;
use super::*;
use crate::error::{Error, Result};
use crate::index;
use crate::phone;
use crate::policy::{Action, Scope};
use crate::requests::RequestDetails;
use crate::time;
use chrono::{DateTime, NaiveDate};

/// A request's patient identifiers as given: the NHS number checked (and kept in its canonical
/// ten digits), each number holding digits, blanks dropped. A wrong one is an error naming it.
pub(super) fn check_identifiers(d: &mut RequestDetails) -> Result<()> {
    d.nhs_number = match d.nhs_number.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => {
            Some(crate::patient::parse(n).map_err(|e| Error::Invalid(format!("NHS number: {e}")))?)
        }
        _ => None,
    };
    if let Some(n) = d.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        phone::normalize(n)
            .ok_or_else(|| Error::Invalid("the external number has no digits".into()))?;
    } else {
        d.number = None;
    }
    d.other_numbers.retain(|n| !n.trim().is_empty());
    d.parties.retain(|p| !p.trim().is_empty());
    for n in &mut d.other_numbers {
        *n = n.trim().to_string();
        phone::normalize(n)
            .ok_or_else(|| Error::Invalid("one of the other numbers has no digits".into()))?;
    }
    Ok(())
}

/// The most calls one of a request's identifiers (its NHS number, a number, a party) finds.
pub const CANDIDATES_PER_IDENTIFIER: i64 = 500;
/// The most calls a request's day and staff member find when it names no one (as before).
pub const CANDIDATES_UNNARROWED: i64 = 50;
/// The most candidates a request shows.
pub const CANDIDATES_MAX: usize = 1000;

impl Session {
    /// Recordings matching a request's details, among those this user may see: within the call's
    /// day (or ±2 hours of its time) and staff member when given, the calls linked to the
    /// patient's NHS number, and the calls from or to any of their numbers (whatever the
    /// formatting: +44, 0, spaces) that name one of the parties when parties are given; with
    /// neither an NHS number nor a number, the calls naming any of the parties; with no identifier
    /// at all, the calls of the day and staff member (at most `CANDIDATES_UNNARROWED`). Each
    /// identifier finds at most `CANDIDATES_PER_IDENTIFIER`, and a request at most
    /// `CANDIDATES_MAX`; newest first.
    pub(super) async fn candidates(&self, d: &RequestDetails) -> Result<Vec<RecordingView>> {
        let party_to = match self.scope() {
            Scope::All => None,
            Scope::PartyTo(uid) => Some(uid),
            Scope::Nothing => return Ok(vec![]),
        };
        let mut base = index::Query {
            limit: CANDIDATES_PER_IDENTIFIER,
            party_to,
            ..Default::default()
        };
        if let Some(t) = &d.call_time {
            if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                base.from_ms =
                    Some(time::parse_bound(&day.to_string(), self.tz, false)?.timestamp_millis());
                base.to_ms =
                    Some(time::parse_bound(&day.to_string(), self.tz, true)?.timestamp_millis());
            } else if let Ok(t) = DateTime::parse_from_rfc3339(t) {
                base.from_ms = Some(t.timestamp_millis() - 2 * 3600 * 1000);
                base.to_ms = Some(t.timestamp_millis() + 2 * 3600 * 1000);
            }
        }
        if let Some(s) = &d.staff {
            base.staff_uids = Some(self.staff_uids(s));
        }
        let parties: Vec<Option<String>> = match d.parties.iter().any(|p| !p.trim().is_empty()) {
            true => d
                .parties
                .iter()
                .filter(|p| !p.trim().is_empty())
                .map(|p| Some(p.clone()))
                .collect(),
            false => vec![None],
        };
        let mut probes = Vec::new();
        if let Some(n) = d
            .nhs_number
            .as_deref()
            .and_then(|n| crate::patient::parse(n).ok())
        {
            probes.push(index::Query {
                nhs: Some(n),
                ..base.clone()
            });
        }
        let mut numbers: Vec<String> = Vec::new();
        for n in d.number.iter().chain(&d.other_numbers) {
            if let Some(n) = phone::normalize(n).filter(|n| !numbers.contains(n)) {
                numbers.push(n);
            }
        }
        for n in &numbers {
            for p in &parties {
                probes.push(index::Query {
                    number: Some(n.clone()),
                    party: p.clone(),
                    ..base.clone()
                });
            }
        }
        if probes.is_empty() {
            for p in &parties {
                probes.push(index::Query {
                    party: p.clone(),
                    limit: match p {
                        Some(_) => CANDIDATES_PER_IDENTIFIER,
                        None => CANDIDATES_UNNARROWED,
                    },
                    ..base.clone()
                });
            }
        }
        let mut found: Vec<crate::archive::journal::RecordingMeta> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for q in probes {
            for m in self.index.search(&q).await? {
                if seen.insert(m.id.clone()) {
                    found.push(m);
                }
            }
        }
        found.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
        found.truncate(CANDIDATES_MAX);
        self.views(found).await
    }

    /// The calls a request being written would find, as the requester types (the app's "Raise a
    /// request" form): the same matching as a raised request's candidates, among the recordings
    /// this user may see, and audited as a search. A detail that cannot be read (a malformed time
    /// or number) is an error naming it. Nothing is written to the journal.
    pub async fn draft_candidates(&self, mut d: RequestDetails) -> Result<Vec<RecordingView>> {
        self.require(Action::Search)?;
        if let Some(t) = d
            .call_time
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            d.call_time = Some(normalise_call_time(t, self.tz)?);
        } else {
            d.call_time = None;
        }
        check_identifiers(&mut d)?;
        d.staff = d.staff.filter(|s| !s.trim().is_empty());
        d.parties.retain(|p| !p.trim().is_empty());
        if d.call_time.is_none()
            && d.number.is_none()
            && d.staff.is_none()
            && d.parties.is_empty()
            && d.nhs_number.is_none()
            && d.other_numbers.is_empty()
        {
            return Ok(vec![]);
        }
        let found = self.candidates(&d).await?;
        // As any search: personal values are kept as keyed hashes, so erasure leaves no number or
        // name in the audit trail.
        let crit = super::SearchQuery {
            from: d.call_time.clone(),
            number: d
                .number
                .iter()
                .chain(&d.other_numbers)
                .cloned()
                .reduce(|a, b| format!("{a},{b}")),
            nhs_number: d.nhs_number.clone(),
            staff: d.staff.clone(),
            party: (!d.parties.is_empty()).then(|| d.parties.join(",")),
            ..Default::default()
        };
        self.audit_keyed(Action::Search, "allowed", vec![], &|k| {
            Some(format!(
                "request draft; criteria {}; {} found",
                self.criteria_for_audit(&crit, k, true),
                found.len()
            ))
        })?;
        Ok(found)
    }
}
