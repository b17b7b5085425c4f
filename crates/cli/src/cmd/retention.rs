//! Keeping and deleting: legal holds (`callvault hold add|release|list`), deletion with a reason
//! (`delete`), erasure of an approved erasure request (`erase`) and the retention sweep
//! (`retention run`), each deletion writing its certificate.

use crate::args::{Cli, HoldCmd};
use crate::logon::logon;
use crate::print::print_json;
use crate::CliResult;
use callvault_core::retention::certificate::Certificate;
use callvault_core::session::Session;
use callvault_core::Error;
use std::path::Path;

pub async fn hold(cli: &Cli, hc: &HoldCmd) -> CliResult {
    let mut s = logon(cli).await?;
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

pub async fn delete(
    cli: &Cli,
    ids: &[String],
    reason: &str,
    certificate_dir: &Path,
    json: bool,
) -> CliResult {
    let mut s = logon(cli).await?;
    let r = match s.delete(ids, reason).await {
        Ok(c) => write_certificate(&s, &c, certificate_dir, json).await,
        Err(e) => Err(e),
    };
    s.close().await;
    Ok(r?)
}

pub async fn erase(cli: &Cli, request: &str, certificate_dir: &Path, json: bool) -> CliResult {
    let mut s = logon(cli).await?;
    let r = match s.erase(request).await {
        Ok(c) => write_certificate(&s, &c, certificate_dir, json).await,
        Err(e) => Err(e),
    };
    s.close().await;
    Ok(r?)
}

pub async fn run(cli: &Cli, dry_run: bool, json: bool, certificate_dir: &Path) -> CliResult {
    let mut s = logon(cli).await?;
    let r = if dry_run {
        s.retention_due().await.map(|due| {
            if json {
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
            Ok(Some(c)) => write_certificate(&s, &c, certificate_dir, json).await,
            Ok(None) => {
                if json {
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

/// Write a deletion's certificate (JSON and HTML) into `dir` and say where it is (or print it as
/// JSON).
async fn write_certificate(
    s: &Session,
    c: &Certificate,
    dir: &Path,
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
