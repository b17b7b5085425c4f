//! Exports: `callvault export sar` (the one-click SAR package, optionally an encrypted ZIP and with
//! redactions), `callvault export portability`, and `callvault export release` (a police or
//! disciplinary copy, named by the core inside the folder given, as the app makes it).

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
        ExportCmd::Release {
            request,
            out,
            zip,
            redactions,
            tone,
            json,
        } => {
            let opts = redactions
                .iter()
                .map(|r| Redaction::parse(r))
                .collect::<Result<Vec<_>, Error>>()
                .map(|redactions| SarOptions {
                    zip: *zip,
                    redactions,
                    tone: *tone,
                });
            let folder = std::path::absolute(out).map_err(|e| Error::Io {
                path: out.display().to_string(),
                source: e,
            });
            let r = match (opts, folder) {
                (Ok(opts), Ok(folder)) => s.export(request, &folder, &opts, &mut progress).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            (r, *json)
        }
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
