//! The committed TypeScript bindings (`ui/src/bindings/index.ts`) must match the Rust types of the
//! IPC boundary. `UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings` rewrites them.

use std::path::Path;

#[test]
fn typescript_bindings_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings/index.ts");
    let want = callvault_app::bindings::typescript();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date with the transport types in src-tauri/src/: run UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings",
        path.display()
    );
}

#[test]
fn the_ui_tests_abilities_are_the_cores() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/tests/abilities.json");
    let want = callvault_app::bindings::abilities_fixture();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date with the core's rulebook: run UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings",
        path.display()
    );
}

#[test]
fn errors_carry_the_core_code_and_message() {
    let e: callvault_app::error::ApiError = callvault_core::Error::BadLogon.into();
    assert_eq!(e.code, "bad_logon");
    assert_eq!(e.message, "logon failed: wrong user name or password");
}
