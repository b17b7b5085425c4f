//! Logon: lockout after five failures within 15 minutes counted across devices, the admin's
//! password reset (there is no self-service password change in the core: a user's password is
//! changed by an admin's reset), and no difference — in the answer or the lockout — between a
//! wrong password for an existing user and a name that does not exist. That the time taken does
//! not differ either is `logon_timing.rs` (timing-sensitive: run with the feature `slow-tests`).

mod logon_world;

use callvault_core::secret::Password;
use callvault_core::session::{AuditFilter, KdfChoice};
use callvault_core::Error;
use logon_world::{logon, world, World, CLIN, DC};

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
