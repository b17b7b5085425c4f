//! The app's overview over a large archive (a figure, not a test): median of 5 `Session::overview`
//! calls for one user, after one warm-up, and how big the answer is.
//!
//! ```sh
//! cargo run -p callvault-core --example overview_bench -- ARCHIVE DATA_DIR USER PASSWORD
//! ```

use callvault_core::secret::Password;
use callvault_core::session::Session;
use std::path::Path;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [archive, data, user, password] = &a[..] else {
        eprintln!("usage: overview_bench ARCHIVE DATA_DIR USER PASSWORD");
        std::process::exit(2);
    };
    let s = Session::logon_in(
        Path::new(archive),
        Path::new(data),
        user,
        &Password::new(password),
    )
    .await
    .expect("logon");
    let o = s.overview().await.expect("overview");
    let mut ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let _ = s.overview().await.expect("overview");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "overview for {user}: median {:.1} ms (min {:.1}, max {:.1}); {} awaiting, {} SAR cases, {} calls in the last 30 days, imports shown: {}",
        ms[2],
        ms[0],
        ms[4],
        o.awaiting_decision.len(),
        o.sar_cases.len(),
        o.calls_per_day.iter().map(|d| d.count).sum::<u32>(),
        o.recent_imports.map_or(0, |v| v.len())
    );
    // For comparison: the cheapest audited action (a one-row search), which pays the same
    // audit append as the overview.
    let mut ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let _ = s
            .search(&callvault_core::session::SearchQuery {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .expect("search");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    println!("a one-row search (audited like it): median {:.1} ms", ms[2]);
    s.close().await;
}
