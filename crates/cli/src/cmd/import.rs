//! Bringing recordings in: `callvault import DIR` (a user's import of a folder as the phone
//! system laid it out, with --dry-run showing how each file is understood), and the unattended
//! ingest — `callvault ingest-profile export` (admin) and `callvault ingest --watch`, which needs
//! no user and no password, only the profile.

use crate::args::{Cli, ImportArgs, IngestArgs, IngestProfileCmd};
use crate::logon::logon;
use crate::print::{dir_str, print_json};
use crate::{CliResult, Failure};
use callvault_core::ingest::unattended::{self, IngestSession, Outcome, SourceMode, WatchOptions};
use callvault_core::session::ingest::{
    ImportOptions, ImportProgress, Layout, LayoutImportReport, ProgressFn,
};
use std::io::{IsTerminal, Write};

pub async fn import(cli: &Cli, a: &ImportArgs) -> CliResult {
    let ImportArgs {
        dir,
        layout,
        manifest,
        tz,
        cdr,
        dry_run,
        allow_erased,
        json,
    } = a;
    let layout: Layout = layout.parse().map_err(Failure::Usage)?;
    let tz = match tz {
        Some(z) => Some(callvault_core::time::zone(z).map_err(|_| {
            Failure::Usage(format!(
                "--tz {z}: not a known time zone (e.g. Europe/London)"
            ))
        })?),
        None => None,
    };
    let mut s = logon(cli).await?;
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
        print_dry_run(&rep);
    } else {
        println!(
            "imported {}, duplicates {}, rejected {}, unassigned {}",
            rep.report.imported.len(),
            rep.report.duplicates.len(),
            rep.report.rejected.len(),
            rep.unassigned
        );
        if rep.report.not_kept > 0 {
            println!(
                "not kept: {} call(s) whose number or extension is on the do-not-record list (nothing of them stored)",
                rep.report.not_kept
            );
        }
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
    for w in &rep.report.warnings {
        eprintln!("warning: do-not-record list: {w}; the calls it would drop are kept");
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

/// `import --dry-run`: how each file is understood and what would happen to it, then a summary.
fn print_dry_run(rep: &LayoutImportReport) {
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
    let not_kept = match rep.report.not_kept {
        0 => String::new(),
        n => format!(", not kept (do-not-record list) {n}"),
    };
    println!(
        "dry run: would import {would} ({} unassigned), duplicates {dups}, rejected {}{not_kept}; nothing written",
        rep.unassigned,
        rep.report.rejected.len(),
    );
}

pub async fn export_profile(cli: &Cli, c: &IngestProfileCmd) -> CliResult {
    let IngestProfileCmd::Export { file, name } = c;
    let mut s = logon(cli).await?;
    let r = unattended::export_profile(&mut s, name, file).await;
    s.close().await;
    r?;
    println!("Ingest profile for {name} written to {} (no key in it decrypts anything; keep it readable only by the ingest service).", file.display());
    Ok(())
}

pub fn ingest(cli: &Cli, a: &IngestArgs) -> CliResult {
    let IngestArgs {
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
    } = a;
    let layout: callvault_core::ingest::layout::Layout = layout.parse().map_err(Failure::Usage)?;
    let tz = callvault_core::time::zone(tz)?;
    let state = match state_dir {
        Some(d) => d.clone(),
        None => callvault_core::device::data_root()?.join("ingest"),
    };
    std::fs::create_dir_all(&state)
        .map_err(|e| Failure::Usage(format!("{}: {e}", state.display())))?;
    let mut session = IngestSession::open(profile, cli.archive.as_deref(), &state)?;
    for w in session.do_not_record()?.1.problems {
        eprintln!("warning: do-not-record list: {w}; the calls it would drop are kept");
    }
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
        if *outcome == Outcome::NotKept {
            // Not the file's name: a phone system's names carry the number.
            if json {
                println!("{}", serde_json::json!({ "result": outcome }));
            } else {
                println!("not kept: a call whose number or extension is on the do-not-record list (nothing of it stored)");
            }
        } else if json {
            println!("{}", serde_json::json!({ "file": file, "result": outcome }));
        } else {
            match outcome {
                Outcome::Imported { id } => println!("imported {file} as {id}"),
                Outcome::AlreadyImported { id } => {
                    println!("already imported {file} ({id})")
                }
                Outcome::Rejected { reason } => eprintln!("rejected: {file}: {reason}"),
                Outcome::NotKept => {}
            }
        }
    })?;
    Ok(())
}

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
