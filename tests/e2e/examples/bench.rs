//! Speed of the real app (not a test): cold start to the first screen, a new device's first logon
//! (which builds its local index from the archive's journal), and search to results on screen —
//! a narrow search (one number), a wide one (one member of staff, the first 1,000) and everything
//! (up to 100,000 rows) — over a demo archive.
//!
//! `cargo run -p callvault-e2e --example bench -- [N]` makes a demo archive of N made-up calls
//! (default 2,000); `-- --archive PATH` uses an existing demo archive (e.g. 100,000 one-second
//! calls made once with `callvault demo --calls 100000 --clip-secs 1 --kdf fast`). Set
//! `CALLVAULT_APP` to time another build of the app (e.g. target/release/callvault-app).

use callvault_e2e::{prerequisites, World};
use fantoccini::Locator;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Run one search from the form; returns (the UI's own IPC + render time, WebDriver's wall time).
async fn search(w: &World, fields: &[(&str, &str)]) -> (f64, f64, usize) {
    w.click("button.secondary[type='button']").await; // Clear: the last results go
    for (css, v) in fields {
        w.fill(css, v).await;
    }
    let t0 = Instant::now();
    w.click("#search").await;
    loop {
        if let Ok(e) = w.client.find(Locator::Css("[role=status]")).await {
            let s = e.text().await.unwrap_or_default();
            if let Some(rest) = s.strip_prefix("Found in ") {
                let ui: f64 = rest
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(f64::NAN);
                let wall = t0.elapsed().as_secs_f64() * 1000.0;
                let count = w.text("#result-count").await.parse().unwrap_or(0);
                return (ui, wall, count);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let existing = args
        .iter()
        .position(|a| a == "--archive")
        .map(|i| PathBuf::from(&args[i + 1]));
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let (driver, app) = prerequisites().unwrap_or_else(|e| panic!("{e}"));
    println!("app: {}", app.display());

    let mut colds = Vec::new();
    let mut logons = Vec::new();
    let mut results: Vec<(&str, Vec<f64>, Vec<f64>, usize)> = vec![
        ("one number", vec![], vec![], 0),
        ("one member of staff (first 1,000)", vec![], vec![], 0),
        ("everything (up to 100,000)", vec![], vec![], 0),
    ];
    for run in 0..RUNS {
        let t = Instant::now();
        let w = match &existing {
            Some(a) => World::start_over(&driver, &app, a).await,
            None => World::start_with(&driver, &app, n).await,
        };
        if run == 0 {
            eprintln!(
                "archive ready and WebDriver session: {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        // Cold start: from asking WebDriver for the app to its first screen being rendered.
        w.el("#archive-path").await;
        colds.push(w.started.elapsed().as_secs_f64() * 1000.0);
        w.fill("#archive-path", &w.archive.display().to_string())
            .await;
        w.click("#open-archive").await;
        w.el("#user").await;
        // A new device every run (fresh app-data): the first logon builds the local index.
        w.fill("#user", "jordan.reid").await;
        w.fill("#password", "jordan-demo-2026").await;
        let t0 = Instant::now();
        w.click("#logon").await;
        w.client
            .wait()
            .at_most(Duration::from_secs(900))
            .for_element(Locator::Css("#search-title"))
            .await
            .expect("logged on");
        logons.push(t0.elapsed().as_secs_f64() * 1000.0);
        for (i, fields) in [
            vec![("#q-number", "07700 900129")],
            vec![("#q-staff", "lee.carter")],
            vec![("#q-limit", "100000")],
        ]
        .into_iter()
        .enumerate()
        {
            let (ui, wall, count) = search(&w, &fields).await;
            results[i].1.push(ui);
            results[i].2.push(wall);
            results[i].3 = count;
        }
        w.close().await;
    }
    match &existing {
        Some(a) => println!("archive: {}", a.display()),
        None => println!("calls in archive: {n}"),
    }
    println!(
        "cold start to first screen (WebDriver session request to rendered), median of {RUNS}: {:.0} ms",
        median(colds)
    );
    println!(
        "first logon on a new device (index built from the journal), median of {RUNS}: {:.0} ms",
        median(logons)
    );
    for (what, ui, wall, count) in results {
        println!(
            "search, {what}: {count} rows; the UI's IPC + render median {:.0} ms; seen by WebDriver {:.0} ms",
            median(ui),
            median(wall)
        );
    }
}
