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
    format!("How the folder is laid out: {}", or_list(&names))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::plan::{plan, plan_with_manifest};

    const LONDON: chrono_tz::Tz = chrono_tz::Europe::London;

    #[test]
    fn the_layouts_are_listed_in_their_order_with_their_old_names() {
        assert_eq!(
            names(),
            ["auto", "freepbx", "3cx", "oreka", "sidecar", "csv", "acme"]
        );
        for (l, name) in [
            (LayoutName::FreePbx, "freepbx"),
            (LayoutName::ThreeCx, "3cx"),
            (LayoutName::Oreka, "oreka"),
            (LayoutName::Sidecar, "sidecar"),
            (LayoutName::Csv, "csv"),
        ] {
            assert_eq!(find(l).map(|l| l.name()), Some(name));
            assert_eq!(name.parse::<LayoutName>().unwrap(), l);
        }
        for (alias, l) in [
            ("Asterisk", LayoutName::FreePbx),
            (" threecx ", LayoutName::ThreeCx),
            ("orecx", LayoutName::Oreka),
            ("manifest", LayoutName::Csv),
            ("AUTO", LayoutName::Auto),
        ] {
            assert_eq!(alias.parse::<LayoutName>().unwrap(), l);
        }
        assert!(find(LayoutName::Auto).is_none());
        let mut seen = std::collections::HashSet::new();
        for l in LAYOUTS {
            assert!(seen.insert(l.name()) && l.name() != "auto", "{}", l.name());
            assert!(!l.description().is_empty() && !l.description().contains('\n'));
        }
        assert!(long_help().contains("\n  3cx: 3CX (names like"));
    }

    /// The test-only `example` layout is one file plus one `#[cfg(test)]` line above, and every
    /// reader of the registry knows it.
    #[test]
    fn a_layout_added_to_the_registry_is_parsed_detected_and_imported() {
        // Listed, parsed, named in the error and the help.
        assert!(LAYOUTS.iter().any(|l| l.name() == "acme"));
        let acme: LayoutName = " ACME ".parse().unwrap();
        assert_eq!(acme.as_str(), "acme");
        assert!("avaya"
            .parse::<LayoutName>()
            .unwrap_err()
            .ends_with("use auto, freepbx, 3cx, oreka, sidecar, csv or acme"));
        assert!(help().ends_with("sidecar, csv or acme"));
        assert!(described().contains(&(
            "acme",
            "Acme PBX (names like acme_201_20250327-092517.wav; tests only)"
        )));

        // Auto-detect finds its files in a folder of mixed layouts, and the planner understands them.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("2025/03/27")).unwrap();
        std::fs::write(d.join("acme_201_20250327-092517.wav"), b"RIFFacme").unwrap();
        std::fs::write(d.join("acme_999_20250327-092517.wav"), b"RIFFacme").unwrap();
        std::fs::write(
            d.join("2025/03/27/out-07700900123-201-20250327-101500-1743070500.7.wav"),
            b"RIFFpbx",
        )
        .unwrap();
        std::fs::write(d.join("unknown.wav"), b"RIFF?").unwrap();
        let p = plan(d, LayoutName::Auto, LONDON, None).unwrap();
        let got: Vec<(&str, &str)> = p
            .understood
            .iter()
            .map(|u| (u.file.as_str(), u.layout.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("acme_201_20250327-092517.wav", "acme"),
                (
                    "2025/03/27/out-07700900123-201-20250327-101500-1743070500.7.wav",
                    "freepbx"
                ),
            ]
        );
        let u = &p.understood[0];
        assert_eq!(u.extension.as_deref(), Some("201"));
        assert_eq!(u.started_at, "2025-03-27T09:25:17Z");
        let reasons: Vec<(&str, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.file.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons[0],
            ("acme_999_20250327-092517.wav", "'999' is not an extension")
        );
        assert_eq!(reasons[1].0, "unknown.wav");
        assert!(
            reasons[1]
                .1
                .contains("Oreka YYYYMMDD_HHMMSS_<port>.<ext>, Acme acme_<extension>_<YYYYMMDD>-<HHMMSS>.<ext>)"),
            "{}",
            reasons[1].1
        );
        // The calls' audio, read as the import reads it.
        let (sources, rejected) = p.into_sources();
        assert!(rejected.len() == 2 && sources.len() == 2);
        assert_eq!(sources[0].bytes, b"RIFFacme");
        assert_eq!(sources[0].extension.as_deref(), Some("201"));

        // Forced, it reads every file its way, and takes no --cdr or manifest.
        let p = plan(d, acme, LONDON, None).unwrap();
        assert_eq!(p.understood.len(), 1);
        assert!(p
            .rejected
            .iter()
            .any(|r| r.file.starts_with("2025/03/27/out-")
                && r.reason
                    == "not an Acme name: out-07700900123-201-20250327-101500-1743070500.7.wav"));
        let cdr = d.join("cdr.csv");
        std::fs::write(&cdr, "uniqueid,recordingfile\n1,a.wav\n").unwrap();
        let e = plan(d, acme, LONDON, Some(&cdr)).unwrap_err().to_string();
        assert!(e.contains("--cdr is not used by the acme layout"), "{e}");
        let e = plan_with_manifest(d, acme, LONDON, None, Some(&cdr))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a manifest is only read by the csv layout (not acme)"),
            "{e}"
        );
    }
}
