//! Staff breach self-reports: `breaches` (the reports this user may see), `report_breach`
//! (anyone), `assess_breach` and `close_breach` (the data controller). Who may do what, and who
//! sees which report, is the core's decision.

use crate::error::ApiResult;
use crate::session::{s, s_mut, session};
use crate::state::AppState;
use callvault_core::session::BreachView;
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

/// A breach report as the screens show it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct BreachInfo {
    pub id: String,
    pub reporter: String,
    pub own: bool,
    pub what: String,
    pub happened_at: Option<String>,
    pub calls: Vec<String>,
    pub reported_at: String,
    /// When the data controller's ICO decision is due (72 hours after the report).
    pub due: Option<String>,
    pub overdue: bool,
    /// "received", "assessed" or "closed".
    pub state: String,
    pub reportable: Option<bool>,
    pub assessment: Option<String>,
    pub assessed_by: Option<String>,
    pub assessed_at: Option<String>,
    pub closed_at: Option<String>,
    pub note: Option<String>,
}

impl From<BreachView> for BreachInfo {
    fn from(b: BreachView) -> Self {
        let BreachView {
            id,
            reporter,
            own,
            what,
            happened_at,
            calls,
            reported_at,
            due,
            overdue,
            state,
            reportable,
            assessment,
            assessed_by,
            assessed_at,
            closed_at,
            note,
        } = b;
        BreachInfo {
            id,
            reporter,
            own,
            what,
            happened_at,
            calls,
            reported_at,
            due,
            overdue,
            state: state.as_str().to_string(),
            reportable,
            assessment,
            assessed_by,
            assessed_at,
            closed_at,
            note,
        }
    }
}

#[tauri::command]
pub async fn breaches(state: State<'_, AppState>) -> ApiResult<Vec<BreachInfo>> {
    let g = session(&state).await?;
    Ok(s(&g)
        .breaches()
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Report a breach: what happened, when if known, which calls (ids) if known. Returns its id.
#[tauri::command]
pub async fn report_breach(
    state: State<'_, AppState>,
    what: String,
    when: Option<String>,
    calls: Vec<String>,
) -> ApiResult<String> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .report_breach(&what, when.as_deref(), &calls)
        .await?)
}

#[tauri::command]
pub async fn assess_breach(
    state: State<'_, AppState>,
    id: String,
    reportable: bool,
    reason: String,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .assess_breach(&id, reportable, &reason)
        .await?)
}

#[tauri::command]
pub async fn close_breach(state: State<'_, AppState>, id: String, note: String) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).close_breach(&id, &note).await?)
}
