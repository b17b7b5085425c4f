//! 3CX recordings: `[<name>]_<from>-<to>_<YYYYMMDDHHMMSS>(<n>).wav`, e.g.
//! `[]_100-0836826436_20190211124709(2).wav` (extension 100 called 0836826436) and
//! `[Jane Doe]_07700900123-100_20190211124743(3).wav` (Jane Doe on 07700900123 called extension 100).
//!
//! - Inbound when `<to>` is an extension (2–5 digits, not 999/112/111/101/105/119), outbound when
//!   `<from>` is; both extensions: internal (`<from>` the staff extension, `<to>` a party); neither:
//!   inbound (assumed, and said in the notes: a call the PBX forwarded between two outside numbers).
//! - `<name>` (may be empty) is the other party's display name, kept as a party.
//! - `<n>` is 3CX's sequence number; the time is the PBX's wall clock.
//! - The name is read from the right, so a display name may hold `_`, `-`, `(` or `]`.

use crate::ingest::names::{is_extension, naive, number_field, resolve_local};
use crate::ingest::understand::{Call, Ctx, Fit, Layout, Metadata};
use crate::archive::journal::Direction;
use chrono::NaiveDateTime;

/// The layout's name.
pub const NAME: &str = "3cx";

/// The 3CX layout.
pub struct ThreeCx;

impl Layout for ThreeCx {
    fn name(&self) -> &'static str {
        NAME
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["threecx"]
    }
    fn description(&self) -> &'static str {
        "3CX (names like [Name]_101-07700…_2026….wav)"
    }
    fn shape(&self) -> Option<&'static str> {
        Some("3CX [<name>]_<from>-<to>_<YYYYMMDDHHMMSS>(<n>).wav")
    }
    fn looks_like(&self, file: &Ctx) -> Fit {
        if looks_like(file.file_name) {
            Fit::Name
        } else {
            Fit::No
        }
    }
    fn understand(&self, file: &Ctx, _meta: Option<&Metadata>) -> std::result::Result<Call, String> {
        understand(file)
    }
}

const EXPECTED: &str = "expected [<name>]_<from>-<to>_<YYYYMMDDHHMMSS>(<n>).wav";

/// A 3CX file name, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub display: String,
    pub from: String,
    pub to: String,
    pub local: NaiveDateTime,
    pub seq: u32,
    pub ext: String,
}

/// Does the name start like a 3CX recording (`[`)?
pub fn looks_like(file_name: &str) -> bool {
    file_name.starts_with('[')
}

/// Parse a 3CX file name strictly.
pub fn parse_name(file_name: &str) -> std::result::Result<Name, String> {
    let bad = |what: String| format!("not a 3CX recording name: {what} ({EXPECTED})");
    let (stem, ext) = file_name
        .rsplit_once('.')
        .ok_or_else(|| bad("no extension".into()))?;
    let stem = stem
        .strip_suffix(')')
        .ok_or_else(|| bad("no (<n>) before the extension".into()))?;
    let (stem, seq) = stem
        .rsplit_once('(')
        .ok_or_else(|| bad("no (<n>) before the extension".into()))?;
    if seq.is_empty() || seq.len() > 9 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("'({seq})' is not a sequence number")));
    }
    let (stem, ts) = stem
        .rsplit_once('_')
        .ok_or_else(|| bad("no _<YYYYMMDDHHMMSS>".into()))?;
    if ts.len() != 14 || !ts.is_char_boundary(8) {
        return Err(bad(format!("'{ts}' is not a time YYYYMMDDHHMMSS")));
    }
    let local = naive(&ts[..8], &ts[8..]).map_err(bad)?;
    let rest = stem
        .strip_prefix('[')
        .ok_or_else(|| bad("it does not start with [".into()))?;
    let (display, numbers) = rest
        .rsplit_once("]_")
        .ok_or_else(|| bad("no ]_ after the name".into()))?;
    let (from, to) = numbers
        .split_once('-')
        .ok_or_else(|| bad(format!("'{numbers}' is not <from>-<to>")))?;
    if to.contains('-') {
        return Err(bad(format!("'{numbers}' is not <from>-<to>")));
    }
    Ok(Name {
        display: display.trim().to_string(),
        from: from.to_string(),
        to: to.to_string(),
        local,
        seq: seq.parse().map_err(|_| bad(format!("'({seq})'")))?,
        ext: ext.to_string(),
    })
}

/// Understand one file of the 3CX layout.
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub fn understand(ctx: &Ctx) -> std::result::Result<Call, String> {
    let n = parse_name(ctx.file_name)?;
    ctx.check_date_folders(n.local, false)?;
    let time = resolve_local(n.local, ctx.tz, None)?;
    let from = number_field(&n.from, "<from>")?;
    let to = number_field(&n.to, "<to>")?;
    let is_ext = |x: &Option<String>| x.as_deref().is_some_and(is_extension);
    let mut c = Call::new(time, Direction::Inbound);
    c.from = (!n.from.is_empty()).then(|| n.from.clone());
    c.to = (!n.to.is_empty()).then(|| n.to.clone());
    match (is_ext(&from), is_ext(&to)) {
        (true, true) => {
            c.direction = Direction::Internal;
            c.extension = from;
            c.parties.extend(to);
        }
        (false, true) => {
            c.extension = to;
            c.external_number = from;
        }
        (true, false) => {
            c.direction = Direction::Outbound;
            c.extension = from;
            c.external_number = to;
        }
        (false, false) => {
            c.direction_assumed = true;
            c.external_number = from;
            c.notes.push(format!(
                "neither '{}' nor '{}' is an extension: recorded as inbound",
                n.from, n.to
            ));
        }
    }
    if !n.display.is_empty() {
        c.parties.push(n.display.clone());
    }
    Ok(c)
}
