//! The TypeScript of every type that crosses the IPC boundary, as committed in
//! `ui/src/bindings/index.ts` and checked by `tests/bindings.rs`
//! (`UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings` rewrites it): the
//! vocabularies first ([`crate::vocab`], the error codes), then each feature's transport types.

use ts_rs::TS;

/// The declarations, in the committed file's order.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let cfg = &cfg;
    let decls = crate::vocab::decls(cfg).into_iter().chain([
        crate::error::ApiError::decl(cfg),
        crate::archive::AppStatus::decl(cfg),
        crate::archive::ShareLogin::decl(cfg),
        crate::archive::CreatedArchive::decl(cfg),
        crate::events::ProgressUpdate::decl(cfg),
        crate::logon::UserInfo::decl(cfg),
        crate::logon::DemoAccount::decl(cfg),
        crate::search::Search::decl(cfg),
        crate::search::Recording::decl(cfg),
        crate::search::Conversation::decl(cfg),
        crate::search::Leg::decl(cfg),
        crate::search::Peaks::decl(cfg),
        crate::player::Playing::decl(cfg),
        crate::player::PlayerUpdate::decl(cfg),
        crate::events::SessionEnded::decl(cfg),
        crate::requests::RequestInfo::decl(cfg),
        crate::requests::NewRequest::decl(cfg),
        crate::requests::ApprovalIn::decl(cfg),
        crate::export::RedactionIn::decl(cfg),
        crate::export::ExportIn::decl(cfg),
        crate::export::ExportInfo::decl(cfg),
        crate::retention::HoldInfo::decl(cfg),
        crate::retention::DueInfo::decl(cfg),
        crate::retention::Deleted::decl(cfg),
        crate::retention::CertificateInfo::decl(cfg),
        crate::audit::AuditQuery::decl(cfg),
        crate::audit::AuditRow::decl(cfg),
        crate::audit::AuditCheck::decl(cfg),
        crate::users::UserRow::decl(cfg),
        crate::users::NewUser::decl(cfg),
        crate::users::KeyRow::decl(cfg),
        crate::import::ImportFile::decl(cfg),
        crate::import::FileNote::decl(cfg),
        crate::import::ImportSummary::decl(cfg),
        crate::overview::DayTotal::decl(cfg),
        crate::overview::PurposeTotal::decl(cfg),
        crate::overview::RetentionInfo::decl(cfg),
        crate::overview::AwaitingKeyInfo::decl(cfg),
        crate::overview::OverviewInfo::decl(cfg),
        crate::settings::SettingInfo::decl(cfg),
        crate::settings::DnrEntryInfo::decl(cfg),
        crate::settings::DnrListInfo::decl(cfg),
        crate::breach::BreachInfo::decl(cfg),
        crate::requests::ConsentIn::decl(cfg),
        crate::requests::PatientLinkIn::decl(cfg),
        crate::archive::ArchiveCheck::decl(cfg),
        crate::completeness::CompletenessIn::decl(cfg),
        crate::completeness::FindingRow::decl(cfg),
        crate::completeness::CompletenessInfo::decl(cfg),
    ]);
    let mut out = String::from(
        "// Generated from the transport types in src-tauri/src/ by `UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings`.\n// Do not edit: tests/bindings.rs fails when this file and the Rust types disagree.\n",
    );
    for d in decls {
        out.push_str("\nexport ");
        out.push_str(&d);
        out.push('\n');
    }
    out
}

/// The core's abilities for every role and every pair of roles, as JSON keyed by the roles in
/// alphabetical order joined with commas ("approver,supervisor"): the UI's component tests build
/// their users from it (`ui/tests/harness.ts`), so they show what the core would allow, and a
/// change of the rulebook reaches them through `tests/bindings.rs`.
pub fn abilities_fixture() -> String {
    use callvault_core::Role;
    let mut sets: Vec<Vec<Role>> = Role::ALL.iter().map(|r| vec![*r]).collect();
    for (i, a) in Role::ALL.iter().enumerate() {
        for b in &Role::ALL[i + 1..] {
            sets.push(vec![*a, *b]);
        }
    }
    let mut map = std::collections::BTreeMap::new();
    for set in sets {
        let mut names: Vec<&str> = set.iter().map(|r| r.as_str()).collect();
        names.sort();
        let a: crate::vocab::Abilities = callvault_core::policy::abilities(&set).into();
        map.insert(names.join(","), a);
    }
    let mut out = serde_json::to_string_pretty(&map).expect("serialisable");
    out.push('\n');
    out
}
