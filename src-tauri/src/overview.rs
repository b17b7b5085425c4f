//! The start screen: `overview` (requests awaiting this user, their own, the data controller's
//! cases, holds, the retention outlook, recent imports and calls per day), with its transport
//! types. What each user sees in it is the core's choice.

use crate::error::ApiResult;
use crate::requests::RequestInfo;
use crate::retention::HoldInfo;
use crate::session::{s, session};
use crate::state::AppState;
use crate::vocab::Purpose;
use callvault_core::session::overview::{DayCount, Overview, PurposeCount, RetentionOutlook};
use callvault_core::session::AwaitingKey;
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

#[derive(Clone, Debug, Serialize, TS)]
pub struct DayTotal {
    pub day: String,
    pub count: u32,
}

impl From<DayCount> for DayTotal {
    fn from(d: DayCount) -> Self {
        let DayCount { day, count } = d;
        DayTotal {
            day: day.to_string(),
            count,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct PurposeTotal {
    /// The purpose as the core names it (the core's overview counts by name).
    #[ts(as = "Purpose")]
    pub purpose: String,
    pub count: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct RetentionInfo {
    pub months: u32,
    pub due_now: u32,
    pub held: u32,
    pub due_within_30_days: u32,
}

/// A call a supervisor assigned without its key, waiting for this approver or data controller.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AwaitingKeyInfo {
    pub recording: String,
    pub started_at: String,
    pub external_number: Option<String>,
    pub assigned_to: String,
    pub assigned_by: String,
    pub assigned_at: String,
}

impl From<AwaitingKey> for AwaitingKeyInfo {
    fn from(a: AwaitingKey) -> Self {
        let AwaitingKey {
            recording,
            started_at,
            external_number,
            assigned_to,
            assigned_by,
            assigned_at,
        } = a;
        AwaitingKeyInfo {
            recording,
            started_at,
            external_number,
            assigned_to,
            assigned_by,
            assigned_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct OverviewInfo {
    pub awaiting_decision: Vec<RequestInfo>,
    pub my_requests: Vec<RequestInfo>,
    pub sar_cases: Vec<RequestInfo>,
    pub holds: Option<Vec<HoldInfo>>,
    pub retention: Option<RetentionInfo>,
    pub recent_imports: Option<Vec<DayTotal>>,
    pub calls_per_day: Vec<DayTotal>,
    pub requests_by_purpose: Vec<PurposeTotal>,
    pub awaiting_keys: Vec<AwaitingKeyInfo>,
    /// Breach reports not yet closed that this user may see.
    pub breaches: Vec<crate::breach::BreachInfo>,
}

impl From<Overview> for OverviewInfo {
    fn from(o: Overview) -> Self {
        let Overview {
            awaiting_decision,
            my_requests,
            sar_cases,
            holds,
            retention,
            recent_imports,
            calls_per_day,
            requests_by_purpose,
            awaiting_keys,
            breaches,
        } = o;
        OverviewInfo {
            awaiting_decision: awaiting_decision.into_iter().map(Into::into).collect(),
            my_requests: my_requests.into_iter().map(Into::into).collect(),
            sar_cases: sar_cases.into_iter().map(Into::into).collect(),
            holds: holds.map(|h| h.into_iter().map(Into::into).collect()),
            retention: retention.map(|r| {
                let RetentionOutlook {
                    months,
                    due_now,
                    held,
                    due_within_30_days,
                } = r;
                RetentionInfo {
                    months,
                    due_now,
                    held,
                    due_within_30_days,
                }
            }),
            recent_imports: recent_imports.map(|v| v.into_iter().map(Into::into).collect()),
            calls_per_day: calls_per_day.into_iter().map(Into::into).collect(),
            requests_by_purpose: requests_by_purpose
                .into_iter()
                .map(|p| {
                    let PurposeCount { purpose, count } = p;
                    PurposeTotal { purpose, count }
                })
                .collect(),
            awaiting_keys: awaiting_keys.into_iter().map(Into::into).collect(),
            breaches: breaches.into_iter().map(Into::into).collect(),
        }
    }
}

#[tauri::command]
pub async fn overview(state: State<'_, AppState>) -> ApiResult<OverviewInfo> {
    let g = session(&state).await?;
    Ok(s(&g).overview().await?.into())
}
