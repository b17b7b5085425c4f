//! Exports for the person: `callvault export sar` (the one-click SAR package, optionally an
//! encrypted ZIP and with redactions) and `callvault export portability`.

use crate::args::{Cli, ExportCmd};
use crate::logon::logon;
use crate::print::print_json;
use crate::CliResult;
use callvault_core::export::Redaction;
use callvault_core::session::SarOptions;
use callvault_core::Error;

pub async fn run(cli: &Cli, ec: &ExportCmd) -> CliResult {
    let s = logon(cli).await?;
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
