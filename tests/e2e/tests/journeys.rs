//! The real app, driven end to end: open the demo archive, log on as the Practice Business
//! Manager, search by number, open a call and play it (the playhead moves and audio reaches the
//! ALSA file device), be refused a call without an approved request; then log on as a clinician
//! and be refused a colleague's call. Screenshots of each screen go to docs/screenshots/.

use callvault_core::demo::{demo_calls, demo_users};
use callvault_e2e::{prerequisites, World, DEMO_CALLS};
use fantoccini::Locator;

fn password(name: &str) -> String {
    demo_users()
        .into_iter()
        .find(|u| u.name == name)
        .expect("demo user")
        .password
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_plays_a_call_and_clinician_is_refused_a_colleagues() {
    let (driver, app) = match prerequisites() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let w = World::start(&driver, &app).await;

    // Open the archive: the first screen of a new device.
    w.el("#archive-path").await;
    w.screenshot("open-archive").await;
    w.fill("#archive-path", &w.archive.display().to_string())
        .await;
    w.click("#open-archive").await;

    // Logon, with the made-up demo users listed (demo mode).
    w.el("[data-demo-user='jordan.reid']").await;
    w.screenshot("logon").await;
    w.fill("#user", "jordan.reid").await;
    w.fill("#password", "not-the-password").await;
    w.click("#logon").await;
    let err = w.text("#logon-error").await;
    assert!(err.contains("wrong user name or password"), "{err}");
    w.logon("jordan.reid", &password("jordan.reid")).await;

    // A colleague's call (the receptionist's), to try later as the clinician.
    w.fill("#q-staff", "lee.carter").await;
    w.click("#search").await;
    w.el("#result-count").await;
    let colleague_row = w.el(".row[data-id]").await;
    let colleague_id = colleague_row
        .attr("data-id")
        .await
        .unwrap()
        .expect("row id");
    w.click("button.secondary[type='button']").await; // Clear

    // Search by number for one of the manager's own calls (he was a party to it, as ext 200).
    let own = demo_calls(DEMO_CALLS)
        .into_iter()
        .find(|c| c.staff.as_deref() == Some("jordan.reid"))
        .expect("a call of jordan.reid");
    let number = own.external_number.clone().expect("number");
    w.fill("#q-number", &number).await;
    w.click("#search").await;
    w.until("search results", || async {
        w.client.find(Locator::Css("#result-count")).await.is_ok()
    })
    .await;
    let count: usize = w.text("#result-count").await.parse().expect("count");
    assert!(count >= 1, "no call found for {number}");
    let rows = w
        .client
        .find_all(Locator::Css(".row[data-id]"))
        .await
        .unwrap();
    w.screenshot("search").await;
    let mut texts = Vec::new();
    for r in &rows {
        // The whole row (WebKitWebDriver's text() gives only the first cell of a grid row).
        texts.push(r.prop("textContent").await.unwrap().unwrap_or_default());
    }
    assert!(
        texts.iter().all(|t| t.contains(&number)),
        "a result without {number}: {texts:?}"
    );
    w.screenshot("search").await;

    // Open it and play: the playhead moves, and audio reaches the (file) sound device.
    rows[0]
        .find(Locator::Css("a.open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    w.el("#call-title").await;
    assert_eq!(w.text("#call-number").await, number);
    w.fill("#reason", "checking what was agreed on my call")
        .await;
    w.click("#play").await;
    w.until("the playhead to move", || async {
        let pos = w
            .el("#waveform")
            .await
            .attr("data-position-ms")
            .await
            .unwrap();
        pos.and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) > 0
    })
    .await;
    let played = std::fs::metadata(&w.played).map(|m| m.len()).unwrap_or(0);
    assert!(
        played > 0,
        "nothing reached the sound device ({})",
        w.played.display()
    );
    w.screenshot("call").await;

    // The colleague's call: he may see it (supervisor) but not listen without an approved request.
    w.client
        .execute(&format!("location.hash = '#/call/{colleague_id}'"), vec![])
        .await
        .unwrap();
    w.el("#call-title").await;
    w.click("#play").await;
    let refused = w.text("#play-refused").await;
    assert!(
        refused.contains("You need an approved request to listen to this call"),
        "{refused}"
    );
    w.screenshot("call-refused").await;

    // The clinician: a colleague's call is not his to see at all.
    w.logout().await;
    w.logon("dr.tom.okafor", &password("dr.tom.okafor")).await;
    w.client
        .execute(&format!("location.hash = '#/call/{colleague_id}'"), vec![])
        .await
        .unwrap();
    let err = w.text("#call-error").await;
    assert!(err.contains("not one you may see"), "{err}");
    w.screenshot("clinician-refused").await;

    // Lock: the lock screen shows nothing personal.
    w.client
        .find(Locator::XPath("//button[normalize-space()='Lock']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    w.el("#user").await;
    let body = w.text("body").await;
    assert!(body.contains("Callvault is locked"), "{body}");
    assert!(
        !body.contains("dr.tom.okafor"),
        "the lock screen names the user"
    );
    w.close().await;
}
