//! Sidecars: `<file>.json` beside each audio file (`call-0001.wav` + `call-0001.wav.json`), with the
//! CSV manifest's fields:
//!
//! ```json
//! { "started_at": "2025-03-27T09:25:17", "direction": "inbound", "staff": null,
//!   "extension": "201", "external_number": "07700 900123", "parties": ["Harriet Vale"],
//!   "notes": "prescription query", "nhs_number": "999 000 0018" }
//! ```
//!
//! `started_at` and `direction` are required; `parties` and `nhs_number` are a list or a
//! `;`-separated string (each NHS number's check digit is verified: a wrong one refuses the file);
//! `extension` may be a number; `file`, if present, must be the audio file's own name. Times
//! without an offset are local to the import's zone (the clocks' changes handled as for file
//! names). Unknown fields are refused, so that a misspelt field is not silently lost.

use crate::ingest::names::{resolve_local, Instant};
use crate::ingest::understand::{Call, Ctx, Fit, Layout, Metadata};
use crate::archive::journal::Direction;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use std::io::Read;
use std::path::Path;

/// The layout's name.
pub const NAME: &str = "sidecar";

/// The sidecar layout: a `<file>.json` beside each audio file.
pub struct Sidecar;

impl Layout for Sidecar {
    fn name(&self) -> &'static str {
        NAME
    }
    fn description(&self) -> &'static str {
        "Audio files each with a .json description beside them"
    }
    fn looks_like(&self, file: &Ctx) -> Fit {
        if file.sidecar.is_some() {
            Fit::Beside
        } else {
            Fit::No
        }
    }
    fn understand(&self, file: &Ctx, _meta: Option<&Metadata>) -> std::result::Result<Call, String> {
        match file.sidecar {
            Some(side) => understand(file, &file.dir.join(side)),
            None => Err(format!(
                "no sidecar {}.json beside it (the sidecar layout needs one per audio file)",
                file.file_name
            )),
        }
    }
    fn reads_sidecar(&self) -> bool {
        true
    }
}

/// Larger than any honest sidecar.
const MAX_SIDECAR: u64 = 256 * 1024;

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    S(String),
    N(serde_json::Number),
}

impl Text {
    fn into_string(self) -> String {
        match self {
            Text::S(s) => s.trim().to_string(),
            Text::N(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Parties {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    file: Option<String>,
    started_at: Option<String>,
    direction: Option<String>,
    staff: Option<Text>,
    extension: Option<Text>,
    external_number: Option<Text>,
    parties: Option<Parties>,
    notes: Option<String>,
    nhs_number: Option<NhsNumbers>,
    conversation: Option<Text>,
}

/// One NHS number (a string, or a JSON number), a `;`-separated string of them, or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum NhsNumbers {
    List(Vec<Text>),
    One(Text),
}

/// A sidecar time: RFC 3339 with an offset, or a wall-clock `YYYY-MM-DD[T ]HH:MM[:SS]` in `tz`.
fn instant(s: &str, ctx: &Ctx) -> std::result::Result<Instant, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Instant {
            utc: t.with_timezone(&Utc),
            local: None,
            dst: format!("offset given (UTC{})", t.format("%:z")),
            note: None,
        });
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return resolve_local(n, ctx.tz, None);
        }
    }
    Err(format!(
        "'{s}' is not an ISO 8601 date and time (e.g. 2025-03-27T09:25:17)"
    ))
}

/// Understand one audio file from its sidecar.
pub(crate) fn understand(ctx: &Ctx, sidecar: &Path) -> std::result::Result<Call, String> {
    let side_name = format!("{}.json", ctx.file_name);
    let bad = |what: String| format!("sidecar {side_name}: {what}");
    let f = std::fs::File::open(sidecar).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let mut text = String::new();
    f.take(MAX_SIDECAR + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot read it ({e})")))?;
    if text.len() as u64 > MAX_SIDECAR {
        return Err(bad(format!("larger than {} KiB", MAX_SIDECAR / 1024)));
    }
    understand_text(ctx, &text)
}

/// Understand one audio file from its sidecar's text (already read, at most `MAX_SIDECAR` bytes).
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub fn understand_text(ctx: &Ctx, text: &str) -> std::result::Result<Call, String> {
    let side_name = format!("{}.json", ctx.file_name);
    let bad = |what: String| format!("sidecar {side_name}: {what}");
    let fields: Fields = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| bad(format!("not valid: {e}")))?;
    if let Some(file) = &fields.file {
        if file.trim() != ctx.file_name {
            return Err(bad(format!(
                "field 'file' names '{file}', not the file beside it ({})",
                ctx.file_name
            )));
        }
    }
    let started = fields
        .started_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("field 'started_at' is missing".into()))?;
    let time = instant(started, ctx).map_err(|e| bad(format!("field 'started_at': {e}")))?;
    let direction = fields
        .direction
        .as_deref()
        .and_then(Direction::parse)
        .ok_or_else(|| bad("field 'direction' must be inbound, outbound or internal".into()))?;
    let mut c = Call::new(time, direction);
    let opt = |t: Option<Text>| t.map(Text::into_string).filter(|s| !s.is_empty());
    c.staff = opt(fields.staff);
    c.extension = opt(fields.extension);
    c.external_number = opt(fields.external_number);
    c.parties = match fields.parties {
        None => vec![],
        Some(Parties::List(v)) => v,
        Some(Parties::Text(s)) => s.split(';').map(String::from).collect(),
    };
    if let Some(n) = fields.notes.filter(|n| !n.trim().is_empty()) {
        c.notes.push(n.trim().to_string());
    }
    let nhs: Vec<String> = match fields.nhs_number {
        None => vec![],
        Some(NhsNumbers::List(v)) => v.into_iter().map(Text::into_string).collect(),
        Some(NhsNumbers::One(t)) => t.into_string().split(';').map(String::from).collect(),
    };
    for n in nhs.iter().filter(|n| !n.trim().is_empty()) {
        let n = crate::patient::parse(n).map_err(|e| bad(format!("field 'nhs_number': {e}")))?;
        if !c.nhs_numbers.contains(&n) {
            c.nhs_numbers.push(n);
        }
    }
    if let Some(k) = opt(fields.conversation) {
        let k = crate::conversation::check_key(&k)
            .map_err(|e| bad(format!("field 'conversation': {e}")))?;
        c.conversation = Some(k);
    }
    Ok(c)
}
