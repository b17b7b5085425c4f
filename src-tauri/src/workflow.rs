//! The workflow commands: requests and approvals, the data controller's cases and exports, consent
//! marks, retention and holds, deletion certificates, the audit trail, users and roles, import and
//! the overview. Each is one core call (or a few, composed) through the logged-on `Session`; every
//! rule — who may raise, decide, export, delete, read the audit or manage users — is the core's,
//! and every decision is audited there. Files are written only where the user chose (a folder or
//! file picked in the system dialog), and only what they asked for.

use crate::dto::{ApiError, ApiResult, ProgressUpdate, Recording};
use crate::dto_workflow::{
    ApprovalIn, AuditCheck, AuditQuery, AuditRow, CertificateInfo, ConsentIn, DueInfo, ExportIn,
    ExportInfo, HoldInfo, ImportSummary, NewRequest, NewUser, OverviewInfo, RequestInfo,
    SettingInfo, UserRow,
};
use crate::state::AppState;
use callvault_core::export::Redaction;
use callvault_core::requests::{self, ConsentKind, Right, State as RequestState};
use callvault_core::secret::Password;
use callvault_core::session::ingest::{ImportOptions, ImportProgress, Layout};
use callvault_core::session::SarOptions;
use callvault_core::{Role, Session};
use std::path::{Path, PathBuf};
use tauri::{AppHandle, Emitter, Runtime, State};
use tokio::sync::MutexGuard;

pub(crate) type Guard<'a> = MutexGuard<'a, Option<Session>>;

/// The logged-on session, caught up with what other computers wrote (at most every
/// [`crate::state::REFRESH_EVERY`]): a request approved on the GP partner's Mac shows on the
/// manager's PC when she next looks. An account disabled elsewhere ends the session here.
pub(crate) async fn session<'a>(state: &'a State<'_, AppState>) -> ApiResult<Guard<'a>> {
    state.touch();
    let mut g = state.session.lock().await;
    let Some(s) = g.as_mut() else {
        return Err(crate::commands::not_logged_on());
    };
    if state.refresh_due() {
        if let Err(e) = s.refresh().await {
            if matches!(e, callvault_core::Error::Forbidden(_)) {
                if let Some(s) = g.take() {
                    s.close().await;
                }
                state.forget_session_extras();
                // The web view goes back to the logon screen on `logged_off`.
                return Err(ApiError::new(
                    "logged_off",
                    format!("{e}: you have been logged off"),
                ));
            }
            return Err(e.into());
        }
    }
    Ok(g)
}

pub(crate) fn s<'g>(g: &'g Guard<'_>) -> &'g Session {
    g.as_ref().expect("checked by session()")
}

fn s_mut<'g>(g: &'g mut Guard<'_>) -> &'g mut Session {
    g.as_mut().expect("checked by session()")
}

/// Tell the web view how far a long task has got (`progress` events).
pub(crate) fn progress<R: Runtime>(app: &AppHandle<R>, task: &str, done: u64, total: u64) {
    let _ = app.emit(
        "progress",
        ProgressUpdate {
            task: task.into(),
            done: u32::try_from(done).unwrap_or(u32::MAX),
            total: u32::try_from(total).unwrap_or(u32::MAX),
        },
    );
}

/// A file the user named in the system's save dialog, for a file of kind `ext` (csv, json): a
/// name without an extension gets it; another extension is refused, so that the web view can
/// only ever write files of the kind asked for.
fn chosen_file(file: &str, ext: &str, what: &str) -> ApiResult<PathBuf> {
    let mut p = PathBuf::from(file.trim());
    if !p.is_absolute() || p.is_dir() || p.file_name().is_none() {
        return Err(ApiError::new(
            "invalid",
            format!("choose a file name for {what}"),
        ));
    }
    match p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    {
        None => {
            p.set_extension(ext);
        }
        Some(e) if e == ext => {}
        Some(e) => {
            return Err(ApiError::new(
                "invalid",
                format!("{}: {what} is a .{ext} file, not .{e}", p.display()),
            ))
        }
    }
    Ok(p)
}

