//! The rulebook: who may do what, in one place. Pure functions, data in and decision out, one file
//! per subject — [`listen`] (scope, own calls, listening under a request), [`requests`] (seeing,
//! deciding, agreeing, completing), [`holds`], [`retention`] (deletion, erasure, settings),
//! [`users`] (accounts, import, audit, verify) and [`keys`] (which archive secrets each role
//! holds) — and [`abilities`], the same rules as the app shows them. `Session` asks these before
//! every operation and audits the outcome, allowed or refused, under an [`Action`]; no other file
//! compares roles (scripts/check-rules keeps it so).

mod abilities;
mod actions;
pub mod breaches;
pub mod holds;
pub mod journal;
mod keys;
pub mod listen;
pub mod requests;
pub mod retention;
mod roles;
pub mod users;

pub use abilities::{abilities, Abilities};
pub use actions::Action;
pub use keys::{
    account_keys, archive_keys_for, escrow_to_recovery, holds_call_key, may_create_recovery_key,
    may_prepare_reset, may_rotate, may_use_recovery_key,
};
pub use listen::{recording_scope, Scope};
pub use roles::Role;

use crate::error::{Error, Result};

/// May a user with `roles` perform `action` at all? Per-recording and per-request checks follow
/// in the functions of [`listen`] and [`requests`]. A refusal says why, in the practice's words.
pub fn decide(roles: &[Role], action: Action) -> Result<()> {
    use Action as A;
    let (ok, why): (bool, Option<&str>) = match action {
        A::AddUser | A::ResetPassword | A::SetRoles | A::UpdateUser => {
            (users::may_manage_users(roles), None)
        }
        // Anyone logged on may raise a request and see their own; the rest is decided per request
        // (`requests::may_see_request`, `may_complete`, `listen::access_refusal`).
        A::RaiseRequest | A::ListRequests | A::CompleteRequest => (true, None),
        A::DecideRequest => (requests::may_decide_any(roles), None),
        A::AgreeDisciplinary => (requests::may_agree(roles), None),
        A::ExtendSar => (requests::may_extend(roles), None),
        // Per call: `listen::may_mark_consent`, `listen::own_call_refusal`, `access_refusal`.
        A::MarkConsent | A::Listen | A::Export => (true, None),
        A::ExportSar | A::ExportPortability | A::ExportRelease => (true, None),
        A::ListAudit | A::VerifyAudit => (users::may_read_audit(roles), None),
        A::AssignRecording => (listen::may_assign(roles), None),
        A::LinkPatient => (
            listen::may_link_patient(roles),
            Some("a call is linked to a patient by a supervisor or the data controller"),
        ),
        A::ListUsers => (users::may_list_users(roles), None),
        A::Import => (users::may_import(roles), None),
        A::AllowErasedImport => (
            retention::may_reimport_erased(roles),
            Some("only the data controller may re-import deleted audio"),
        ),
        A::Search | A::ShowRecording | A::RebuildIndex | A::Overview => (true, None),
        A::CheckCompleteness => (
            listen::may_check_completeness(roles),
            Some("the completeness check reads every call of its range, so it is run by a supervisor, an approver or the data controller"),
        ),
        A::VerifyArchive => (users::may_verify_archive(roles), None),
        A::InitArchive | A::Logon | A::AccountLock | A::SessionEnd => (true, None),
        A::CreateRecoveryKey => (
            keys::may_create_recovery_key(roles),
            Some("the recovery key is created and kept by the data controller"),
        ),
        // In a session: the data controller, who keeps the code (an admin's own break-glass at
        // the logon screen is `Session::recover_account`, audited without a session).
        A::RecoverAccount => (
            keys::may_use_recovery_key(roles),
            Some("the practice's recovery code is typed only by the data controller, in her own session"),
        ),
        // Only with the call key: the next one is proved by the one before.
        A::RotateCallKey | A::RewrapCalls => (
            keys::holds_call_key(roles),
            Some("the call key is rotated by those who hold it: an approver or the data controller"),
        ),
        // Per key: `keys::may_rotate` (its holders).
        A::RotateArchiveKey => (true, None),
        A::ChangeSetting => (
            retention::may_change_settings(roles),
            Some("archive settings are set by the data controller"),
        ),
        A::ListHolds => (
            holds::may_see_holds(roles),
            Some("holds are seen by supervisors, approvers and the data controller"),
        ),
        A::AddHold => (
            holds::may_place_hold(roles),
            Some("a legal hold is placed by a supervisor, an approver or the data controller"),
        ),
        A::ReleaseHold => (
            holds::may_release_hold(roles),
            Some("only the data controller releases a legal hold"),
        ),
        A::PlanRetention => (
            retention::may_run_retention(roles),
            Some("the retention sweep is run by a supervisor or the data controller"),
        ),
        A::DeleteRecording => (
            retention::may_delete(roles),
            Some("recordings are deleted by a supervisor or the data controller"),
        ),
        A::EraseRecording => (
            retention::may_erase(roles),
            Some("erasure is carried out by the data controller"),
        ),
        A::DumpJournal => (
            retention::may_dump_journal(roles),
            Some("only the data controller may read the raw journals"),
        ),
        A::ListTombstones => (
            retention::may_list_tombstones(roles),
            Some("tombstones are for supervisors and the data controller"),
        ),
        A::ReportBreach | A::ListBreaches => (true, None),
        A::AssessBreach => (
            breaches::may_decide(roles),
            Some("a breach report is assessed and closed by the data controller"),
        ),
        A::ListDoNotRecord | A::ChangeDoNotRecord => (
            retention::may_keep_do_not_record(roles),
            Some("the do-not-record list is kept by the data controller"),
        ),
    };
    if ok {
        return Ok(());
    }
    Err(Error::Forbidden(match why {
        Some(why) => why.to_string(),
        None => {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            format!(
                "{} is not allowed for role(s) {}",
                action.as_str(),
                names.join(", ")
            )
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_adds_users_and_clinicians_cannot_import() {
        assert!(decide(&[Role::Admin], Action::AddUser).is_ok());
        assert!(decide(&[Role::Supervisor, Role::Approver], Action::AddUser).is_err());
        assert!(decide(&[Role::Clinician], Action::Import).is_err());
        assert!(decide(&[Role::Clinician], Action::VerifyAudit).is_err());
        assert!(decide(&[Role::Clinician, Role::Approver], Action::AssignRecording).is_err());
        assert!(decide(&[Role::Supervisor], Action::AssignRecording).is_ok());
        assert!(decide(&[Role::Approver], Action::ListHolds).is_ok());
        assert!(decide(&[Role::Approver], Action::ReleaseHold).is_err());
        assert!(decide(&[Role::Supervisor], Action::EraseRecording).is_err());
    }
}
