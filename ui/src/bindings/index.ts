// Generated from the transport types in src-tauri/src/ by `UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings`.
// Do not edit: tests/bindings.rs fails when this file and the Rust types disagree.

export type Role = "admin" | "approver" | "data-controller" | "supervisor" | "clinician" | "staff" | "ingest";

export type Purpose = "complaint" | "medico-legal" | "staff-protection" | "training" | "regulatory" | "disciplinary" | "sar" | "police" | "erasure" | "portability";

export type RequestState = "open" | "approved" | "rejected" | "completed";

export type Right = "listen" | "export";

export type Direction = "inbound" | "outbound" | "internal";

export type Abilities = { may_see_all_calls: boolean, may_see_cases: boolean, may_decide_requests: boolean, may_handle_dc_cases: boolean, may_redact: boolean, may_follow_sars: boolean, may_see_holds: boolean, may_place_holds: boolean, may_release_holds: boolean, may_run_retention: boolean, may_delete: boolean, may_erase: boolean, may_change_settings: boolean, may_read_audit: boolean, may_list_users: boolean, may_manage_users: boolean, may_import: boolean, may_reimport_erased: boolean, may_assign: boolean, may_verify_archive: boolean, 
/**
 * Type the practice's recovery code (the data controller).
 */
may_use_recovery_key: boolean, 
/**
 * Check the archive against the phone system's call log.
 */
may_check_completeness: boolean, 
/**
 * Link a call to a patient's NHS number (the call page).
 */
may_link_patient: boolean, 
/**
 * Keep the do-not-record list (the data controller).
 */
may_keep_do_not_record: boolean, 
/**
 * See every staff breach report (supervisors, the data controller).
 */
may_see_all_breaches: boolean, 
/**
 * Assess and close breach reports (the data controller).
 */
may_assess_breaches: boolean, };

export type ErrorCode = "bad_logon" | "locked" | "forbidden" | "not_found" | "invalid" | "tampered" | "archive" | "io" | "version" | "index" | "audio" | "keychain" | "logged_off";

export type Layout = "auto" | "freepbx" | "3cx" | "oreka" | "sidecar" | "csv";

export const LAYOUT_CHOICES: { id: Layout, label: string }[] = [
  { id: "auto", label: "Work it out (recommended)" },
  { id: "freepbx", label: "FreePBX / Asterisk (year/month/day folders, names like in-…-….wav)" },
  { id: "3cx", label: "3CX (names like [Name]_101-07700…_2026….wav)" },
  { id: "oreka", label: "Oreka / OrecX (with its metadata export)" },
  { id: "sidecar", label: "Audio files each with a .json description beside them" },
  { id: "csv", label: "Audio files listed in a CSV manifest" },
];

export type ApiError = { code: ErrorCode, message: string, };

export type AppStatus = { demo: boolean, 
/**
 * The archive folder remembered on this device, if any.
 */
archive: string | null, 
/**
 * The logged-on user, if any.
 */
user: UserInfo | null, 
/**
 * Whether this system lets the app sign in to a network share itself (Windows); elsewhere
 * the share is connected in the file manager first.
 */
share_sign_in: boolean, };

export type ShareLogin = { user: string, password: string, remember: boolean, };

export type CreatedArchive = { folder: string, recovery_code: string, };

export type ProgressUpdate = { 
/**
 * What is running, e.g. "index" (catching up with the archive's journal at logon).
 */
task: string, done: number, total: number, };

export type UserInfo = { name: string, 
/**
 * Role names as the policy words them ("supervisor", "clinician", ...).
 */
roles: Array<Role>, 
/**
 * What the user may do: the screens and buttons shown follow these, never role names (the
 * core decides each action again).
 */
abilities: Abilities, 
/**
 * Minutes of inactivity before the app locks (the archive's `idle-lock-minutes`).
 */
idle_lock_minutes: number, 
/**
 * Things the core asks the user to be told (e.g. a damaged journal segment).
 */
warnings: Array<string>, };

export type DemoAccount = { name: string, password: string, who: string, roles: Array<Role>, };

