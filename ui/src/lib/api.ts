// Typed wrappers over the app's IPC commands. Every payload type comes from the generated
// bindings (src/bindings/index.ts, made from the Rust types); errors arrive as ApiError.
import { invoke as tauriInvoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  ApiError,
  ApprovalIn,
  ArchiveCheck,
  AuditCheck,
  AuditQuery,
  AuditRow,
  CertificateInfo,
  CompletenessIn,
  CompletenessInfo,
  ConsentIn,
  CreatedArchive,
  DueInfo,
  ErrorCode,
  ExportIn,
  ExportInfo,
  HoldInfo,
  ImportSummary,
  KeyRow,
  Layout,
  NewRequest,
  NewUser,
  OverviewInfo,
  PatientLinkIn,
  Purpose,
  RequestInfo,
  RequestState,
  Role,
  SettingInfo,
  DnrListInfo,
  BreachInfo,
  UserRow,
  AppStatus,
  DemoAccount,
  Peaks,
  PlayerUpdate,
  Playing,
  ProgressUpdate,
  Recording,
  Search,
  SessionEnded,
  ShareLogin,
  UserInfo,
} from '../bindings';

export type * from '../bindings';

/** A failure as the screens see it: the app's ApiError (its code one of the core's), or with
 * code 'internal' anything else thrown (e.g. Tauri's own refusal of a call, which is a string). */
export type UiError = { code: ErrorCode | 'internal'; message: string };

/** An ApiError, or anything else thrown, as a UiError. */
export function asApiError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return e as ApiError;
  }
  return { code: 'internal', message: String(e) };
}

/** Sent on `window` when the core says nobody is logged on any more (e.g. the account was
 * disabled on another computer): the app goes back to the logon screen. */
export const LOGGED_OFF_EVENT = 'callvault:logged-off';

async function invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await tauriInvoke<T>(cmd, args);
  } catch (e) {
    const err = asApiError(e);
    if (err.code === 'logged_off' && cmd !== 'logon') {
      window.dispatchEvent(new CustomEvent(LOGGED_OFF_EVENT, { detail: err.message }));
    }
    throw e;
  }
}

