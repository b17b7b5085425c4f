//! The app's overview ("what needs me now"), composed here so that what each user sees of it is
//! decided by the same rules as everything else: requests this user may decide, the data
//! controller's cases by days left, holds and the next retention sweep for those who run them,
//! recent imports for those who import, and charts over the calls and requests this user may see.

use super::Session;
use crate::error::Result;
use crate::policy::{self, Action, Scope};
use crate::requests::{self, State};
use crate::retention::HoldView;
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

pub use super::requests::RequestView;

/// Days shown in the calls-per-day chart.
pub const CHART_DAYS: i64 = 30;
/// Days of imports shown.
pub const IMPORT_DAYS: i64 = 14;

#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    /// Open requests this user may decide (not ones they raised, except the data controller's own
    /// cases), oldest first.
    pub awaiting_decision: Vec<RequestView>,
    /// Open or approved requests this user raised, newest first.
    pub my_requests: Vec<RequestView>,
    /// Subject access requests not yet completed or rejected, fewest days left first (data
    /// controller, approvers and supervisors).
    pub sar_cases: Vec<RequestView>,
    /// Holds in force (supervisors, approvers, the data controller).
    pub holds: Option<Vec<HoldView>>,
    /// The retention sweep (supervisors, the data controller).
    pub retention: Option<RetentionOutlook>,
    /// Recordings imported per day over the last [`IMPORT_DAYS`] (those who may import).
    pub recent_imports: Option<Vec<DayCount>>,
    /// Calls per day over the last [`CHART_DAYS`], among the calls this user may see (every day
    /// present, oldest first).
    pub calls_per_day: Vec<DayCount>,
    /// Requests this user may see, by purpose.
    pub requests_by_purpose: Vec<PurposeCount>,
    /// Calls a supervisor assigned without their key, waiting for this user to deliver it (an
    /// approver or the data controller; empty for others), oldest first.
    pub awaiting_keys: Vec<super::AwaitingKey>,
    /// Breach reports not yet closed: every one for supervisors and the data controller, the
    /// user's own for others; newest first.
    pub breaches: Vec<super::BreachView>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DayCount {
    pub day: NaiveDate,
    pub count: u32,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PurposeCount {
    pub purpose: String,
    pub count: u32,
}

/// What the retention sweep would do now, and what comes next.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RetentionOutlook {
    pub months: u32,
    /// Recordings past the retention period now (the sweep would delete those not held).
    pub due_now: u32,
    /// Of those, held.
    pub held: u32,
    /// Recordings that pass the retention period in the next 30 days.
    pub due_within_30_days: u32,
}

