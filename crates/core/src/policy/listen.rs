//! Who may see, play or export which call: the scope of search, the own-call rule, and whether an
//! approved request lets a user hear or export one recording now.

use super::roles::any;
use super::Role;
use crate::requests::{Purpose, RequestState, Right, State};
use chrono::{DateTime, Utc};

/// Which recordings a user may see in search and `show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every recording (supervisor, approver, data controller).
    All,
    /// Only recordings this user was a party to (clinician, staff).
    PartyTo(String),
    /// None (e.g. an admin who holds no other role).
    Nothing,
}

/// Roles that reach every call (each listening still through an approved request).
const SEE_ALL: [Role; 3] = [Role::Supervisor, Role::Approver, Role::DataController];
/// Roles that reach the calls they were a party to.
const OWN_CALLS: [Role; 2] = [Role::Clinician, Role::Staff];

pub fn recording_scope(uid: &str, roles: &[Role]) -> Scope {
    if any(roles, &SEE_ALL) {
        Scope::All
    } else if any(roles, &OWN_CALLS) {
        Scope::PartyTo(uid.to_string())
    } else {
        Scope::Nothing
    }
}

/// Why a user may not `right` recording `id` without a request; None if they may. Only clinician
/// or staff access reaches one's own calls without a request, only to listen, and only with a
/// stated reason: supervisors, approvers and the data controller go through a request, and admin
/// alone reaches no call.
pub fn own_call_refusal(
    roles: &[Role],
    id: &str,
    right: Right,
    party: bool,
    reason_given: bool,
) -> Option<String> {
    if right == Right::Export {
        Some("exporting a recording needs an approved request".to_string())
    } else if party && !any(roles, &OWN_CALLS) {
        Some(format!(
            "recording {id}: your roles reach calls only through an approved request"
        ))
    } else if !party {
        Some(format!(
            "recording {id}: you were not a party to this call; listening needs an approved request"
        ))
    } else if !reason_given {
        Some("listening to your own call needs a stated reason".to_string())
    } else {
        None
    }
}

/// Why `uid` may not use `request` to `right` `recording` now; None if they may.
pub fn access_refusal(
    st: &RequestState,
    uid: &str,
    roles: &[Role],
    recording: &str,
    right: Right,
    now: DateTime<Utc>,
) -> Option<String> {
    let user_may_use = st.raised_by == uid
        || (st.purpose.is_data_controller_case() && roles.contains(&Role::DataController));
    if !user_may_use {
        return Some(format!("request {} was raised by someone else", st.id));
    }
    let Some(a) = &st.approval else {
        return Some(format!(
            "request {} is {} (not approved)",
            st.id,
            st.state.as_str()
        ));
    };
    if st.state == State::Completed {
        return Some(format!("request {} is completed", st.id));
    }
    if !a.recordings.iter().any(|r| r == recording) {
        return Some(format!(
            "request {} does not cover recording {recording}",
            st.id
        ));
    }
    if !a.allow.contains(&right) {
        return Some(format!(
            "request {} does not allow {}",
            st.id,
            right.as_str()
        ));
    }
    match DateTime::parse_from_rfc3339(&a.expires_at) {
        Ok(t) if now < t => {}
        _ => {
            return Some(format!(
                "the approval of request {} expired at {}",
                st.id, a.expires_at
            ))
        }
    }
    if st.purpose == Purpose::Disciplinary && st.agreement.is_none() {
        return Some(format!(
            "request {} is disciplinary: the data controller's written agreement is not yet recorded",
            st.id
        ));
    }
    None
}

/// May an approval hand a call's key to its requester: supervisors, approvers and the data
/// controller reach every call (through approvals); clinicians and staff only the calls they were
/// a party to, so an approval of a colleague's call gives them no key.
pub fn may_receive_key(roles: &[Role], party: bool) -> bool {
    any(roles, &SEE_ALL) || (party && any(roles, &OWN_CALLS))
}