export const api = {
  appStatus: () => invoke<AppStatus>('app_status'),
  openArchive: (path: string, login: ShareLogin | null = null) =>
    invoke<string>('open_archive', { path, login }),
  forgetShareLogin: () => invoke<void>('forget_share_login'),
  demoInfo: () => invoke<DemoAccount[]>('demo_info'),
  logon: (user: string, password: string) => invoke<UserInfo>('logon', { user, password }),
  logout: () => invoke<void>('logout'),
  lock: () => invoke<void>('lock'),
  touch: () => invoke<void>('touch'),
  search: (query: Search) => invoke<Recording[]>('search', { query }),
  searchFilters: () => invoke<Search | null>('search_filters'),
  saveSearchFilters: (query: Search | null) => invoke<void>('save_search_filters', { query }),
  show: (id: string) => invoke<Recording>('show', { id }),
  waveform: (id: string) => invoke<Peaks>('waveform', { id }),
  play: (id: string, request: string | null, reason: string | null, wholeConversation = false) =>
    invoke<Playing>('play', { id, request, reason, wholeConversation }),
  pause: () => invoke<void>('pause'),
  resume: () => invoke<void>('resume'),
  seek: (ms: number) => invoke<void>('seek', { ms: Math.max(0, Math.round(ms)) }),
  skip: (seconds: number) => invoke<void>('skip', { seconds }),
  setSpeed: (speed: number) => invoke<void>('set_speed', { speed }),
  setVolume: (volume: number) => invoke<void>('set_volume', { volume }),
  stop: () => invoke<void>('stop'),

  // Workflow (src-tauri/src/{overview,requests,export,retention,settings,audit,users,import}.rs).
  // Every rule is the core's; these only carry the calls.
  overview: () => invoke<OverviewInfo>('overview'),
  /** filter: null for all, or one state. */
  requests: (filter: RequestState | null = null) => invoke<RequestInfo[]>('requests', { filter }),
  request: (id: string) => invoke<RequestInfo>('request', { id }),
  requestCandidates: (details: NewRequest) => invoke<Recording[]>('request_candidates', { details }),
  /** Your approved requests that let you listen to or export this call now (the core decides). */
  approvalsFor: (id: string) => invoke<RequestInfo[]>('approvals_for', { id }),
  raiseRequest: (details: NewRequest) => invoke<string>('raise_request', { details }),
  approveRequest: (id: string, approval: ApprovalIn) => invoke<void>('approve_request', { id, approval }),
  rejectRequest: (id: string, reason: string) => invoke<void>('reject_request', { id, reason }),
  /** scan: a file path chosen in the system dialog, or null. */
  agreeRequest: (id: string, text: string, scan: string | null) =>
    invoke<void>('agree_request', { id, text, scan }),
  /** Returns the new due date (YYYY-MM-DD). */
  extendRequest: (id: string, days: number, reason: string) =>
    invoke<string>('extend_request', { id, days, reason }),
  completeRequest: (id: string, note: string | null) => invoke<void>('complete_request', { id, note }),
  markConsent: (mark: ConsentIn) => invoke<void>('mark_consent', { mark }),
  linkPatient: (link: PatientLinkIn) => invoke<void>('link_patient', { link }),
  /** Progress arrives as `progress` events with task "export". */
  exportRequest: (exp: ExportIn) => invoke<ExportInfo>('export_request', { export: exp }),
  holds: () => invoke<HoldInfo[]>('holds'),
  addHold: (recordings: string[], reason: string, request: string | null) =>
    invoke<string>('add_hold', { recordings, reason, request }),
  releaseHold: (hold: string, reason: string) => invoke<void>('release_hold', { hold, reason }),
  retentionDue: () => invoke<DueInfo[]>('retention_due'),
  retentionRun: () => invoke<CertificateInfo | null>('retention_run'),
  deleteRecordings: (recordings: string[], reason: string) =>
    invoke<CertificateInfo>('delete_recordings', { recordings, reason }),
  eraseRequest: (id: string) => invoke<CertificateInfo>('erase_request', { id }),
  /** Writes the certificate's JSON and HTML into the folder; returns the two paths. */
  saveCertificate: (certificate: string, folder: string) =>
    invoke<string[]>('save_certificate', { certificate, folder }),
  settings: () => invoke<SettingInfo[]>('settings'),
  setSetting: (key: string, value: string) => invoke<void>('set_setting', { key, value }),
  dnrList: () => invoke<DnrListInfo>('dnr_list'),
  dnrAdd: (value: string, extension: boolean, label: string) =>
    invoke<string>('dnr_add', { value, extension, label }),
  dnrRemove: (id: string) => invoke<string>('dnr_remove', { id }),
  breaches: () => invoke<BreachInfo[]>('breaches'),
  reportBreach: (what: string, when: string | null, calls: string[]) =>
    invoke<string>('report_breach', { what, when, calls }),
  assessBreach: (id: string, reportable: boolean, reason: string) =>
    invoke<void>('assess_breach', { id, reportable, reason }),
  closeBreach: (id: string, note: string) => invoke<void>('close_breach', { id, note }),
  audit: (filter: AuditQuery) => invoke<AuditRow[]>('audit', { filter }),
  verifyAudit: () => invoke<AuditCheck>('verify_audit'),
  /** Returns how many entries were written. */
  exportAuditCsv: (filter: AuditQuery, file: string) =>
    invoke<number>('export_audit_csv', { filter, file }),
  users: () => invoke<UserRow[]>('users'),
  addUser: (user: NewUser) => invoke<void>('add_user', { user }),
  /** Both return what the change did besides, as sentences to show: the keys rotated before
   *  someone lost them, and what is left for a later logon. */
  setRoles: (name: string, roles: Role[]) => invoke<string[]>('set_roles', { name, roles }),
  updateUser: (name: string, telephonyIds: string[] | null, disabled: boolean | null) =>
    invoke<string[]>('update_user', { name, telephonyIds, disabled }),
  /** The rotating archive keys this user holds: each one's epoch and who left it unanswered. */
  keyStates: () => invoke<KeyRow[]>('key_states'),
  /** Make a key's next epoch by hand; returns what was done, in words. */
  rotateKey: (key: string) => invoke<string>('rotate_key', { key }),
  /** recoveryCode: the practice's recovery code, needed for a supervisor, an approver, a data controller or an admin (typed by
   *  the data controller). True when done; false when prepared, for an admin's next logon. */
  resetPassword: (name: string, password: string, recoveryCode: string | null = null) =>
    invoke<boolean>('reset_password', { name, password, recoveryCode }),
  recoveryKeyExists: () => invoke<boolean>('recovery_key_exists'),
  /** The data controller, for an archive made before the recovery key: its code, shown once. */
  createRecoveryKey: () => invoke<string>('create_recovery_key'),
  /** How many stored calls are still locked to an older call key (after a holder left). */
  rewrapPending: () => invoke<number>('rewrap_pending'),
  /** Re-wrap every stored call to the newest call key (a holder); a summary of what was done. */
  rewrapCalls: () => invoke<string>('rewrap_calls'),
  assignRecording: (id: string, user: string) => invoke<void>('assign_recording', { id, user }),
  /** An approver's or the data controller's decision; returns the user name it reached.
   *  assignedTo, assignedAt: the assignment as the approver saw it: refused if it changed since. */
  deliverAssignedKey: (id: string, assignedTo: string, assignedAt: string) =>
    invoke<string>('deliver_assigned_key', { id, assignedTo, assignedAt }),
  /** layout: null for auto. Progress: `progress` events, task "import". */
  importFolder: (folder: string, layout: Layout | null, dryRun: boolean, allowErased = false) =>
    invoke<ImportSummary>('import_folder', { folder, layout, dryRun, allowErased }),
  /** A new archive in an empty folder, with its first user (admin and data controller). */
  createArchive: (folder: string, admin: string, password: string, practiceName: string) =>
    invoke<CreatedArchive>('create_archive', { folder, admin, password, practiceName }),
  verifyArchive: () => invoke<ArchiveCheck>('verify_archive'),
  /** The archive against the phone system's call log (a supervisor, an approver or the DC). */
  checkCompleteness: (query: CompletenessIn) => invoke<CompletenessInfo>('check_completeness', { query }),
  /** The last 7 days against the log last checked on this computer; null if none. */
  completenessRecent: () => invoke<CompletenessInfo | null>('completeness_recent'),
  /** Returns how many recordings the rebuilt index holds. */
  rebuildIndex: () => invoke<number>('rebuild_index'),
  /** Returns the path written. */
  exportIngestProfile: (name: string, file: string) =>
    invoke<string>('export_ingest_profile', { name, file }),
};

