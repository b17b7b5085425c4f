//! Staff breach self-reports through `Session` ([`crate::breach`]): anyone reports, the reporter
//! follows their own reports, supervisors (the line manager) and the data controller see every
//! one, and the data controller assesses (reportable to the ICO within 72 hours, or not) and
//! closes them. Every step is audited — by the report's id and the calls it names, never its text.

use super::*;
use crate::breach::{self, Breach, BreachEntry, BreachEvent, BreachState};

/// A breach report as a user sees it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BreachView {
    pub id: String,
    /// The reporter's user name.
    pub reporter: String,
    /// Is it this user's own report?
    pub own: bool,
    pub what: String,
    pub happened_at: Option<String>,
    pub calls: Vec<String>,
    pub reported_at: String,
    /// When the data controller's ICO decision is due (72 hours after the report).
    pub due: Option<String>,
    /// Received and past its 72 hours.
    pub overdue: bool,
    pub state: BreachState,
    pub reportable: Option<bool>,
    pub assessment: Option<String>,
    pub assessed_by: Option<String>,
    pub assessed_at: Option<String>,
    pub closed_at: Option<String>,
    pub note: Option<String>,
}

impl Session {
    /// Every report this user may see, newest first (their own; every one for supervisors and
    /// the data controller).
    async fn visible_breaches(&self) -> Result<Vec<Breach>> {
        let mut by_id: HashMap<String, Vec<BreachEntry>> = HashMap::new();
        for e in self.index.breach_events().await? {
            by_id.entry(e.breach.clone()).or_default().push(e);
        }
        let all = policy::breaches::may_see_all(self.roles());
        let decides = |u: &str| policy::breaches::may_decide(&self.roles_of(u));
        let mut out: Vec<Breach> = by_id
            .into_iter()
            .filter_map(|(id, events)| breach::fold(&id, events, &decides))
            .filter(|b| all || b.reporter == self.user.uid)
            .collect();
        out.sort_by(|a, b| b.reported_at.cmp(&a.reported_at));
        Ok(out)
    }

    fn breach_view(&self, b: Breach) -> BreachView {
        let name = |u: &Option<String>| {
            u.as_ref()
                .map(|u| self.name_of(u).unwrap_or_else(|| u.clone()))
        };
        BreachView {
            id: b.id.clone(),
            reporter: self
                .name_of(&b.reporter)
                .unwrap_or_else(|| b.reporter.clone()),
            own: b.reporter == self.user.uid,
            due: b.due().map(time::rfc3339),
            overdue: b.overdue(Utc::now()),
            what: b.what,
            happened_at: b.happened_at,
            calls: b.calls,
            reported_at: b.reported_at,
            state: b.state,
            reportable: b.reportable,
            assessment: b.assessment,
            assessed_by: name(&b.assessed_by),
            assessed_at: b.assessed_at,
            closed_at: b.closed_at,
            note: b.note,
        }
    }

