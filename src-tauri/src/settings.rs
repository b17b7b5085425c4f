//! The archive's settings (the practice's name, retention, the idle lock, ...): listing them with
//! what each means (`settings`) and setting one (`set_setting`; the core decides who may).

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
