//! A layout that exists only in the core's unit tests, to show (and test) that adding a layout is
//! this one file plus its line in the registry: `acme_<extension>_<YYYYMMDD>-<HHMMSS>.<ext>`, an
//! inbound call answered at `<extension>`, the time the PBX's wall clock.

use crate::archive::journal::Direction;
use crate::ingest::names::{is_extension, naive, resolve_local};
use crate::ingest::understand::{Call, Ctx, Fit, Layout, Metadata};

/// The made-up Acme PBX.
pub struct Example;

impl Layout for Example {
    fn name(&self) -> &'static str {
        "acme"
    }
    fn description(&self) -> &'static str {
        "Acme PBX (names like acme_201_20250327-092517.wav; tests only)"
    }
    fn shape(&self) -> Option<&'static str> {
        Some("Acme acme_<extension>_<YYYYMMDD>-<HHMMSS>.<ext>")
    }
    fn looks_like(&self, file: &Ctx) -> Fit {
        if file.file_name.starts_with("acme_") {
            Fit::Name
        } else {
            Fit::No
        }
    }
    fn understand(&self, file: &Ctx, _meta: Option<&Metadata>) -> Result<Call, String> {
        let bad = || format!("not an Acme name: {}", file.file_name);
        let stem = file.file_name.rsplit_once('.').ok_or_else(bad)?.0;
        let rest = stem.strip_prefix("acme_").ok_or_else(bad)?;
        let (ext, when) = rest.split_once('_').ok_or_else(bad)?;
        let (date, time) = when.split_once('-').ok_or_else(bad)?;
        if !is_extension(ext) {
            return Err(format!("'{ext}' is not an extension"));
        }
        let time = resolve_local(naive(date, time)?, file.tz, None)?;
        let mut c = Call::new(time, Direction::Inbound);
        c.extension = Some(ext.to_string());
        Ok(c)
    }
}
