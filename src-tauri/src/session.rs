//! The logged-on `Session` as the commands reach it: [`session`] locks it, catches it up with
//! what other computers wrote, and turns "nobody is logged on" into the `logged_off` error the
//! web view answers by going back to the logon screen.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use callvault_core::Session;
use tauri::State;
use tokio::sync::MutexGuard;

pub(crate) type Guard<'a> = MutexGuard<'a, Option<Session>>;

pub(crate) fn not_logged_on() -> ApiError {
    ApiError::logged_off("nobody is logged on: log on first")
}

/// The logged-on session, caught up with what other computers wrote (at most every
/// [`crate::state::REFRESH_EVERY`]): a request approved on the GP partner's Mac shows on the
/// manager's PC when she next looks. An account disabled elsewhere ends the session here.
pub(crate) async fn session<'a>(state: &'a State<'_, AppState>) -> ApiResult<Guard<'a>> {
    state.touch();
    let mut g = state.session.lock().await;
    let Some(s) = g.as_mut() else {
        return Err(not_logged_on());
    };
    if state.refresh_due() {
        if let Err(e) = s.refresh().await {
            if matches!(e, callvault_core::Error::Forbidden(_)) {
                if let Some(s) = g.take() {
                    s.close().await;
                }
                state.forget_session_extras();
                // The web view goes back to the logon screen on `logged_off`.
                return Err(ApiError::logged_off(format!(
                    "{e}: you have been logged off"
                )));
            }
            return Err(e.into());
        }
    }
    Ok(g)
}

pub(crate) fn s<'g>(g: &'g Guard<'_>) -> &'g Session {
    g.as_ref().expect("checked by session()")
}

pub(crate) fn s_mut<'g>(g: &'g mut Guard<'_>) -> &'g mut Session {
    g.as_mut().expect("checked by session()")
}
