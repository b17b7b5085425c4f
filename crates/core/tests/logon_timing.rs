//! Logon time does not reveal whether a user exists: a wrong password for an existing user and a
//! name that does not exist take the same time. Timing-sensitive (a busy machine can upset it), so
//! it runs only with the feature `slow-tests` (`scripts/test` runs it; `cargo test -p
//! callvault-core --features slow-tests --test logon_timing`).
//!
//! Timing: medians of 15 logons each (interleaved), with the archive's KDF (`--kdf fast` here for
//! speed; `CALLVAULT_LONG=1` also runs it with the calibrated ~0.5 s KDF). The ratio of medians must
//! lie within 0.7–1.4; the measurement is repeated up to three times on a noisy machine before
//! failing (a real leak, the whole KDF, fails every repeat).

mod logon_world;

use callvault_core::session::KdfChoice;
use callvault_core::Error;
use logon_world::{logon, world, World, CLIN};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Medians (ms) of `n` failed logons each: existing user with a wrong password, and an unknown
/// name, interleaved. Failure markers are cleared before each try so no lockout cuts one short.
async fn timing(w: &World, n: usize) -> (f64, f64) {
    let clear = || {
        let _ = std::fs::remove_dir_all(w.archive.join("auth"));
    };
    // Warm up (device state, page cache).
    for _ in 0..2 {
        clear();
        let _ = logon(&w.archive, &w.dev[0], CLIN.0, "wrong-password").await;
        let _ = logon(&w.archive, &w.dev[0], "nobody.here", "wrong-password").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..n {
        for (name, out) in [
            (CLIN.0, &mut known),
            (&format!("nobody.{i}") as &str, &mut unknown),
        ] {
            clear();
            let t = Instant::now();
            let r = logon(&w.archive, &w.dev[0], name, "wrong-password").await;
            out.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(matches!(r, Err(Error::BadLogon)), "{name}: {r:?}");
        }
    }
    clear();
    (median(known), median(unknown))
}

async fn no_timing_difference(kdf: KdfChoice, label: &str) {
    let w = world(kdf).await;
    let mut last = (0.0, 0.0);
    for attempt in 1..=3 {
        let (known, unknown) = timing(&w, 15).await;
        let ratio = known / unknown;
        eprintln!(
            "logon timing ({label} KDF), attempt {attempt}: existing user, wrong password: median {known:.1} ms; unknown user: median {unknown:.1} ms; ratio {ratio:.2}"
        );
        if (0.7..=1.4).contains(&ratio) {
            return;
        }
        last = (known, unknown);
    }
    panic!(
        "logon time reveals whether a user exists: existing {:.1} ms vs unknown {:.1} ms (medians)",
        last.0, last.1
    );
}

#[tokio::test]
async fn logon_time_does_not_reveal_whether_a_user_exists() {
    no_timing_difference(KdfChoice::Fast, "fast").await;
    if std::env::var_os("CALLVAULT_LONG").is_some() {
        no_timing_difference(KdfChoice::Calibrated, "calibrated").await;
    }
}
