//! The registry of telephony layouts: every layout the import knows, in the order they are listed
//! (`--layout`'s help and error, the app) and tried by auto-detect when two are equally sure.
//!
//! Adding a layout is one file plus one line: write `layouts/<name>.rs` with a type implementing
//! `understand::Layout`, and add `<name>::<Type>` to the list below. `--layout`, its help and
//! its error, auto-detect, the planner and the app's list all read this list.

use super::understand::{Layout, LayoutName};

/// Declares each layout's module and lists it in `LAYOUTS`, in this order.
macro_rules! registry {
    ($($(#[$attr:meta])* $module:ident :: $layout:ident,)*) => {
        $($(#[$attr])* pub mod $module;)*

        /// Every layout, in the order they are listed and, among equally sure, detected.
        pub static LAYOUTS: &[&dyn Layout] = &[$($(#[$attr])* &$module::$layout,)*];
    };
}

registry! {
    freepbx::FreePbx,
    threecx::ThreeCx,
    oreka::Oreka,
    sidecar::Sidecar,
    csv_manifest::CsvManifest,
    #[cfg(test)] example::Example,
}

/// What `auto` means, for the CLI's help and the app's list.
pub const AUTO_DESCRIPTION: &str = "Work it out (recommended)";

/// The layout of this name (None for `auto`).
pub fn find(name: LayoutName) -> Option<&'static dyn Layout> {
    LAYOUTS.iter().copied().find(|l| l.name() == name.as_str())
}

/// `auto` and every layout's name, in order.
pub fn names() -> Vec<&'static str> {
    std::iter::once("auto")
        .chain(LAYOUTS.iter().map(|l| l.name()))
        .collect()
}

/// `auto` and every layout, each with its one-line description: the app's list of layouts.
pub fn described() -> Vec<(&'static str, &'static str)> {
    std::iter::once(("auto", AUTO_DESCRIPTION))
        .chain(LAYOUTS.iter().map(|l| (l.name(), l.description())))
        .collect()
}

/// `a, b or c`.
pub fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The CLI's one-line help for `--layout`.
pub fn help() -> String {
    let mut names = names();
    names[0] = "auto (per file)";
    format!("How the folder is laid out: {}.", or_list(&names))
}

/// The CLI's long help for `--layout`: the one line, then each layout described.
pub fn long_help() -> String {
    let mut s = help();
    for (name, what) in described() {
        s.push_str(&format!("\n  {name}: {what}"));
    }
    s
}

impl std::str::FromStr for LayoutName {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<LayoutName, String> {
        let s = s.trim().to_ascii_lowercase();
        if s == "auto" {
            return Ok(LayoutName::Auto);
        }
        LAYOUTS
            .iter()
            .find(|l| l.name() == s || l.aliases().contains(&s.as_str()))
            .map(|l| LayoutName::named(l.name()))
            .ok_or_else(|| format!("layout '{s}': use {}", or_list(&names())))
    }
}

/// The names of the enum `LayoutName` replaced, kept for the callers that name a layout in code.
/// A new layout needs none.
#[allow(non_upper_case_globals)]
impl LayoutName {
    pub const FreePbx: LayoutName = LayoutName::named(freepbx::NAME);
    pub const ThreeCx: LayoutName = LayoutName::named(threecx::NAME);
    pub const Oreka: LayoutName = LayoutName::named(oreka::NAME);
    pub const Sidecar: LayoutName = LayoutName::named(sidecar::NAME);
    pub const Csv: LayoutName = LayoutName::named(csv_manifest::NAME);
}
