//! Keeping and deleting: legal holds (`holds`, `add_hold`, `release_hold`), the retention sweep
//! (`retention_due`, a dry run, and `retention_run`), deleting recordings with a reason, carrying
//! out an erasure request, and saving the deletion certificates made in this session
//! (`save_certificate`). With their transport types.

use crate::error::{ApiError, ApiResult};
use crate::files::chosen_folder;
use crate::session::{s, s_mut, session};
use crate::state::AppState;
use callvault_core::retention::certificate::Certificate;
use callvault_core::retention::{Due, HoldView, Tombstone};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

#[derive(Clone, Debug, Serialize, TS)]
pub struct HoldInfo {
    pub hold: String,
    pub recordings: Vec<String>,
    pub reason: String,
    pub request: Option<String>,
    pub by: Option<String>,
    pub at: String,
    pub released: Option<String>,
}

impl From<HoldView> for HoldInfo {
    fn from(h: HoldView) -> Self {
        let HoldView {
            hold,
            recordings,
            reason,
            request,
            by,
            at,
            released,
        } = h;
        HoldInfo {
            hold,
            recordings,
            reason,
            request,
            by,
            at,
            released,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct DueInfo {
    pub recording: String,
    pub call_date: String,
    pub rule: String,
    pub held_by: Option<String>,
}

impl From<Due> for DueInfo {
    fn from(d: Due) -> Self {
        let Due {
            recording,
            call_date,
            rule,
            held_by,
        } = d;
        DueInfo {
            recording,
            call_date: call_date.to_string(),
            rule,
            held_by,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct Deleted {
    pub recording: String,
    pub call_date: String,
    pub deleted_at: String,
    pub reason: String,
    pub request: Option<String>,
    pub rule: Option<String>,
}

impl From<Tombstone> for Deleted {
    fn from(t: Tombstone) -> Self {
        let Tombstone {
            recording,
            call_date,
            deleted_at,
            by: _,
            reason,
            request,
            rule,
            dedup: _,
            run: _,
        } = t;
        Deleted {
            recording,
            call_date: call_date.to_string(),
            deleted_at,
            reason,
            request,
            rule,
        }
    }
}

/// A deletion certificate, as shown (the signed original is saved as JSON and HTML).
#[derive(Clone, Debug, Serialize, TS)]
pub struct CertificateInfo {
    pub certificate: String,
    pub archive: String,
    /// retention, deletion or erasure.
    pub kind: String,
    pub created_at: String,
    pub by_name: String,
    pub request: Option<String>,
    pub deleted: Vec<Deleted>,
    pub audit_files: u32,
    pub audit_sha256: String,
    /// Journal segments the run could not open (they may still hold a deleted call's details;
    /// the next retention run tries again).
    pub uncompacted: Vec<String>,
    pub signature: String,
}

impl From<Certificate> for CertificateInfo {
    fn from(c: Certificate) -> Self {
        let Certificate {
            certificate,
            archive,
            kind,
            created_at,
            by: _,
            by_name,
            request,
            tombstones,
            audit_files,
            audit_sha256,
            uncompacted,
            signature,
        } = c;
        CertificateInfo {
            certificate,
            archive,
            kind,
            created_at,
            by_name,
            request,
            deleted: tombstones.into_iter().map(Deleted::from).collect(),
            audit_files: audit_files.len() as u32,
            audit_sha256,
            uncompacted,
            signature,
        }
    }
}

/// Keep a certificate made now until the user saves it; what the web view is shown of it.
fn keep_certificate(state: &State<'_, AppState>, c: Certificate) -> CertificateInfo {
    let info = CertificateInfo::from(c.clone());
    state.keep_certificate(c);
    info
}

#[tauri::command]
pub async fn holds(state: State<'_, AppState>) -> ApiResult<Vec<HoldInfo>> {
    let g = session(&state).await?;
    Ok(s(&g).holds().await?.into_iter().map(Into::into).collect())
}

/// Place a legal hold on recordings (or, naming none, on the calls a request's details find).
#[tauri::command]
pub async fn add_hold(
    state: State<'_, AppState>,
    recordings: Vec<String>,
    reason: String,
    request: Option<String>,
) -> ApiResult<String> {
    let mut g = session(&state).await?;
    let request = request
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    Ok(s_mut(&mut g)
        .add_hold(&recordings, &reason, request.as_deref())
        .await?)
}

#[tauri::command]
pub async fn release_hold(
    state: State<'_, AppState>,
    hold: String,
    reason: String,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).release_hold(&hold, &reason).await?)
}

/// What the retention sweep would delete now (a dry run).
#[tauri::command]
pub async fn retention_due(state: State<'_, AppState>) -> ApiResult<Vec<DueInfo>> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .retention_due()
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Run the retention sweep; its certificate, if anything was deleted.
#[tauri::command]
pub async fn retention_run(state: State<'_, AppState>) -> ApiResult<Option<CertificateInfo>> {
    let mut g = session(&state).await?;
    let c = s_mut(&mut g).retention_run().await?;
    Ok(c.map(|c| keep_certificate(&state, c)))
}

/// Delete recordings with a reason (supervisor or data controller); the deletion certificate.
#[tauri::command]
pub async fn delete_recordings(
    state: State<'_, AppState>,
    recordings: Vec<String>,
    reason: String,
) -> ApiResult<CertificateInfo> {
    let mut g = session(&state).await?;
    let c = s_mut(&mut g).delete(&recordings, &reason).await?;
    Ok(keep_certificate(&state, c))
}

/// Carry out an approved erasure request (data controller); the erasure certificate.
#[tauri::command]
pub async fn erase_request(state: State<'_, AppState>, id: String) -> ApiResult<CertificateInfo> {
    let mut g = session(&state).await?;
    let c = s_mut(&mut g).erase(&id).await?;
    Ok(keep_certificate(&state, c))
}

/// Save a certificate made in this session (JSON, signed, and a printable HTML page) in the
/// folder the user chose; the two paths written.
#[tauri::command]
pub async fn save_certificate(
    state: State<'_, AppState>,
    certificate: String,
    folder: String,
) -> ApiResult<Vec<String>> {
    let g = session(&state).await?;
    let folder = chosen_folder(&folder)?;
    let c = state.certificate(&certificate).ok_or_else(|| {
        ApiError::not_found(format!(
            "certificate {certificate}: not made in this session"
        ))
    })?;
    let practice = s(&g).practice_line().await;
    let (json, html) = c.write(&folder, &practice)?;
    Ok(vec![json.display().to_string(), html.display().to_string()])
}
