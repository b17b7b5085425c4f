//! Legal holds: who sees them (their reasons may name a patient), who places them and who releases
//! them.

use super::roles::any;
use super::Role;

/// Those who place or release holds see them: supervisors, approvers and the data controller.
const HOLDERS: [Role; 3] = [Role::Supervisor, Role::Approver, Role::DataController];

pub fn may_see_holds(roles: &[Role]) -> bool {
    any(roles, &HOLDERS)
}

pub fn may_place_hold(roles: &[Role]) -> bool {
    any(roles, &HOLDERS)
}

/// Only the data controller releases a hold; a release written by anyone else is ignored.
pub fn may_release_hold(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}
