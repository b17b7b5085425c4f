//! The command line's grammar: every subcommand, flag and help text, as clap derives them. What
//! each command does is in `cmd/`; this file only says what may be typed.

use callvault_core::ingest::layouts;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "callvault",
    version,
    about = "Keep, find and lawfully release a GP practice's call recordings"
)]
pub struct Cli {
    /// The archive folder (local disk or network share).
    #[arg(long, global = true, env = "CALLVAULT_ARCHIVE")]
    pub archive: Option<PathBuf>,
    /// Your user name.
    #[arg(long, global = true, env = "CALLVAULT_USER")]
    pub user: Option<String>,
    /// Read your password from the first line of standard input (else CALLVAULT_PASSWORD, else a prompt).
    #[arg(long, global = true)]
    pub password_stdin: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Create a new archive and its first user (roles admin and data-controller).
    Init {
        #[arg(long)]
        admin: String,
        /// Password hashing cost: `calibrated` (~0.5 s here) or `fast` (tests only).
        #[arg(long, default_value = "calibrated")]
        kdf: String,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// The practice's recovery key: `create` one for an archive made before it existed (the data
    /// controller; its code is printed once).
    #[command(subcommand)]
    Recovery(RecoveryCmd),
    /// The archive's keys that follow their holders: `rotate` makes the next epoch of the call key
    /// (or, with --key, the metadata, audit or admin key) now, as a holder's logon does by itself when a
    /// holder has left; `rewrap` moves every stored call to the newest call key and removes the old
    /// wraps (resumable; progress on stderr).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Break the glass: an admin who can no longer log on sets a new password with the practice's
    /// recovery code (from CALLVAULT_RECOVERY_CODE, else a prompt; the new password from
    /// CALLVAULT_NEW_PASSWORD, else a prompt). Audited loudly.
    Recover { name: String },
    /// Import a folder of recordings as the phone system laid it out, or as a manifest lists
    /// them (see --layout).
    Import(ImportArgs),
    /// Search the recordings you may see.
    Search(SearchArgs),
    /// Show one recording's details.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Checks of the archive against what the phone system says: `completeness` against its call
    /// log (a supervisor, an approver or the data controller).
    #[command(subcommand)]
    Check(CheckCmd),
    /// Read and authenticate every object in the archive.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The local index.
    #[command(subcommand)]
    Index(IndexCmd),
    /// Access requests: raise, list, show, approve, reject, agree, extend, complete.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Mark a call's consent: the caller objected (recording stopped at mm:ss), or asked not to be recorded.
    Mark {
        id: String,
        #[arg(long, required_unless_present = "not_recorded")]
        consent_objected: bool,
        #[arg(long, conflicts_with = "consent_objected")]
        not_recorded: bool,
        /// Where the recording stopped (mm:ss).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Link a call to a patient's NHS number, or take the link back (a supervisor or the data
    /// controller): the call is then found by that NHS number.
    LinkPatient {
        id: String,
        #[arg(long)]
        nhs_number: String,
        /// Take the link back (the call was linked to the wrong patient).
        #[arg(long)]
        unlink: bool,
    },
    /// Check (and audit) whether you may listen to or export a recording now.
    Authorize {
        id: String,
        /// listen or export.
        #[arg(long = "for", default_value = "listen")]
        right: String,
        #[arg(long)]
        request: Option<String>,
        /// Your reason (needed to listen to your own call without a request).
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Play a recording on this machine (authorised and audited): with --request RID, or for your
    /// own call with --reason TEXT.
    Play(PlayArgs),
    /// List audio output devices.
    Devices,
    /// Assign an unassigned call to its staff user (supervisor): their key then opens it.
    Assign {
        id: String,
        /// User name or telephony identity.
        #[arg(long)]
        staff: String,
    },
    /// Deliver the key of a call a supervisor assigned without it (an approver or the data
    /// controller): with no ID, list the assigned calls waiting for a key.
    #[command(name = "deliver-key")]
    DeliverKey {
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The stored waveform of a recording (min/max per 10 ms), as JSON.
    Waveform { id: String },
    /// Ingest profiles for unattended ingest machines (admin).
    #[command(subcommand, name = "ingest-profile")]
    IngestProfile(IngestProfileCmd),
    /// Unattended ingest: watch a folder and import each complete recording exactly once, with no
    /// user, no password and no key that decrypts anything (only an ingest profile).
    Ingest(IngestArgs),
    /// Exports for the person: a SAR package, or a portability export.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Archive settings (retention period, practice name and address, ...).
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Staff breach self-reports: report one (anyone), follow them, assess and close them (the
    /// data controller).
    #[command(subcommand)]
    Breach(BreachCmd),
    /// The do-not-record list (data controller): numbers and extensions whose calls are not kept.
    #[command(subcommand)]
    Dnr(DnrCmd),
    /// Legal holds.
    #[command(subcommand)]
    Hold(HoldCmd),
    /// Delete recordings (supervisor or data controller), with a reason; writes a deletion certificate.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Where to write the certificate (JSON and HTML); default: the current folder.
        #[arg(long, default_value = ".")]
        certificate_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Erase every recording of an approved erasure request (data controller).
    Erase {
        request: String,
        #[arg(long, default_value = ".")]
        certificate_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The retention sweep.
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Create a demo archive of made-up users and calls at --archive.
    Demo(DemoArgs),
    /// Benchmark: time searches in-process through the core's Session (for scripts/bench).
    #[command(hide = true)]
    BenchSearch {
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Rows per search (the app asks for 1000).
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Benchmark: decode a plain audio file through the core's decoder and print the seconds taken
    /// (for scripts/bench, beside `ffmpeg -f null -`).
    #[command(hide = true)]
    BenchDecode {
        file: PathBuf,
        /// Seal it as an archive audio object in memory first and decode through the decrypting
        /// reader, as playback does.
        #[arg(long)]
        sealed: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum CheckCmd {
    /// Every call accounted for: answered calls with no recording (`missing`), recordings much
    /// shorter than the call (`short`), silent recordings or with one half silent (`silent`,
    /// `one-sided`; heard from the stored waveforms, with the call key), and recordings the log
    /// does not name (`no-cdr`). Exit status 1 when anything is found.
    Completeness {
        /// The phone system's call log (CSV): a FreePBX CDR export, a 3CX call log, or the
        /// generic CSV `id,start,answered,talk_seconds,from,to,recording`.
        #[arg(long)]
        cdr: PathBuf,
        /// freepbx, 3cx or csv (default: the one the file's header fits).
        #[arg(long)]
        layout: Option<String>,
        /// From (YYYY-MM-DD or YYYY-MM-DDTHH:MM, the practice's time); default: the log's first call.
        #[arg(long)]
        from: Option<String>,
        /// To (exclusive; a date alone includes that day); default: the log's last call.
        #[arg(long)]
        to: Option<String>,
        /// The zone of the log's times when they name none (default: the practice's).
        #[arg(long)]
        tz: Option<String>,
        /// Do not open the waveforms (no silence check).
        #[arg(long)]
        no_sound: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user (password from CALLVAULT_NEW_PASSWORD, else a prompt).
    Add {
        name: String,
        /// admin, approver, data-controller, supervisor, clinician, staff (comma-separated).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// An extension number or agent name that maps calls to this user (repeatable).
        #[arg(long = "telephony-id")]
        telephony_ids: Vec<String>,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a new password for a user (admin), without knowing the old one. A supervisor, an
    /// approver, the data controller or an admin needs --recovery: the practice's recovery code, from
    /// CALLVAULT_RECOVERY_CODE, else a prompt.
    ResetPassword {
        name: String,
        #[arg(long)]
        recovery: bool,
    },
    /// Change a user's roles (admin).
    SetRoles {
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Disable a user who left (admin): they can no longer log on, and the next logon of a holder
    /// rotates every archive key they held out of their hands.
    Disable { name: String },
    /// Enable a disabled user again (admin).
    Enable { name: String },
}

#[derive(Subcommand)]
pub enum RecoveryCmd {
    /// Create the archive's recovery key and print its code once (the data controller).
    Create,
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Make a key's next epoch now: the call key (approvers and the data controller), or with
    /// --key the metadata key (anyone who holds it), the audit key (admins and the data
    /// controller) or the admin key (admins).
    Rotate {
        /// custodian (the call key), metadata, audit or admin.
        #[arg(long, default_value = "custodian")]
        key: String,
    },
    /// Re-wrap every stored call to the newest call key.
    Rewrap {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum IngestProfileCmd {
    /// Create an ingest identity and write its profile to FILE.
    Export {
        file: PathBuf,
        /// A name for the ingest machine's identity, e.g. ingest.pbx-server.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum ExportCmd {
    /// One-click SAR package: WAVs, originals, cover letter (PDF), manifest.json/.csv, SHA256SUMS.
    Sar {
        #[arg(long)]
        request: String,
        /// A new folder, or with --zip a new .zip file.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        package: PackageArgs,
        #[arg(long)]
        json: bool,
    },
    /// Machine-readable metadata plus audio for an approved portability request.
    Portability {
        #[arg(long)]
        request: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// A copy of the calls of an approved police or disciplinary request (with the data
    /// controller's written agreement): the SAR package without its letter, made as a new folder
    /// (or with --zip a new .zip) named after the request inside the existing folder DIR.
    Release {
        #[arg(long)]
        request: String,
        /// An existing folder; the package gets a new name inside it.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        package: PackageArgs,
        #[arg(long)]
        json: bool,
    },
}

/// How an export package is made: folder or encrypted ZIP, redactions and their fill.
#[derive(Args)]
pub struct PackageArgs {
    /// One AES-256 encrypted ZIP; its passphrase is printed once.
    #[arg(long)]
    pub zip: bool,
    /// Replace a range of a recording with silence: ID:START-END (seconds). Repeatable.
    #[arg(long = "redact")]
    pub redactions: Vec<String>,
    /// Fill redactions with a tone instead of silence.
    #[arg(long)]
    pub tone: bool,
}

#[derive(Subcommand)]
pub enum SettingsCmd {
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Set a setting (data controller).
    Set { key: String, value: String },
}

#[derive(Subcommand)]
pub enum BreachCmd {
    /// Report an accidental breach of the call recording policy (goes to your line manager and
    /// the data controller).
    Report {
        /// What happened, in your words (no call's content).
        #[arg(long)]
        what: String,
        /// When it happened, if known (e.g. 2026-03-02T14:30 or 2026-03-02).
        #[arg(long)]
        when: Option<String>,
        /// A call it concerned, by its id (repeatable).
        #[arg(long = "call")]
        calls: Vec<String>,
    },
    /// The reports you may see (your own; every one for supervisors and the data controller).
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Assess a report (data controller): reportable to the ICO within 72 hours, or not.
    Assess {
        id: String,
        /// yes or no.
        #[arg(long)]
        reportable: String,
        #[arg(long)]
        reason: String,
    },
    /// Close an assessed report (data controller).
    Close {
        id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Subcommand)]
pub enum DnrCmd {
    /// Add an outside number (or, with --extension, an extension): its calls are not kept by
    /// any import or ingest from now on. Only a keyed hash of it is stored, with your label.
    Add {
        /// The number, in any format (or the extension, with --extension).
        value: String,
        /// It is an extension or telephony identity inside the practice, not an outside number.
        #[arg(long)]
        extension: bool,
        /// Whose it is, for you to recognise it (e.g. "union representative"); not the number.
        #[arg(long)]
        label: String,
    },
    /// The entries (their labels: the numbers are not stored).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an entry: its id from `dnr list`, or the number or extension itself.
    Remove { what: String },
}

#[derive(Subcommand)]
pub enum HoldCmd {
    /// Hold recordings (or every recording matching a request) with a reason.
    Add {
        ids: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        request: Option<String>,
    },
    /// Release a hold (data controller).
    Release {
        hold: String,
        #[arg(long)]
        reason: String,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum RetentionCmd {
    /// Delete recordings past the retention period (not held); --dry-run lists them.
    Run {
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = ".")]
        certificate_dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum RequestCmd {
    /// Raise a request: its purpose, reason and what is known of the call.
    New {
        /// complaint medico-legal staff-protection training regulatory disciplinary sar police erasure portability
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        reason: String,
        /// Date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM) of the call, if known.
        #[arg(long)]
        call_time: Option<String>,
        /// The staff member making or receiving the call.
        #[arg(long)]
        staff: Option<String>,
        /// The external number, if known; repeat it for each number the patient uses (each
        /// finds their calls, whatever the formatting).
        #[arg(long = "number")]
        numbers: Vec<String>,
        /// The patient's NHS number (ten digits; the check digit is verified): finds every call
        /// linked to them.
        #[arg(long)]
        nhs_number: Option<String>,
        /// Names of the parties (repeatable).
        #[arg(long = "party")]
        parties: Vec<String>,
        /// Any other information on the nature of the call.
        #[arg(long)]
        info: Option<String>,
        /// For a SAR: the date it was received in writing (default today).
        #[arg(long)]
        received: Option<String>,
        /// For a SAR: how the requester's identity was checked.
        #[arg(long)]
        identity: Option<String>,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve specific recordings of a request.
    Approve {
        id: String,
        #[arg(long = "recording", required = true)]
        recordings: Vec<String>,
        #[arg(long, default_value_t = 30)]
        expires_days: u32,
        #[arg(long, default_value = "listen")]
        allow: String,
    },
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Record the data controller's written agreement (disciplinary).
    Agree {
        id: String,
        #[arg(long)]
        text: String,
        /// The scanned signed letter: its file name and SHA-256 are recorded with the text (the
        /// scan stays where it is; a file of at most 50 MB).
        #[arg(long)]
        scan: Option<PathBuf>,
    },
    /// Extend a SAR's deadline.
    Extend {
        id: String,
        #[arg(long)]
        days: u32,
        #[arg(long)]
        reason: String,
    },
    Complete {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Verify every device's hash chain and every entry.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// List audit entries.
    List {
        /// Only entries by this user. (Named --by because --user is the global logon flag.)
        #[arg(long = "by", alias = "actor")]
        by: Option<String>,
        #[arg(long)]
        recording: Option<String>,
        #[arg(long)]
        request: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Only the searches made for this number, name or words (or part of them), found by
        /// their keyed criteria.
        #[arg(long)]
        searched_for: Option<String>,
        #[arg(long)]
        json: bool,
        /// CSV for the practice's DSP Toolkit evidence.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
}

#[derive(Subcommand)]
pub enum IndexCmd {
    /// Drop this device's local index and rebuild it from the archive.
    Rebuild,
}

#[derive(Args)]
pub struct SearchArgs {
    /// From this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UK local time).
    #[arg(long)]
    pub from: Option<String>,
    /// Up to this time (a bare date includes the whole day).
    #[arg(long)]
    pub to: Option<String>,
    /// External number, any formatting.
    #[arg(long)]
    pub number: Option<String>,
    /// Staff user name or telephony identity.
    #[arg(long)]
    pub staff: Option<String>,
    /// Part of a party's name.
    #[arg(long)]
    pub party: Option<String>,
    #[arg(long)]
    pub direction: Option<String>,
    #[arg(long)]
    pub min_duration: Option<f64>,
    #[arg(long)]
    pub max_duration: Option<f64>,
    /// Text in notes or party names.
    #[arg(long)]
    pub text: Option<String>,
    /// Calls linked to this patient's NHS number.
    #[arg(long)]
    pub nhs_number: Option<String>,
    #[arg(long)]
    pub limit: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    pub dir: PathBuf,
    // The layouts, their help and the error naming them come from the core's registry.
    #[arg(long, default_value = "auto", help = layouts::help(), long_help = layouts::long_help())]
    pub layout: String,
    /// The CSV manifest (csv layout; default DIR/manifest.csv, whose presence means csv).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The time zone of the times in file names (default: the archive's).
    #[arg(long)]
    pub tz: Option<String>,
    /// A FreePBX CDR CSV export, or an Oreka metadata CSV, to join to the recordings.
    #[arg(long)]
    pub cdr: Option<PathBuf>,
    /// Show how each file is understood and what would happen to it; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-import audio that was deleted (data controller only).
    #[arg(long)]
    pub allow_erased: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PlayArgs {
    pub id: String,
    #[arg(long)]
    pub request: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
    /// Start at this many seconds.
    #[arg(long)]
    pub start: Option<f64>,
    /// Stop at this many seconds.
    #[arg(long)]
    pub end: Option<f64>,
    /// 0.5 to 2.0, pitch preserved.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Output device (see `callvault devices`).
    #[arg(long)]
    pub device: Option<String>,
    /// Raise quiet calls to a comfortable level.
    #[arg(long)]
    pub normalize: bool,
    /// Play every leg of the transferred call this is one of, in order, as one timeline.
    #[arg(long)]
    pub conversation: bool,
}

#[derive(Args)]
pub struct IngestArgs {
    /// The folder the telephone system writes recordings into.
    #[arg(long)]
    pub watch: PathBuf,
    /// The ingest profile exported by an admin.
    #[arg(long)]
    pub profile: PathBuf,
    #[arg(long, default_value = "auto", help = layouts::help(), long_help = layouts::long_help())]
    pub layout: String,
    /// Time zone of times in file names (default Europe/London).
    #[arg(long, default_value = "Europe/London")]
    pub tz: String,
    /// A FreePBX CDR CSV export to join.
    #[arg(long)]
    pub cdr: Option<PathBuf>,
    /// Delete each source once its archived copy has been read back intact.
    #[arg(long = "move", conflicts_with = "copy")]
    pub move_: bool,
    /// Leave sources where they are (the default).
    #[arg(long)]
    pub copy: bool,
    /// Where files that fail go, each with a .reason.txt.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    /// Take a file once unchanged for this many seconds.
    #[arg(long, default_value_t = 5)]
    pub settle_seconds: u64,
    /// Stop once the folder is drained (for scheduled runs and tests).
    #[arg(long)]
    pub once: bool,
    /// This machine's ingest state folder (default: in the app-data folder).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// JSON lines, one per file.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 36)]
    pub calls: usize,
    #[arg(long, default_value = "calibrated")]
    pub kdf: String,
    /// Make every call this many seconds long (for large benchmark archives)
    #[arg(long)]
    pub clip_secs: Option<usize>,
    /// A realistic archive for benchmarks (crates/testkit/src/bench_gen.rs): three years of
    /// surgery hours, a practice's staff, repeat callers, 2–40 s speech-like calls.
    #[arg(long, conflicts_with = "clip_secs")]
    pub realistic: bool,
    /// With --realistic: 0.2–1 s clips (metadata-heavy, for a million calls).
    #[arg(long, requires = "realistic")]
    pub tiny: bool,
    /// With --realistic: the seed (the same seed and size give the same calls).
    #[arg(long, default_value_t = 1, requires = "realistic")]
    pub seed: u64,
    /// With --realistic: write the calls as plain files and a manifest.csv into DIR instead
    /// (to compare `callvault import DIR` with `cp -r DIR`); no archive is made.
    #[arg(long, requires = "realistic")]
    pub files_only: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}
