//! The desktop app's executable: everything is in the library ([`callvault_app::run`]).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    callvault_app::run();
}
