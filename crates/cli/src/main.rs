//! `callvault`: the command line over the core's `Session` — for scripting, unattended ingest and
//! tests. It holds no rules of its own: every decision is the core's.

use callvault_core::archive::journal::Direction;
use callvault_core::secret::Password;
use callvault_core::session::{KdfChoice, SearchQuery, Session};
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
    /// Import a folder of recordings described by a CSV manifest.
    Import {
        dir: PathBuf,
        #[arg(long)]
        manifest: Option<PathBuf>,
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
    /// Create a demo archive of made-up users and calls at --archive.
    Demo {
        #[arg(long, default_value_t = 36)]
        calls: usize,
        #[arg(long, default_value = "calibrated")]
        kdf: String,
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
        #[arg(long)]
        json: bool,
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
        Cmd::Demo { calls, kdf, json } => {
            let root = archive_dir(&cli)?;
            let r = callvault_core::demo::create(&root, *calls, kdf_choice(kdf)?).await?;
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
            manifest,
            json,
        } => {
            let mut s = logon(&cli).await?;
            let r = s.import_dir(dir, manifest.as_deref()).await;
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            s.close().await;
            let rep = r?;
            if *json {
                print_json(&rep);
            } else {
                println!(
                    "imported {}, duplicates {}, rejected {}",
                    rep.imported.len(),
                    rep.duplicates.len(),
                    rep.rejected.len()
                );
                for d in &rep.duplicates {
                    println!(
                        "duplicate: {} (already stored as {})",
                        d.file, d.existing_id
                    );
                }
            }
            for r in &rep.rejected {
                eprintln!("rejected: {}: {}", r.file, r.reason);
            }
            if rep.rejected.is_empty() {
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
        Cmd::Audit(AuditCmd::List { json }) => {
            let s = logon(&cli).await?;
            let r = s.audit_entries().await;
            s.close().await;
            let mut entries = r?;
            entries.sort_by(|a, b| a.at.cmp(&b.at));
            if *json {
                print_json(&entries);
            } else {
                for e in entries {
                    println!(
                        "{} {} {:<16} {:<8} {} {}",
                        e.at,
                        e.actor.as_deref().map(|a| &a[..8]).unwrap_or("-"),
                        e.action,
                        e.outcome,
                        e.targets.len(),
                        e.detail.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
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

fn dir_str(d: Direction) -> &'static str {
    d.as_str()
}
