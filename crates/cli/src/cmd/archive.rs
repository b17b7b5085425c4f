//! Making an archive and keeping its settings: `callvault init` creates a new archive and its
//! first user; `callvault settings show|set` reads and changes the retention period, the
//! practice's name and address and the other archive-wide settings; `callvault dnr` keeps the
//! do-not-record list.

use crate::args::{Cli, DnrCmd, SettingsCmd};
use crate::logon::{archive_dir, kdf_choice, logon, new_password};
use crate::print::print_json;
use crate::CliResult;

pub async fn init(cli: &Cli, admin: &str, kdf: &str) -> CliResult {
    let root = archive_dir(cli)?;
    let kdf = kdf_choice(kdf)?;
    let pw = new_password(admin)?;
    let r = callvault_core::session::init(&root, admin, &pw, kdf).await?;
    println!(
        "Created archive {} at {} with user {admin} (admin, data-controller).",
        r.archive_id,
        root.display()
    );
    println!(
        "Password hashing: Argon2id m={} MiB t={} p={} ({} ms here).",
        r.kdf.m_kib / 1024,
        r.kdf.t,
        r.kdf.p,
        r.kdf_measured_ms
    );
    println!(
        "Archive fingerprint: {} (write it on the practice's set-up sheet: every computer shows it the first time it opens the archive).",
        r.fingerprint
    );
    crate::cmd::users::print_recovery_code(r.recovery_code.expose());
    Ok(())
}

pub async fn settings(cli: &Cli, sc: &SettingsCmd) -> CliResult {
    let mut s = logon(cli).await?;
    let r = match sc {
        SettingsCmd::Show { json } => s.settings().await.map(|list| {
            if *json {
                let m: serde_json::Map<String, serde_json::Value> =
                    list.into_iter().map(|(k, v, _)| (k, v.into())).collect();
                print_json(&m);
            } else {
                for (k, v, about) in list {
                    println!("{k:<22} {v:<20} {about}");
                }
            }
        }),
        SettingsCmd::Set { key, value } => s
            .set_setting(key, value)
            .await
            .map(|_| println!("{key} = {value}")),
    };
    s.close().await;
    Ok(r?)
}

pub async fn dnr(cli: &Cli, dc: &DnrCmd) -> CliResult {
    use callvault_core::dnr::Kind;
    let mut s = logon(cli).await?;
    let r = match dc {
        DnrCmd::Add {
            value,
            extension,
            label,
        } => {
            let kind = if *extension {
                Kind::Extension
            } else {
                Kind::Number
            };
            s.do_not_record_add(kind, value, label).map(|id| {
                println!(
                    "added {} as entry {id}: its calls are not kept from now on (only a keyed hash of it is stored)",
                    kind.as_str()
                )
            })
        }
        DnrCmd::List { json } => s.do_not_record_list().map(|l| {
            for p in &l.problems {
                eprintln!("warning: {p}");
            }
            if *json {
                print_json(&l);
            } else if l.entries.is_empty() {
                println!("The do-not-record list is empty: every call is kept.");
            } else {
                for e in &l.entries {
                    println!(
                        "{}  {:<9}  {}  (added by {} on {})",
                        e.id,
                        e.kind.as_str(),
                        e.label,
                        e.added_by,
                        e.added_at.get(..10).unwrap_or(&e.added_at)
                    );
                }
            }
        }),
        DnrCmd::Remove { what } => s
            .do_not_record_remove(what)
            .map(|id| println!("removed entry {id}: its calls are kept again from now on")),
    };
    s.close().await;
    Ok(r?)
}
