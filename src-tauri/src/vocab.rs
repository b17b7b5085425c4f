//! The core's vocabularies as the web view sees them: role, request purpose, request state,
//! approval right, call direction and import layout, each a string-literal union in
//! `ui/src/bindings/index.ts` (so `'data-controler'` fails the UI's type check).
//!
//! Each is a mirror of the core's enum with an exhaustive `From` (no wildcard arm): a variant added
//! in the core fails to compile here until it is carried across, and the tests below check that
//! every mirror serialises exactly as the core words it (`as_str`). Mirrors, rather than a `ts`
//! feature on callvault-core, keep the core free of anything that exists for the web view.

use serde::Serialize;
use ts_rs::TS;

use callvault_core::archive::journal::Direction as CoreDirection;
use callvault_core::policy::Abilities as CoreAbilities;
use callvault_core::requests::{Purpose as CorePurpose, Right as CoreRight, State as CoreState};
use callvault_core::session::ingest::Layout as CoreLayout;
use callvault_core::Role as CoreRole;

/// A role from the practice's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    Approver,
    DataController,
    Supervisor,
    Clinician,
    Staff,
    Ingest,
}

impl From<&CoreRole> for Role {
    fn from(r: &CoreRole) -> Self {
        match r {
            CoreRole::Admin => Role::Admin,
            CoreRole::Approver => Role::Approver,
            CoreRole::DataController => Role::DataController,
            CoreRole::Supervisor => Role::Supervisor,
            CoreRole::Clinician => Role::Clinician,
            CoreRole::Staff => Role::Staff,
            CoreRole::Ingest => Role::Ingest,
        }
    }
}

/// Roles as the web view gets them.
pub fn roles(rs: &[CoreRole]) -> Vec<Role> {
    rs.iter().map(Role::from).collect()
}

/// A valid purpose of an access request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    Complaint,
    MedicoLegal,
    StaffProtection,
    Training,
    Regulatory,
    Disciplinary,
    Sar,
    Police,
    Erasure,
    Portability,
}

impl From<CorePurpose> for Purpose {
    fn from(p: CorePurpose) -> Self {
        match p {
            CorePurpose::Complaint => Purpose::Complaint,
            CorePurpose::MedicoLegal => Purpose::MedicoLegal,
            CorePurpose::StaffProtection => Purpose::StaffProtection,
            CorePurpose::Training => Purpose::Training,
            CorePurpose::Regulatory => Purpose::Regulatory,
            CorePurpose::Disciplinary => Purpose::Disciplinary,
            CorePurpose::Sar => Purpose::Sar,
            CorePurpose::Police => Purpose::Police,
            CorePurpose::Erasure => Purpose::Erasure,
            CorePurpose::Portability => Purpose::Portability,
        }
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    Open,
    Approved,
    Rejected,
    Completed,
}

impl From<CoreState> for RequestState {
    fn from(s: CoreState) -> Self {
        match s {
            CoreState::Open => RequestState::Open,
            CoreState::Approved => RequestState::Approved,
            CoreState::Rejected => RequestState::Rejected,
            CoreState::Completed => RequestState::Completed,
        }
    }
}

/// What an approval allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    Listen,
    Export,
}

impl From<&CoreRight> for Right {
    fn from(r: &CoreRight) -> Self {
        match r {
            CoreRight::Listen => Right::Listen,
            CoreRight::Export => Right::Export,
        }
    }
}

/// The direction of a call as the practice sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl From<CoreDirection> for Direction {
    fn from(d: CoreDirection) -> Self {
        match d {
            CoreDirection::Inbound => Direction::Inbound,
            CoreDirection::Outbound => Direction::Outbound,
            CoreDirection::Internal => Direction::Internal,
        }
    }
}

/// How a phone system lays out its recordings (an import's `layout`): a name from the core's
/// registry of layouts (`ingest::layouts`). Its TypeScript union, and the app's list of layouts
/// with their descriptions (`LAYOUT_CHOICES`), are written from that registry ([`decls`]), so a
/// layout added in the core reaches the app with nothing written here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Layout(pub String);

impl From<CoreLayout> for Layout {
    fn from(l: CoreLayout) -> Self {
        Layout(l.as_str().to_string())
    }
}

/// `type Layout = "auto" | …;` and `const LAYOUT_CHOICES = […];`, from the core's registry.
fn layout_decls() -> Vec<String> {
    let q = |s: &str| serde_json::to_string(s).expect("a string");
    let names: Vec<String> = callvault_core::ingest::layouts::names()
        .into_iter()
        .map(q)
        .collect();
    let choices: Vec<String> = callvault_core::ingest::layouts::described()
        .into_iter()
        .map(|(id, label)| format!("  {{ id: {}, label: {} }},", q(id), q(label)))
        .collect();
    vec![
        format!("type Layout = {};", names.join(" | ")),
        format!(
            "const LAYOUT_CHOICES: {{ id: Layout, label: string }}[] = [\n{}\n];",
            choices.join("\n")
        ),
    ]
}