/** The policy's purposes, as the core names them, and how the app words them. */
export const PURPOSES: { id: Purpose; label: string; dc: boolean }[] = [
  { id: 'complaint', label: 'Complaint investigation', dc: false },
  { id: 'medico-legal', label: 'Medico-legal', dc: false },
  { id: 'staff-protection', label: 'Staff protection (abusive caller)', dc: false },
  { id: 'training', label: 'Training', dc: false },
  { id: 'regulatory', label: 'Regulatory', dc: false },
  { id: 'disciplinary', label: 'Staff disciplinary', dc: false },
  { id: 'sar', label: 'Subject access request (SAR)', dc: true },
  { id: 'police', label: 'Police / crime prevention', dc: true },
  { id: 'erasure', label: 'Erasure (right to be forgotten)', dc: true },
  { id: 'portability', label: 'Data portability', dc: true },
];

export function purposeLabel(id: Purpose): string {
  return PURPOSES.find((p) => p.id === id)?.label ?? id;
}

export function onPlayer(f: (u: PlayerUpdate) => void): Promise<UnlistenFn> {
  return listen<PlayerUpdate>('player', (e) => f(e.payload));
}

export function onProgress(f: (u: ProgressUpdate) => void): Promise<UnlistenFn> {
  return listen<ProgressUpdate>('progress', (e) => f(e.payload));
}

export function onSessionEnded(f: (u: SessionEnded) => void): Promise<UnlistenFn> {
  return listen<SessionEnded>('session', (e) => f(e.payload));
}

/** 73.4 s as "1:13". */
export function mmss(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** An RFC 3339 time as the practice reads it (local date and time). */
export function when(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
