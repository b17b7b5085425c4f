//! Transport types of the workflow screens (requests, approvals, data-controller cases, exports,
//! retention and holds, audit, users, import, overview). As in [`crate::dto`], each mirrors a core
//! type field by field (destructured), dates travel as `YYYY-MM-DD` strings and times as RFC 3339.

use crate::dto::{role_name, Recording};
use callvault_core::audit::AuditEntry;
use callvault_core::export::ExportReport;
use callvault_core::ingest::layout::Understood;
use callvault_core::requests::{Purpose, RequestDetails};
use callvault_core::retention::certificate::Certificate;
use callvault_core::retention::{Due, HoldView, Tombstone};
use callvault_core::session::ingest::LayoutImportReport;
use callvault_core::session::overview::{DayCount, Overview, PurposeCount, RetentionOutlook};
use callvault_core::session::{RequestView, UserSummary};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

fn date(d: Option<chrono::NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// A request as the app shows it (with its candidate calls when shown alone).
#[derive(Clone, Debug, Serialize, TS)]
pub struct RequestInfo {
    pub id: String,
    /// complaint, medico-legal, staff-protection, training, regulatory, disciplinary, sar,
    /// police, erasure, portability.
    pub purpose: String,
    /// open, approved, rejected, completed.
    pub state: String,
    pub raised_by: Option<String>,
    pub raised_at: String,
    pub reason: String,
    pub call_time: Option<String>,
    pub staff: Option<String>,
    pub number: Option<String>,
    pub parties: Vec<String>,
    pub info: Option<String>,
    pub received: Option<String>,
    pub identity: Option<String>,
    pub due_date: Option<String>,
    pub days_left: Option<i32>,
    pub approved_by: Option<String>,
    pub approved_recordings: Vec<String>,
    pub allow: Vec<String>,
    pub expires_at: Option<String>,
    pub rejected_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub agreement_by: Option<String>,
    pub agreement: Option<String>,
    pub extensions: Vec<String>,
    pub completed_by: Option<String>,
    pub ignored: Vec<String>,
    pub candidates: Vec<Recording>,
    /// Is this purpose one of the data controller's cases (SAR, police, erasure, portability)?
    pub data_controller_case: bool,
    /// May this user decide it now (the core's answer: open and theirs to decide; not their own
    /// unless it is a data controller's case)?
    pub may_decide: bool,
}

impl From<RequestView> for RequestInfo {
    fn from(v: RequestView) -> Self {
        let RequestView {
            id,
            purpose,
            state,
            raised_by,
            raised_at,
            reason,
            call_time,
            staff,
            number,
            parties,
            info,
            received,
            identity,
            due_date,
            days_left,
            approved_by,
            approved_recordings,
            allow,
            expires_at,
            rejected_by,
            rejection_reason,
            agreement_by,
            agreement,
            extensions,
            completed_by,
            ignored,
            candidates,
            may_decide,
        } = v;
        RequestInfo {
            id,
            purpose: purpose.as_str().to_string(),
            state: state.as_str().to_string(),
            raised_by,
            raised_at,
            reason,
            call_time,
            staff,
            number,
            parties,
            info,
            received: date(received),
            identity,
            due_date: date(due_date),
            days_left: days_left.map(|d| d.clamp(-99_999, 99_999) as i32),
            approved_by,
            approved_recordings,
            allow: allow.iter().map(|r| r.as_str().to_string()).collect(),
            expires_at,
            rejected_by,
            rejection_reason,
            agreement_by,
            agreement,
            extensions,
            completed_by,
            ignored,
            candidates: candidates.into_iter().map(Recording::from).collect(),
            data_controller_case: purpose.is_data_controller_case(),
            may_decide,
        }
    }
}

/// The policy's fields of a new request, as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct NewRequest {
    pub purpose: String,
    pub reason: String,
    /// `YYYY-MM-DD`, or a date and time.
    pub call_time: Option<String>,
    pub staff: Option<String>,
    pub number: Option<String>,
    pub parties: Vec<String>,
    pub info: Option<String>,
    /// SAR: the date it was received in writing (`YYYY-MM-DD`; default today).
    pub received: Option<String>,
    /// SAR: how the requester's identity was checked.
    pub identity: Option<String>,
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl NewRequest {
    /// The core's details; `draft` leaves the purpose optional (candidates while typing).
    pub fn details(self, draft: bool) -> callvault_core::Result<RequestDetails> {
        let NewRequest {
            purpose,
            reason,
            call_time,
            staff,
            number,
            parties,
            info,
            received,
            identity,
        } = self;
        let purpose = match (purpose.trim(), draft) {
            ("", true) => None,
            (p, _) => Some(Purpose::parse(p)?),
        };
        let received = match text(received) {
            None => None,
            Some(r) => Some(
                chrono::NaiveDate::parse_from_str(&r, "%Y-%m-%d").map_err(|_| {
                    callvault_core::Error::Invalid(format!("date received '{r}': use YYYY-MM-DD"))
                })?,
            ),
        };
        Ok(RequestDetails {
            purpose,
            reason: reason.trim().to_string(),
            call_time: text(call_time),
            staff: text(staff),
            number: text(number),
            parties: parties
                .into_iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            info: text(info),
            received,
            identity: text(identity),
        })
    }
}

/// An approval as the approver gives it.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct ApprovalIn {
    pub recordings: Vec<String>,
    /// Days from now until the approval expires (1 to 365).
    pub expires_days: u32,
    /// "listen" and/or "export".
    pub allow: Vec<String>,
}

