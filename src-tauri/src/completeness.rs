//! Every call accounted for: `check_completeness` sets the archive against a call log the user
//! chose (the core decides who may, opens what, and audits); `completeness_recent` runs the same
//! check over the last 7 days with the log last checked on this computer, for the Overview card.
//! With their transport types.

use crate::error::{ApiError, ApiResult};
use crate::session::{s, s_mut, session};
use crate::state::AppState;
use callvault_core::completeness::Finding;
use callvault_core::session::{CompletenessQuery, CompletenessReport};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::State;
use ts_rs::TS;

/// The call log this user last checked on this computer (in their encrypted local index).
const LAST_LOG: &str = "app.completeness-log";

/// A check as the user asks for it.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct CompletenessIn {
    /// The call log file (CSV) chosen in the system dialog.
    pub cdr: String,
    /// freepbx, 3cx or csv; null: the one its header fits.
    pub layout: Option<String>,
    /// YYYY-MM-DD or YYYY-MM-DDTHH:MM; null: the log's own range.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Hear the stored waveforms for silence (with the call key).
    pub sound: bool,
}

/// One finding, with the call log's row beside it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct FindingRow {
    /// missing, short, one-sided, silent or no-cdr.
    pub kind: String,
    pub recording: Option<String>,
    pub at: String,
    pub detail: String,
    /// The call in the log: its id (FreePBX's uniqueid), line, numbers and talk time.
    pub call_id: Option<String>,
    pub call_line: Option<u32>,
    pub call_from: Option<String>,
    pub call_to: Option<String>,
    pub call_talk_s: Option<u32>,
    pub call_answered: Option<bool>,
}

impl From<Finding> for FindingRow {
    fn from(f: Finding) -> Self {
        let c = f.cdr;
        FindingRow {
            kind: f.kind.as_str().into(),
            recording: f.recording,
            at: f.at,
            detail: f.detail,
            call_id: c.as_ref().map(|c| c.id.clone()),
            call_line: c
                .as_ref()
                .map(|c| u32::try_from(c.line).unwrap_or(u32::MAX)),
            call_from: c.as_ref().and_then(|c| c.from.clone()),
            call_to: c.as_ref().and_then(|c| c.to.clone()),
            call_talk_s: c
                .as_ref()
                .map(|c| u32::try_from(c.talk_s).unwrap_or(u32::MAX)),
            call_answered: c.as_ref().map(|c| c.answered),
        }
    }
}

/// What a check found.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CompletenessInfo {
    /// The call log's file name.
    pub cdr: String,
    pub layout: String,
    pub from: String,
    pub to: String,
    /// The first and last call of the whole log.
    pub log_first: String,
    pub log_last: String,
    /// What the log does not cover of the range asked for, in words.
    pub coverage_note: Option<String>,
    pub log_rows: u32,
    pub log_calls: u32,
    pub answered: u32,
    pub recordings: u32,
    pub matched: u32,
    pub missing: u32,
    pub short: u32,
    pub one_sided: u32,
    pub silent: u32,
    pub no_cdr: u32,
    pub findings: Vec<FindingRow>,
    pub sound_checked: u32,
    pub sound_unchecked: u32,
    pub sound_note: Option<String>,
    /// Waveforms that failed their checks, each naming its recording.
    pub sound_problems: Vec<String>,
}

fn n(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl From<CompletenessReport> for CompletenessInfo {
    fn from(r: CompletenessReport) -> Self {
        let count = |k: &str| n(r.counts.get(k).copied().unwrap_or(0));
        CompletenessInfo {
            missing: count("missing"),
            short: count("short"),
            one_sided: count("one-sided"),
            silent: count("silent"),
            no_cdr: count("no-cdr"),
            cdr: r.cdr,
            layout: r.layout.as_str().into(),
            from: r.from,
            to: r.to,
            log_first: r.log_first,
            log_last: r.log_last,
            coverage_note: r.coverage_note,
            log_rows: n(r.log_rows),
            log_calls: n(r.log_calls),
            answered: n(r.answered),
            recordings: n(r.recordings),
            matched: n(r.matched),
            findings: r.findings.into_iter().map(Into::into).collect(),
            sound_checked: n(r.sound_checked),
            sound_unchecked: n(r.sound_unchecked),
            sound_note: r.sound_note,
            sound_problems: r.sound_problems,
        }
    }
}

/// A call log the user chose: an existing file, named by its whole path.
fn chosen_log(file: &str) -> ApiResult<PathBuf> {
    let p = PathBuf::from(file.trim());
    if !p.is_absolute() {
        return Err(ApiError::invalid(
            "choose the phone system's call log (a CSV file)",
        ));
    }
    if !p.is_file() {
        return Err(ApiError::invalid(format!(
            "call log {}: not found (choose an existing CSV file)",
            p.display()
        )));
    }
    Ok(p)
}

/// Check the archive against the call log the user chose; remembered on this computer for the
/// Overview's card.
#[tauri::command]
pub async fn check_completeness(
    state: State<'_, AppState>,
    query: CompletenessIn,
) -> ApiResult<CompletenessInfo> {
    let mut g = session(&state).await?;
    let cdr = chosen_log(&query.cdr)?;
    let q = CompletenessQuery {
        cdr: cdr.clone(),
        layout: query.layout.filter(|l| !l.trim().is_empty()),
        from: query.from.filter(|f| !f.trim().is_empty()),
        to: query.to.filter(|t| !t.trim().is_empty()),
        sound: query.sound,
        tz: None,
        recent_days: None,
    };
    let rep = s(&g).check_completeness(&q).await?;
    s_mut(&mut g)
        .set_preference(LAST_LOG, Some(cdr.display().to_string().as_str()))
        .await?;
    Ok(rep.into())
}

/// The last 7 days checked against the call log this user last checked on this computer (no
/// silence check: the card must be quick); null when they have checked none, or it is gone.
#[tauri::command]
pub async fn completeness_recent(
    state: State<'_, AppState>,
) -> ApiResult<Option<CompletenessInfo>> {
    let g = session(&state).await?;
    let Some(last) = s(&g).preference(LAST_LOG).await? else {
        return Ok(None);
    };
    let cdr = PathBuf::from(last);
    if !cdr.is_file() {
        return Ok(None);
    }
    let q = CompletenessQuery {
        cdr,
        recent_days: Some(7),
        ..Default::default()
    };
    Ok(Some(s(&g).check_completeness(&q).await?.into()))
}
