//! Speed of the real app (not a test): cold start to the first screen, and search to results on
//! screen, over a demo archive of N made-up calls.
//! `cargo run -p callvault-e2e --example bench -- [N]` (default 2,000; the app must be built).

use callvault_e2e::{prerequisites, World};
use fantoccini::Locator;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let (driver, app) = prerequisites().unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let w = World::start_with(&driver, &app, n).await;
    eprintln!(
        "demo archive of {n} calls and WebDriver session: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Cold start: from asking WebDriver for the app to its first screen being rendered.
    w.el("#archive-path").await;
    let cold = w.started.elapsed();
    w.fill("#archive-path", &w.archive.display().to_string())
        .await;
    w.click("#open-archive").await;
    w.el("#user").await;
    w.logon("jordan.reid", "jordan-demo-2026").await;
    let mut times = Vec::new();
    for _ in 0..5 {
        w.fill("#q-limit", "100000").await;
        let t0 = Instant::now();
        w.click("#search").await;
        // The UI reports IPC + render time itself ("Found in N ms"); WebDriver polling adds its own.
        loop {
            if let Ok(e) = w.client.find(Locator::Css("[role=status]")).await {
                let s = e.text().await.unwrap_or_default();
                if s.starts_with("Found in") {
                    times.push((s, t0.elapsed()));
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        w.click("button.secondary[type='button']").await; // Clear: the results go
    }
    println!("calls in archive: {n}");
    println!(
        "cold start to first screen (WebDriver session request to rendered): {} ms",
        cold.as_millis()
    );
    for (s, wall) in &times {
        println!(
            "search: UI says '{s}'; seen by WebDriver after {} ms",
            wall.as_millis()
        );
    }
    w.close().await;
}