export type Search = { 
/**
 * From this date or date-time (local time of the practice), inclusive.
 */
from: string | null, 
/**
 * Up to this date or date-time, inclusive.
 */
to: string | null, 
/**
 * External number; any punctuation.
 */
number: string | null, 
/**
 * Staff user name or extension.
 */
staff: string | null, 
/**
 * A party's name.
 */
party: string | null, 
/**
 * "inbound", "outbound" or "internal" (read leniently by the core, as typed in the CLI).
 */
direction: Direction | null, min_duration_s: number | null, max_duration_s: number | null, 
/**
 * Words in the notes.
 */
text: string | null, 
/**
 * Calls linked to this NHS number.
 */
nhs_number: string | null, 
/**
 * At most this many results (the core allows up to 100,000).
 */
limit: number | null, };

export type Recording = { id: string, started_at: string, direction: Direction, staff: string | null, extension: string | null, external_number: string | null, parties: Array<string>, duration_s: number, notes: string | null, codec: string, sample_rate: number, channels: number, source_name: string, 
/**
 * The patients' NHS numbers the call is linked to (ten digits each).
 */
nhs_numbers: Array<string>, 
/**
 * A consent mark, e.g. "caller objected; recording stopped at 01:12".
 */
consent: string | null, 
/**
 * The transferred or split call this is one leg of (the legs this user may see), or null.
 */
conversation: Conversation | null, };

export type Conversation = { 
/**
 * "phone-system" (the phone system's id, e.g. a FreePBX linkedid) or "number-and-time"
 * (the same number, one call following on from the other).
 */
joined_by: string, 
/**
 * This call's place among `legs`, from 1.
 */
leg: number, legs: Array<Leg>, };

export type Leg = { id: string, started_at: string, duration_s: number, staff: string | null, };

export type Peaks = { window_ms: number, peaks: Array<[number, number]>, };

export type Playing = { recording: string, 
/**
 * The request this listening was authorised under, if any.
 */
request: string | null, 
/**
 * Length of the audio, when the decoder knows it.
 */
duration_ms: number | null, speed: number, volume: number, 
/**
 * When a whole conversation plays: its legs in order (this recording among them) and where
 * each leg after the first begins, in ms (the markers on the timeline). Empty otherwise.
 */
legs: Array<string>, joins_ms: Array<number>, };

export type PlayerUpdate = { "type": "position", ms: number, } | { "type": "paused", ms: number, } | { "type": "resumed", ms: number, } | { "type": "ended" } | { "type": "stopped" } | { "type": "error", message: string, };

export type SessionEnded = { 
/**
 * "idle" (the idle lock) or "error".
 */
reason: string, };

export type RequestInfo = { id: string, purpose: Purpose, state: RequestState, raised_by: string | null, raised_at: string, reason: string, call_time: string | null, staff: string | null, number: string | null, 
/**
 * The patient's NHS number, ten digits.
 */
nhs_number: string | null, 
/**
 * Other numbers the patient uses.
 */
other_numbers: Array<string>, parties: Array<string>, info: string | null, received: string | null, identity: string | null, due_date: string | null, days_left: number | null, approved_by: string | null, approved_recordings: Array<string>, allow: Array<Right>, expires_at: string | null, rejected_by: string | null, rejection_reason: string | null, agreement_by: string | null, agreement: string | null, extensions: Array<string>, completed_by: string | null, ignored: Array<string>, candidates: Array<Recording>, 
/**
 * Is this purpose one of the data controller's cases (SAR, police, erasure, portability)?
 */
data_controller_case: boolean, 
/**
 * May this user decide it now (the core's answer: open and theirs to decide; not their own
 * unless it is a data controller's case)?
 */
may_decide: boolean, };

export type NewRequest = { 
/**
 * A purpose; empty while a draft is being typed (candidates only).
 */
purpose: Purpose | "", reason: string, 
/**
 * `YYYY-MM-DD`, or a date and time.
 */
call_time: string | null, staff: string | null, number: string | null, 
/**
 * Other numbers the patient uses (each finds their calls).
 */
other_numbers: Array<string>, 
/**
 * The patient's NHS number (the core checks its check digit).
 */
nhs_number: string | null, parties: Array<string>, info: string | null, 
/**
 * SAR: the date it was received in writing (`YYYY-MM-DD`; default today).
 */
received: string | null, 
/**
 * SAR: how the requester's identity was checked.
 */
identity: string | null, };

