//! Checking the archive and rebuilding from it: `callvault verify` reads and authenticates every
//! object; `callvault index rebuild` drops this device's local index and rebuilds it from the
//! archive's journal.

use crate::args::Cli;
use crate::logon::logon;
use crate::print::print_json;
use crate::{CliResult, Failure};

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
