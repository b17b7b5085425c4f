//! Importing a folder as a phone system lays it out (`import_folder`): with `dry_run`, how each
//! file is understood and nothing written; otherwise the import itself, with `progress` events
//! (task "import", in files). With its transport types.

use crate::error::{ApiError, ApiResult};
use crate::events::progress;
use crate::files::chosen_folder;
use crate::session::{s_mut, session};
use crate::state::AppState;
use crate::vocab::{Direction, Layout};
use callvault_core::ingest::layout::Understood;
use callvault_core::session::ingest::{
    ImportOptions, ImportProgress, Layout as CoreLayout, LayoutImportReport,
};
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;

/// How one file of an import folder was understood (dry run), or what happened to it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportFile {
    pub file: String,
    #[ts(type = "Layout")]
    pub layout: Layout,
    pub started_at: String,
    pub local_time: Option<String>,
    pub direction: Direction,
    pub direction_assumed: bool,
    pub external_number: Option<String>,
    pub extension: Option<String>,
    pub staff: Option<String>,
    pub mapped_user: Option<String>,
    pub parties: Vec<String>,
    pub audio: Option<String>,
    pub size: u64,
    pub remarks: Vec<String>,
    pub outcome: Option<String>,
}

impl From<Understood> for ImportFile {
    fn from(u: Understood) -> Self {
        let Understood {
            file,
            layout,
            local_time,
            tz: _,
            started_at,
            dst: _,
            direction,
            direction_assumed,
            from: _,
            to: _,
            external_number,
            extension,
            staff,
            parties,
            notes: _,
            nhs_numbers: _,
            conversation: _,
            format_hint: _,
            metadata: _,
            remarks,
            size,
            mapped_user,
            party_users: _,
            audio,
            outcome,
        } = u;
        ImportFile {
            file,
            layout: layout.into(),
            started_at,
            local_time,
            direction: direction.into(),
            direction_assumed,
            external_number,
            extension,
            staff,
            mapped_user,
            parties,
            audio,
            size,
            remarks,
            outcome,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct FileNote {
    pub file: String,
    pub note: String,
}

/// What an import did (or, dry run, would do).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportSummary {
    #[ts(type = "Layout")]
    pub layout: Layout,
    pub tz: String,
    pub dry_run: bool,
    pub imported: Vec<FileNote>,
    pub duplicates: Vec<FileNote>,
    pub rejected: Vec<FileNote>,
    pub unassigned: u32,
    /// Calls not kept: their number or extension is on the do-not-record list (a count only).
    pub not_kept: u32,
    /// Versions of the do-not-record list not believed (their calls were kept).
    pub warnings: Vec<String>,
    pub understood: Vec<ImportFile>,
}

impl From<LayoutImportReport> for ImportSummary {
    fn from(r: LayoutImportReport) -> Self {
        let LayoutImportReport {
            layout,
            tz,
            dry_run,
            report,
            unassigned,
            unassigned_files: _,
            understood,
        } = r;
        ImportSummary {
            layout: layout.into(),
            tz,
            dry_run,
            imported: report
                .imported
                .into_iter()
                .map(|i| FileNote {
                    file: i.file,
                    note: i.id,
                })
                .collect(),
            duplicates: report
                .duplicates
                .into_iter()
                .map(|d| FileNote {
                    file: d.file,
                    note: format!("already stored as {}", d.existing_id),
                })
                .collect(),
            rejected: report
                .rejected
                .into_iter()
                .map(|d| FileNote {
                    file: d.file,
                    note: d.reason,
                })
                .collect(),
            unassigned: unassigned as u32,
            not_kept: report.not_kept as u32,
            warnings: report.warnings,
            understood: understood.into_iter().map(ImportFile::from).collect(),
        }
    }
}

/// Import a folder as a phone system lays it out (`layout`: auto, freepbx, 3cx, oreka, sidecar,
/// csv). With `dry_run`, say how each file is understood and write nothing. Progress arrives as
/// `progress` events (task "import", in files).
#[tauri::command]
pub async fn import_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    folder: String,
    layout: Option<String>,
    dry_run: bool,
    allow_erased: Option<bool>,
) -> ApiResult<ImportSummary> {
    let mut g = session(&state).await?;
    let dir = chosen_folder(&folder)?;
    if allow_erased == Some(true) {
        // The data controller only: the core refuses (and audits) anyone else.
        s_mut(&mut g).allow_erased_reimport()?;
    } else {
        // Only the import it was asked for: the next one refuses deleted audio again.
        s_mut(&mut g).refuse_erased_reimport();
    }
    let layout: CoreLayout = match layout.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => l.parse().map_err(ApiError::invalid)?,
        None => CoreLayout::Auto,
    };
    let app2 = app.clone();
    let opts = ImportOptions {
        layout,
        dry_run,
        progress: Some(Box::new(move |p: ImportProgress| {
            progress(&app2, "import", p.files as u64, p.files_total as u64)
        })),
        ..Default::default()
    };
    let rep = s_mut(&mut g).import_layout(&dir, opts).await?;
    Ok(rep.into())
}