/// A folder the user chose in the system dialog: it must exist and be a folder.
fn chosen_folder(folder: &str) -> ApiResult<PathBuf> {
    let p = PathBuf::from(folder.trim());
    if !p.is_absolute() {
        return Err(ApiError::new("invalid", "choose a folder"));
    }
    if !p.is_dir() {
        return Err(ApiError::new(
            "invalid",
            format!(
                "folder {}: not found (choose an existing folder)",
                p.display()
            ),
        ));
    }
    Ok(p)
}

// ---- overview ----

#[tauri::command]
pub async fn overview(state: State<'_, AppState>) -> ApiResult<OverviewInfo> {
    let g = session(&state).await?;
    Ok(s(&g).overview().await?.into())
}

// ---- requests ----

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
        return Err(ApiError::new(
            "invalid",
            "the approval's expiry: 1 to 365 days",
        ));
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

/// A scanned agreement larger than this is not a letter.
const MAX_SCAN_BYTES: u64 = 50 << 20;

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
    let mut text = text.trim().to_string();
    let scan = scan.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    // The file is read only for someone the core's policy lets agree (anyone else is refused, and
    // audited, by `agree` below without it being touched), and only a regular file of sane size.
    let may = callvault_core::policy::decide(
        s(&g).roles(),
        callvault_core::policy::Action::AgreeDisciplinary,
    )
    .is_ok();
    if let Some(scan) = scan.filter(|_| may) {
        let p = Path::new(&scan);
        let meta = std::fs::metadata(p).map_err(|e| {
            ApiError::new("io", format!("scan {}: cannot be read: {e}", p.display()))
        })?;
        if !p.is_absolute() || !meta.is_file() || meta.len() > MAX_SCAN_BYTES {
            return Err(ApiError::new(
                "invalid",
                format!(
                    "scan {}: choose the scanned letter itself (a file of at most {} MB)",
                    p.display(),
                    MAX_SCAN_BYTES >> 20
                ),
            ));
        }
        let bytes = std::fs::read(p).map_err(|e| {
            ApiError::new("io", format!("scan {}: cannot be read: {e}", p.display()))
        })?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sha: String = callvault_core::crypto::sha256(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("Signed agreement scanned: {name} (SHA-256 {sha})"));
    }
    Ok(s_mut(&mut g).agree(&id, &text).await?)
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

#[tauri::command]
pub async fn mark_consent(state: State<'_, AppState>, mark: ConsentIn) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let kind = match mark.kind.as_str() {
        "caller_objected" => ConsentKind::CallerObjected,
        "not_recorded" => ConsentKind::NotRecorded,
        other => {
            return Err(ApiError::new(
                "invalid",
                format!("consent mark '{other}': use caller_objected or not_recorded"),
            ))
        }
    };
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

// ---- exports ----

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
    let session = s(&g);
    let st = session.request(&export.request).await?;
    let opts = SarOptions {
        zip: export.zip && st.purpose.as_str() != "portability",
        redactions: export
            .redactions
            .iter()
            .map(|r| Redaction {
                recording: r.recording.trim().to_ascii_lowercase(),
                start_s: r.start_s,
                end_s: r.end_s,
            })
            .collect(),
        tone: export.tone,
    };
    for r in &opts.redactions {
        if !(r.start_s.is_finite()
            && r.end_s.is_finite()
            && 0.0 <= r.start_s
            && r.start_s < r.end_s)
        {
            return Err(ApiError::new(
                "invalid",
                format!(
                    "redaction of recording {}: the range must start before it ends",
                    r.recording
                ),
            ));
        }
    }
    // A new name each time (the request and when), so a second export never meets the first.
    let stem = format!(
        "{}-{}-{}",
        match st.purpose.as_str() {
            "sar" => "subject-access",
            p => p,
        },
        &st.id[..8],
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    );
    // A portability export is always a folder (machine-readable files for the person to take
    // elsewhere); the others may be one encrypted ZIP.
    let zip = export.zip && st.purpose.as_str() != "portability";
    let out = folder.join(if zip { format!("{stem}.zip") } else { stem });
    let mut report =
        |done: usize, total: usize| progress(&app, "export", done as u64, total as u64);
    let rep = match st.purpose.as_str() {
        "sar" => session.export_sar(&st.id, &out, &opts, &mut report).await?,
        "portability" => {
            session
                .export_portability(&st.id, &out, &mut report)
                .await?
        }
        _ => {
            session
                .export_release(&st.id, &out, &opts, &mut report)
                .await?
        }
    };
    Ok(rep.into())
}

