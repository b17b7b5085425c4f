//! The archive's settings (the practice's name, retention, the idle lock, ...): listing them with
//! what each means (`settings`) and setting one (`set_setting`; the core decides who may); the
//! do-not-record list (`dnr_list`, `dnr_add`, `dnr_remove`: the data controller's, decided and
//! audited by the core; no number ever crosses to the web view from it, only labels).

use crate::error::ApiResult;
use crate::session::{s, s_mut, session};
use crate::state::AppState;
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

#[derive(Clone, Debug, Serialize, TS)]
pub struct SettingInfo {
    pub key: String,
    pub value: String,
    pub meaning: String,
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

/// One entry of the do-not-record list: its label, never the number.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DnrEntryInfo {
    pub id: String,
    /// "number" or "extension".
    pub kind: String,
    pub label: String,
    pub added_by: String,
    pub added_at: String,
}

/// The do-not-record list as the data controller sees it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DnrListInfo {
    pub entries: Vec<DnrEntryInfo>,
    /// Versions on the share not believed (their calls are kept), named with why.
    pub problems: Vec<String>,
}

impl From<callvault_core::session::DoNotRecordList> for DnrListInfo {
    fn from(l: callvault_core::session::DoNotRecordList) -> Self {
        DnrListInfo {
            entries: l
                .entries
                .into_iter()
                .map(|e| DnrEntryInfo {
                    id: e.id,
                    kind: e.kind.as_str().to_string(),
                    label: e.label,
                    added_by: e.added_by,
                    added_at: e.added_at,
                })
                .collect(),
            problems: l.problems,
        }
    }
}

#[tauri::command]
pub async fn dnr_list(state: State<'_, AppState>) -> ApiResult<DnrListInfo> {
    let g = session(&state).await?;
    Ok(s(&g).do_not_record_list()?.into())
}

/// Add a number (`extension` false) or an extension; returns the new entry's id.
#[tauri::command]
pub async fn dnr_add(
    state: State<'_, AppState>,
    value: String,
    extension: bool,
    label: String,
) -> ApiResult<String> {
    use callvault_core::dnr::Kind;
    let kind = if extension {
        Kind::Extension
    } else {
        Kind::Number
    };
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).do_not_record_add(kind, &value, &label)?)
}

/// Remove an entry by its id.
#[tauri::command]
pub async fn dnr_remove(state: State<'_, AppState>, id: String) -> ApiResult<String> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g).do_not_record_remove(&id)?)
}
