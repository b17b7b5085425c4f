//! The audit trail: reading it (`audit`, filtered, names instead of user ids), verifying every
//! device's chain (`verify_audit`) and writing the filtered entries as CSV where the user chose
//! (`export_audit_csv`). With their transport types.

use crate::error::{ApiError, ApiResult};
use crate::files::chosen_file;
use crate::search::some_text as text;
use crate::session::{s, session};
use crate::state::AppState;
use callvault_core::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

#[derive(Clone, Debug, Default, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub recording: Option<String>,
    pub request: Option<String>,
    /// `YYYY-MM-DD` or a time.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only the searches made for this number, name or words.
    pub searched_for: Option<String>,
}

impl From<AuditQuery> for callvault_core::session::AuditFilter {
    fn from(q: AuditQuery) -> Self {
        let AuditQuery {
            user,
            recording,
            request,
            from,
            to,
            searched_for,
        } = q;
        callvault_core::session::AuditFilter {
            user: text(user),
            recording: text(recording),
            request: text(request),
            from: text(from),
            to: text(to),
            searched_for: text(searched_for),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct AuditRow {
    pub at: String,
    pub device: String,
    /// The user's name (or id if unknown), none for the system.
    pub actor: Option<String>,
    pub action: String,
    /// allowed or refused.
    pub outcome: String,
    pub targets: Vec<String>,
    pub detail: Option<String>,
    pub request: Option<String>,
}

impl AuditRow {
    pub fn new(e: AuditEntry, name_of: &dyn Fn(&str) -> Option<String>) -> Self {
        let AuditEntry {
            at,
            device,
            actor,
            action,
            outcome,
            targets,
            detail,
            request,
            witness: _,
        } = e;
        AuditRow {
            at,
            device,
            actor: actor.map(|a| name_of(&a).unwrap_or(a)),
            action,
            outcome,
            targets,
            detail,
            request,
        }
    }
}

/// The result of verifying the audit trail's chains.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AuditCheck {
    pub ok: bool,
    pub devices: u32,
    pub files: u32,
    pub entries: u32,
    pub problems: Vec<String>,
}

#[tauri::command]
pub async fn audit(state: State<'_, AppState>, filter: AuditQuery) -> ApiResult<Vec<AuditRow>> {
    let g = session(&state).await?;
    let s = s(&g);
    let mut rows: Vec<AuditRow> = s
        .audit_list(&filter.into())
        .await?
        .into_iter()
        .map(|e| AuditRow::new(e, &|u| s.user_name_of(u)))
        .collect();
    rows.sort_by(|a, b| b.at.cmp(&a.at));
    Ok(rows)
}

/// Verify every device's audit chain (signatures, hashes, witnesses).
#[tauri::command]
pub async fn verify_audit(state: State<'_, AppState>) -> ApiResult<AuditCheck> {
    let g = session(&state).await?;
    let r = s(&g).verify_audit().await?;
    Ok(AuditCheck {
        ok: r.problems.is_empty(),
        devices: r.devices as u32,
        files: r.files as u32,
        entries: r.entries as u32,
        problems: r
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.object, p.reason))
            .collect(),
    })
}

/// Write the filtered audit entries as CSV to the file the user chose (a new file).
#[tauri::command]
pub async fn export_audit_csv(
    state: State<'_, AppState>,
    filter: AuditQuery,
    file: String,
) -> ApiResult<u32> {
    let g = session(&state).await?;
    let s = s(&g);
    let path = chosen_file(&file, "csv", "the audit CSV")?;
    let entries = s.audit_list(&filter.into()).await?;
    let csv = callvault_core::session::audit_csv(&entries, &|u| s.user_name_of(u));
    std::fs::write(&path, csv)
        .map_err(|e| ApiError::io(format!("{}: cannot be written: {e}", path.display())))?;
    Ok(entries.len() as u32)
}
