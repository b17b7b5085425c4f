//! Making an archive and keeping its settings: `callvault init` creates a new archive and its
//! first user; `callvault settings show|set` reads and changes the retention period, the
//! practice's name and address and the other archive-wide settings.

use crate::args::{Cli, SettingsCmd};
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
