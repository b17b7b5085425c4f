//! Retention, deletion and erasure: who runs the sweep, deletes or erases calls, sets the
//! archive's settings and reads the evidence (tombstones, raw journals).

use super::roles::any;
use super::Role;

const SWEEPERS: [Role; 2] = [Role::Supervisor, Role::DataController];

/// The retention plan and sweep, and its outlook on the overview: a supervisor or the DC.
pub fn may_run_retention(roles: &[Role]) -> bool {
    any(roles, &SWEEPERS)
}

/// Deleting recordings by hand: a supervisor or the data controller.
pub fn may_delete(roles: &[Role]) -> bool {
    any(roles, &SWEEPERS)
}

/// Erasure (the right to erasure, through a request): the data controller.
pub fn may_erase(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// The archive's settings are the data controller's; a setting written by anyone else is ignored.
pub fn may_change_settings(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// The do-not-record list (numbers and extensions whose calls are not kept): kept by the data
/// controller, and believed by importers only as she signed it.
pub fn may_keep_do_not_record(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// Reading every raw journal entry (the proof that an erasure left nothing): the DC.
pub fn may_dump_journal(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

pub fn may_list_tombstones(roles: &[Role]) -> bool {
    any(roles, &SWEEPERS)
}

/// Bringing back audio that was deleted, on import: the data controller.
pub fn may_reimport_erased(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}