export type ApprovalIn = { recordings: Array<string>, 
/**
 * Days from now until the approval expires (1 to 365).
 */
expires_days: number, 
/**
 * "listen" and/or "export" (read by the core, which words any other right's refusal).
 */
allow: Array<Right>, };

export type RedactionIn = { recording: string, start_s: number, end_s: number, };

export type ExportIn = { request: string, 
/**
 * The folder chosen; the package is made inside it (a new folder, or a new .zip).
 */
folder: string, zip: boolean, redactions: Array<RedactionIn>, 
/**
 * Fill redacted ranges with a tone instead of silence.
 */
tone: boolean, };

export type ExportInfo = { request: string, destination: string, files: Array<string>, 
/**
 * The encrypted ZIP's passphrase: shown once, kept nowhere.
 */
passphrase: string | null, zip_sha256: string | null, redactions: number, };

export type HoldInfo = { hold: string, recordings: Array<string>, reason: string, request: string | null, by: string | null, at: string, released: string | null, };

export type DueInfo = { recording: string, call_date: string, rule: string, held_by: string | null, };

export type Deleted = { recording: string, call_date: string, deleted_at: string, reason: string, request: string | null, rule: string | null, };

export type CertificateInfo = { certificate: string, archive: string, 
/**
 * retention, deletion or erasure.
 */
kind: string, created_at: string, by_name: string, request: string | null, deleted: Array<Deleted>, audit_files: number, audit_sha256: string, 
/**
 * Journal segments the run could not open (they may still hold a deleted call's details;
 * the next retention run tries again).
 */
uncompacted: Array<string>, signature: string, };

export type AuditQuery = { user: string | null, recording: string | null, request: string | null, 
/**
 * `YYYY-MM-DD` or a time.
 */
from: string | null, to: string | null, 
/**
 * Only the searches made for this number, name or words.
 */
searched_for: string | null, };

export type AuditRow = { at: string, device: string, 
/**
 * The user's name (or id if unknown), none for the system.
 */
actor: string | null, action: string, 
/**
 * allowed or refused.
 */
outcome: string, targets: Array<string>, detail: string | null, request: string | null, };

export type AuditCheck = { ok: boolean, devices: number, files: number, entries: number, problems: Array<string>, };

export type UserRow = { name: string, roles: Array<Role>, telephony_ids: Array<string>, disabled: boolean, };

export type NewUser = { name: string, 
/**
 * Role names (read by the core, which words the refusal of a name it does not know).
 */
roles: Array<Role>, telephony_ids: Array<string>, password: string, };

export type KeyRow = { 
/**
 * `custodian` (the call key), `metadata`, `audit` or `admin`: what `rotate_key` takes.
 */
key: string, 
/**
 * The key in words.
 */
what: string, epoch: number, may_rotate: boolean, 
/**
 * Who held it and left with no new key made since (user names).
 */
leavers: Array<string>, };

export type ImportFile = { file: string, layout: Layout, started_at: string, local_time: string | null, direction: Direction, direction_assumed: boolean, external_number: string | null, extension: string | null, staff: string | null, mapped_user: string | null, parties: Array<string>, audio: string | null, size: number, remarks: Array<string>, outcome: string | null, };

export type FileNote = { file: string, note: string, };

export type ImportSummary = { layout: Layout, tz: string, dry_run: boolean, imported: Array<FileNote>, duplicates: Array<FileNote>, rejected: Array<FileNote>, unassigned: number, 
/**
 * Calls not kept: their number or extension is on the do-not-record list (a count only).
 */
not_kept: number, 
/**
 * Versions of the do-not-record list not believed (their calls were kept).
 */
warnings: Array<string>, understood: Array<ImportFile>, };

export type DayTotal = { day: string, count: number, };

