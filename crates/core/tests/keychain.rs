//! Share credentials in the real OS keychain: on Linux a Secret Service (gnome-keyring under a
//! private D-Bus session, as scripts/test starts it with CALLVAULT_KEYRING_TEST=1), and a clear
//! error naming the share when there is no keychain service at all.

use callvault_core::credentials::{forget, recall, remember, ShareCredential};
use callvault_core::secret::Password;

/// The part that needs no keychain service runs in a child process of this test binary: libdbus
/// reads the session bus address once per process.
const CHILD: &str = "CALLVAULT_KEYCHAIN_TEST_CHILD";

#[test]
fn share_credentials_live_in_the_system_keychain_and_its_absence_is_a_clear_error() {
    let share = format!(r"\\files{}\practice", std::process::id());
    if std::env::var_os(CHILD).is_some() {
        return no_keychain(&share);
    }
    if std::env::var_os("CALLVAULT_KEYRING_TEST").is_some() {
        assert!(
            recall(&share).unwrap().is_none(),
            "a fresh share has no entry"
        );
        let cred = ShareCredential {
            user: r"PRACTICE\pm.office".into(),
            password: Password::new("share-pass-one"),
        };
        remember(&share, &cred).unwrap_or_else(|e| panic!("remember: {e}"));
        let got = recall(&share).unwrap().expect("remembered");
        assert_eq!(got.user, cred.user);
        assert_eq!(got.password.expose(), "share-pass-one");
        // A changed password replaces the entry.
        let cred2 = ShareCredential {
            user: r"PRACTICE\pm.office".into(),
            password: Password::new("share-pass-two"),
        };
        remember(&share, &cred2).unwrap();
        assert_eq!(
            recall(&share).unwrap().unwrap().password.expose(),
            "share-pass-two"
        );
        // Another share's entry is separate.
        let other = format!(r"\\files{}\other", std::process::id());
        assert!(recall(&other).unwrap().is_none());
        forget(&share).unwrap();
        assert!(recall(&share).unwrap().is_none(), "forgotten");
        forget(&share).unwrap();
    } else {
        eprintln!(
            "real keychain part skipped: set CALLVAULT_KEYRING_TEST=1 under a Secret Service"
        );
    }

    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "share_credentials_live_in_the_system_keychain_and_its_absence_is_a_clear_error",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/callvault-test-bus",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "no-keychain case failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// No keychain service reachable: a clear error naming the share, never the password; no panic.
fn no_keychain(share: &str) {
    let err = remember(
        share,
        &ShareCredential {
            user: "pm".into(),
            password: Password::new("share-pass-three"),
        },
    )
    .expect_err("no keychain service");
    assert_eq!(err.code(), "keychain", "{err}");
    let msg = err.to_string();
    assert!(msg.contains(share), "{msg}");
    assert!(msg.contains("not available"), "{msg}");
    assert!(!msg.contains("share-pass-three"), "{msg}");
    let err = recall(share).expect_err("no keychain service");
    assert_eq!(err.code(), "keychain", "{err}");
}