impl Session {
    /// The overview for this user. Reading it is audited once.
    pub async fn overview(&self) -> Result<Overview> {
        self.require(Action::ListRequests)?;
        let uid = self.user.uid.clone();
        let rules = self.fold_rules().await?;
        let mut awaiting = Vec::new();
        let mut mine = Vec::new();
        let mut sars = Vec::new();
        let mut by_purpose: BTreeMap<String, u32> = BTreeMap::new();
        for id in self.index.request_ids().await? {
            let events = self.index.request_events(&id).await?;
            let Some(st) = requests::fold(&id, events, &|u| self.roles_of(u), &rules) else {
                continue;
            };
            if !self.may_see_request(&st) {
                continue;
            }
            *by_purpose
                .entry(st.purpose.as_str().to_string())
                .or_default() += 1;
            let live = matches!(st.state, State::Open | State::Approved);
            let decide = self.may_decide_now(&st, &rules);
            let sar = st.purpose == requests::Purpose::Sar
                && live
                && policy::requests::follows_sars(self.roles());
            let raised = st.raised_by == uid && live;
            if !(decide || sar || raised) {
                continue;
            }
            let v = self.request_view(st, vec![], &rules);
            if decide {
                awaiting.push(v.clone());
            }
            if sar {
                sars.push(v.clone());
            }
            if raised {
                mine.push(v);
            }
        }
        awaiting.sort_by(|a, b| a.raised_at.cmp(&b.raised_at));
        mine.sort_by(|a, b| b.raised_at.cmp(&a.raised_at));
        sars.sort_by_key(|v| v.days_left.unwrap_or(i64::MAX));
        let holds = if policy::holds::may_see_holds(self.roles()) {
            Some(
                self.holds_in_force()
                    .await?
                    .into_iter()
                    .filter(|h| h.released.is_none())
                    .collect(),
            )
        } else {
            None
        };
        let retention = if policy::retention::may_run_retention(self.roles()) {
            Some(self.retention_outlook().await?)
        } else {
            None
        };
        let recent_imports = if policy::decide(self.roles(), Action::Import).is_ok() {
            let today = Utc::now().date_naive();
            let days: Vec<NaiveDate> = (0..IMPORT_DAYS)
                .map(|i| today - Duration::days(i))
                .collect();
            let names: Vec<String> = days.iter().map(|d| d.to_string()).collect();
            let counts = self.index.imports_on(&names).await?;
            Some(
                days.into_iter()
                    .zip(counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(day, n)| DayCount {
                        day,
                        count: u32::try_from(n).unwrap_or(u32::MAX),
                    })
                    .collect(),
            )
        } else {
            None
        };
        let calls_per_day = self.calls_per_day().await?;
        let awaiting_keys = self.awaiting_keys().await?;
        let breaches = self.open_breaches().await?;
        let out = Overview {
            awaiting_keys,
            breaches,
            awaiting_decision: awaiting,
            my_requests: mine,
            sar_cases: sars,
            holds,
            retention,
            recent_imports,
            calls_per_day,
            requests_by_purpose: by_purpose
                .into_iter()
                .map(|(purpose, count)| PurposeCount { purpose, count })
                .collect(),
        };
        self.audit(
            Action::Overview,
            "allowed",
            vec![],
            Some(format!(
                "{} awaiting decision, {} SAR cases, {} assigned calls awaiting a key, {} open breach reports",
                out.awaiting_decision.len(),
                out.sar_cases.len(),
                out.awaiting_keys.len(),
                out.breaches.len()
            )),
        )?;
        Ok(out)
    }

    async fn calls_per_day(&self) -> Result<Vec<DayCount>> {
        let today = Utc::now().with_timezone(&self.tz).date_naive();
        let first = today - Duration::days(CHART_DAYS - 1);
        let party_to = match self.scope() {
            Scope::All => None,
            Scope::PartyTo(uid) => Some(uid),
            Scope::Nothing => return Ok(vec![]),
        };
        let from_ms =
            crate::time::parse_bound(&first.to_string(), self.tz, false)?.timestamp_millis();
        let mut counts: BTreeMap<NaiveDate, u32> = (0..CHART_DAYS)
            .map(|i| (first + Duration::days(i), 0))
            .collect();
        for ms in self
            .index
            .started_since(from_ms, party_to.as_deref())
            .await?
        {
            let day = DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .with_timezone(&self.tz)
                .date_naive();
            if let Some(c) = counts.get_mut(&day) {
                *c += 1;
            }
        }
        Ok(counts
            .into_iter()
            .map(|(day, count)| DayCount { day, count })
            .collect())
    }

    async fn retention_outlook(&self) -> Result<RetentionOutlook> {
        let months: u32 = self
            .setting("retention-months")
            .await?
            .parse()
            .unwrap_or(36);
        let now = Utc::now();
        let cutoff = now
            .checked_sub_months(Months::new(months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let soon = cutoff + Duration::days(30);
        let cut = cutoff.timestamp_millis();
        // Counts only (an archive three years old has a month's calls passing the period at any
        // time): the sweep's own plan lists them.
        let due_now = self.index.count_started_before(cut).await?;
        let upcoming = self
            .index
            .count_started_before(soon.timestamp_millis())
            .await?;
        let mut held = 0u32;
        for id in self.held().await?.keys() {
            if let Some((m, _)) = self.index.get(id).await? {
                if DateTime::parse_from_rfc3339(&m.started_at)
                    .is_ok_and(|t| t.timestamp_millis() < cut)
                {
                    held += 1;
                }
            }
        }
        let n = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        Ok(RetentionOutlook {
            months,
            due_now: n(due_now),
            held,
            due_within_30_days: n(upcoming - due_now),
        })
    }
}
