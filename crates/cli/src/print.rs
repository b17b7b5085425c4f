//! Output helpers the commands share: pretty JSON for `--json`, a call's direction as a word, and
//! a request's one-line summary (used by `request list` and `request show`).

use callvault_core::archive::journal::Direction;
use callvault_core::session::RequestView;

pub fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

pub fn dir_str(d: Direction) -> &'static str {
    d.as_str()
}

pub fn print_request_line(r: &RequestView) {
    println!(
        "{}  {:<16} {:<9} raised by {} at {}{}",
        r.id,
        r.purpose.as_str(),
        r.state.as_str(),
        r.raised_by.as_deref().unwrap_or("?"),
        r.raised_at,
        r.due_date.map(|d| format!("  due {d}")).unwrap_or_default()
    );
}
