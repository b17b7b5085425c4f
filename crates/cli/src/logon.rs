//! What a command needs before it can start: the archive folder, the user, their password (from
//! CALLVAULT_PASSWORD, standard input or a prompt), a new password for a user being created or
//! reset, the password-hashing cost, and the logon itself with its warnings shown.

use crate::args::Cli;
use crate::Failure;
use callvault_core::secret::Password;
use callvault_core::session::{KdfChoice, Session};
use std::io::BufRead;
use std::path::PathBuf;

pub fn archive_dir(cli: &Cli) -> Result<PathBuf, Failure> {
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

pub fn new_password(for_name: &str) -> Result<Password, Failure> {
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

/// The practice's recovery code: CALLVAULT_RECOVERY_CODE, else a prompt.
pub fn recovery_code() -> Result<Password, Failure> {
    if let Ok(c) = std::env::var("CALLVAULT_RECOVERY_CODE") {
        return Ok(Password::new(c));
    }
    rpassword::prompt_password("The practice's recovery code: ")
        .map(Password::new)
        .map_err(|e| {
            Failure::Usage(format!(
                "no recovery code: set CALLVAULT_RECOVERY_CODE or run in a terminal ({e})"
            ))
        })
}

pub fn kdf_choice(s: &str) -> Result<KdfChoice, Failure> {
    match s {
        "calibrated" => Ok(KdfChoice::Calibrated),
        "fast" => Ok(KdfChoice::Fast),
        other => Err(Failure::Usage(format!(
            "--kdf {other}: use calibrated or fast"
        ))),
    }
}

pub async fn logon(cli: &Cli) -> Result<Session, Failure> {
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
