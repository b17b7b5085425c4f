//! Generates the permissions of the app's own commands (`allow-<command>`), which the
//! capabilities in `capabilities/` grant to the main window one by one.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_status",
            "open_archive",
            "forget_share_login",
            "demo_info",
            "logon",
            "logout",
            "lock",
            "touch",
            "search",
            "search_filters",
            "save_search_filters",
            "show",
            "waveform",
            "play",
            "pause",
            "resume",
            "seek",
            "skip",
            "set_speed",
            "set_volume",
            "stop",
        ]),
    ))
    .expect("tauri build script");
}
