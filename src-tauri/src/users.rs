//! Users and roles (admin): listing them, adding one, changing roles, telephony identities or
//! the disabled flag, resetting a password; assigning an unassigned call to a user (supervisor);
//! and creating an unattended ingest machine's identity (`export_ingest_profile`). With their
//! transport types.

use crate::error::{ApiError, ApiResult};
use crate::files::chosen_file;
use crate::session::{s, s_mut, session};
use crate::state::AppState;
use crate::vocab::{roles as role_list, Role};
use callvault_core::secret::Password;
use callvault_core::session::UserSummary;
use callvault_core::Role as CoreRole;
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

#[derive(Clone, Debug, Serialize, TS)]
pub struct UserRow {
    pub name: String,
    pub roles: Vec<Role>,
    pub telephony_ids: Vec<String>,
    pub disabled: bool,
}

impl From<UserSummary> for UserRow {
    fn from(u: UserSummary) -> Self {
        let UserSummary {
            name,
            roles,
            telephony_ids,
            disabled,
            uid: _,
            public_key: _,
            signing_key: _,
            given: _,
        } = u;
        UserRow {
            name,
            roles: role_list(&roles),
            telephony_ids,
            disabled,
        }
    }
}

#[derive(Clone, Deserialize, TS)]
pub struct NewUser {
    pub name: String,
    /// Role names (read by the core, which words the refusal of a name it does not know).
    #[ts(as = "Vec<Role>")]
    pub roles: Vec<String>,
    pub telephony_ids: Vec<String>,
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

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

fn roles(names: &[String]) -> ApiResult<Vec<CoreRole>> {
    Ok(CoreRole::parse_list(&names.join(","))?)
}

#[tauri::command]
pub async fn add_user(state: State<'_, AppState>, user: NewUser) -> ApiResult<()> {
    let mut g = session(&state).await?;
    let r = roles(&user.roles)?;
    if r.is_empty() {
        return Err(ApiError::invalid("roles: choose at least one"));
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
) -> ApiResult<Vec<String>> {
    let mut g = session(&state).await?;
    let r = self::roles(&roles)?;
    if r.is_empty() {
        return Err(ApiError::invalid(
            "roles: choose at least one (to stop someone logging on, disable the account)",
        ));
    }
    let s = s_mut(&mut g);
    let n = s.warnings.len();
    let r = s.set_roles(&name, &r).await;
    with_warnings(s.warnings.get(n..).unwrap_or_default().to_vec(), r)
}

/// The warnings the core gave while making a change (the keys rotated before it, say), returned
/// with the change — and, when the change then failed, added to the error's message, so that a
/// rotation made before a failed change is still told.
fn with_warnings(new: Vec<String>, r: callvault_core::error::Result<()>) -> ApiResult<Vec<String>> {
    match r {
        Ok(()) => Ok(new),
        Err(e) => {
            let mut a = ApiError::from(e);
            if !new.is_empty() {
                a.message = format!("{} (before that: {})", a.message, new.join("; "));
            }
            Err(a)
        }
    }
}

#[tauri::command]
pub async fn update_user(
    state: State<'_, AppState>,
    name: String,
    telephony_ids: Option<Vec<String>>,
    disabled: Option<bool>,
) -> ApiResult<Vec<String>> {
    let mut g = session(&state).await?;
    let s = s_mut(&mut g);
    let n = s.warnings.len();
    let r = s
        .update_user(&name, telephony_ids.as_deref(), disabled)
        .await;
    with_warnings(s.warnings.get(n..).unwrap_or_default().to_vec(), r)
}

/// Reset a password: true when done, false when the data controller prepared it with the
/// recovery code and an admin's next logon completes it.
#[tauri::command]
pub async fn reset_password(
    state: State<'_, AppState>,
    name: String,
    password: String,
    recovery_code: Option<String>,
) -> ApiResult<bool> {
    let mut g = session(&state).await?;
    let pw = Password::new(password);
    // Someone who holds call keys (an approver, the data controller) needs the practice's
    // recovery code, typed only by the data controller; the core decides.
    Ok(match recovery_code.filter(|c| !c.trim().is_empty()) {
        Some(c) => {
            s_mut(&mut g)
                .reset_password_with_recovery(&name, &pw, &Password::new(c))
                .await?
        }
        None => {
            s_mut(&mut g).reset_password(&name, &pw).await?;
            true
        }
    })
}

/// Does the archive have the practice's recovery key?
#[tauri::command]
pub async fn recovery_key_exists(state: State<'_, AppState>) -> ApiResult<bool> {
    let g = session(&state).await?;
    Ok(s(&g).has_recovery_key())
}

/// Create the practice's recovery key (the data controller; an archive made before it existed):
/// returns its code, shown once to be written down.
#[tauri::command]
pub async fn create_recovery_key(state: State<'_, AppState>) -> ApiResult<String> {
    let g = session(&state).await?;
    Ok(s(&g).create_recovery_key()?.expose().to_string())
}

/// How many stored calls are still locked to an older call key (after a holder left).
#[tauri::command]
pub async fn rewrap_pending(state: State<'_, AppState>) -> ApiResult<usize> {
    let g = session(&state).await?;
    Ok(s(&g).rewrap_pending()?)
}

/// Re-wrap every stored call to the newest call key (a holder: the core decides and audits);
/// returns what was done, in words.
#[tauri::command]
pub async fn rewrap_calls(state: State<'_, AppState>) -> ApiResult<String> {
    let mut g = session(&state).await?;
    let r = s_mut(&mut g).rewrap_calls(None).await?;
    let mut text = format!(
        "{} call(s) re-wrapped to the new call key; {} were already under it.",
        r.rewrapped, r.already
    );
    if !r.failed.is_empty() {
        text.push_str(&format!(
            " {} could not be re-wrapped (Verify names them); run it again.",
            r.failed.len()
        ));
    }
    Ok(text)
}

/// A rotating archive key this user holds (the Users screen's "Archive keys").
#[derive(Clone, Debug, Serialize, TS)]
pub struct KeyRow {
    /// `custodian` (the call key), `metadata`, `audit` or `admin`: what `rotate_key` takes.
    pub key: String,
    /// The key in words.
    pub what: String,
    pub epoch: u32,
    pub may_rotate: bool,
    /// Who held it and left with no new key made since (user names).
    pub leavers: Vec<String>,
}

/// Every rotating key this user holds, with its newest epoch and who left it unanswered.
#[tauri::command]
pub async fn key_states(state: State<'_, AppState>) -> ApiResult<Vec<KeyRow>> {
    let g = session(&state).await?;
    Ok(s(&g)
        .key_states()?
        .into_iter()
        .map(|k| KeyRow {
            key: k.key,
            what: k.what,
            epoch: k.epoch,
            may_rotate: k.may_rotate,
            leavers: k.leavers,
        })
        .collect())
}

/// Make a key's next epoch by hand (a holder: the core decides and audits); returns what was
/// done, in words.
#[tauri::command]
pub async fn rotate_key(state: State<'_, AppState>, key: String) -> ApiResult<String> {
    let mut g = session(&state).await?;
    let s = s_mut(&mut g);
    let r = s.rotate_key(&key).await?;
    let what = callvault_core::users::callkey::what(&key);
    let mut text = format!(
        "The {what} is now at epoch {}, given to {}.",
        r.epoch,
        r.holders.join(", ")
    );
    if key == "custodian" {
        text.push_str(" Re-wrap the stored calls so that the old key opens none of them.");
    }
    Ok(text)
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

/// Deliver the key of a call a supervisor assigned without it (an approver or the data
/// controller), as the assignment was when they saw it (`assigned_to`, `assigned_at`): returns the user name it
/// was delivered to.
#[tauri::command]
pub async fn deliver_assigned_key(
    state: State<'_, AppState>,
    id: String,
    assigned_to: String,
    assigned_at: String,
) -> ApiResult<String> {
    let mut g = session(&state).await?;
    Ok(s_mut(&mut g)
        .deliver_assigned_key(&id, Some((&assigned_to, &assigned_at)))
        .await?)
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
    callvault_core::ingest::unattended::export_profile(s_mut(&mut g), name.trim(), &path).await?;
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::with_warnings;

    #[test]
    fn a_rotation_before_a_failed_change_is_still_told() {
        let w = vec!["the metadata key was rotated (leavers: 1)".to_string()];
        assert_eq!(with_warnings(w.clone(), Ok(())).unwrap(), w);
        let e = with_warnings(
            w,
            Err(callvault_core::Error::Invalid("roles: no such user".into())),
        )
        .unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::Invalid);
        assert!(e.message.contains("roles: no such user"), "{}", e.message);
        assert!(
            e.message.contains("metadata key was rotated"),
            "{}",
            e.message
        );
        assert_eq!(
            with_warnings(vec![], Err(callvault_core::Error::NotFound("x".into())))
                .unwrap_err()
                .message,
            callvault_core::Error::NotFound("x".into()).to_string()
        );
    }
}
