//! Callvault's desktop app: a thin Tauri 2 shell over `callvault_core::Session`. The commands in
//! [`commands`] translate IPC calls into core calls and core results into [`dto`] types; no rule
//! about who may see or hear what lives here — every refusal comes from the core.

pub mod commands;
pub mod dto;
pub mod dto_workflow;
pub mod state;
pub mod workflow;

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
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::open_archive,
            commands::forget_share_login,
            commands::demo_info,
            commands::logon,
            commands::logout,
            commands::lock,
            commands::touch,
            commands::search,
            commands::search_filters,
            commands::save_search_filters,
            commands::show,
            commands::waveform,
            commands::play,
            commands::pause,
            commands::resume,
            commands::seek,
            commands::skip,
            commands::set_speed,
            commands::set_volume,
            commands::stop,
            workflow::overview,
            workflow::requests,
            workflow::request,
            workflow::request_candidates,
            workflow::raise_request,
            workflow::approve_request,
            workflow::reject_request,
            workflow::agree_request,
            workflow::extend_request,
            workflow::complete_request,
            workflow::mark_consent,
            workflow::export_request,
            workflow::holds,
            workflow::add_hold,
            workflow::release_hold,
            workflow::retention_due,
            workflow::retention_run,
            workflow::delete_recordings,
            workflow::erase_request,
            workflow::save_certificate,
            workflow::settings,
            workflow::set_setting,
            workflow::audit,
            workflow::verify_audit,
            workflow::export_audit_csv,
            workflow::users,
            workflow::add_user,
            workflow::set_roles,
            workflow::update_user,
            workflow::reset_password,
            workflow::assign_recording,
            workflow::import_folder,
            workflow::create_archive,
            workflow::verify_archive,
            workflow::rebuild_index,
            workflow::export_ingest_profile,
        ])
}

pub fn run() {
    app(tauri::Builder::default(), archive_from_env())
        .run(tauri::generate_context!())
        .expect("error while running the Callvault app");
}