/// What the logged-on user may do (the core's `policy::Abilities`): the UI shows and hides by
/// these only, never by role names; the core decides every action again when it is asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, TS)]
pub struct Abilities {
    pub may_see_all_calls: bool,
    pub may_see_cases: bool,
    pub may_decide_requests: bool,
    pub may_handle_dc_cases: bool,
    pub may_redact: bool,
    pub may_follow_sars: bool,
    pub may_see_holds: bool,
    pub may_place_holds: bool,
    pub may_release_holds: bool,
    pub may_run_retention: bool,
    pub may_delete: bool,
    pub may_erase: bool,
    pub may_change_settings: bool,
    pub may_read_audit: bool,
    pub may_list_users: bool,
    pub may_manage_users: bool,
    pub may_import: bool,
    pub may_reimport_erased: bool,
    pub may_assign: bool,
    pub may_verify_archive: bool,
    /// Type the practice's recovery code (the data controller).
    pub may_use_recovery_key: bool,
    /// Check the archive against the phone system's call log.
    pub may_check_completeness: bool,
    /// Link a call to a patient's NHS number (the call page).
    pub may_link_patient: bool,
    /// Keep the do-not-record list (the data controller).
    pub may_keep_do_not_record: bool,
    /// See every staff breach report (supervisors, the data controller).
    pub may_see_all_breaches: bool,
    /// Assess and close breach reports (the data controller).
    pub may_assess_breaches: bool,
}

impl From<CoreAbilities> for Abilities {
    fn from(a: CoreAbilities) -> Self {
        // Destructured, so an ability added in the core fails to compile here until carried over.
        let CoreAbilities {
            may_see_all_calls,
            may_see_cases,
            may_decide_requests,
            may_handle_dc_cases,
            may_redact,
            may_follow_sars,
            may_see_holds,
            may_place_holds,
            may_release_holds,
            may_run_retention,
            may_delete,
            may_erase,
            may_change_settings,
            may_read_audit,
            may_list_users,
            may_manage_users,
            may_import,
            may_reimport_erased,
            may_assign,
            may_verify_archive,
            may_use_recovery_key,
            may_check_completeness,
            may_link_patient,
            may_keep_do_not_record,
            may_see_all_breaches,
            may_assess_breaches,
        } = a;
        Abilities {
            may_see_all_calls,
            may_see_cases,
            may_decide_requests,
            may_handle_dc_cases,
            may_redact,
            may_follow_sars,
            may_see_holds,
            may_place_holds,
            may_release_holds,
            may_run_retention,
            may_delete,
            may_erase,
            may_change_settings,
            may_read_audit,
            may_list_users,
            may_manage_users,
            may_import,
            may_reimport_erased,
            may_assign,
            may_verify_archive,
            may_use_recovery_key,
            may_check_completeness,
            may_link_patient,
            may_keep_do_not_record,
            may_see_all_breaches,
            may_assess_breaches,
        }
    }
}

/// The TypeScript of the vocabularies.
pub(crate) fn decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![
        Role::decl(cfg),
        Purpose::decl(cfg),
        RequestState::decl(cfg),
        Right::decl(cfg),
        Direction::decl(cfg),
        Abilities::decl(cfg),
        crate::error::ErrorCode::decl(cfg),
    ]
    .into_iter()
    .chain(layout_decls())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(v: impl Serialize) -> Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn every_mirror_travels_as_the_core_words_it() {
        for r in CoreRole::ALL {
            assert_eq!(json(Role::from(&r)), r.as_str());
            assert_eq!(json(Role::from(&r)), json(r), "the core's serde name too");
        }
        for p in CorePurpose::ALL {
            assert_eq!(json(Purpose::from(p)), p.as_str());
        }
        for s in ["open", "approved", "rejected", "completed"] {
            let st = CoreState::parse(s).unwrap();
            assert_eq!(json(RequestState::from(st)), st.as_str());
        }
        for r in [CoreRight::Listen, CoreRight::Export] {
            assert_eq!(json(Right::from(&r)), r.as_str());
        }
        for d in ["inbound", "outbound", "internal"] {
            let dir = CoreDirection::parse(d).unwrap();
            assert_eq!(json(Direction::from(dir)), dir.as_str());
        }
        for l in ["auto", "freepbx", "3cx", "oreka", "sidecar", "csv"] {
            let layout: CoreLayout = l.parse().unwrap();
            assert_eq!(json(Layout::from(layout)), layout.as_str());
        }
    }
}
