//! Managing users (admin): `callvault user add|list|reset-password|set-roles|disable|enable`; the practice's
//! recovery key: `callvault recovery create` and the break-glass `callvault recover`. New
//! passwords come from CALLVAULT_NEW_PASSWORD or a prompt, recovery codes from
//! CALLVAULT_RECOVERY_CODE or a prompt.

use crate::args::{Cli, KeysCmd, RecoveryCmd, UserCmd};
use crate::logon::{archive_dir, logon, new_password, recovery_code};
use crate::print::print_json;
use crate::CliResult;
use callvault_core::Role;

pub async fn run(cli: &Cli, uc: &UserCmd) -> CliResult {
    match uc {
        UserCmd::Add {
            name,
            roles,
            telephony_ids,
        } => {
            let mut s = logon(cli).await?;
            let roles = Role::parse_list(&roles.join(","))?;
            let pw = new_password(name)?;
            let r = s.add_user(name, &roles, telephony_ids, &pw).await;
            s.close().await;
            r?;
            println!("Added user {name}.");
            Ok(())
        }
        UserCmd::ResetPassword { name, recovery } => {
            let mut s = logon(cli).await?;
            let code = if *recovery {
                Some(recovery_code()?)
            } else {
                None
            };
            let pw = new_password(name)?;
            let r = match &code {
                Some(c) => s.reset_password_with_recovery(name, &pw, c).await,
                None => s.reset_password(name, &pw).await.map(|()| true),
            };
            s.close().await;
            if r? {
                println!("Password of {name} reset.");
            } else {
                println!("Password reset of {name} prepared with the recovery key: an admin's next logon completes it (the admin never sees the code).");
            }
            Ok(())
        }
        UserCmd::SetRoles { name, roles } => {
            let mut s = logon(cli).await?;
            let roles = Role::parse_list(&roles.join(","))?;
            let n = s.warnings.len();
            let r = s.set_roles(name, &roles).await;
            warn_since(&s, n);
            s.close().await;
            r?;
            println!("Roles of {name} changed.");
            Ok(())
        }
        UserCmd::Disable { name } | UserCmd::Enable { name } => {
            let disable = matches!(uc, UserCmd::Disable { .. });
            let mut s = logon(cli).await?;
            let n = s.warnings.len();
            let r = s.update_user(name, None, Some(disable)).await;
            warn_since(&s, n);
            s.close().await;
            r?;
            println!("{name} {}.", if disable { "disabled" } else { "enabled" });
            Ok(())
        }
        UserCmd::List { json } => {
            let s = logon(cli).await?;
            let r = s.list_users().await;
            s.close().await;
            let users = r?;
            if *json {
                print_json(&users);
            } else {
                for u in users {
                    let roles: Vec<&str> = u.roles.iter().map(Role::as_str).collect();
                    println!(
                        "{:<20} {:<40} {}",
                        u.name,
                        roles.join(","),
                        u.telephony_ids.join(",")
                    );
                }
            }
            Ok(())
        }
    }
}

pub async fn recovery(cli: &Cli, rc: &RecoveryCmd) -> CliResult {
    match rc {
        RecoveryCmd::Create => {
            let s = logon(cli).await?;
            let r = s.create_recovery_key();
            s.close().await;
            let code = r?;
            print_recovery_code(code.expose());
            println!("The next logon of an admin who holds call keys moves every key holder's escrow to it.");
            Ok(())
        }
    }
}

pub async fn keys(cli: &Cli, k: &KeysCmd) -> CliResult {
    let mut s = logon(cli).await?;
    match k {
        KeysCmd::Rotate { key } if key == "custodian" => {
            let r = s.rotate_key("custodian").await;
            s.close().await;
            let r = r?;
            println!(
                "Call key epoch {} made; given to {}. Re-wrap the stored calls: callvault keys rewrap",
                r.epoch,
                r.holders.join(", ")
            );
            Ok(())
        }
        KeysCmd::Rotate { key } => {
            let r = s.rotate_key(key).await;
            s.close().await;
            let r = r?;
            println!(
                "The {key} key's epoch {} made; given to {}. What is written from now on is locked to it.",
                r.epoch,
                r.holders.join(", ")
            );
            Ok(())
        }
        KeysCmd::Rewrap { json } => {
            let progress = |done: usize, total: usize| {
                if done.is_multiple_of(500) || done == total {
                    eprintln!("re-wrapped {done} of {total}");
                }
            };
            let r = s.rewrap_calls(Some(&progress)).await;
            s.close().await;
            let r = r?;
            if *json {
                crate::print::print_json(&r);
            } else {
                println!(
                    "Call key epoch {}: {} call(s) re-wrapped, {} already under it, {} failed",
                    r.epoch,
                    r.rewrapped,
                    r.already,
                    r.failed.len()
                );
                for (id, why) in &r.failed {
                    println!("  {id}: {why}");
                }
            }
            if r.failed.is_empty() {
                Ok(())
            } else {
                Err(callvault_core::Error::Invalid(format!(
                    "{} call(s) could not be re-wrapped; run it again",
                    r.failed.len()
                ))
                .into())
            }
        }
    }
}

/// The recovery code, shown once, with what to do with it.
pub fn print_recovery_code(code: &str) {
    println!("Recovery code: {code}");
    println!(
        "Write it down now and keep it offline (the practice safe): it is shown only this once. With it the data controller can reset the password of anyone who holds call keys, or an admin's own if no admin can log on (`callvault recover NAME`)."
    );
}

pub async fn recover(cli: &Cli, name: &str) -> CliResult {
    let root = archive_dir(cli)?;
    let code = recovery_code()?;
    let pw = new_password(name)?;
    match callvault_core::session::Session::recover_account(
        &root,
        &callvault_core::device::data_root()?,
        name,
        &code,
        &pw,
    )
    .await?
    {
        Some(s) => {
            s.close().await;
            println!("Password of {name} reset with the practice's recovery key; this use is in the audit trail.");
        }
        None => println!(
            "Password reset of {name} prepared with the practice's recovery key: an admin's next logon completes it. This use is in the audit trail."
        ),
    }
    Ok(())
}

/// The warnings a change added to the session (the keys it rotated, or left for a later logon).
fn warn_since(s: &callvault_core::session::Session, n: usize) {
    for w in s.warnings.get(n..).unwrap_or_default() {
        eprintln!("warning: {w}");
    }
}
