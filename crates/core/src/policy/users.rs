//! Users and identities: who manages accounts, who lists them, the archive's first user, the
//! ingest identities, and which signers may maintain (compact) the journals.

use super::roles::any;
use super::Role;

/// The roles of the archive's first user (the one who creates it).
pub const FOUNDER_ROLES: [Role; 2] = [Role::Admin, Role::DataController];
/// The roles of an unattended ingest identity.
pub const INGEST_ROLES: [Role; 1] = [Role::Ingest];

/// Adding users, resetting passwords, changing roles and accounts: an admin.
pub fn may_manage_users(roles: &[Role]) -> bool {
    roles.contains(&Role::Admin)
}

pub fn may_list_users(roles: &[Role]) -> bool {
    any(
        roles,
        &[
            Role::Admin,
            Role::DataController,
            Role::Approver,
            Role::Supervisor,
        ],
    )
}

/// An identity that only adds recordings (an unattended ingest machine).
pub fn is_ingest_only(roles: &[Role]) -> bool {
    !roles.is_empty() && roles.iter().all(|r| *r == Role::Ingest)
}

/// May an account with these roles log on (open a session)? Not an ingest identity (its machine
/// imports with its secret, never a session) nor an account with no role yet.
pub fn may_log_on(roles: &[Role]) -> bool {
    !roles.is_empty() && !is_ingest_only(roles)
}

/// Signers whose journal compactions are believed: supervisors and the data controller.
pub fn may_maintain_journals(roles: &[Role]) -> bool {
    any(roles, &[Role::Supervisor, Role::DataController])
}

pub fn may_import(roles: &[Role]) -> bool {
    any(
        roles,
        &[
            Role::Admin,
            Role::Supervisor,
            Role::DataController,
            Role::Ingest,
        ],
    )
}

/// May a session of these roles import now: an importer whose index covers the whole archive
/// (`whole_index`: its key bag holds the metadata key)? Duplicates and erased audio are found in
/// that index; a party reader's (an admin's in an archive with readers) holds neither the other
/// calls nor their tombstones, so it would store every duplicate again and bring erased audio back.
pub fn may_import_into(roles: &[Role], whole_index: bool) -> bool {
    may_import(roles) && whole_index
}

/// Verifying the archive: an admin, the data controller or a supervisor.
pub fn may_verify_archive(roles: &[Role]) -> bool {
    any(
        roles,
        &[Role::Admin, Role::DataController, Role::Supervisor],
    )
}

/// Reading and verifying the audit trail: an admin or the data controller.
pub fn may_read_audit(roles: &[Role]) -> bool {
    any(roles, &[Role::Admin, Role::DataController])
}

#[cfg(test)]
mod logon_tests {
    use super::*;

    #[test]
    fn ingest_identities_and_role_less_accounts_do_not_log_on() {
        assert!(!may_log_on(&[]));
        assert!(!may_log_on(&[Role::Ingest]));
        for r in [Role::Staff, Role::Clinician, Role::Supervisor, Role::Admin] {
            assert!(may_log_on(&[r]), "{r:?}");
            assert!(may_log_on(&[Role::Ingest, r]), "{r:?}");
        }
    }

    #[test]
    fn an_import_needs_an_index_of_the_whole_archive() {
        assert!(may_import_into(&[Role::Supervisor], true));
        assert!(may_import_into(&[Role::Admin], true));
        assert!(!may_import_into(&[Role::Admin], false));
        assert!(!may_import_into(&[Role::Clinician], true));
    }
}
