//! `callvault`: the command line over the core's `Session` — for scripting, unattended ingest and
//! tests. It holds no rules of its own: every decision is the core's. This file parses the
//! command line, runs the command (`cmd/`) and turns its failure into a message and an exit code:
//! 2 for a usage problem, 4 for a refused logon, 5 for a forbidden action, 1 otherwise (or the
//! code a command chose after reporting its own failure).

mod args;
mod cmd;
mod logon;
mod print;

use callvault_core::Error;
use clap::Parser;
use std::process::ExitCode;

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
    let cli = args::Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(cmd::run(cli)) {
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
                e if e.is_refusal() => 5,
                _ => 1,
            })
        }
    }
}