    /// Report an accidental breach of the policy: what happened, when if known (as a search's
    /// dates are typed), which calls if known (their ids only). Returns the report's id.
    pub async fn report_breach(
        &mut self,
        what: &str,
        happened_at: Option<&str>,
        calls: &[String],
    ) -> Result<String> {
        self.require_for(Action::ReportBreach, calls)?;
        let what = breach::check_text("what", what)?;
        let happened_at = match happened_at.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(t) => {
                let at = time::parse_bound(t, self.tz, false).map_err(|_| {
                    Error::Invalid(format!(
                        "field 'when': '{t}' is not a date or time (e.g. 2026-03-02 or 2026-03-02T14:30)"
                    ))
                })?;
                if at > Utc::now() + chrono::Duration::minutes(5) {
                    return Err(Error::Invalid(format!(
                        "field 'when': '{t}' is in the future"
                    )));
                }
                Some(time::rfc3339(at))
            }
        };
        if calls.len() > breach::MAX_CALLS {
            return Err(Error::Invalid(format!(
                "field 'call': at most {} calls",
                breach::MAX_CALLS
            )));
        }
        let mut ids: Vec<String> = Vec::new();
        for c in calls {
            let c = c.trim().to_ascii_lowercase();
            if !archive::is_id(&c) {
                return Err(Error::Invalid(format!(
                    "field 'call': '{c}' is not a recording id (32 hex digits)"
                )));
            }
            if !ids.contains(&c) {
                ids.push(c);
            }
        }
        let nonce = crypto::new_id();
        let id = breach::breach_id(&self.user.uid, &nonce);
        let e = BreachEntry {
            breach: id.clone(),
            reporter: self.user.uid.clone(),
            event: BreachEvent::Reported {
                nonce,
                what,
                happened_at,
                calls: ids.clone(),
            },
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
        };
        self.journal(vec![JournalEntry::Breach(Box::new(e))])
            .await?;
        self.audit(
            Action::ReportBreach,
            "allowed",
            ids,
            Some(format!("breach report {id}")),
        )?;
        Ok(id)
    }

    /// The breach reports this user may see, newest first (audited).
    pub async fn breaches(&self) -> Result<Vec<BreachView>> {
        self.require(Action::ListBreaches)?;
        let list = self.visible_breaches().await?;
        self.audit(
            Action::ListBreaches,
            "allowed",
            vec![],
            Some(format!("{} reports", list.len())),
        )?;
        Ok(list.into_iter().map(|b| self.breach_view(b)).collect())
    }

    /// Report `id` if this user may see it; else refused (audited under `action`) as not found.
    async fn visible_breach(&self, action: Action, id: &str) -> Result<Breach> {
        match self
            .visible_breaches()
            .await?
            .into_iter()
            .find(|b| b.id == id)
        {
            Some(b) => Ok(b),
            None => self.refuse(action, vec![], Error::unseen("breach report", id)),
        }
    }

    /// One report (audited); one this user may not see is not found.
    pub async fn breach(&self, id: &str) -> Result<BreachView> {
        self.require(Action::ListBreaches)?;
        let b = self.visible_breach(Action::ListBreaches, id).await?;
        // By its id only: the calls it names are the reporter's word, not this user's act.
        self.audit(
            Action::ListBreaches,
            "allowed",
            vec![],
            Some(format!("breach report {id}")),
        )?;
        Ok(self.breach_view(b))
    }

    /// The data controller's assessment: reportable to the ICO (within 72 hours of the report)
    /// or not, and why. A later assessment revises it until the report is closed.
    pub async fn assess_breach(&mut self, id: &str, reportable: bool, reason: &str) -> Result<()> {
        self.require(Action::AssessBreach)?;
        let reason = breach::check_text("reason", reason)?;
        let b = self.visible_breach(Action::AssessBreach, id).await?;
        if b.state == BreachState::Closed {
            return Err(Error::Invalid(format!(
                "breach report {id} is closed; it cannot be assessed again"
            )));
        }
        self.breach_event(&b, BreachEvent::Assessed { reportable, reason })
            .await?;
        self.audit(
            Action::AssessBreach,
            "allowed",
            vec![],
            Some(format!(
                "breach report {id}: {}",
                if reportable {
                    "reportable to the ICO"
                } else {
                    "not reportable"
                }
            )),
        )
    }

    /// Close an assessed report (the data controller), with a note of what was done.
    pub async fn close_breach(&mut self, id: &str, note: &str) -> Result<()> {
        self.require(Action::AssessBreach)?;
        let note = breach::check_text("note", note)?;
        let b = self.visible_breach(Action::AssessBreach, id).await?;
        if b.state != BreachState::Assessed {
            return Err(Error::Invalid(format!(
                "breach report {id} is {}: it is closed only once assessed",
                b.state.as_str()
            )));
        }
        self.breach_event(&b, BreachEvent::Closed { note }).await?;
        self.audit(
            Action::AssessBreach,
            "allowed",
            vec![],
            Some(format!("breach report {id}: closed")),
        )
    }

    /// Journal a decision on report `b` (as this session folded it).
    async fn breach_event(&mut self, b: &Breach, event: BreachEvent) -> Result<()> {
        // After every event already read, whatever this computer's clock says, so a decision is
        // never folded before the one it follows.
        let latest = [
            Some(&b.reported_at),
            b.assessed_at.as_ref(),
            b.closed_at.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .max();
        let now = Utc::now();
        let at = match latest {
            Some(l) if l >= now => l + chrono::Duration::milliseconds(1),
            _ => now,
        };
        let e = BreachEntry {
            breach: b.id.clone(),
            reporter: b.reporter.clone(),
            event,
            by: self.user.uid.clone(),
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        self.journal(vec![JournalEntry::Breach(Box::new(e))]).await
    }

    /// Reports not yet closed that this user may see (the overview).
    pub(super) async fn open_breaches(&self) -> Result<Vec<BreachView>> {
        Ok(self
            .visible_breaches()
            .await?
            .into_iter()
            .filter(|b| b.state != BreachState::Closed)
            .map(|b| self.breach_view(b))
            .collect())
    }
}
