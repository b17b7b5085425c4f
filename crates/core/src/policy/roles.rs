//! The roles of the practice's policy, and how they are written (`admin`, `data-controller`, …).
//! A user may hold several. What each role may do is decided by the other files of `policy/`.

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

/// `roles` includes any of `any`.
pub(crate) fn any(roles: &[Role], any: &[Role]) -> bool {
    any.iter().any(|r| roles.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse() {
        assert_eq!(
            Role::parse_list("clinician, APPROVER").unwrap(),
            vec![Role::Approver, Role::Clinician]
        );
        assert!(Role::parse_list("god").is_err());
    }
}