/// May a call be assigned to a user (and so its key be delivered to them): clinicians and staff
/// only, who reach their own calls. Never a supervisor, approver, data controller or admin: they
/// reach a call's audio only through an approval, which an assignment must not stand in for.
pub fn may_be_assigned(roles: &[Role]) -> bool {
    any(roles, &OWN_CALLS) && !any(roles, &SEE_ALL) && !roles.contains(&Role::Admin)
}

/// May a user mark consent on a call: its own staff member, or a supervisor.
pub fn may_mark_consent(roles: &[Role], own_call: bool) -> bool {
    own_call || roles.contains(&Role::Supervisor)
}

/// May a user link a call to a patient's NHS number (or take the link back): a supervisor, who
/// reaches every call and knows the practice's patients, or the data controller, who answers
/// their requests. Not a clinician or member of staff on their own calls (a link decides whose
/// SAR a call goes into), nor an approver, whose part is deciding.
pub fn may_link_patient(roles: &[Role]) -> bool {
    roles.contains(&Role::Supervisor) || roles.contains(&Role::DataController)
}

/// May a user assign a call to a member of staff (a supervisor).
pub fn may_assign(roles: &[Role]) -> bool {
    roles.contains(&Role::Supervisor)
}

/// May a user deliver the key of a call a supervisor assigned without it (a second `assign`
/// entry, for the same call and staff member, carrying the wrap): the holders of call keys, the
/// approvers and the data controller.
pub fn may_deliver_assigned_key(roles: &[Role]) -> bool {
    super::keys::archive_keys_for(roles, true).contains(&"custodian")
}

/// The completeness check against the phone system's call log: it lists every call of a range
/// (the log's and the archive's), so only the roles that reach every call run it.
pub fn may_check_completeness(roles: &[Role]) -> bool {
    any(roles, &SEE_ALL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_reach_only_whom_the_policy_lets_reach_the_call() {
        // An approval hands a key to see-all roles for any call, to clinicians and staff only for
        // their own.
        assert!(may_receive_key(&[Role::Supervisor], false));
        assert!(may_receive_key(&[Role::Staff], true));
        assert!(!may_receive_key(&[Role::Clinician], false));
        assert!(!may_receive_key(&[Role::Admin], true));
        // Calls are assigned (and their keys delivered) to clinicians and staff only.
        assert!(may_be_assigned(&[Role::Clinician]));
        for r in [
            vec![Role::Supervisor],
            vec![Role::Staff, Role::Supervisor],
            vec![Role::Clinician, Role::Approver],
            vec![Role::Staff, Role::Admin],
        ] {
            assert!(!may_be_assigned(&r), "{r:?}");
        }
        // Only the holders of the call key deliver one.
        assert!(may_deliver_assigned_key(&[Role::Approver]));
        assert!(!may_deliver_assigned_key(&[Role::Supervisor]));
    }

    #[test]
    fn admin_alone_reaches_no_call() {
        assert_eq!(recording_scope("u", &[Role::Admin]), Scope::Nothing);
        assert_eq!(
            recording_scope("u", &[Role::Clinician]),
            Scope::PartyTo("u".into())
        );
        assert_eq!(
            recording_scope("u", &[Role::Admin, Role::Supervisor]),
            Scope::All
        );
    }

    #[test]
    fn own_calls_only_to_listen_with_a_reason() {
        let c = [Role::Clinician];
        assert!(own_call_refusal(&c, "r", Right::Listen, true, true).is_none());
        assert!(own_call_refusal(&c, "r", Right::Listen, true, false).is_some());
        assert!(own_call_refusal(&c, "r", Right::Listen, false, true).is_some());
        assert!(own_call_refusal(&c, "r", Right::Export, true, true).is_some());
        let s = [Role::Supervisor];
        assert!(own_call_refusal(&s, "r", Right::Listen, true, true).is_some());
    }
}
