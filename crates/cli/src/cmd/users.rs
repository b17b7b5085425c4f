//! Managing users (admin): `callvault user add|list|reset-password|set-roles`. New passwords
//! come from CALLVAULT_NEW_PASSWORD or a prompt.

use crate::args::{Cli, UserCmd};
use crate::logon::{logon, new_password};
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
        UserCmd::ResetPassword { name } => {
            let mut s = logon(cli).await?;
            let pw = new_password(name)?;
            let r = s.reset_password(name, &pw).await;
            s.close().await;
            r?;
            println!("Password of {name} reset.");
            Ok(())
        }
        UserCmd::SetRoles { name, roles } => {
            let mut s = logon(cli).await?;
            let roles = Role::parse_list(&roles.join(","))?;
            let r = s.set_roles(name, &roles).await;
            s.close().await;
            r?;
            println!("Roles of {name} changed.");
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
