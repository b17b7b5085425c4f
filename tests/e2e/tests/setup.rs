//! A practice sets Callvault up from nothing in the app, on two computers: the practice manager
//! creates the archive in an empty shared folder, becomes its administrator, adds the practice's
//! staff with their roles and extensions, and checks the archive; a GP partner opens it on her
//! Mac and logs on. When the administrator disables an account on the PC, its session on the Mac
//! ends at its next step, saying why, and it cannot log on again.

use callvault_e2e::{prerequisites, World, SERIAL};
use fantoccini::Locator;

async fn add_user(w: &World, name: &str, roles: &[&str], telephony: &str, password: &str) {
    w.fill("#new-user-name", name).await;
    for r in roles {
        w.click(&format!("input[data-new-role='{r}']")).await;
    }
    w.fill("#new-user-telephony", telephony).await;
    w.fill("#new-user-password", password).await;
    w.click("#new-user-add").await;
    w.el(&format!("tr[data-user='{name}']")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practice_sets_up_its_archive_in_the_app_and_an_account_disabled_on_one_computer_ends_on_the_other(
) {
    let (driver, app) = match prerequisites() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let _one_at_a_time = SERIAL.lock().await;
    let share = tempfile::tempdir().unwrap();
    let archive = share.path().join("Callvault");
    std::fs::create_dir_all(&archive).unwrap();

    // The manager's PC: no archive yet. She starts one in the empty shared folder.
    let pc = World::start_over(&driver, &app, &archive).await;
    pc.el("#create-title").await;
    pc.fill("#new-archive-path", &archive.display().to_string())
        .await;
    pc.fill("#new-practice-name", "Riverside Medical Practice")
        .await;
    pc.fill("#new-admin", "morgan.lee").await;
    pc.fill("#new-password", "riverside-admin-2026").await;
    pc.fill("#new-password-again", "riverside-admin-2027").await;
    pc.click("#create-archive").await;
    assert!(pc.text("#create-error").await.contains("not the same"));
    assert!(!archive.join("archive.json").exists(), "nothing made");
    pc.fill("#new-password", "riverside-admin-2026").await;
    pc.fill("#new-password-again", "riverside-admin-2026").await;
    pc.screenshot("create-archive").await;
    pc.click("#create-archive").await;
    // The practice's recovery code, shown once before the archive opens.
    assert_eq!(pc.text("#recovery-code").await.trim().len(), 29);
    pc.screenshot("recovery-code").await;
    pc.click("#recovery-written").await;
    pc.el("#user").await;
    assert!(archive.join("archive.json").exists());
    pc.logon_to_overview("morgan.lee", "riverside-admin-2026")
        .await;

    // She adds the practice's people with their roles and extensions.
    pc.goto("#/users", "#users-title").await;
    add_user(
        &pc,
        "dr.ann.hale",
        &["approver", "clinician"],
        "201",
        "hale-partner-2026",
    )
    .await;
    add_user(&pc, "kit.frome", &["staff"], "101", "frome-reception-2026").await;
    let row = pc
        .el("tr[data-user='dr.ann.hale']")
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(row.contains("201"), "{row}");

    // The archive checks out.
    pc.goto("#/audit", "#audit-title").await;
    pc.click("#archive-verify").await;
    pc.until("the archive check", || async {
        pc.client
            .find(Locator::Css("#archive-verify-result"))
            .await
            .is_ok()
    })
    .await;
    let verdict = pc.text("#archive-verify-result").await;
    assert!(verdict.contains("Intact"), "{verdict}");
    pc.scroll_to("#checks-title").await;
    pc.screenshot("archive-checks").await;

    // The GP partner's Mac opens the same folder and she logs on.
    let mac = World::start_over(&driver, &app, &archive).await;
    mac.open_archive().await;
    mac.logon_to_overview("dr.ann.hale", "hale-partner-2026")
        .await;
    mac.goto("#/requests", "#requests-title").await;

    // The administrator disables the receptionist's and then the partner's account on the PC...
    pc.goto("#/users", "#users-title").await;
    for name in ["kit.frome", "dr.ann.hale"] {
        pc.click(&format!("button[data-edit='{name}']")).await;
        pc.el("#user-editor").await;
        pc.click("#user-disable").await;
        pc.click("#user-disable-confirm").await;
        pc.until("the account disabled", || async {
            pc.el(&format!("tr[data-user='{name}']"))
                .await
                .attr("data-disabled")
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some("true")
        })
        .await;
    }
    // ...and on the Mac the partner's next step ends her session, saying why.
    mac.until("the session to end", || async {
        // Her next steps: the screens she opens ask the core, which catches up first.
        mac.goto("#/requests", "body").await;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        mac.goto("#/overview", "body").await;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        mac.client.find(Locator::Css("#logged-off")).await.is_ok()
    })
    .await;
    assert!(mac.text("#logged-off").await.contains("disabled"));
    mac.fill("#user", "dr.ann.hale").await;
    mac.fill("#password", "hale-partner-2026").await;
    mac.click("#logon").await;
    assert!(mac.text("#logon-error").await.contains("disabled"));

    pc.close().await;
    mac.close().await;
}