// ---- retention, holds, deletion, erasure ----

fn keep_certificate(
    state: &State<'_, AppState>,
    c: callvault_core::retention::certificate::Certificate,
) -> CertificateInfo {
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
    let g = session(&state).await?;
    Ok(s(&g)
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
        ApiError::new(
            "not_found",
            format!("certificate {certificate}: not made in this session"),
        )
    })?;
    let practice = s(&g).practice_line().await;
    let (json, html) = c.write(&folder, &practice)?;
    Ok(vec![json.display().to_string(), html.display().to_string()])
}

#[tauri::command]
pub async fn settings(state: State<'_, AppState>) -> ApiResult<Vec<SettingInfo>> {
    let g = session(&state).await?;
    Ok(s(&g)
        .settings()
        .await?
        .into_iter()
        .map(|(key, value, meaning)| SettingInfo {
            key,
            value,
            meaning,
        })
        .collect())
}

#[tauri::command]
pub async fn set_setting(state: State<'_, AppState>, key: String, value: String) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).set_setting(&key, &value).await?)
}

// ---- audit ----

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
        .map_err(|e| ApiError::new("io", format!("{}: cannot be written: {e}", path.display())))?;
    Ok(entries.len() as u32)
}

// ---- users ----

#[tauri::command]
pub async fn users(state: State<'_, AppState>) -> ApiResult<Vec<UserRow>> {
    let g = session(&state).await?;
    Ok(s(&g)
        .list_users()
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

fn roles(names: &[String]) -> ApiResult<Vec<Role>> {
    Ok(Role::parse_list(&names.join(","))?)
}

#[tauri::command]
pub async fn add_user(state: State<'_, AppState>, user: NewUser) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let r = roles(&user.roles)?;
    if r.is_empty() {
        return Err(ApiError::new("invalid", "roles: choose at least one"));
    }
    let ids: Vec<String> = user
        .telephony_ids
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    Ok(s_mut(&mut g)
        .add_user(user.name.trim(), &r, &ids, &Password::new(user.password))
        .await?)
}

#[tauri::command]
pub async fn set_roles(
    state: State<'_, AppState>,
    name: String,
    roles: Vec<String>,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let r = self::roles(&roles)?;
    if r.is_empty() {
        return Err(ApiError::new(
            "invalid",
            "roles: choose at least one (to stop someone logging on, disable the account)",
        ));
    }
    Ok(s_mut(&mut g).set_roles(&name, &r).await?)
}

#[tauri::command]
pub async fn update_user(
    state: State<'_, AppState>,
    name: String,
    telephony_ids: Option<Vec<String>>,
    disabled: Option<bool>,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .update_user(&name, telephony_ids.as_deref(), disabled)
        .await?)
}

#[tauri::command]
pub async fn reset_password(
    state: State<'_, AppState>,
    name: String,
    password: String,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .reset_password(&name, &Password::new(password))
        .await?)
}

/// Assign an unassigned call to a user (supervisor).
#[tauri::command]
pub async fn assign_recording(
    state: State<'_, AppState>,
    id: String,
    user: String,
) -> ApiResult<()> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).assign(&id, &user).await?)
}

// ---- import ----

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
    let layout: Layout = match layout.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => l.parse().map_err(|e: String| ApiError::new("invalid", e))?,
        None => Layout::Auto,
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

// ---- setting up and looking after the archive ----

