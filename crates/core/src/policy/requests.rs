//! Who may see, decide, agree, extend and complete an access request, and who follows the
//! practice's subject access requests. `requests::fold` asks these again for every event read from
//! the share, so an event written by a modified client that breaks them is ignored.

use super::roles::any;
use super::Role;
use crate::requests::Purpose;

/// Roles that see every request (the deciders, supervisors and the data controller).
const SEE_ALL: [Role; 3] = [Role::Approver, Role::DataController, Role::Supervisor];

/// May a user with `roles` decide (approve or reject) a request for `purpose`? A data
/// controller's case (SAR, police, disciplinary, …) is hers; the rest are an approver's.
pub fn may_decide(purpose: Purpose, roles: &[Role]) -> bool {
    if purpose.is_data_controller_case() {
        roles.contains(&Role::DataController)
    } else {
        roles.contains(&Role::Approver)
    }
}

/// May a user decide some kind of request (an approver, or the data controller)?
pub fn may_decide_any(roles: &[Role]) -> bool {
    Purpose::ALL.iter().any(|p| may_decide(*p, roles))
}

/// May `by` decide a request they raised? Only the data controller, on her own cases, and not
/// when the practice requires a second authoriser for them (setting `second-authoriser`).
pub fn may_decide_own(purpose: Purpose, second_authoriser: bool) -> bool {
    purpose.is_data_controller_case() && !second_authoriser
}

/// May a user decide a request for `purpose` given the practice's `second_authoriser` setting: as
/// [`may_decide`], and where a second authoriser is required, an approver may also decide a data
/// controller's case (someone besides the data controller who raised it).
pub fn may_decide_with(purpose: Purpose, roles: &[Role], second_authoriser: bool) -> bool {
    may_decide(purpose, roles)
        || (second_authoriser
            && purpose.is_data_controller_case()
            && roles.contains(&Role::Approver))
}

/// May a user decide this request now (apart from its state): theirs to decide, and not their own
/// unless it is a data controller's case and no second authoriser is required.
pub fn may_decide_request(
    purpose: Purpose,
    roles: &[Role],
    raised_it: bool,
    second_authoriser: bool,
) -> bool {
    may_decide_with(purpose, roles, second_authoriser)
        && (!raised_it || may_decide_own(purpose, second_authoriser))
}

/// May a user see a request: the one who raised it, and the deciders, supervisors and the data
/// controller.
pub fn may_see_request(roles: &[Role], raised_it: bool) -> bool {
    raised_it || any(roles, &SEE_ALL)
}

/// May a user complete a request: the data controller for her cases; else the requester, an
/// approver or the data controller.
pub fn may_complete(purpose: Purpose, roles: &[Role], raised_it: bool) -> bool {
    let dc = roles.contains(&Role::DataController);
    if purpose.is_data_controller_case() {
        dc
    } else {
        raised_it || dc || roles.contains(&Role::Approver)
    }
}

/// The written agreement to a disciplinary use: the data controller.
pub fn may_agree(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// Minimising an erasure request's details once its calls are erased (the `erased` event): the
/// data controller, who runs the erasure.
pub fn may_erase_details(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// Extending a SAR's deadline: the data controller.
pub fn may_extend(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// Who follows the practice's open SARs and their deadlines on the overview.
pub fn follows_sars(roles: &[Role]) -> bool {
    any(roles, &SEE_ALL)
}

/// Marking redactions in an export: the data controller.
pub fn may_redact(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// May a user use an approved request to listen or export: the one who raised it, or the data
/// controller on her cases.
pub fn may_use_request(purpose: Purpose, roles: &[Role], raised_it: bool) -> bool {
    raised_it || (purpose.is_data_controller_case() && roles.contains(&Role::DataController))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sars_are_the_data_controllers_and_routine_requests_the_approvers() {
        let ap = [Role::Approver];
        let dc = [Role::DataController];
        assert!(may_decide(Purpose::Complaint, &ap));
        assert!(!may_decide(Purpose::Sar, &ap));
        assert!(may_decide(Purpose::Sar, &dc));
        assert!(!may_decide_request(Purpose::Complaint, &ap, true, false));
        assert!(may_decide_request(Purpose::Sar, &dc, true, false));
        // A practice that requires a second authoriser: not her own SAR; an approver may decide it.
        assert!(!may_decide_request(Purpose::Sar, &dc, true, true));
        assert!(may_decide_request(Purpose::Sar, &dc, false, true));
        assert!(may_decide_request(Purpose::Sar, &ap, false, true));
        assert!(!may_decide_request(Purpose::Sar, &ap, false, false));
        assert!(!may_decide_request(Purpose::Disciplinary, &dc, false, true));
        assert!(!may_see_request(&[Role::Clinician], false));
        assert!(may_see_request(&[Role::Clinician], true));
    }
}