/// A redaction of a range of one recording (data controller), in seconds.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct RedactionIn {
    pub recording: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// How to export an approved request.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct ExportIn {
    pub request: String,
    /// The folder chosen; the package is made inside it (a new folder, or a new .zip).
    pub folder: String,
    pub zip: bool,
    pub redactions: Vec<RedactionIn>,
    /// Fill redacted ranges with a tone instead of silence.
    pub tone: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct ExportInfo {
    pub request: String,
    pub destination: String,
    pub files: Vec<String>,
    /// The encrypted ZIP's passphrase: shown once, kept nowhere.
    pub passphrase: Option<String>,
    pub zip_sha256: Option<String>,
    pub redactions: u32,
}

impl From<ExportReport> for ExportInfo {
    fn from(r: ExportReport) -> Self {
        let ExportReport {
            request,
            destination,
            files,
            passphrase,
            zip_sha256,
            redactions,
        } = r;
        ExportInfo {
            request,
            destination,
            files: files.into_iter().map(|f| f.name).collect(),
            passphrase,
            zip_sha256,
            redactions: redactions.len() as u32,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct HoldInfo {
    pub hold: String,
    pub recordings: Vec<String>,
    pub reason: String,
    pub request: Option<String>,
    pub by: Option<String>,
    pub at: String,
    pub released: Option<String>,
}

impl From<HoldView> for HoldInfo {
    fn from(h: HoldView) -> Self {
        let HoldView {
            hold,
            recordings,
            reason,
            request,
            by,
            at,
            released,
        } = h;
        HoldInfo {
            hold,
            recordings,
            reason,
            request,
            by,
            at,
            released,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct DueInfo {
    pub recording: String,
    pub call_date: String,
    pub rule: String,
    pub held_by: Option<String>,
}

impl From<Due> for DueInfo {
    fn from(d: Due) -> Self {
        let Due {
            recording,
            call_date,
            rule,
            held_by,
        } = d;
        DueInfo {
            recording,
            call_date: call_date.to_string(),
            rule,
            held_by,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct Deleted {
    pub recording: String,
    pub call_date: String,
    pub deleted_at: String,
    pub reason: String,
    pub request: Option<String>,
    pub rule: Option<String>,
}

impl From<Tombstone> for Deleted {
    fn from(t: Tombstone) -> Self {
        let Tombstone {
            recording,
            call_date,
            deleted_at,
            by: _,
            reason,
            request,
            rule,
            dedup: _,
            run: _,
        } = t;
        Deleted {
            recording,
            call_date: call_date.to_string(),
            deleted_at,
            reason,
            request,
            rule,
        }
    }
}

/// A deletion certificate, as shown (the signed original is saved as JSON and HTML).
#[derive(Clone, Debug, Serialize, TS)]
pub struct CertificateInfo {
    pub certificate: String,
    pub archive: String,
    /// retention, deletion or erasure.
    pub kind: String,
    pub created_at: String,
    pub by_name: String,
    pub request: Option<String>,
    pub deleted: Vec<Deleted>,
    pub audit_files: u32,
    pub audit_sha256: String,
    pub signature: String,
}

impl From<Certificate> for CertificateInfo {
    fn from(c: Certificate) -> Self {
        let Certificate {
            certificate,
            archive,
            kind,
            created_at,
            by: _,
            by_name,
            request,
            tombstones,
            audit_files,
            audit_sha256,
            signature,
        } = c;
        CertificateInfo {
            certificate,
            archive,
            kind,
            created_at,
            by_name,
            request,
            deleted: tombstones.into_iter().map(Deleted::from).collect(),
            audit_files: audit_files.len() as u32,
            audit_sha256,
            signature,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, TS)]
#[serde(default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub recording: Option<String>,
    pub request: Option<String>,
    /// `YYYY-MM-DD` or a time.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<AuditQuery> for callvault_core::session::AuditFilter {
    fn from(q: AuditQuery) -> Self {
        let AuditQuery {
            user,
            recording,
            request,
            from,
            to,
        } = q;
        callvault_core::session::AuditFilter {
            user: text(user),
            recording: text(recording),
            request: text(request),
            from: text(from),
            to: text(to),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct AuditRow {
    pub at: String,
    pub device: String,
    /// The user's name (or id if unknown), none for the system.
    pub actor: Option<String>,
    pub action: String,
    /// allowed or refused.
    pub outcome: String,
    pub targets: Vec<String>,
    pub detail: Option<String>,
    pub request: Option<String>,
}

impl AuditRow {
    pub fn new(e: AuditEntry, name_of: &dyn Fn(&str) -> Option<String>) -> Self {
        let AuditEntry {
            at,
            device,
            actor,
            action,
            outcome,
            targets,
            detail,
            request,
            witness: _,
        } = e;
        AuditRow {
            at,
            device,
            actor: actor.map(|a| name_of(&a).unwrap_or(a)),
            action,
            outcome,
            targets,
            detail,
            request,
        }
    }
}

/// The result of verifying the audit trail's chains.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AuditCheck {
    pub ok: bool,
    pub devices: u32,
    pub files: u32,
    pub entries: u32,
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct UserRow {
    pub name: String,
    pub roles: Vec<String>,
    pub telephony_ids: Vec<String>,
    pub disabled: bool,
}

impl From<UserSummary> for UserRow {
    fn from(u: UserSummary) -> Self {
        let UserSummary {
            name,
            roles,
            telephony_ids,
            disabled,
            uid: _,
            public_key: _,
            signing_key: _,
        } = u;
        UserRow {
            name,
            roles: roles.iter().map(role_name).collect(),
            telephony_ids,
            disabled,
        }
    }
}

#[derive(Clone, Deserialize, TS)]
pub struct NewUser {
    pub name: String,
    pub roles: Vec<String>,
    pub telephony_ids: Vec<String>,
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// How one file of an import folder was understood (dry run), or what happened to it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportFile {
    pub file: String,
    pub layout: String,
    pub started_at: String,
    pub local_time: Option<String>,
    pub direction: String,
    pub direction_assumed: bool,
    pub external_number: Option<String>,
    pub extension: Option<String>,
    pub staff: Option<String>,
    pub mapped_user: Option<String>,
    pub parties: Vec<String>,
    pub audio: Option<String>,
    pub size: u64,
    pub remarks: Vec<String>,
    pub outcome: Option<String>,
}

impl From<Understood> for ImportFile {
    fn from(u: Understood) -> Self {
        let Understood {
            file,
            layout,
            local_time,
            tz: _,
            started_at,
            dst: _,
            direction,
            direction_assumed,
            from: _,
            to: _,
            external_number,
            extension,
            staff,
            parties,
            notes: _,
            format_hint: _,
            metadata: _,
            remarks,
            size,
            mapped_user,
            party_users: _,
            audio,
            outcome,
        } = u;
        ImportFile {
            file,
            layout: layout.as_str().to_string(),
            started_at,
            local_time,
            direction: direction.as_str().to_string(),
            direction_assumed,
            external_number,
            extension,
            staff,
            mapped_user,
            parties,
            audio,
            size,
            remarks,
            outcome,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct FileNote {
    pub file: String,
    pub note: String,
}

/// What an import did (or, dry run, would do).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportSummary {
    pub layout: String,
    pub tz: String,
    pub dry_run: bool,
    pub imported: Vec<FileNote>,
    pub duplicates: Vec<FileNote>,
    pub rejected: Vec<FileNote>,
    pub unassigned: u32,
    pub understood: Vec<ImportFile>,
}

impl From<LayoutImportReport> for ImportSummary {
    fn from(r: LayoutImportReport) -> Self {
        let LayoutImportReport {
            layout,
            tz,
            dry_run,
            report,
            unassigned,
            unassigned_files: _,
            understood,
        } = r;
        ImportSummary {
            layout: layout.as_str().to_string(),
            tz,
            dry_run,
            imported: report
                .imported
                .into_iter()
                .map(|i| FileNote {
                    file: i.file,
                    note: i.id,
                })
                .collect(),
            duplicates: report
                .duplicates
                .into_iter()
                .map(|d| FileNote {
                    file: d.file,
                    note: format!("already stored as {}", d.existing_id),
                })
                .collect(),
            rejected: report
                .rejected
                .into_iter()
                .map(|d| FileNote {
                    file: d.file,
                    note: d.reason,
                })
                .collect(),
            unassigned: unassigned as u32,
            understood: understood.into_iter().map(ImportFile::from).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct DayTotal {
    pub day: String,
    pub count: u32,
}

impl From<DayCount> for DayTotal {
    fn from(d: DayCount) -> Self {
        let DayCount { day, count } = d;
        DayTotal {
            day: day.to_string(),
            count,
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct PurposeTotal {
    pub purpose: String,
    pub count: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct RetentionInfo {
    pub months: u32,
    pub due_now: u32,
    pub held: u32,
    pub due_within_30_days: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct OverviewInfo {
    pub awaiting_decision: Vec<RequestInfo>,
    pub my_requests: Vec<RequestInfo>,
    pub sar_cases: Vec<RequestInfo>,
    pub holds: Option<Vec<HoldInfo>>,
    pub retention: Option<RetentionInfo>,
    pub recent_imports: Option<Vec<DayTotal>>,
    pub calls_per_day: Vec<DayTotal>,
    pub requests_by_purpose: Vec<PurposeTotal>,
}

impl From<Overview> for OverviewInfo {
    fn from(o: Overview) -> Self {
        let Overview {
            awaiting_decision,
            my_requests,
            sar_cases,
            holds,
            retention,
            recent_imports,
            calls_per_day,
            requests_by_purpose,
        } = o;
        OverviewInfo {
            awaiting_decision: awaiting_decision.into_iter().map(Into::into).collect(),
            my_requests: my_requests.into_iter().map(Into::into).collect(),
            sar_cases: sar_cases.into_iter().map(Into::into).collect(),
            holds: holds.map(|h| h.into_iter().map(Into::into).collect()),
            retention: retention.map(|r| {
                let RetentionOutlook {
                    months,
                    due_now,
                    held,
                    due_within_30_days,
                } = r;
                RetentionInfo {
                    months,
                    due_now,
                    held,
                    due_within_30_days,
                }
            }),
            recent_imports: recent_imports.map(|v| v.into_iter().map(Into::into).collect()),
            calls_per_day: calls_per_day.into_iter().map(Into::into).collect(),
            requests_by_purpose: requests_by_purpose
                .into_iter()
                .map(|p| {
                    let PurposeCount { purpose, count } = p;
                    PurposeTotal { purpose, count }
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, TS)]
pub struct SettingInfo {
    pub key: String,
    pub value: String,
    pub meaning: String,
}

/// A consent mark as the staff member or a supervisor gives it.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
pub struct ConsentIn {
    pub recording: String,
    /// caller_objected or not_recorded.
    pub kind: String,
    /// Where the recording stopped, `mm:ss` (caller objected).
    pub stopped_at: Option<String>,
    pub note: Option<String>,
}

/// The result of reading and authenticating every object of the archive.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ArchiveCheck {
    pub ok: bool,
    pub objects_checked: u32,
    pub recordings_checked: u32,
    pub recordings_decrypted: u32,
    /// Audio objects no journal entry refers to (e.g. left by an interrupted import): not trusted.
    pub unreferenced: u32,
    /// Older generations of compacted journal segments (an interrupted erasure): removed next run.
    pub superseded: u32,
    pub problems: Vec<String>,
}

impl From<callvault_core::session::VerifyReport> for ArchiveCheck {
    fn from(r: callvault_core::session::VerifyReport) -> Self {
        let callvault_core::session::VerifyReport {
            objects_checked,
            recordings_checked,
            recordings_decrypted,
            unreferenced,
            superseded,
            problems,
        } = r;
        ArchiveCheck {
            ok: problems.is_empty(),
            objects_checked: objects_checked as u32,
            recordings_checked: recordings_checked as u32,
            recordings_decrypted: recordings_decrypted as u32,
            unreferenced: unreferenced.len() as u32,
            superseded: superseded.len() as u32,
            problems: problems
                .into_iter()
                .map(|p| format!("{}: {}", p.object, p.reason))
                .collect(),
        }
    }
}

/// The TypeScript of the types above (appended to [`crate::dto::typescript`]'s).
pub fn decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![
        RequestInfo::decl(cfg),
        NewRequest::decl(cfg),
        ApprovalIn::decl(cfg),
        RedactionIn::decl(cfg),
        ExportIn::decl(cfg),
        ExportInfo::decl(cfg),
        HoldInfo::decl(cfg),
        DueInfo::decl(cfg),
        Deleted::decl(cfg),
        CertificateInfo::decl(cfg),
        AuditQuery::decl(cfg),
        AuditRow::decl(cfg),
        AuditCheck::decl(cfg),
        UserRow::decl(cfg),
        NewUser::decl(cfg),
        ImportFile::decl(cfg),
        FileNote::decl(cfg),
        ImportSummary::decl(cfg),
        DayTotal::decl(cfg),
        PurposeTotal::decl(cfg),
        RetentionInfo::decl(cfg),
        OverviewInfo::decl(cfg),
        SettingInfo::decl(cfg),
        ConsentIn::decl(cfg),
        ArchiveCheck::decl(cfg),
    ]
}
