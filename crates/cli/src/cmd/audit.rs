//! The audit trail: `callvault audit verify` checks every device's hash chain and every entry;
//! `callvault audit list` shows entries (as a table, JSON, or CSV for the DSP Toolkit).

use crate::args::{AuditCmd, Cli};
use crate::logon::logon;
use crate::print::print_json;
use crate::CliResult;
use crate::Failure;
use callvault_core::session::{audit_csv, AuditFilter};

pub async fn run(cli: &Cli, ac: &AuditCmd) -> CliResult {
    match ac {
        AuditCmd::Verify { json } => {
            let s = logon(cli).await?;
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
        AuditCmd::List {
            by,
            recording,
            request,
            from,
            to,
            searched_for,
            json,
            csv,
        } => {
            let s = logon(cli).await?;
            let f = AuditFilter {
                user: by.clone(),
                recording: recording.clone(),
                request: request.clone(),
                from: from.clone(),
                to: to.clone(),
                searched_for: searched_for.clone(),
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
                    let who = e.actor.as_deref().map(|a| {
                        s.user_name_of(a)
                            .unwrap_or_else(|| a.get(..8).unwrap_or(a).to_string())
                    });
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
    }
}
