//! `callvault`: the command line over the core's `Session` — for scripting, unattended ingest and
//! tests. It holds no rules of its own: every decision is the core's.

use callvault_core::archive::journal::Direction;
use callvault_core::audio::player::{Player, PlayerEvent};
use callvault_core::export::Redaction;
use callvault_core::ingest::layouts;
use callvault_core::requests::{self, ConsentKind, Purpose, RequestDetails, Right, State};
use callvault_core::secret::Password;
use callvault_core::session::{
    audit_csv, AuditFilter, KdfChoice, RequestView, SarOptions, SearchQuery, Session,
};
use callvault_core::{Error, Role};
use clap::{Args, Parser, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "callvault",
    version,
    about = "Keep, find and lawfully release a GP practice's call recordings"
)]
struct Cli {
    /// The archive folder (local disk or network share).
    #[arg(long, global = true, env = "CALLVAULT_ARCHIVE")]
    archive: Option<PathBuf>,
    /// Your user name.
    #[arg(long, global = true, env = "CALLVAULT_USER")]
    user: Option<String>,
    /// Read your password from the first line of standard input (else CALLVAULT_PASSWORD, else a prompt).
    #[arg(long, global = true)]
    password_stdin: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
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
    /// Import a folder of recordings as the phone system laid it out, or as a manifest lists
    /// them (see --layout).
    Import {
        dir: PathBuf,
        // The layouts, their help and the error naming them come from the core's registry.
        #[arg(long, default_value = "auto", help = layouts::help(), long_help = layouts::long_help())]
        layout: String,
        /// The CSV manifest (csv layout; default DIR/manifest.csv, whose presence means csv).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The time zone of the times in file names (default: the archive's).
        #[arg(long)]
        tz: Option<String>,
        /// A FreePBX CDR CSV export, or an Oreka metadata CSV, to join to the recordings.
        #[arg(long)]
        cdr: Option<PathBuf>,
        /// Show how each file is understood and what would happen to it; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Re-import audio that was deleted (data controller only).
        #[arg(long)]
        allow_erased: bool,
        #[arg(long)]
        json: bool,
    },
    /// Search the recordings you may see.
    Search(SearchArgs),
    /// Show one recording's details.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
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
    Play {
        id: String,
        #[arg(long)]
        request: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// Start at this many seconds.
        #[arg(long)]
        start: Option<f64>,
        /// Stop at this many seconds.
        #[arg(long)]
        end: Option<f64>,
        /// 0.5 to 2.0, pitch preserved.
        #[arg(long)]
        speed: Option<f64>,
        /// Output device (see `callvault devices`).
        #[arg(long)]
        device: Option<String>,
        /// Raise quiet calls to a comfortable level.
        #[arg(long)]
        normalize: bool,
    },
    /// List audio output devices.
    Devices,
    /// Assign an unassigned call to its staff user (supervisor): their key then opens it.
    Assign {
        id: String,
        /// User name or telephony identity.
        #[arg(long)]
        staff: String,
    },
    /// The stored waveform of a recording (min/max per 10 ms), as JSON.
    Waveform { id: String },
    /// Ingest profiles for unattended ingest machines (admin).
    #[command(subcommand, name = "ingest-profile")]
    IngestProfile(IngestProfileCmd),
    /// Unattended ingest: watch a folder and import each complete recording exactly once, with no
    /// user, no password and no key that decrypts anything (only an ingest profile).
    Ingest {
        /// The folder the telephone system writes recordings into.
        #[arg(long)]
        watch: PathBuf,
        /// The ingest profile exported by an admin.
        #[arg(long)]
        profile: PathBuf,
        #[arg(long, default_value = "auto", help = layouts::help(), long_help = layouts::long_help())]
        layout: String,
        /// Time zone of times in file names (default Europe/London).
        #[arg(long, default_value = "Europe/London")]
        tz: String,
        /// A FreePBX CDR CSV export to join.
        #[arg(long)]
        cdr: Option<PathBuf>,
        /// Delete each source once its archived copy has been read back intact.
        #[arg(long = "move", conflicts_with = "copy")]
        move_: bool,
        /// Leave sources where they are (the default).
        #[arg(long)]
        copy: bool,
        /// Where files that fail go, each with a .reason.txt.
        #[arg(long)]
        quarantine: Option<PathBuf>,
        /// Take a file once unchanged for this many seconds.
        #[arg(long, default_value_t = 5)]
        settle_seconds: u64,
        /// Stop once the folder is drained (for scheduled runs and tests).
        #[arg(long)]
        once: bool,
        /// This machine's ingest state folder (default: in the app-data folder).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// JSON lines, one per file.
        #[arg(long)]
        json: bool,
    },
    /// Exports for the person: a SAR package, or a portability export.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Archive settings (retention period, practice name and address, ...).
    #[command(subcommand)]
    Settings(SettingsCmd),
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
    Demo {
        #[arg(long, default_value_t = 36)]
        calls: usize,
        #[arg(long, default_value = "calibrated")]
        kdf: String,
        /// Make every call this many seconds long (for large benchmark archives)
        #[arg(long)]
        clip_secs: Option<usize>,
        /// A realistic archive for benchmarks (crates/core/src/bench_gen.rs): three years of
        /// surgery hours, a practice's staff, repeat callers, 2–40 s speech-like calls.
        #[arg(long, conflicts_with = "clip_secs")]
        realistic: bool,
        /// With --realistic: 0.2–1 s clips (metadata-heavy, for a million calls).
        #[arg(long, requires = "realistic")]
        tiny: bool,
        /// With --realistic: the seed (the same seed and size give the same calls).
        #[arg(long, default_value_t = 1, requires = "realistic")]
        seed: u64,
        /// With --realistic: write the calls as plain files and a manifest.csv into DIR instead
        /// (to compare `callvault import DIR` with `cp -r DIR`); no archive is made.
        #[arg(long, requires = "realistic")]
        files_only: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
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
enum UserCmd {
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
    /// Set a new password for a user (admin), without knowing the old one.
    ResetPassword { name: String },
    /// Change a user's roles (admin).
    SetRoles {
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum IngestProfileCmd {
    /// Create an ingest identity and write its profile to FILE.
    Export {
        file: PathBuf,
        /// A name for the ingest machine's identity, e.g. ingest.pbx-server.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// One-click SAR package: WAVs, originals, cover letter (PDF), manifest.json/.csv, SHA256SUMS.
    Sar {
        #[arg(long)]
        request: String,
        /// A new folder, or with --zip a new .zip file.
        #[arg(long)]
        out: PathBuf,
        /// One AES-256 encrypted ZIP; its passphrase is printed once.
        #[arg(long)]
        zip: bool,
        /// Replace a range of a recording with silence: ID:START-END (seconds). Repeatable.
        #[arg(long = "redact")]
        redactions: Vec<String>,
        /// Fill redactions with a tone instead of silence.
        #[arg(long)]
        tone: bool,
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
}

#[derive(Subcommand)]
enum SettingsCmd {
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Set a setting (data controller).
    Set { key: String, value: String },
}

#[derive(Subcommand)]
enum HoldCmd {
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
enum RetentionCmd {
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
enum RequestCmd {
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
        /// The external number, if known.
        #[arg(long)]
        number: Option<String>,
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
enum AuditCmd {
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
        #[arg(long)]
        json: bool,
        /// CSV for the practice's DSP Toolkit evidence.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
}

#[derive(Subcommand)]
enum IndexCmd {
    /// Drop this device's local index and rebuild it from the archive.
    Rebuild,
}

#[derive(Args)]
struct SearchArgs {
    /// From this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UK local time).
    #[arg(long)]
    from: Option<String>,
    /// Up to this time (a bare date includes the whole day).
    #[arg(long)]
    to: Option<String>,
    /// External number, any formatting.
    #[arg(long)]
    number: Option<String>,
    /// Staff user name or telephony identity.
    #[arg(long)]
    staff: Option<String>,
    /// Part of a party's name.
    #[arg(long)]
    party: Option<String>,
    #[arg(long)]
    direction: Option<String>,
    #[arg(long)]
    min_duration: Option<f64>,
    #[arg(long)]
    max_duration: Option<f64>,
    /// Text in notes or party names.
    #[arg(long)]
    text: Option<String>,
    #[arg(long)]
    limit: Option<i64>,
    #[arg(long)]
    json: bool,
}

/// A command's failure: the core's error, or a usage problem found here.
enum Failure {
    Core(Error),
    Usage(String),
    /// Already reported; exit with this code.
    Reported(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

type CliResult = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported(code)) => ExitCode::from(code),
        Err(Failure::Usage(m)) => {
            eprintln!("callvault: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Core(e)) => {
            eprintln!("callvault: {e}");
            ExitCode::from(match e {
                Error::BadLogon | Error::Locked { .. } => 4,
                Error::Forbidden(_) => 5,
                _ => 1,
            })
        }
    }
}

fn archive_dir(cli: &Cli) -> Result<PathBuf, Failure> {
    cli.archive.clone().ok_or_else(|| {
        Failure::Usage("no archive: give --archive DIR or set CALLVAULT_ARCHIVE".into())
    })
}

fn read_password(cli: &Cli, prompt_name: &str) -> Result<Password, Failure> {
    if let Ok(p) = std::env::var("CALLVAULT_PASSWORD") {
        return Ok(Password::new(p));
    }
    if cli.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Failure::Usage(format!("reading the password from standard input: {e}"))
        })?;
        return Ok(Password::new(line.trim_end_matches(['\r', '\n'])));
    }
    rpassword::prompt_password(format!("Password for {prompt_name}: "))
        .map(Password::new)
        .map_err(|e| Failure::Usage(format!("no password: set CALLVAULT_PASSWORD, use --password-stdin, or run in a terminal ({e})")))
}

fn new_password(for_name: &str) -> Result<Password, Failure> {
    if let Ok(p) = std::env::var("CALLVAULT_NEW_PASSWORD") {
        return Ok(Password::new(p));
    }
    let a = rpassword::prompt_password(format!("New password for {for_name}: ")).map_err(|e| {
        Failure::Usage(format!(
            "no new password: set CALLVAULT_NEW_PASSWORD or run in a terminal ({e})"
        ))
    })?;
    let b = rpassword::prompt_password("Again: ").map_err(|e| Failure::Usage(e.to_string()))?;
    if a != b {
        return Err(Failure::Usage("the two passwords differ".into()));
    }
    Ok(Password::new(a))
}

fn kdf_choice(s: &str) -> Result<KdfChoice, Failure> {
    match s {
        "calibrated" => Ok(KdfChoice::Calibrated),
        "fast" => Ok(KdfChoice::Fast),
        other => Err(Failure::Usage(format!(
            "--kdf {other}: use calibrated or fast"
        ))),
    }
}

async fn logon(cli: &Cli) -> Result<Session, Failure> {
    let root = archive_dir(cli)?;
    let user = cli
        .user
        .clone()
        .ok_or_else(|| Failure::Usage("no user: give --user NAME or set CALLVAULT_USER".into()))?;
    let pw = read_password(cli, &user)?;
    let s = Session::logon(&root, &user, &pw).await?;
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    Ok(s)
}

fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

async fn run(cli: Cli) -> CliResult {
    match &cli.cmd {
        Cmd::Init { admin, kdf } => {
            let root = archive_dir(&cli)?;
            let kdf = kdf_choice(kdf)?;
            let pw = new_password(admin)?;
            let r = callvault_core::session::init(&root, admin, &pw, kdf).await?;
            println!(
                "Created archive {} at {} with user {admin} (admin, data-controller).",
                r.archive_id,
                root.display()
            );
            println!(
                "Password hashing: Argon2id m={} MiB t={} p={} ({} ms here).",
                r.kdf.m_kib / 1024,
                r.kdf.t,
                r.kdf.p,
                r.kdf_measured_ms
            );
            Ok(())
        }
        Cmd::Demo {
            calls,
            kdf,
            clip_secs: _,
            realistic: true,
            tiny,
            seed,
            files_only,
            json,
        } => {
            let opts = callvault_core::bench_gen::GenOptions {
                calls: *calls,
                seed: *seed,
                audio: if *tiny {
                    callvault_core::bench_gen::Audio::Tiny
                } else {
                    callvault_core::bench_gen::Audio::Speech
                },
            };
            let start = std::time::Instant::now();
            if let Some(dir) = files_only {
                let bytes = callvault_core::bench_gen::write_files(dir, &opts)?;
                println!(
                    "{} calls ({:.1} MB of audio) and manifest.csv written to {} in {:.2} s",
                    calls,
                    bytes as f64 / 1e6,
                    dir.display(),
                    start.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            let root = archive_dir(&cli)?;
            let r =
                callvault_core::bench_gen::create(&root, opts, kdf_choice(kdf)?, |done, total| {
                    eprint!(
                        "\r{done} of {total} calls imported ({:.0} calls/s)",
                        done as f64 / start.elapsed().as_secs_f64()
                    );
                })
                .await?;
            eprintln!();
            if *json {
                print_json(&r);
            } else {
                println!(
                    "Realistic archive at {}: {} calls imported ({} duplicates, {} rejected), {:.1} MB of audio; \
                     {:.1} s generating, {:.1} s importing ({:.0} calls/s)",
                    root.display(),
                    r.imported,
                    r.duplicates,
                    r.rejected,
                    r.audio_bytes as f64 / 1e6,
                    r.generate_seconds,
                    r.import_seconds,
                    r.imported as f64 / r.import_seconds.max(1e-9)
                );
            }
            Ok(())
        }
        Cmd::Demo {
            calls,
            kdf,
            clip_secs,
            json,
            ..
        } => {
            let root = archive_dir(&cli)?;
            let r = callvault_core::demo::create_with(&root, *calls, kdf_choice(kdf)?, *clip_secs)
                .await?;
            // A benchmark archive (--clip-secs) is calls only; the demo shows work in progress.
            if clip_secs.is_none() {
                callvault_core::demo::sample_workflow(&root, *calls).await?;
            }
            if *json {
                print_json(&r);
            } else {
                println!(
                    "Demo archive at {} with {} made-up calls. Users (all invented):",
                    root.display(),
                    r.imported
                );
                for u in &r.users {
                    let roles: Vec<&str> = u.roles.iter().map(Role::as_str).collect();
                    println!(
                        "  {:<14} password {:<18} {:<32} {}",
                        u.name,
                        u.password,
                        roles.join(","),
                        u.who
                    );
                }
            }
            Ok(())
        }
        Cmd::User(UserCmd::Add {
            name,
            roles,
            telephony_ids,
        }) => {
            let mut s = logon(&cli).await?;
            let roles = Role::parse_list(&roles.join(","))?;
            let pw = new_password(name)?;
            let r = s.add_user(name, &roles, telephony_ids, &pw).await;
            s.close().await;
            r?;
            println!("Added user {name}.");
            Ok(())
        }
        Cmd::User(UserCmd::ResetPassword { name }) => {
            let mut s = logon(&cli).await?;
            let pw = new_password(name)?;
            let r = s.reset_password(name, &pw).await;
            s.close().await;
            r?;
            println!("Password of {name} reset.");
            Ok(())
        }
        Cmd::User(UserCmd::SetRoles { name, roles }) => {
            let mut s = logon(&cli).await?;
            let roles = Role::parse_list(&roles.join(","))?;
            let r = s.set_roles(name, &roles).await;
            s.close().await;
            r?;
            println!("Roles of {name} changed.");
            Ok(())
        }
        Cmd::User(UserCmd::List { json }) => {
            let s = logon(&cli).await?;
            let r = s.list_users().await;
            s.close().await;
            let users = r?;
            if *json {
                print_json(&users);
            } else {
                for u in users {
                    let roles: Vec<&str> = u.roles.iter().map(Role::as_str).collect();
                    println!(
                        "{:<20} {:<40} {}",
                        u.name,
                        roles.join(","),
                        u.telephony_ids.join(",")
                    );
                }
            }
            Ok(())
        }
        Cmd::Import {
            dir,
            layout,
            manifest,
            tz,
            cdr,
            dry_run,
            allow_erased,
            json,
        } => {
            use callvault_core::session::ingest::{
                ImportOptions, ImportProgress, Layout, ProgressFn,
            };
            use std::io::{IsTerminal, Write};

            /// `files, bytes, rate, ETA` on one terminal line, redrawn after each batch.
            fn progress_line() -> ProgressFn {
                let start = std::time::Instant::now();
                let mut shown = false;
                Box::new(move |p: ImportProgress| {
                    let secs = start.elapsed().as_secs_f64();
                    let done = p.files >= p.files_total;
                    if p.files_total == 0 || (!shown && (secs < 0.5 || done)) {
                        return;
                    }
                    shown = true;
                    let mb = |b: u64| b as f64 / 1e6;
                    let rate = if secs > 0.0 { mb(p.bytes) / secs } else { 0.0 };
                    let eta = if rate > 0.0 {
                        (mb(p.bytes_total) - mb(p.bytes)) / rate
                    } else {
                        0.0
                    };
                    let mut err = std::io::stderr().lock();
                    let _ = write!(
                        err,
                        "\rimporting {}/{} files, {:.1}/{:.1} MB, {:.1} MB/s, ETA {}:{:02}\x1b[K",
                        p.files,
                        p.files_total,
                        mb(p.bytes),
                        mb(p.bytes_total),
                        rate,
                        eta as u64 / 60,
                        eta as u64 % 60
                    );
                    if done {
                        let _ = writeln!(err);
                    }
                    let _ = err.flush();
                })
            }

            let layout: Layout = layout.parse().map_err(Failure::Usage)?;
            let tz = match tz {
                Some(z) => Some(callvault_core::time::zone(z).map_err(|_| {
                    Failure::Usage(format!(
                        "--tz {z}: not a known time zone (e.g. Europe/London)"
                    ))
                })?),
                None => None,
            };
            let mut s = logon(&cli).await?;
            if *allow_erased {
                if let Err(e) = s.allow_erased_reimport() {
                    s.close().await;
                    return Err(e.into());
                }
            }
            let opts = ImportOptions {
                layout,
                tz,
                cdr: cdr.clone(),
                manifest: manifest.clone(),
                dry_run: *dry_run,
                progress: (!*dry_run && std::io::stderr().is_terminal()).then(progress_line),
            };
            let r = s.import_layout(dir, opts).await;
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            s.close().await;
            let rep = r?;
            if *json {
                print_json(&rep);
            } else if *dry_run {
                for u in &rep.understood {
                    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
                    println!("{}", u.file);
                    println!(
                        "    {}: {} {} = {} ({})",
                        u.layout,
                        opt(&u.local_time),
                        u.tz,
                        u.started_at,
                        u.dst
                    );
                    println!(
                        "    {}{}, number {}, extension {}, staff {} -> {}",
                        dir_str(u.direction),
                        if u.direction_assumed {
                            " (assumed)"
                        } else {
                            ""
                        },
                        opt(&u.external_number),
                        opt(&u.extension),
                        opt(&u.staff),
                        u.mapped_user.as_deref().unwrap_or("unassigned")
                    );
                    if !u.parties.is_empty() {
                        println!("    parties: {}", u.parties.join("; "));
                    }
                    if let Some(n) = &u.notes {
                        println!("    notes: {n}");
                    }
                    for r in &u.remarks {
                        println!("    ({r})");
                    }
                    println!(
                        "    {}{} -> {}",
                        opt(&u.audio),
                        u.format_hint
                            .as_deref()
                            .map(|h| format!(" [{h}]"))
                            .unwrap_or_default(),
                        u.outcome.as_deref().unwrap_or("-")
                    );
                }
                let would = rep
                    .understood
                    .iter()
                    .filter(|u| u.outcome.as_deref() == Some("import"))
                    .count();
                let dups = rep
                    .understood
                    .iter()
                    .filter(|u| {
                        u.outcome
                            .as_deref()
                            .is_some_and(|o| o.starts_with("duplicate"))
                    })
                    .count();
                println!(
                    "dry run: would import {would} ({} unassigned), duplicates {dups}, rejected {}; nothing written",
                    rep.unassigned,
                    rep.report.rejected.len()
                );
            } else {
                println!(
                    "imported {}, duplicates {}, rejected {}, unassigned {}",
                    rep.report.imported.len(),
                    rep.report.duplicates.len(),
                    rep.report.rejected.len(),
                    rep.unassigned
                );
                for d in &rep.report.duplicates {
                    println!(
                        "duplicate: {} (already stored as {})",
                        d.file, d.existing_id
                    );
                }
                const LISTED: usize = 10;
                for f in rep.unassigned_files.iter().take(LISTED) {
                    println!("unassigned: {f} (its extension or staff maps to no user: supervisors only)");
                }
                if rep.unassigned_files.len() > LISTED {
                    println!(
                        "unassigned: ... and {} more (--json lists them all)",
                        rep.unassigned_files.len() - LISTED
                    );
                }
            }
            for r in &rep.report.rejected {
                eprintln!("rejected: {}: {}", r.file, r.reason);
            }
            if rep.report.rejected.is_empty() {
                Ok(())
            } else {
                Err(Failure::Reported(3))
            }
        }
        Cmd::Search(a) => {
            let s = logon(&cli).await?;
            let q = SearchQuery {
                from: a.from.clone(),
                to: a.to.clone(),
                number: a.number.clone(),
                staff: a.staff.clone(),
                party: a.party.clone(),
                direction: a.direction.clone(),
                min_duration_s: a.min_duration,
                max_duration_s: a.max_duration,
                text: a.text.clone(),
                limit: a.limit,
            };
            let r = s.search(&q).await;
            s.close().await;
            let rows = r?;
            if a.json {
                print_json(&rows);
            } else {
                for r in &rows {
                    println!(
                        "{}  {}  {:<8} {:<14} {:<16} {:>6.1}s  {}",
                        r.id,
                        r.started_at,
                        dir_str(r.direction),
                        r.staff.as_deref().unwrap_or("unassigned"),
                        r.external_number.as_deref().unwrap_or("-"),
                        r.duration_s,
                        r.parties.join("; ")
                    );
                }
                eprintln!("{} recording(s)", rows.len());
            }
            Ok(())
        }
        Cmd::Show { id, json } => {
            let s = logon(&cli).await?;
            let r = s.show(id).await;
            s.close().await;
            let v = r?;
            if *json {
                print_json(&v);
            } else {
                println!("id:          {}", v.id);
                println!("started at:  {}", v.started_at);
                println!("direction:   {}", dir_str(v.direction));
                println!(
                    "staff:       {}",
                    v.staff.as_deref().unwrap_or("unassigned")
                );
                println!("extension:   {}", v.extension.as_deref().unwrap_or("-"));
                println!(
                    "number:      {}",
                    v.external_number.as_deref().unwrap_or("-")
                );
                println!("parties:     {}", v.parties.join("; "));
                println!("duration:    {:.1} s", v.duration_s);
                println!(
                    "audio:       {} {} Hz, {} channel(s)",
                    v.codec, v.sample_rate, v.channels
                );
                println!("notes:       {}", v.notes.as_deref().unwrap_or("-"));
            }
            Ok(())
        }
        Cmd::Verify { json } => {
            let mut s = logon(&cli).await?;
            let r = s.verify().await;
            s.close().await;
            let rep = r?;
            if *json {
                print_json(&rep);
            } else {
                println!(
                    "checked {} objects: {} recordings ({} fully decrypted), {} unreferenced audio objects",
                    rep.objects_checked,
                    rep.recordings_checked,
                    rep.recordings_decrypted,
                    rep.unreferenced.len()
                );
            }
            for p in &rep.problems {
                eprintln!("FAILED {}: {}", p.object, p.reason);
            }
            if rep.problems.is_empty() {
                if !*json {
                    println!("archive verified: no problems");
                }
                Ok(())
            } else {
                eprintln!("{} problem(s) found", rep.problems.len());
                Err(Failure::Reported(1))
            }
        }
        Cmd::Audit(AuditCmd::Verify { json }) => {
            let s = logon(&cli).await?;
            let r = s.verify_audit().await;
            s.close().await;
            let rep = r?;
            if *json {
                print_json(&rep);
            } else {
                println!(
                    "audit: {} devices, {} files, {} entries",
                    rep.devices, rep.files, rep.entries
                );
            }
            for p in &rep.problems {
                eprintln!("FAILED {}: {}", p.object, p.reason);
            }
            if rep.problems.is_empty() {
                if !*json {
                    println!("audit trail verified: no problems");
                }
                Ok(())
            } else {
                Err(Failure::Reported(1))
            }
        }
        Cmd::Audit(AuditCmd::List {
            by,
            recording,
            request,
            from,
            to,
            json,
            csv,
        }) => {
            let s = logon(&cli).await?;
            let f = AuditFilter {
                user: by.clone(),
                recording: recording.clone(),
                request: request.clone(),
                from: from.clone(),
                to: to.clone(),
            };
            let r = s.audit_list(&f).await;
            let entries = match r {
                Ok(e) => e,
                Err(e) => {
                    s.close().await;
                    return Err(e.into());
                }
            };
            if *json {
                print_json(&entries);
            } else if *csv {
                print!("{}", audit_csv(&entries, &|u| s.user_name_of(u)));
            } else {
                for e in &entries {
                    let who = e
                        .actor
                        .as_deref()
                        .map(|a| s.user_name_of(a).unwrap_or_else(|| a[..8].to_string()));
                    println!(
                        "{} {:<16} {:<24} {:<8} {}{}",
                        e.at,
                        who.unwrap_or_default(),
                        e.action,
                        e.outcome,
                        e.request
                            .as_deref()
                            .map(|r| format!("request {r} "))
                            .unwrap_or_default(),
                        e.detail.clone().unwrap_or_default()
                    );
                }
            }
            s.close().await;
            Ok(())
        }
        Cmd::Request(rc) => request_cmd(&cli, rc).await,
        Cmd::IngestProfile(IngestProfileCmd::Export { file, name }) => {
            let mut s = logon(&cli).await?;
            let r = callvault_core::ingest::unattended::export_profile(&mut s, name, file);
            s.close().await;
            r?;
            println!("Ingest profile for {name} written to {} (no key in it decrypts anything; keep it readable only by the ingest service).", file.display());
            Ok(())
        }
        Cmd::Ingest {
            watch,
            profile,
            layout,
            tz,
            cdr,
            move_,
            copy: _,
            quarantine,
            settle_seconds,
            once,
            state_dir,
            json,
        } => {
            use callvault_core::ingest::unattended::{
                self, IngestSession, Outcome, SourceMode, WatchOptions,
            };
            let layout: callvault_core::ingest::layout::Layout =
                layout.parse().map_err(Failure::Usage)?;
            let tz = callvault_core::time::zone(tz)?;
            let state = match state_dir {
                Some(d) => d.clone(),
                None => callvault_core::device::data_root()?.join("ingest"),
            };
            std::fs::create_dir_all(&state)
                .map_err(|e| Failure::Usage(format!("{}: {e}", state.display())))?;
            let mut session = IngestSession::open(profile, cli.archive.as_deref(), &state)?;
            let opts = WatchOptions {
                dir: watch.clone(),
                layout,
                tz,
                cdr: cdr.clone(),
                mode: if *move_ {
                    SourceMode::Move
                } else {
                    SourceMode::Copy
                },
                quarantine: quarantine.clone(),
                settle: std::time::Duration::from_secs(*settle_seconds),
                poll: std::time::Duration::from_millis(500),
                once: *once,
            };
            let stop = std::sync::atomic::AtomicBool::new(false);
            let json = *json;
            unattended::watch(&mut session, &opts, &stop, &mut |file, outcome| {
                if json {
                    println!("{}", serde_json::json!({ "file": file, "result": outcome }));
                } else {
                    match outcome {
                        Outcome::Imported { id } => println!("imported {file} as {id}"),
                        Outcome::AlreadyImported { id } => {
                            println!("already imported {file} ({id})")
                        }
                        Outcome::Rejected { reason } => eprintln!("rejected: {file}: {reason}"),
                    }
                }
            })?;
            Ok(())
        }
        Cmd::Assign { id, staff } => {
            let mut s = logon(&cli).await?;
            let r = s.assign(id, staff).await;
            s.close().await;
            r?;
            println!("Recording {id} assigned to {staff}.");
            Ok(())
        }
        Cmd::Devices => {
            for d in Player::output_devices()? {
                println!("{d}");
            }
            Ok(())
        }
        Cmd::Waveform { id } => {
            let s = logon(&cli).await?;
            let r = s.waveform(id).await;
            s.close().await;
            print_json(&r?);
            Ok(())
        }
        Cmd::Play {
            id,
            request,
            reason,
            start,
            end,
            speed,
            device,
            normalize,
        } => {
            let s = logon(&cli).await?;
            let r = s
                .open_for_listening(id, request.as_deref(), reason.as_deref())
                .await;
            s.close().await;
            let (mut decoder, grant) = r?;
            if let Some(st) = start {
                // Start there: nothing from 0:00 is heard first.
                decoder.seek((st.max(0.0) * decoder.sample_rate() as f64) as u64)?;
            }
            let player = Player::new(device.as_deref())?;
            if let Some(x) = speed {
                player.set_speed(*x)?;
            }
            player.set_normalize(*normalize);
            let rx = player.play(decoder)?;
            eprintln!(
                "playing recording {}{} on {}",
                grant.recording,
                grant
                    .request
                    .as_deref()
                    .map(|r| format!(" under request {r}"))
                    .unwrap_or_default(),
                player.device_name()
            );
            let total = player.duration().map(|d| d.as_secs_f64()).unwrap_or(0.0);
            loop {
                match rx.recv_timeout(std::time::Duration::from_secs(30)) {
                    Ok(PlayerEvent::Position { ms }) => {
                        let t = ms as f64 / 1000.0;
                        eprint!(
                            "\r{:02}:{:02} / {:02}:{:02}",
                            (t as u64) / 60,
                            (t as u64) % 60,
                            (total as u64) / 60,
                            (total as u64) % 60
                        );
                        if end.is_some_and(|e| t >= e) {
                            player.stop();
                            eprintln!();
                            break Ok(());
                        }
                    }
                    Ok(PlayerEvent::Ended) => {
                        eprintln!();
                        break Ok(());
                    }
                    Ok(PlayerEvent::Error { message }) => {
                        eprintln!();
                        break Err(Failure::Core(Error::Audio {
                            file: format!("recording {}", grant.recording),
                            reason: message,
                        }));
                    }
                    Err(_) => {
                        break Err(Failure::Usage(
                            "playback stalled (no progress for 30 s)".into(),
                        ))
                    }
                }
            }
        }
        Cmd::Export(ec) => {
            let s = logon(&cli).await?;
            let mut progress = |done: usize, total: usize| {
                eprint!("\rexporting: {done}/{total} recordings");
                if done == total {
                    eprintln!();
                }
            };
            let (r, json) = match ec {
                ExportCmd::Sar {
                    request,
                    out,
                    zip,
                    redactions,
                    tone,
                    json,
                } => {
                    let parsed: Result<Vec<Redaction>, Error> =
                        redactions.iter().map(|r| Redaction::parse(r)).collect();
                    let r = match parsed {
                        Ok(redactions) => {
                            let opts = SarOptions {
                                zip: *zip,
                                redactions,
                                tone: *tone,
                            };
                            s.export_sar(request, out, &opts, &mut progress).await
                        }
                        Err(e) => Err(e),
                    };
                    (r, *json)
                }
                ExportCmd::Portability { request, out, json } => (
                    s.export_portability(request, out, &mut progress).await,
                    *json,
                ),
            };
            s.close().await;
            let rep = r?;
            if json {
                print_json(&rep);
            } else {
                println!("Wrote {} file(s) to {}", rep.files.len(), rep.destination);
                if let Some(p) = &rep.passphrase {
                    println!("ZIP passphrase (shown once; send it to the person separately): {p}");
                }
            }
            Ok(())
        }
        Cmd::Settings(sc) => {
            let mut s = logon(&cli).await?;
            let r = match sc {
                SettingsCmd::Show { json } => s.settings().await.map(|list| {
                    if *json {
                        let m: serde_json::Map<String, serde_json::Value> =
                            list.into_iter().map(|(k, v, _)| (k, v.into())).collect();
                        print_json(&m);
                    } else {
                        for (k, v, about) in list {
                            println!("{k:<22} {v:<20} {about}");
                        }
                    }
                }),
                SettingsCmd::Set { key, value } => s
                    .set_setting(key, value)
                    .await
                    .map(|_| println!("{key} = {value}")),
            };
            s.close().await;
            Ok(r?)
        }
        Cmd::Hold(hc) => {
            let mut s = logon(&cli).await?;
            let r = match hc {
                HoldCmd::Add {
                    ids,
                    reason,
                    request,
                } => s
                    .add_hold(ids, reason, request.as_deref())
                    .await
                    .map(|h| println!("{h}")),
                HoldCmd::Release { hold, reason } => s
                    .release_hold(hold, reason)
                    .await
                    .map(|_| println!("Hold {hold} released.")),
                HoldCmd::List { json } => s.holds().await.map(|holds| {
                    if *json {
                        print_json(&holds);
                    } else {
                        for h in holds {
                            println!(
                                "{}  {} recording(s)  by {}  {}  {}",
                                h.hold,
                                h.recordings.len(),
                                h.by.unwrap_or_default(),
                                h.reason,
                                h.released
                                    .map(|r| format!("[released {r}]"))
                                    .unwrap_or_else(|| "[in force]".into())
                            );
                        }
                    }
                }),
            };
            s.close().await;
            Ok(r?)
        }
        Cmd::Delete {
            ids,
            reason,
            certificate_dir,
            json,
        } => {
            let mut s = logon(&cli).await?;
            let r = match s.delete(ids, reason).await {
                Ok(c) => write_certificate(&s, &c, certificate_dir, *json).await,
                Err(e) => Err(e),
            };
            s.close().await;
            Ok(r?)
        }
        Cmd::Erase {
            request,
            certificate_dir,
            json,
        } => {
            let mut s = logon(&cli).await?;
            let r = match s.erase(request).await {
                Ok(c) => write_certificate(&s, &c, certificate_dir, *json).await,
                Err(e) => Err(e),
            };
            s.close().await;
            Ok(r?)
        }
        Cmd::Retention(RetentionCmd::Run {
            dry_run,
            json,
            certificate_dir,
        }) => {
            let mut s = logon(&cli).await?;
            let r = if *dry_run {
                s.retention_due().await.map(|due| {
                    if *json {
                        print_json(&due);
                    } else {
                        for d in &due {
                            println!(
                                "{}  call {}  {}{}",
                                d.recording,
                                d.call_date,
                                d.rule,
                                d.held_by
                                    .as_ref()
                                    .map(|h| format!("  [kept: legal hold {h}]"))
                                    .unwrap_or_default()
                            );
                        }
                        eprintln!("{} recording(s) due", due.len());
                    }
                })
            } else {
                match s.retention_run().await {
                    Ok(Some(c)) => write_certificate(&s, &c, certificate_dir, *json).await,
                    Ok(None) => {
                        if *json {
                            print_json(&serde_json::json!({ "deleted": 0 }));
                        } else {
                            println!("Nothing is due for deletion.");
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            };
            s.close().await;
            Ok(r?)
        }
        Cmd::Mark {
            id,
            consent_objected: _,
            not_recorded,
            at,
            note,
        } => {
            let mut s = logon(&cli).await?;
            let kind = if *not_recorded {
                ConsentKind::NotRecorded
            } else {
                ConsentKind::CallerObjected
            };
            let at = at.as_deref().map(requests::parse_mmss).transpose();
            let r = match at {
                Ok(at) => s.mark_consent(id, kind, at, note.as_deref()).await,
                Err(e) => Err(e),
            };
            s.close().await;
            r?;
            println!("Marked recording {id}.");
            Ok(())
        }
        Cmd::Authorize {
            id,
            right,
            request,
            reason,
            json,
        } => {
            let s = logon(&cli).await?;
            let right = match right.as_str() {
                "listen" => Right::Listen,
                "export" => Right::Export,
                other => {
                    return Err(Failure::Usage(format!(
                        "--for {other}: use listen or export"
                    )))
                }
            };
            let r = s
                .authorize(id, right, request.as_deref(), reason.as_deref())
                .await;
            s.close().await;
            let g = r?;
            if *json {
                print_json(&g);
            } else {
                println!(
                    "allowed: {} recording {}{}",
                    g.right.as_str(),
                    g.recording,
                    g.request
                        .map(|r| format!(" under request {r}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Cmd::BenchSearch { runs, limit, json } => {
            let s = logon(&cli).await?;
            let r = callvault_core::bench_gen::search_bench(&s, *runs, *limit).await;
            s.close().await;
            let mut r = r?;
            r.push(callvault_core::bench_gen::audit_append_bench(
                &std::env::temp_dir(),
                (*runs).min(100),
            )?);
            if *json {
                print_json(&r);
            } else {
                // Tab-separated, for scripts.
                println!("search\tresults\tp50_ms\tp95_ms\tp99_ms\tmax_ms\truns");
                for t in &r {
                    println!(
                        "{}\t{}\t{:.2}\t{:.2}\t{:.2}\t{:.2}\t{}",
                        t.name, t.results, t.p50_ms, t.p95_ms, t.p99_ms, t.max_ms, t.runs
                    );
                }
            }
            Ok(())
        }
        Cmd::BenchDecode { file, sealed, json } => bench_decode(file, *sealed, *json),
        Cmd::Index(IndexCmd::Rebuild) => {
            let s = logon(&cli).await?;
            let start = std::time::Instant::now();
            let (s, sync, n) = s.rebuild_index().await?;
            s.close().await;
            println!(
                "index rebuilt: {n} recordings from {} journal segments in {:.2} s",
                sync.segments_applied,
                start.elapsed().as_secs_f64()
            );
            for p in &sync.problems {
                eprintln!("warning: {}: {}", p.object, p.reason);
            }
            Ok(())
        }
    }
}

/// Decode a plain file (or, with `sealed`, the same bytes sealed as an audio object and read back
/// through the decrypting reader) block by block, as playback does; print the time taken.
fn bench_decode(file: &std::path::Path, sealed: bool, json: bool) -> CliResult {
    use callvault_core::archive::audio::{seal, DecryptingReader};
    use callvault_core::audio::decode::Decoder;
    use callvault_core::crypto;
    use callvault_core::secret::Key32;
    let name = file.display().to_string();
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let key = Key32::random();
    let sealed_bytes = if sealed {
        let data = std::fs::read(file).map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
        Some(seal(
            &crypto::new_id(),
            65_536,
            &data,
            &[("custodian".to_string(), crypto::x25519_public(&key))],
        )?)
    } else {
        None
    };
    let start = std::time::Instant::now();
    let mut d = match sealed_bytes {
        Some(obj) => {
            let r = DecryptingReader::new(
                std::io::Cursor::new(obj),
                &[("custodian".to_string(), &key)],
                &name,
            )?;
            Decoder::open(r, ext.as_deref(), &name)?
        }
        None => {
            let f =
                std::fs::File::open(file).map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
            Decoder::open(f, ext.as_deref(), &name)?
        }
    };
    let mut samples = 0usize;
    while let Some(b) = d.next_block()? {
        samples += b.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let audio_secs =
        samples as f64 / f64::from(d.channels().max(1)) / f64::from(d.sample_rate().max(1));
    if json {
        print_json(&serde_json::json!({
            "file": name, "codec": d.codec_name(), "sealed": sealed,
            "audio_seconds": audio_secs, "decode_seconds": secs,
        }));
    } else {
        println!(
            "{name}: {} {:.1} s of audio decoded{} in {secs:.3} s ({:.0}x real time)",
            d.codec_name(),
            audio_secs,
            if sealed {
                " through the decrypting reader"
            } else {
                ""
            },
            audio_secs / secs.max(1e-9)
        );
    }
    Ok(())
}

fn dir_str(d: Direction) -> &'static str {
    d.as_str()
}

async fn request_cmd(cli: &Cli, rc: &RequestCmd) -> CliResult {
    let mut s = logon(cli).await?;
    let r = request_inner(&mut s, rc).await;
    s.close().await;
    r
}

async fn request_inner(s: &mut Session, rc: &RequestCmd) -> CliResult {
    match rc {
        RequestCmd::New {
            purpose,
            reason,
            call_time,
            staff,
            number,
            parties,
            info,
            received,
            identity,
            json,
        } => {
            let received = received
                .as_deref()
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| Failure::Usage(format!("--received {d}: use YYYY-MM-DD")))
                })
                .transpose()?;
            let d = RequestDetails {
                purpose: Some(Purpose::parse(purpose)?),
                reason: reason.clone(),
                call_time: call_time.clone(),
                staff: staff.clone(),
                number: number.clone(),
                parties: parties.clone(),
                info: info.clone(),
                received,
                identity: identity.clone(),
            };
            let id = s.raise_request(d).await?;
            if *json {
                print_json(&serde_json::json!({ "id": id }));
            } else {
                println!("{id}");
            }
            Ok(())
        }
        RequestCmd::List { state, json } => {
            let state = state.as_deref().map(State::parse).transpose()?;
            let list = s.requests(state).await?;
            if *json {
                print_json(&list);
            } else {
                for r in &list {
                    print_request_line(r);
                }
                eprintln!("{} request(s)", list.len());
            }
            Ok(())
        }
        RequestCmd::Show { id, json } => {
            let r = s.request(id).await?;
            if *json {
                print_json(&r);
            } else {
                print_request_line(&r);
                println!("reason:      {}", r.reason);
                if let Some(d) = r.due_date {
                    println!(
                        "received:    {}   due: {d} ({} days left)",
                        r.received.map(|d| d.to_string()).unwrap_or_default(),
                        r.days_left.unwrap_or(0)
                    );
                }
                if let Some(a) = &r.approved_by {
                    let allow: Vec<&str> = r.allow.iter().map(|x| x.as_str()).collect();
                    println!(
                        "approved by: {a} ({}) until {}",
                        allow.join(","),
                        r.expires_at.clone().unwrap_or_default()
                    );
                }
                if let Some(a) = &r.agreement {
                    println!(
                        "agreement:   {a} ({})",
                        r.agreement_by.clone().unwrap_or_default()
                    );
                }
                for i in &r.ignored {
                    println!("ignored:     {i}");
                }
                println!("candidates:");
                for c in &r.candidates {
                    println!(
                        "  {}  {}  {:<8} {:<14} {:<16} {}",
                        c.id,
                        c.started_at,
                        c.direction.as_str(),
                        c.staff.as_deref().unwrap_or("unassigned"),
                        c.external_number.as_deref().unwrap_or("-"),
                        c.parties.join("; ")
                    );
                }
            }
            Ok(())
        }
        RequestCmd::Approve {
            id,
            recordings,
            expires_days,
            allow,
        } => {
            if *expires_days == 0 {
                return Err(Failure::Usage("--expires-days must be at least 1".into()));
            }
            let allow = Right::parse_list(allow)?;
            let expires = chrono::Utc::now() + chrono::Duration::days(*expires_days as i64);
            s.approve(id, recordings, expires, &allow).await?;
            println!(
                "Approved {} recording(s) of request {id} until {}.",
                recordings.len(),
                expires.format("%Y-%m-%d %H:%M UTC")
            );
            Ok(())
        }
        RequestCmd::Reject { id, reason } => {
            s.reject(id, reason).await?;
            println!("Rejected request {id}.");
            Ok(())
        }
        RequestCmd::Agree { id, text } => {
            s.agree(id, text).await?;
            println!("Written agreement recorded for request {id}.");
            Ok(())
        }
        RequestCmd::Extend { id, days, reason } => {
            let due = s.extend(id, *days, reason).await?;
            println!("Request {id} now due {due}.");
            Ok(())
        }
        RequestCmd::Complete { id, note } => {
            s.complete(id, note.as_deref()).await?;
            println!("Request {id} completed.");
            Ok(())
        }
    }
}

fn print_request_line(r: &RequestView) {
    println!(
        "{}  {:<16} {:<9} raised by {} at {}{}",
        r.id,
        r.purpose.as_str(),
        r.state.as_str(),
        r.raised_by.as_deref().unwrap_or("?"),
        r.raised_at,
        r.due_date.map(|d| format!("  due {d}")).unwrap_or_default()
    );
}

async fn write_certificate(
    s: &Session,
    c: &callvault_core::retention::certificate::Certificate,
    dir: &std::path::Path,
    json: bool,
) -> Result<(), Error> {
    let practice = s.practice_line().await;
    let (j, h) = c.write(dir, &practice)?;
    if json {
        print_json(c);
    } else {
        println!("Deleted {} recording(s).", c.tombstones.len());
        println!("Certificate: {} and {}", j.display(), h.display());
    }
    Ok(())
}
