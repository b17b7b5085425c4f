//! Which archive secrets a user's key bag carries, by role (docs/FORMAT.md, "Archive keys and who
//! holds them").

use super::Role;

/// The archive secrets a user's key bag carries, by role.
pub fn archive_keys_for(roles: &[Role]) -> Vec<&'static str> {
    // (An empty list too: no role, no secret beyond the dedup key.)
    if roles.iter().all(|r| *r == Role::Ingest) {
        // An ingest machine decrypts nothing: only the keyed hash for duplicate detection.
        return vec!["dedup"];
    }
    let mut k = vec!["metadata", "dedup"];
    let has = |r: Role| roles.contains(&r);
    // The policy's authorisers only: a supervisor listens through approvals like everyone else
    // (an approval hands the requester each approved call's key).
    if has(Role::Approver) || has(Role::DataController) {
        k.push("custodian");
    }
    if has(Role::Admin) || has(Role::DataController) {
        k.push("audit");
    }
    if has(Role::Admin) {
        k.push("admin");
        k.push("signing");
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_no_call_key() {
        assert!(!archive_keys_for(&[Role::Admin]).contains(&"custodian"));
        assert!(archive_keys_for(&[Role::Approver]).contains(&"custodian"));
        assert!(!archive_keys_for(&[Role::Supervisor]).contains(&"custodian"));
        assert_eq!(archive_keys_for(&[Role::Ingest]), vec!["dedup"]);
    }
}
