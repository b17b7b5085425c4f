//! Checking the archive and rebuilding from it: `callvault verify` reads and authenticates every
//! object; `callvault check completeness` sets it against the phone system's call log;
//! `callvault index rebuild` drops this device's local index and rebuilds it from the archive's
//! journal.

use crate::args::Cli;
use crate::logon::logon;
use crate::print::print_json;
use crate::{CliResult, Failure};
use callvault_core::session::CompletenessQuery;
use std::path::Path;

pub async fn verify(cli: &Cli, json: bool) -> CliResult {
    let mut s = logon(cli).await?;
    let r = s.verify().await;
    s.close().await;
    let rep = r?;
    if json {
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
        if !json {
            println!("archive verified: no problems");
        }
        Ok(())
    } else {
        eprintln!("{} problem(s) found", rep.problems.len());
        Err(Failure::Reported(1))
    }
}

pub async fn rebuild_index(cli: &Cli) -> CliResult {
    let s = logon(cli).await?;
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

pub async fn completeness(
    cli: &Cli,
    cdr: &Path,
    layout: &Option<String>,
    (from, to): (&Option<String>, &Option<String>),
    tz: &Option<String>,
    sound: bool,
    json: bool,
) -> CliResult {
    let tz = tz.as_deref().map(callvault_core::time::zone).transpose()?;
    let s = logon(cli).await?;
    let q = CompletenessQuery {
        cdr: cdr.to_path_buf(),
        layout: layout.clone(),
        from: from.clone(),
        to: to.clone(),
        sound,
        tz,
        recent_days: None,
    };
    let r = s.check_completeness(&q).await;
    s.close().await;
    let rep = r?;
    if json {
        print_json(&rep);
    } else {
        println!(
            "{} ({} call log, {} rows), {} to {}: {} calls ({} answered), {} recordings, {} named by the log",
            rep.cdr,
            rep.layout.as_str(),
            rep.log_rows,
            rep.from,
            rep.to,
            rep.log_calls,
            rep.answered,
            rep.recordings,
            rep.matched
        );
        for f in &rep.findings {
            let what = match (&f.recording, &f.cdr) {
                (Some(r), Some(c)) => format!("recording {r}, call {} (line {})", c.id, c.line),
                (Some(r), None) => format!("recording {r}"),
                (None, Some(c)) => format!("call {} (line {})", c.id, c.line),
                (None, None) => String::new(),
            };
            println!("{:<10} {}  {what}: {}", f.kind.as_str(), f.at, f.detail);
        }
        let counts: Vec<String> = rep.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("found: {}", counts.join(", "));
        if sound_line(&rep) {
            println!(
                "silence: {} recordings heard, {} not",
                rep.sound_checked, rep.sound_unchecked
            );
        }
    }
    if let Some(n) = &rep.coverage_note {
        eprintln!("note: {n}");
    }
    for p in &rep.sound_problems {
        eprintln!("FAILED {p}");
    }
    if let Some(n) = &rep.sound_note {
        eprintln!(
            "note: {} recording(s) not heard for silence: {n}",
            rep.sound_unchecked
        );
    }
    if rep.findings.is_empty() && rep.sound_problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Reported(1))
    }
}

fn sound_line(rep: &callvault_core::session::CompletenessReport) -> bool {
    rep.sound_checked + rep.sound_unchecked > 0
}