/// Create a new archive in an empty folder the user chose, with its first user (roles admin and
/// data controller) and the practice's name; this computer then uses it. The password's key
/// derivation is calibrated on this computer (about half a second).
#[tauri::command]
pub async fn create_archive(
    state: State<'_, AppState>,
    folder: String,
    admin: String,
    password: String,
    practice_name: String,
) -> ApiResult<String> {
    let root = PathBuf::from(folder.trim());
    if root.as_os_str().is_empty() {
        return Err(ApiError::new(
            "invalid",
            "choose a folder for the new archive",
        ));
    }
    let practice_name = practice_name.trim().to_string();
    if practice_name.is_empty() {
        return Err(ApiError::new(
            "invalid",
            "the practice's name: type it as letters will show it",
        ));
    }
    if std::fs::read_dir(&root).is_ok_and(|mut d| d.next().is_some()) {
        return Err(ApiError::new(
            "invalid",
            format!(
                "folder {}: not empty (choose or make an empty folder for the archive)",
                root.display()
            ),
        ));
    }
    let password = Password::new(password);
    let data = callvault_core::device::data_root()?;
    state.end_session().await;
    callvault_core::session::init_in(
        &root,
        &data,
        admin.trim(),
        &password,
        callvault_core::session::KdfChoice::Calibrated,
    )
    .await?;
    let mut s = Session::logon_in(&root, &data, admin.trim(), &password).await?;
    let set = s.set_setting("practice-name", &practice_name).await;
    s.close().await;
    set?;
    state.set_archive(root.clone())?;
    Ok(root.display().to_string())
}

/// Read and authenticate every object of the archive (signatures, hashes; recordings decrypted
/// where this user holds the key).
#[tauri::command]
pub async fn verify_archive(
    state: State<'_, AppState>,
) -> ApiResult<crate::dto_workflow::ArchiveCheck> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).verify().await?.into())
}

/// Drop this computer's index of the archive and rebuild it from the archive alone (e.g. after
/// restoring the archive from a backup). Returns how many recordings it holds.
#[tauri::command]
pub async fn rebuild_index(state: State<'_, AppState>) -> ApiResult<u32> {
    let mut g = session(&state).await?;
    let s = g.take().expect("checked by session()");
    match s.rebuild_index().await {
        Ok((s, _sync, n)) => {
            *g = Some(s);
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        }
        // The session was spent on a failed rebuild: log on again.
        Err(e) => {
            state.forget_session_extras();
            Err(ApiError::new(
                "logged_off",
                format!(
                    "{e}; the index could not be rebuilt and you have been logged off: log on again"
                ),
            ))
        }
    }
}

/// Create an identity for an unattended ingest machine (admin) and write its profile to the file
/// the user chose (docs/INGEST.md): it holds no key that decrypts anything.
#[tauri::command]
pub async fn export_ingest_profile(
    state: State<'_, AppState>,
    name: String,
    file: String,
) -> ApiResult<String> {
    let mut g = session(&state).await?;
    let path = chosen_file(&file, "json", "the ingest profile")?;
    callvault_core::ingest::unattended::export_profile(s_mut(&mut g), name.trim(), &path)?;
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::chosen_file;

    #[test]
    fn a_chosen_file_is_only_ever_of_the_kind_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit-2026");
        let got = chosen_file(&p.display().to_string(), "csv", "the audit CSV").unwrap();
        assert_eq!(got, dir.path().join("audit-2026.csv"));
        let ok = dir.path().join("x.CSV");
        assert_eq!(
            chosen_file(&ok.display().to_string(), "csv", "the audit CSV").unwrap(),
            ok
        );
        let bad = chosen_file(
            &dir.path().join(".bashrc.sh").display().to_string(),
            "csv",
            "the audit CSV",
        )
        .unwrap_err();
        assert!(bad.message.contains("not .sh"), "{}", bad.message);
        assert!(chosen_file("  ", "json", "the ingest profile").is_err());
        assert!(chosen_file("relative.csv", "csv", "the audit CSV").is_err());
        assert!(chosen_file(&dir.path().display().to_string(), "json", "x").is_err());
    }
}