export type PurposeTotal = { 
/**
 * The purpose as the core names it (the core's overview counts by name).
 */
purpose: Purpose, count: number, };

export type RetentionInfo = { months: number, due_now: number, held: number, due_within_30_days: number, };

export type AwaitingKeyInfo = { recording: string, started_at: string, external_number: string | null, assigned_to: string, assigned_by: string, assigned_at: string, };

export type OverviewInfo = { awaiting_decision: Array<RequestInfo>, my_requests: Array<RequestInfo>, sar_cases: Array<RequestInfo>, holds: Array<HoldInfo> | null, retention: RetentionInfo | null, recent_imports: Array<DayTotal> | null, calls_per_day: Array<DayTotal>, requests_by_purpose: Array<PurposeTotal>, awaiting_keys: Array<AwaitingKeyInfo>, 
/**
 * Breach reports not yet closed that this user may see.
 */
breaches: Array<BreachInfo>, };

export type SettingInfo = { key: string, value: string, meaning: string, };

export type DnrEntryInfo = { id: string, 
/**
 * "number" or "extension".
 */
kind: string, label: string, added_by: string, added_at: string, };

export type DnrListInfo = { entries: Array<DnrEntryInfo>, 
/**
 * Versions on the share not believed (their calls are kept), named with why.
 */
problems: Array<string>, };

export type BreachInfo = { id: string, reporter: string, own: boolean, what: string, happened_at: string | null, calls: Array<string>, reported_at: string, 
/**
 * When the data controller's ICO decision is due (72 hours after the report).
 */
due: string | null, overdue: boolean, 
/**
 * "received", "assessed" or "closed".
 */
state: string, reportable: boolean | null, assessment: string | null, assessed_by: string | null, assessed_at: string | null, closed_at: string | null, note: string | null, };

export type ConsentIn = { recording: string, 
/**
 * caller_objected or not_recorded.
 */
kind: string, 
/**
 * Where the recording stopped, `mm:ss` (caller objected).
 */
stopped_at: string | null, note: string | null, };

export type PatientLinkIn = { recording: string, 
/**
 * As typed: spaces and hyphens allowed (the core checks the check digit).
 */
nhs_number: string, 
/**
 * Take the link back.
 */
unlink: boolean, };

export type ArchiveCheck = { ok: boolean, objects_checked: number, recordings_checked: number, recordings_decrypted: number, 
/**
 * Audio objects no journal entry refers to (e.g. left by an interrupted import): not trusted.
 */
unreferenced: number, 
/**
 * Older generations of compacted journal segments (an interrupted erasure): removed next run.
 */
superseded: number, problems: Array<string>, };

export type CompletenessIn = { 
/**
 * The call log file (CSV) chosen in the system dialog.
 */
cdr: string, 
/**
 * freepbx, 3cx or csv; null: the one its header fits.
 */
layout: string | null, 
/**
 * YYYY-MM-DD or YYYY-MM-DDTHH:MM; null: the log's own range.
 */
from: string | null, to: string | null, 
/**
 * Hear the stored waveforms for silence (with the call key).
 */
sound: boolean, };

export type FindingRow = { 
/**
 * missing, short, one-sided, silent or no-cdr.
 */
kind: string, recording: string | null, at: string, detail: string, 
/**
 * The call in the log: its id (FreePBX's uniqueid), line, numbers and talk time.
 */
call_id: string | null, call_line: number | null, call_from: string | null, call_to: string | null, call_talk_s: number | null, call_answered: boolean | null, };

export type CompletenessInfo = { 
/**
 * The call log's file name.
 */
cdr: string, layout: string, from: string, to: string, 
/**
 * The first and last call of the whole log.
 */
log_first: string, log_last: string, 
/**
 * What the log does not cover of the range asked for, in words.
 */
coverage_note: string | null, log_rows: number, log_calls: number, answered: number, recordings: number, matched: number, missing: number, short: number, one_sided: number, silent: number, no_cdr: number, findings: Array<FindingRow>, sound_checked: number, sound_unchecked: number, sound_note: string | null, 
/**
 * Waveforms that failed their checks, each naming its recording.
 */
sound_problems: Array<string>, };
