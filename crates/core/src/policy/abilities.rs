//! What a user may do, as the app shows it: the screens and buttons it offers follow these, never
//! role names. The core still decides (and audits) every action when it is asked.

use super::{breaches, holds, keys, listen, requests, retention, users, Role, Scope};
use serde::Serialize;

/// What a user's roles let them do, for showing and hiding (the core decides each action again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Abilities {
    /// Search and see every call (not only their own).
    pub may_see_all_calls: bool,
    /// See every request and the data controller's cases (not only their own requests).
    pub may_see_cases: bool,
    /// Approve or reject requests (each request says whether this user may decide it now).
    pub may_decide_requests: bool,
    /// The data controller's work: SARs, police and disciplinary cases, agreements, extensions.
    pub may_handle_dc_cases: bool,
    /// Mark redactions in an export.
    pub may_redact: bool,
    /// Follow the practice's open SARs and their deadlines.
    pub may_follow_sars: bool,
    pub may_see_holds: bool,
    pub may_place_holds: bool,
    pub may_release_holds: bool,
    /// The retention plan and sweep.
    pub may_run_retention: bool,
    /// Delete recordings by hand.
    pub may_delete: bool,
    /// Erase under a request.
    pub may_erase: bool,
    pub may_change_settings: bool,
    pub may_read_audit: bool,
    pub may_list_users: bool,
    pub may_manage_users: bool,
    pub may_import: bool,
    /// Bring back deleted audio on import.
    pub may_reimport_erased: bool,
    /// Assign a call to a member of staff.
    pub may_assign: bool,
    pub may_verify_archive: bool,
    /// Type the practice's recovery code: create the recovery key, prepare a key holder's reset.
    pub may_use_recovery_key: bool,
    /// Check the archive against the phone system's call log.
    pub may_check_completeness: bool,
    /// Link a call to a patient's NHS number (the call page).
    pub may_link_patient: bool,
    /// Keep the do-not-record list (numbers and extensions whose calls are not kept).
    pub may_keep_do_not_record: bool,
    /// See every staff breach report (the line manager, the data controller).
    pub may_see_all_breaches: bool,
    /// Assess and close breach reports (the data controller).
    pub may_assess_breaches: bool,
}

/// What `roles` may do.
pub fn abilities(roles: &[Role]) -> Abilities {
    Abilities {
        may_see_all_calls: listen::recording_scope("", roles) == Scope::All,
        may_see_cases: requests::may_see_request(roles, false),
        may_decide_requests: requests::may_decide_any(roles),
        may_handle_dc_cases: requests::may_agree(roles),
        may_redact: requests::may_redact(roles),
        may_follow_sars: requests::follows_sars(roles),
        may_see_holds: holds::may_see_holds(roles),
        may_place_holds: holds::may_place_hold(roles),
        may_release_holds: holds::may_release_hold(roles),
        may_run_retention: retention::may_run_retention(roles),
        may_delete: retention::may_delete(roles),
        may_erase: retention::may_erase(roles),
        may_change_settings: retention::may_change_settings(roles),
        may_read_audit: users::may_read_audit(roles),
        may_list_users: users::may_list_users(roles),
        may_manage_users: users::may_manage_users(roles),
        may_import: users::may_import(roles),
        may_reimport_erased: retention::may_reimport_erased(roles),
        may_assign: listen::may_assign(roles),
        may_verify_archive: users::may_verify_archive(roles),
        may_use_recovery_key: keys::may_use_recovery_key(roles),
        may_check_completeness: listen::may_check_completeness(roles),
        may_link_patient: listen::may_link_patient(roles),
        may_keep_do_not_record: retention::may_keep_do_not_record(roles),
        may_see_all_breaches: breaches::may_see_all(roles),
        may_assess_breaches: breaches::may_decide(roles),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abilities_follow_the_policy() {
        let admin = abilities(&[Role::Admin]);
        assert!(admin.may_manage_users && admin.may_read_audit);
        assert!(!admin.may_see_all_calls && !admin.may_decide_requests && !admin.may_see_holds);
        let gp = abilities(&[Role::Approver, Role::Clinician]);
        assert!(gp.may_decide_requests && gp.may_see_holds && gp.may_see_all_calls);
        assert!(!gp.may_delete && !gp.may_handle_dc_cases && !gp.may_manage_users);
        let dc = abilities(&[Role::DataController]);
        assert!(dc.may_handle_dc_cases && dc.may_redact && dc.may_erase && dc.may_delete);
        let staff = abilities(&[Role::Staff]);
        assert_eq!(staff, Abilities::default());
    }
}
