//! Exports: `callvault export sar` (the one-click SAR package, optionally an encrypted ZIP and with
//! redactions), `callvault export portability`, and `callvault export release` (a police or
//! disciplinary copy, named by the core inside the folder given, as the app makes it).

use crate::args::{Cli, ExportCmd, PackageArgs};
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
            package,
            json,
        } => {
            let r = match options(package) {
                Ok(opts) => s.export_sar(request, out, &opts, &mut progress).await,
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
            package,
            json,
        } => {
            let folder = std::path::absolute(out).map_err(|e| Error::Io {
                path: out.display().to_string(),
                source: e,
            });
            let r = match (options(package), folder) {
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

/// The package's options as the core takes them (each `--redact` parsed).
fn options(p: &PackageArgs) -> Result<SarOptions, Error> {
    Ok(SarOptions {
        zip: p.zip,
        redactions: p
            .redactions
            .iter()
            .map(|r| Redaction::parse(r))
            .collect::<Result<_, _>>()?,
        tone: p.tone,
    })
}
