//! Access requests and the data controller's cases: listing them (`requests`, `request`), the
//! calls a request being typed would find (`request_candidates`), raising, approving, rejecting,
//! the data controller's written agreement to a disciplinary release (`agree_request`), extending
//! a SAR's deadline, completing, and consent marks (`mark_consent`). Every rule — who may raise,
//! decide or agree — is the core's, and every decision is audited there. Transport types in
//! [`dto`].

pub mod dto;

pub use dto::{ApprovalIn, ConsentIn, NewRequest, PatientLinkIn, RequestInfo};

use crate::error::{ApiError, ApiResult};
use crate::search::Recording;
use crate::session::{s, s_mut, session};
use crate::state::AppState;
use callvault_core::requests::{self, ConsentKind, Right, State as RequestState};
use std::path::Path;
use tauri::State;

/// Requests this user may see (all, or in one state), newest first.
#[tauri::command]
pub async fn requests(
    state: State<'_, AppState>,
    filter: Option<String>,
) -> ApiResult<Vec<RequestInfo>> {
    let g = session(&state).await?;
    let st = match filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(RequestState::parse(f)?),
        None => None,
    };
    let mut v = s(&g).requests(st).await?;
    v.sort_by(|a, b| b.raised_at.cmp(&a.raised_at));
    Ok(v.into_iter().map(RequestInfo::from).collect())
}

/// One request with the candidate calls its details find (among those this user may see).
#[tauri::command]
pub async fn request(state: State<'_, AppState>, id: String) -> ApiResult<RequestInfo> {
    let g = session(&state).await?;
    Ok(s(&g).request(&id).await?.into())
}

/// The approved requests under which this user may listen to a call now (the core decides which
/// apply), newest first: the call page offers them instead of a request id.
#[tauri::command]
pub async fn approvals_for(state: State<'_, AppState>, id: String) -> ApiResult<Vec<RequestInfo>> {
    let g = session(&state).await?;
    Ok(s(&g)
        .approvals_for(&id, callvault_core::requests::Right::Listen)
        .await?
        .into_iter()
        .map(RequestInfo::from)
        .collect())
}

/// The calls a request being typed would find (nothing is written).
#[tauri::command]
pub async fn request_candidates(
    state: State<'_, AppState>,
    details: NewRequest,
) -> ApiResult<Vec<Recording>> {
    let g = session(&state).await?;
    let d = details.details(true)?;
    Ok(s(&g)
        .draft_candidates(d)
        .await?
        .into_iter()
        .map(Recording::from)
        .collect())
}

#[tauri::command]
pub async fn raise_request(state: State<'_, AppState>, details: NewRequest) -> ApiResult<String> {
    let mut g = session(&state).await?;
    let d = details.details(false)?;
    Ok(s_mut(&mut g).raise_request(d).await?)
}

#[tauri::command]
pub async fn approve_request(
    state: State<'_, AppState>,
    id: String,
    approval: ApprovalIn,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    if !(1..=365).contains(&approval.expires_days) {
        return Err(ApiError::invalid("the approval's expiry: 1 to 365 days"));
    }
    let allow = Right::parse_list(&approval.allow.join(","))?;
    let expires = chrono::Utc::now() + chrono::Duration::days(i64::from(approval.expires_days));
    Ok(s_mut(&mut g)
        .approve(&id, &approval.recordings, expires, &allow)
        .await?)
}

#[tauri::command]
pub async fn reject_request(
    state: State<'_, AppState>,
    id: String,
    reason: String,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).reject(&id, &reason).await?)
}

/// The data controller's written agreement to a disciplinary release. A scanned letter may be
/// named: its file name and SHA-256 are recorded with the text (the scan itself stays where the
/// practice files it), so the agreement can later be matched to the paper.
#[tauri::command]
pub async fn agree_request(
    state: State<'_, AppState>,
    id: String,
    text: String,
    scan: Option<String>,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let scan = scan.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(s_mut(&mut g)
        .agree(&id, &text, scan.as_deref().map(Path::new))
        .await?)
}

/// Extend a SAR's deadline (data controller); returns the new due date.
#[tauri::command]
pub async fn extend_request(
    state: State<'_, AppState>,
    id: String,
    days: u32,
    reason: String,
) -> ApiResult<String> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).extend(&id, days, &reason).await?.to_string())
}

/// Mark a request done (e.g. a SAR package sent to the requester).
#[tauri::command]
pub async fn complete_request(
    state: State<'_, AppState>,
    id: String,
    note: Option<String>,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    Ok(s_mut(&mut g).complete(&id, note.as_deref()).await?)
}

/// Link a call to a patient's NHS number, or take the link back: the core decides who may.
#[tauri::command]
pub async fn link_patient(state: State<'_, AppState>, link: PatientLinkIn) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .link_patient(&link.recording, &link.nhs_number, link.unlink)
        .await?)
}

#[tauri::command]
pub async fn mark_consent(state: State<'_, AppState>, mark: ConsentIn) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let kind = ConsentKind::parse(&mark.kind)?;
    let stopped = match mark
        .stopped_at
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => Some(requests::parse_mmss(t)?),
        None => None,
    };
    let note = mark
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    Ok(s_mut(&mut g)
        .mark_consent(&mark.recording, kind, stopped, note)
        .await?)
}
