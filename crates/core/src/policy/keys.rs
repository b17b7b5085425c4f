//! Which archive secrets a user's key bag carries, by role (docs/FORMAT.md, "Archive keys and who
//! holds them").

use super::Role;

/// The roles that search the whole archive, and so hold the `metadata` key in an archive whose
/// segments carry their readers (`ArchiveConfig::readers`). Not the admin: an IT lead manages
/// accounts, and the policy gives them no call.
const METADATA_HOLDERS: [Role; 3] = [Role::Supervisor, Role::Approver, Role::DataController];

/// The archive secrets a user's key bag carries, by role. `readers`: the archive's segments carry
/// their readers (`ArchiveConfig::party_readers`), so a clinician or staff member holds no
/// `metadata` key and reads only the entries addressed to them; in an archive made before, every
/// user but an ingest identity holds it.
pub fn archive_keys_for(roles: &[Role], readers: bool) -> Vec<&'static str> {
    // (An empty list too: no role, no secret beyond the dedup key.)
    if roles.iter().all(|r| *r == Role::Ingest) {
        // An ingest machine decrypts nothing: only the keyed hash for duplicate detection.
        return vec!["dedup"];
    }
    let has = |r: Role| roles.contains(&r);
    let mut k = if !readers || METADATA_HOLDERS.iter().any(|r| has(*r)) {
        vec!["metadata", "dedup"]
    } else {
        vec!["dedup"]
    };
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

/// The archive secrets the key bag of an account carries: those its roles grant, and none at all
/// once it is disabled. A disabled user can still open their own current record with their
/// password, so its bag must give them nothing (above all not a key epoch made to shut them out).
pub fn account_keys(roles: &[Role], disabled: bool, readers: bool) -> Vec<&'static str> {
    if disabled {
        return Vec::new();
    }
    archive_keys_for(roles, readers)
}

/// Is the secret of a user with these roles escrowed to the practice's recovery key rather than
/// the admin key: do they hold call keys (`custodian`), the metadata key (that opens every call's
/// details), or the admin key itself? Then an admin, who may reset the passwords of those who
/// hold none, cannot become them: not an approver (and so reach the calls), not a supervisor (and
/// so read every call's number and parties), nor another admin (whose key bag is given each new
/// epoch of the admin key, so an admin who left and knew a colleague's secret could still sign
/// user records).
pub fn escrow_to_recovery(roles: &[Role]) -> bool {
    let k = archive_keys_for(roles, true);
    ["custodian", "metadata", "admin"]
        .iter()
        .any(|n| k.contains(n))
}

/// Do these roles hold the call key (`custodian`): the policy's authorisers? They alone make its
/// next epoch when a holder leaves, are given it, and re-wrap the calls to it.
pub fn holds_call_key(roles: &[Role]) -> bool {
    archive_keys_for(roles, true).contains(&"custodian")
}

/// May these roles make the next epoch of rotating key `name` (`metadata`, `audit`): do they hold
/// it? The next epoch is proved by the one before, so only a holder can.
pub fn may_rotate(roles: &[Role], name: &str, readers: bool) -> bool {
    archive_keys_for(roles, readers).contains(&name)
}

/// Creating the archive's recovery key (for an archive made before it existed): the data
/// controller, who keeps its code.
pub fn may_create_recovery_key(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// Typing the practice's recovery code in a session — preparing the password reset of someone
/// who holds call keys, which an admin then signs — and preparing it is believed from: the data
/// controller only, so the code never reaches an admin's session.
pub fn may_use_recovery_key(roles: &[Role]) -> bool {
    roles.contains(&Role::DataController)
}

/// Whose prepared password reset an admin signs: one prepared by a data controller, or by the
/// user themself (with the recovery code, at the logon screen: `own`).
pub fn may_prepare_reset(preparer_roles: &[Role], own: bool) -> bool {
    own || may_use_recovery_key(preparer_roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_is_prepared_by_the_data_controller_or_the_user_themself() {
        assert!(may_prepare_reset(&[Role::DataController], false));
        assert!(may_prepare_reset(&[Role::Approver], true));
        assert!(!may_prepare_reset(&[Role::Admin], false));
        assert!(!may_prepare_reset(
            &[Role::Approver, Role::Clinician],
            false
        ));
    }

    #[test]
    fn admin_holds_no_call_key() {
        for readers in [false, true] {
            assert!(!archive_keys_for(&[Role::Admin], readers).contains(&"custodian"));
            assert!(archive_keys_for(&[Role::Approver], readers).contains(&"custodian"));
            assert!(!archive_keys_for(&[Role::Supervisor], readers).contains(&"custodian"));
            assert_eq!(archive_keys_for(&[Role::Ingest], readers), vec!["dedup"]);
        }
    }

    #[test]
    fn clinicians_and_staff_hold_no_metadata_key_where_segments_carry_their_readers() {
        for r in [Role::Clinician, Role::Staff] {
            assert_eq!(archive_keys_for(&[r], true), vec!["dedup"], "{r:?}");
            assert!(archive_keys_for(&[r], false).contains(&"metadata"), "{r:?}");
        }
        for r in [Role::Supervisor, Role::Approver, Role::DataController] {
            assert!(archive_keys_for(&[r], true).contains(&"metadata"), "{r:?}");
        }
        // The admin (an IT lead) manages accounts: no call's details.
        assert_eq!(
            archive_keys_for(&[Role::Admin], true),
            vec!["dedup", "audit", "admin", "signing"]
        );
        assert!(archive_keys_for(&[Role::Admin], false).contains(&"metadata"));
        // A clinician who is also a supervisor searches the whole archive.
        assert!(archive_keys_for(&[Role::Clinician, Role::Supervisor], true).contains(&"metadata"));
        assert!(!may_rotate(&[Role::Clinician], "metadata", true));
    }

    #[test]
    fn call_metadata_and_admin_key_holders_are_escrowed_to_the_recovery_key() {
        assert!(escrow_to_recovery(&[Role::Approver]));
        assert!(escrow_to_recovery(&[Role::Admin, Role::DataController]));
        assert!(escrow_to_recovery(&[Role::Admin]));
        assert!(escrow_to_recovery(&[Role::Supervisor]));
        assert!(escrow_to_recovery(&[Role::Clinician, Role::Supervisor]));
        for r in [Role::Clinician, Role::Staff, Role::Ingest] {
            assert!(!escrow_to_recovery(&[r]), "{r:?}");
        }
    }
}
