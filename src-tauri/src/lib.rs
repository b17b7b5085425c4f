//! Callvault's desktop app: a thin Tauri 2 shell over `callvault_core::Session`. One file per
//! feature (archive, logon, search, player, overview, requests, export, retention, settings, audit,
//! users, import, completeness), each holding its IPC commands and their transport types; the commands are listed
//! once, in [`commands`]. Each command translates an IPC call into core calls and the core's
//! results into transport types; no rule about who may see or hear what lives here — every refusal
//! comes from the core. Shared: [`error`] (`{code, message}`), [`session`] (the logged-on session),
//! [`state`], [`events`], [`files`] (what the user chose in the system dialogs), [`vocab`] (the
//! core's vocabularies for TypeScript) and [`bindings`] (the generated TypeScript).

pub mod archive;
pub mod audit;
pub mod bindings;
pub mod breach;
pub mod commands;
pub mod completeness;
pub mod error;
pub mod events;
pub mod export;
pub mod files;
pub mod import;
pub mod logon;
pub mod overview;
pub mod player;
pub mod requests;
pub mod retention;
pub mod search;
pub mod session;
pub mod settings;
pub mod state;
pub mod users;
pub mod vocab;

pub use commands::COMMANDS;

use state::AppState;
use std::path::PathBuf;
use tauri::{Manager, Runtime};

/// Is the app in demo mode (`--demo` or `CALLVAULT_DEMO=1`)? Only then does the logon screen show
/// the made-up demo users' passwords.
pub fn demo_mode() -> bool {
    std::env::args().any(|a| a == "--demo")
        || matches!(
            std::env::var("CALLVAULT_DEMO").as_deref(),
            Ok("1" | "true" | "yes")
        )
}

/// An archive folder given on the command line (`--archive PATH`) or in `CALLVAULT_ARCHIVE`.
fn archive_from_env() -> Option<PathBuf> {
    let mut args = std::env::args().skip_while(|a| a != "--archive");
    args.next();
    args.next()
        .map(Into::into)
        .or_else(|| std::env::var_os("CALLVAULT_ARCHIVE").map(Into::into))
}

/// Registers the handlers of the commands given (see [`commands`]).
macro_rules! handler {
    ($($feature:ident :: $command:ident),* $(,)?) => {
        tauri::generate_handler![$($feature::$command),*]
    };
}

/// The app: its plugin, state and every IPC command, over any Tauri runtime (the real one, or
/// the mock runtime of the IPC tests in `tests/ipc_matrix.rs`). `preset` is an archive folder given
/// on the command line.
pub fn app<R: Runtime>(builder: tauri::Builder<R>, preset: Option<PathBuf>) -> tauri::Builder<R> {
    builder
        // The system's folder picker for "Choose folder…" (the only plugin; its one permission,
        // dialog:allow-open, is granted in capabilities/main.json).
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let dir = app.path().app_data_dir()?;
            let state = AppState::new(demo_mode(), dir, preset.clone());
            app.manage(state);
            state::spawn_idle_lock(app.handle().clone());
            Ok(())
        })
        .invoke_handler(commands::all_commands!(handler))
}

pub fn run() {
    app(tauri::Builder::default(), archive_from_env())
        .run(tauri::generate_context!())
        .expect("error while running the Callvault app");
}
