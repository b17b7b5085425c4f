//! Logon: lockout after five failures within 15 minutes counted across devices, the admin's
//! password reset (there is no self-service password change in the core: a user's password is
//! changed by an admin's reset), and no difference — in the answer, the lockout or the time taken —
//! between a wrong password for an existing user and a name that does not exist.
//!
//! Timing: medians of 15 logons each (interleaved), with the archive's KDF (`--kdf fast` here for
//! speed; `CALLVAULT_LONG=1` also runs it with the calibrated ~0.5 s KDF). The ratio of medians must
//! lie within 0.7–1.4; the measurement is repeated up to three times on a noisy machine before
//! failing (a real leak, the whole KDF, fails every repeat).

use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, Session};
use callvault_core::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");

struct World {
    _tmp: tempfile::TempDir,
    archive: PathBuf,
    dev: Vec<PathBuf>,
}

async fn world(kdf: KdfChoice) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let dev: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("dev{i}"))).collect();
    session::init_in(&archive, &dev[0], DC.0, &Password::new(DC.1), kdf)
        .await
        .unwrap();
    let mut s = logon(&archive, &dev[0], DC.0, DC.1).await.unwrap();
    s.add_user(
        CLIN.0,
        &[Role::Clinician],
        &["201".into()],
        &Password::new(CLIN.1),
    )
    .await
    .unwrap();
    s.close().await;
    World {
        _tmp: tmp,
        archive,
        dev,
    }
}

async fn logon(archive: &Path, dev: &Path, u: &str, p: &str) -> Result<Session, Error> {
    Session::logon_in(archive, dev, u, &Password::new(p)).await
}

async fn ok(w: &World, dev: usize, u: &str, p: &str) {
    logon(&w.archive, &w.dev[dev], u, p)
        .await
        .unwrap_or_else(|e| panic!("{u} should log on: {e:?}"))
        .close()
        .await;
}

#[tokio::test]
async fn five_failures_across_devices_lock_the_account_and_a_reset_unlocks_it() {
    let w = world(KdfChoice::Fast).await;
    // Four failures spread over three devices: not locked yet.
    for i in 0..4 {
        let r = logon(&w.archive, &w.dev[i % 3], CLIN.0, "wrong-password").await;
        assert!(matches!(r, Err(Error::BadLogon)), "attempt {i}: {r:?}");
    }
    // The fifth, on another device, locks it.
    let r = logon(&w.archive, &w.dev[1], CLIN.0, "wrong-password").await;
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    // Now even the right password is refused, on every device.
    for d in 0..3 {
        let r = logon(&w.archive, &w.dev[d], CLIN.0, CLIN.1).await;
        assert!(matches!(r, Err(Error::Locked { .. })), "device {d}: {r:?}");
    }
    // Other users are not affected.
    ok(&w, 2, DC.0, DC.1).await;
    // The admin resets the password: the old one no longer opens anything, the new one does.
    let mut a = logon(&w.archive, &w.dev[0], DC.0, DC.1).await.unwrap();
    a.reset_password(CLIN.0, &Password::new("new-clin-pass-99"))
        .await
        .unwrap();
    a.close().await;
    let r = logon(&w.archive, &w.dev[2], CLIN.0, CLIN.1).await;
    assert!(matches!(r, Err(Error::BadLogon)), "old password: {r:?}");
    ok(&w, 2, CLIN.0, "new-clin-pass-99").await;
    // Only the newest record version remains on the share (the old sealing is gone).
    let uid = {
        let a = callvault_core::archive::Archive::open(&w.archive).unwrap();
        callvault_core::users::uid_for(&a, CLIN.0).unwrap()
    };
    let versions = std::fs::read_dir(w.archive.join("users").join(&uid))
        .unwrap()
        .count();
    assert_eq!(versions, 1);
    // Every failure, the lock and the refusals are audited.
    let a = logon(&w.archive, &w.dev[0], DC.0, DC.1).await.unwrap();
    let e = a
        .audit_list(&AuditFilter {
            user: Some(CLIN.0.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    a.close().await;
    let n = |action: &str, outcome: &str| {
        e.iter()
            .filter(|x| x.action == action && x.outcome == outcome)
            .count()
    };
    assert_eq!(n("logon", "failed"), 6, "{e:#?}");
    assert_eq!(n("account.lock", "locked"), 1);
    assert_eq!(n("logon", "refused"), 3);
    assert!(n("logon", "allowed") >= 1);
}

#[tokio::test]
async fn an_unknown_name_is_answered_exactly_like_a_wrong_password() {
    let w = world(KdfChoice::Fast).await;
    for i in 0..4 {
        let r = logon(&w.archive, &w.dev[i % 3], "no.such.person", "whatever-123").await;
        assert!(matches!(r, Err(Error::BadLogon)), "{r:?}");
    }
    // Locked after five, like a real account: a lockout does not tell that the name exists.
    let r = logon(&w.archive, &w.dev[0], "no.such.person", "whatever-123").await;
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    // And the share still verifies (the failure markers of an unknown name are ordinary markers).
    let mut a = logon(&w.archive, &w.dev[0], DC.0, DC.1).await.unwrap();
    let rep = a.verify().await.unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    a.close().await;
}

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
