//! Who may write each kind of journal entry. Every device checks every entry it reads from the
//! share against this before believing it: an entry written by a modified client for a role that
//! may not write it is refused and reported, never applied (docs/FORMAT.md, "Threat model").

use super::{breaches, holds, listen, retention, users, Role};

/// The kinds of journal entry, as the rulebook sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Recording,
    Request,
    /// A consent mark; `own_call` when the author was a party to the call.
    Consent {
        own_call: bool,
    },
    Tombstone,
    Hold,
    HoldRelease,
    Setting,
    Assign,
    UserCheckpoint,
    AuditAnchor,
    FormatUpgrade,
    RecordingCopy,
    PatientLink,
    /// A breach report's event; `decision` for an assessment or a closing.
    Breach {
        decision: bool,
    },
}

/// May a user with `roles` (their current roles: a disabled user's still count for what they
/// signed within their disablement's journal heads, and only for that) author an entry of `kind`?
pub fn may_author(roles: &[Role], kind: EntryKind) -> bool {
    if users::is_ingest_only(roles) {
        // An unattended ingest machine only adds recordings.
        return kind == EntryKind::Recording;
    }
    match kind {
        EntryKind::Recording => users::may_import(roles),
        // Anyone with a role may raise or act on a request; `requests::fold` checks each event.
        EntryKind::Request => !roles.is_empty(),
        EntryKind::Consent { own_call } => {
            !roles.is_empty() && listen::may_mark_consent(roles, own_call)
        }
        EntryKind::Tombstone => users::may_maintain_journals(roles),
        EntryKind::Hold => holds::may_place_hold(roles),
        EntryKind::HoldRelease => holds::may_release_hold(roles),
        EntryKind::Setting => retention::may_change_settings(roles),
        EntryKind::Assign => listen::may_assign(roles) || listen::may_deliver_assigned_key(roles),
        EntryKind::UserCheckpoint => users::may_manage_users(roles),
        // Anyone who logs on anchors the audit heads they saw.
        EntryKind::AuditAnchor => !roles.is_empty(),
        EntryKind::FormatUpgrade => users::may_manage_users(roles),
        // Journalled with an assignment, by whoever assigns.
        EntryKind::RecordingCopy => listen::may_assign(roles),
        EntryKind::PatientLink => listen::may_link_patient(roles),
        EntryKind::Breach { decision: false } => breaches::may_report(roles),
        EntryKind::Breach { decision: true } => breaches::may_decide(roles),
    }
}

/// Whose rewritten (compacted) journal segments are believed: supervisors and the data controller.
pub fn may_compact(roles: &[Role]) -> bool {
    users::may_maintain_journals(roles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntryKind as K;

    #[test]
    fn each_kind_has_its_authors() {
        let rec = [Role::Staff];
        assert!(may_author(&rec, K::Request));
        assert!(may_author(&rec, K::Consent { own_call: true }));
        for k in [
            K::Recording,
            K::Consent { own_call: false },
            K::Tombstone,
            K::Hold,
            K::HoldRelease,
            K::Setting,
            K::Assign,
            K::UserCheckpoint,
            K::RecordingCopy,
            K::PatientLink,
        ] {
            assert!(!may_author(&rec, k), "{k:?}");
        }
        assert!(may_author(&[Role::Supervisor], K::Hold));
        assert!(!may_author(&[Role::Supervisor], K::HoldRelease));
        assert!(may_author(&[Role::DataController], K::HoldRelease));
        assert!(may_author(&[Role::Supervisor], K::PatientLink));
        assert!(may_author(&[Role::DataController], K::PatientLink));
        assert!(!may_author(&[Role::Approver], K::PatientLink));
        assert!(!may_author(&[Role::Clinician], K::PatientLink));
        assert!(!may_author(&[Role::Admin], K::PatientLink));
        assert!(may_author(&[Role::Ingest], K::Recording));
        assert!(!may_author(&[Role::Ingest], K::Request));
        // A disabled user counts as holding no role.
        assert!(!may_author(&[], K::Request));
        assert!(!may_author(&[], K::Consent { own_call: true }));
    }
}
