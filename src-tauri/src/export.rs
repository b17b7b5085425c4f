//! Exporting an approved request where the user chose (`export_request`): a SAR package with its
//! cover letter, a portability export, or a release copy (police, disciplinary, ...), with
//! redactions for the data controller. Progress arrives as `progress` events (task "export"). With
//! its transport types.

use crate::error::ApiResult;
use crate::events::progress;
use crate::files::chosen_folder;
use crate::session::{s, session};
use crate::state::AppState;
use callvault_core::export::{ExportReport, Redaction};
use callvault_core::session::SarOptions;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;

/// A redaction of a range of one recording (data controller), in seconds.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct RedactionIn {
    pub recording: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// How to export an approved request.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct ExportIn {
    pub request: String,
    /// The folder chosen; the package is made inside it (a new folder, or a new .zip).
    pub folder: String,
    pub zip: bool,
    pub redactions: Vec<RedactionIn>,
    /// Fill redacted ranges with a tone instead of silence.
    pub tone: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ExportInfo {
    pub request: String,
    pub destination: String,
    pub files: Vec<String>,
    /// The encrypted ZIP's passphrase: shown once, kept nowhere.
    pub passphrase: Option<String>,
    pub zip_sha256: Option<String>,
    pub redactions: u32,
}

impl From<ExportReport> for ExportInfo {
    fn from(r: ExportReport) -> Self {
        let ExportReport {
            request,
            destination,
            files,
            passphrase,
            zip_sha256,
            redactions,
        } = r;
        ExportInfo {
            request,
            destination,
            files: files.into_iter().map(|f| f.name).collect(),
            passphrase,
            zip_sha256,
            redactions: redactions.len() as u32,
        }
    }
}

/// Export an approved request where the user chose: a SAR package (with its cover letter), a
/// portability export, or a release copy (police, disciplinary, ...). Progress arrives as
/// `progress` events (task "export"). A ZIP's passphrase is returned once and kept nowhere.
#[tauri::command]
pub async fn export_request<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    export: ExportIn,
) -> ApiResult<ExportInfo> {
    let g = session(&state).await?;
    let folder = chosen_folder(&export.folder)?;
    let opts = SarOptions {
        zip: export.zip,
        redactions: export
            .redactions
            .iter()
            .map(|r| Redaction {
                recording: r.recording.clone(),
                start_s: r.start_s,
                end_s: r.end_s,
            })
            .collect(),
        tone: export.tone,
    };
    let mut report =
        |done: usize, total: usize| progress(&app, "export", done as u64, total as u64);
    Ok(s(&g)
        .export(&export.request, &folder, &opts, &mut report)
        .await?
        .into())
}
