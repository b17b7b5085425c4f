//! Staff breach self-reports: anyone who logs on reports one; the line manager (supervisors) and
//! the data controller see every report; the data controller assesses and closes them.

use super::roles::any;
use super::{users, Role};

/// Those who see every report: the line manager (a supervisor) and the data controller.
const READERS: [Role; 2] = [Role::Supervisor, Role::DataController];

/// Anyone with a role (not an ingest identity) reports a breach of their own.
pub fn may_report(roles: &[Role]) -> bool {
    !roles.is_empty() && !users::is_ingest_only(roles)
}

/// Every report, not only one's own.
pub fn may_see_all(roles: &[Role]) -> bool {
    any(roles, &READERS)
}

/// Assessing (reportable to the ICO or not) and closing: the data controller.
pub fn may_decide(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_reports_sees_and_decides() {
        for r in [Role::Staff, Role::Clinician, Role::Admin, Role::Approver] {
            assert!(may_report(&[r]));
            assert!(!may_see_all(&[r]) && !may_decide(&[r]), "{r:?}");
        }
        assert!(may_see_all(&[Role::Supervisor]) && !may_decide(&[Role::Supervisor]));
        assert!(may_see_all(&[Role::DataController]) && may_decide(&[Role::DataController]));
        assert!(!may_report(&[Role::Ingest]) && !may_report(&[]));
    }
}
