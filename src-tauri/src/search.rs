//! Finding calls: `search` (the recordings this user may see), the criteria this user last used
//! on this device (`search_filters`, `save_search_filters`), one recording's details (`show`) and
//! its stored waveform (`waveform`). With their transport types.

use crate::error::ApiResult;
use crate::session::{not_logged_on, s, session};
use crate::state::AppState;
use crate::vocab::Direction;
use callvault_core::conversation::JoinedBy;
use callvault_core::session::{ConversationView, RecordingView, SearchQuery, Waveform};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

/// Search criteria: every criterion of the core's `SearchQuery`. Empty strings mean "any".
#[derive(Clone, Debug, Default, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct Search {
    /// From this date or date-time (local time of the practice), inclusive.
    pub from: Option<String>,
    /// Up to this date or date-time, inclusive.
    pub to: Option<String>,
    /// External number; any punctuation.
    pub number: Option<String>,
    /// Staff user name or extension.
    pub staff: Option<String>,
    /// A party's name.
    pub party: Option<String>,
    /// "inbound", "outbound" or "internal" (read leniently by the core, as typed in the CLI).
    #[ts(as = "Option<Direction>")]
    pub direction: Option<String>,
    pub min_duration_s: Option<f64>,
    pub max_duration_s: Option<f64>,
    /// Words in the notes.
    pub text: Option<String>,
    /// Calls linked to this NHS number.
    pub nhs_number: Option<String>,
    /// At most this many results (the core allows up to 100,000).
    pub limit: Option<i32>,
}

pub(crate) fn some_text(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl From<Search> for SearchQuery {
    fn from(s: Search) -> Self {
        let Search {
            from,
            to,
            number,
            staff,
            party,
            direction,
            min_duration_s,
            max_duration_s,
            text,
            nhs_number,
            limit,
        } = s;
        SearchQuery {
            from: some_text(from),
            to: some_text(to),
            number: some_text(number),
            staff: some_text(staff),
            party: some_text(party),
            direction: some_text(direction),
            min_duration_s,
            max_duration_s,
            text: some_text(text),
            nhs_number: some_text(nhs_number),
            limit: limit.map(i64::from),
        }
    }
}

/// A recording as shown to a user who may see it.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
pub struct Recording {
    pub id: String,
    pub started_at: String,
    pub direction: Direction,
    pub staff: Option<String>,
    pub extension: Option<String>,
    pub external_number: Option<String>,
    pub parties: Vec<String>,
    pub duration_s: f64,
    pub notes: Option<String>,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub source_name: String,
    /// The patients' NHS numbers the call is linked to (ten digits each).
    pub nhs_numbers: Vec<String>,
    /// A consent mark, e.g. "caller objected; recording stopped at 01:12".
    pub consent: Option<String>,
    /// The transferred or split call this is one leg of (the legs this user may see), or null.
    pub conversation: Option<Conversation>,
}

/// The conversation a call is one leg of.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
pub struct Conversation {
    /// "phone-system" (the phone system's id, e.g. a FreePBX linkedid) or "number-and-time"
    /// (the same number, one call following on from the other).
    pub joined_by: String,
    /// This call's place among `legs`, from 1.
    pub leg: u32,
    pub legs: Vec<Leg>,
}

/// One leg of a conversation.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
pub struct Leg {
    pub id: String,
    pub started_at: String,
    pub duration_s: f64,
    pub staff: Option<String>,
}

impl From<ConversationView> for Conversation {
    fn from(c: ConversationView) -> Self {
        Conversation {
            joined_by: match c.joined_by {
                JoinedBy::PhoneSystem => "phone-system",
                JoinedBy::NumberAndTime => "number-and-time",
            }
            .into(),
            leg: u32::try_from(c.leg).unwrap_or(u32::MAX),
            legs: c
                .legs
                .into_iter()
                .map(|l| Leg {
                    id: l.id,
                    started_at: l.started_at,
                    duration_s: l.duration_s,
                    staff: l.staff,
                })
                .collect(),
        }
    }
}

impl From<RecordingView> for Recording {
    fn from(v: RecordingView) -> Self {
        let RecordingView {
            id,
            started_at,
            direction,
            staff,
            extension,
            external_number,
            parties,
            duration_s,
            notes,
            codec,
            sample_rate,
            channels,
            source_name,
            nhs_numbers,
            consent,
            conversation,
        } = v;
        Recording {
            id,
            started_at,
            direction: direction.into(),
            staff,
            extension,
            external_number,
            parties,
            duration_s,
            notes,
            codec,
            sample_rate,
            channels,
            source_name,
            nhs_numbers,
            consent,
            conversation: conversation.map(Conversation::from),
        }
    }
}

/// Stored waveform peaks: one `[min, max]` pair (signed bytes, -128..127) per window.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Peaks {
    pub window_ms: u32,
    pub peaks: Vec<[i8; 2]>,
}

impl From<Waveform> for Peaks {
    fn from(w: Waveform) -> Self {
        let Waveform { window_ms, peaks } = w;
        Peaks {
            window_ms,
            peaks: peaks.into_iter().map(|(a, b)| [a, b]).collect(),
        }
    }
}

/// Search the recordings this user may see.
#[tauri::command]
pub async fn search(state: State<'_, AppState>, query: Search) -> ApiResult<Vec<Recording>> {
    let g = session(&state).await?;
    let rows = s(&g).search(&query.into()).await?;
    Ok(rows.into_iter().map(Recording::from).collect())
}

const SEARCH_FILTERS: &str = "app.search-filters";

/// The search criteria this user last used on this device (kept in the encrypted local index).
#[tauri::command]
pub async fn search_filters(state: State<'_, AppState>) -> ApiResult<Option<Search>> {
    let s = state.session.lock().await;
    let s = s.as_ref().ok_or_else(not_logged_on)?;
    Ok(s.preference(SEARCH_FILTERS)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok()))
}

/// Remember this user's search criteria on this device (`null` forgets them).
#[tauri::command]
pub async fn save_search_filters(
    state: State<'_, AppState>,
    query: Option<Search>,
) -> ApiResult<()> {
    let mut s = state.session.lock().await;
    let s = s.as_mut().ok_or_else(not_logged_on)?;
    let body = query.map(|q| serde_json::to_string(&q).expect("serialisable"));
    Ok(s.set_preference(SEARCH_FILTERS, body.as_deref()).await?)
}

/// One recording's details, if this user may see it.
#[tauri::command]
pub async fn show(state: State<'_, AppState>, id: String) -> ApiResult<Recording> {
    let g = session(&state).await?;
    Ok(s(&g).show(&id).await?.into())
}

/// The stored waveform peaks of a recording this user may see.
#[tauri::command]
pub async fn waveform(state: State<'_, AppState>, id: String) -> ApiResult<Peaks> {
    state.touch();
    let s = state.session.lock().await;
    let s = s.as_ref().ok_or_else(not_logged_on)?;
    Ok(s.waveform(&id).await?.into())
}
