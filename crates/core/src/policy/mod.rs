//! Who may do what: the one place where Callvault decides. `Session` calls `decide` before every
//! operation and audits the outcome, allowed or refused.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Roles from the practice's policy. A user may hold several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Manages users and the archive; does not by itself grant access to any call.
    Admin,
    /// GP Partner or Practice Business Manager: authorises access requests.
    Approver,
    /// The data controller (or delegate): SARs, police requests, disciplinary agreement, erasure.
    DataController,
    /// May reach every call (for an authorised, recorded reason).
    Supervisor,
    /// May reach only calls they were a party to.
    Clinician,
    /// Other staff: only calls they were a party to.
    Staff,
    /// An unattended ingest machine: adds recordings, reads nothing (holds only the dedup key and
    /// its own signing key).
    Ingest,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Approver,
        Role::DataController,
        Role::Supervisor,
        Role::Clinician,
        Role::Staff,
        Role::Ingest,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Approver => "approver",
            Role::DataController => "data-controller",
            Role::Supervisor => "supervisor",
            Role::Clinician => "clinician",
            Role::Staff => "staff",
            Role::Ingest => "ingest",
        }
    }

    pub fn parse(s: &str) -> Result<Role> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "role '{s}' is not one of admin, approver, data-controller, supervisor, clinician, staff, ingest"
                ))
            })
    }

    /// Parse a comma-separated list.
    pub fn parse_list(s: &str) -> Result<Vec<Role>> {
        let mut v = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let r = Role::parse(part)?;
            if !v.contains(&r) {
                v.push(r);
            }
        }
        if v.is_empty() {
            return Err(Error::Invalid("at least one role is needed".into()));
        }
        v.sort();
        Ok(v)
    }
}

/// The archive secrets a user's key bag carries, by role.
pub fn archive_keys_for(roles: &[Role]) -> Vec<&'static str> {
    if roles.iter().all(|r| *r == Role::Ingest) {
        // An ingest machine decrypts nothing: only the keyed hash for duplicate detection.
        return vec!["dedup"];
    }
    let mut k = vec!["metadata", "dedup"];
    let has = |r: Role| roles.contains(&r);
    if has(Role::Supervisor) || has(Role::Approver) || has(Role::DataController) {
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

pub fn recording_scope(uid: &str, roles: &[Role]) -> Scope {
    let has = |r: Role| roles.contains(&r);
    if has(Role::Supervisor) || has(Role::Approver) || has(Role::DataController) {
        Scope::All
    } else if has(Role::Clinician) || has(Role::Staff) {
        Scope::PartyTo(uid.to_string())
    } else {
        Scope::Nothing
    }
}

/// Operations the foundation offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    AddUser,
    ResetPassword,
    ListUsers,
    Import,
    Search,
    ShowRecording,
    VerifyArchive,
    VerifyAudit,
    RebuildIndex,
    SetRoles,
    UpdateUser,
    RaiseRequest,
    ListRequests,
    DecideRequest,
    AgreeDisciplinary,
    ExtendSar,
    CompleteRequest,
    MarkConsent,
    Listen,
    Export,
    ListAudit,
    AssignRecording,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::AddUser => "user.add",
            Action::ResetPassword => "user.reset_password",
            Action::ListUsers => "user.list",
            Action::Import => "import",
            Action::Search => "search",
            Action::ShowRecording => "recording.show",
            Action::VerifyArchive => "archive.verify",
            Action::VerifyAudit => "audit.verify",
            Action::RebuildIndex => "index.rebuild",
            Action::SetRoles => "user.set_roles",
            Action::UpdateUser => "user.update",
            Action::RaiseRequest => "request.raise",
            Action::ListRequests => "request.list",
            Action::DecideRequest => "request.decide",
            Action::AgreeDisciplinary => "request.agree",
            Action::ExtendSar => "request.extend",
            Action::CompleteRequest => "request.complete",
            Action::MarkConsent => "recording.mark_consent",
            Action::Listen => "recording.listen",
            Action::Export => "recording.export",
            Action::ListAudit => "audit.list",
            Action::AssignRecording => "recording.assign",
        }
    }
}

/// May a user with `roles` perform `action` at all? (Per-recording checks use `recording_scope`.)
pub fn decide(roles: &[Role], action: Action) -> Result<()> {
    let has = |r: Role| roles.contains(&r);
    let ok = match action {
        Action::AddUser | Action::ResetPassword | Action::SetRoles | Action::UpdateUser => {
            has(Role::Admin)
        }
        // Any logged-on user may raise a request and see their own; the rest is decided per
        // request in `requests::fold` and `requests::access_refusal`.
        Action::RaiseRequest | Action::ListRequests | Action::CompleteRequest => true,
        Action::DecideRequest => has(Role::Approver) || has(Role::DataController),
        Action::AgreeDisciplinary | Action::ExtendSar => has(Role::DataController),
        Action::MarkConsent => true,
        Action::Listen | Action::Export => true,
        Action::ListAudit => has(Role::Admin) || has(Role::DataController),
        Action::AssignRecording => has(Role::Supervisor),
        Action::ListUsers => {
            has(Role::Admin)
                || has(Role::DataController)
                || has(Role::Approver)
                || has(Role::Supervisor)
        }
        Action::Import => {
            has(Role::Admin)
                || has(Role::Supervisor)
                || has(Role::DataController)
                || has(Role::Ingest)
        }
        Action::Search | Action::ShowRecording | Action::RebuildIndex => true,
        Action::VerifyArchive => {
            has(Role::Admin) || has(Role::DataController) || has(Role::Supervisor)
        }
        Action::VerifyAudit => has(Role::Admin) || has(Role::DataController),
    };
    if ok {
        Ok(())
    } else {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Error::Forbidden(format!(
            "{} is not allowed for role(s) {}",
            action.as_str(),
            names.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!archive_keys_for(&[Role::Admin]).contains(&"custodian"));
        assert!(archive_keys_for(&[Role::Approver]).contains(&"custodian"));
    }

    #[test]
    fn only_admin_adds_users_and_clinicians_cannot_import() {
        assert!(decide(&[Role::Admin], Action::AddUser).is_ok());
        assert!(decide(&[Role::Supervisor, Role::Approver], Action::AddUser).is_err());
        assert!(decide(&[Role::Clinician], Action::Import).is_err());
        assert!(decide(&[Role::Clinician], Action::VerifyAudit).is_err());
        assert!(decide(&[Role::Clinician, Role::Approver], Action::AssignRecording).is_err());
        assert!(decide(&[Role::Supervisor], Action::AssignRecording).is_ok());
    }

    #[test]
    fn roles_parse() {
        assert_eq!(
            Role::parse_list("clinician, APPROVER").unwrap(),
            vec![Role::Approver, Role::Clinician]
        );
        assert!(Role::parse_list("god").is_err());
    }
}
