//! OrecX Oreka (OrkAudio) recordings: `YYYY/MM/DD/HH/YYYYMMDD_HHMMSS_<port>.<ext>`, `<port>` the
//! capture port (letters, digits, `.`, `,`, `+`, `-`), the time the recorder's wall clock.
//!
//! The name carries only the time. The rest can come from an Oreka metadata CSV given with `--cdr`
//! (an export of OrkTrack's tape table; one header row, columns matched case-insensitively, others
//! ignored): `filename` (required: the file's path relative to the import folder, or its bare name
//! when that is unique), `direction` (`in`/`out`/`internal`, Oreka's `unkn` = unknown),
//! `localparty` (the practice's side: an extension, or a user's name), `remoteparty` (the outside
//! number), `localentrypoint` (the number dialled) and `duration` (seconds, kept in the notes).
//!
//! Without a row, the direction is unknown. The archive has no "unknown" direction, so such a call
//! is recorded as **inbound**, marked assumed in the understood record and said in the call's
//! notes ("direction unknown …: recorded as inbound"), and it is unassigned. Inbound is the safer
//! guess for a GP practice: most recorded calls are patients calling in, and an unassigned call is
//! reached by supervisors only, through an approved request.

use crate::ingest::names::{inside, is_extension, naive, resolve_local};
use crate::ingest::understand::{
    Call, Columns, Ctx, Fit, Layout, Metadata, MetadataCsv, MetadataRow,
};
use crate::ingest::source::Rejected;
use crate::archive::journal::Direction;
use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, HashMap};

/// The layout's name.
pub const NAME: &str = "oreka";

/// The OrecX Oreka layout.
pub struct Oreka;

impl Layout for Oreka {
    fn name(&self) -> &'static str {
        NAME
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["orecx"]
    }
    fn description(&self) -> &'static str {
        "Oreka / OrecX (with its metadata export)"
    }
    fn shape(&self) -> Option<&'static str> {
        Some("Oreka YYYYMMDD_HHMMSS_<port>.<ext>")
    }
    fn looks_like(&self, file: &Ctx) -> Fit {
        if looks_like(file.file_name) {
            Fit::Name
        } else {
            Fit::No
        }
    }
    fn understand(&self, file: &Ctx, meta: Option<&Metadata>) -> std::result::Result<Call, String> {
        understand(file, meta.and_then(Metadata::get::<Meta>))
    }
    fn metadata(&self) -> Option<&'static MetadataCsv> {
        Some(&META)
    }
}

/// An Oreka metadata CSV, joined by `filename`.
static META: MetadataCsv = MetadataCsv {
    what: "an Oreka metadata CSV ('filename' column)",
    not_one: "not an Oreka metadata CSV (its header has no 'filename' column)",
    recognises: |h| h.iter().any(|c| c == "filename"),
    read: |source, headers, rdr| {
        let m = Meta::read(source, headers, rdr)?;
        let problems = m.problems.clone();
        Ok(Metadata::new(m, problems))
    },
};

const EXPECTED: &str = "expected YYYYMMDD_HHMMSS_<port>.<ext>";

/// An Oreka file name, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub local: NaiveDateTime,
    pub port: String,
    pub ext: String,
}

/// Does the name start like an Oreka recording (`YYYYMMDD_HHMMSS_`)?
pub fn looks_like(file_name: &str) -> bool {
    let b = file_name.as_bytes();
    b.len() > 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'_'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'_'
}

/// Parse an Oreka file name strictly.
pub fn parse_name(file_name: &str) -> std::result::Result<Name, String> {
    let bad = |what: String| format!("not an Oreka recording name: {what} ({EXPECTED})");
    let (stem, ext) = file_name
        .rsplit_once('.')
        .ok_or_else(|| bad("no extension".into()))?;
    let mut parts = stem.splitn(3, '_');
    let (Some(date), Some(time), Some(port)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("fewer than three _-separated fields".into()));
    };
    let local = naive(date, time).map_err(bad)?;
    if port.is_empty()
        || port.len() > 64
        || !port
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".,+-".contains(&b))
    {
        return Err(bad(format!("'{port}' is not a capture port")));
    }
    Ok(Name {
        local,
        port: port.to_string(),
        ext: ext.to_string(),
    })
}

/// An Oreka metadata CSV, indexed by path and by bare file name.
pub struct Meta {
    source: String,
    cols: Columns,
    rows: Vec<(usize, csv::StringRecord)>,
    by_path: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    /// Rows that could not be used.
    pub problems: Vec<Rejected>,
}

const SHOWN: &[&str] = &[
    "filename",
    "timestamp",
    "direction",
    "localparty",
    "remoteparty",
    "localentrypoint",
    "duration",
];

impl Meta {
    pub(crate) fn read<R: std::io::Read>(
        source: &str,
        headers: Vec<String>,
        mut rdr: csv::Reader<R>,
    ) -> Result<Meta> {
        let mut m = Meta {
            source: source.to_string(),
            cols: Columns(headers),
            rows: vec![],
            by_path: HashMap::new(),
            by_name: HashMap::new(),
            problems: vec![],
        };
        for (n, rec) in rdr.records().enumerate() {
            let line = n + 2;
            let problem = |reason: String| Rejected {
                file: format!("{source} line {line}"),
                reason,
            };
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    m.problems.push(problem(format!("unreadable row: {e}")));
                    continue;
                }
            };
            let Some(f) = m.cols.get(&rec, "filename").map(|f| f.replace('\\', "/")) else {
                m.problems.push(problem("field 'filename' is empty".into()));
                continue;
            };
            if !inside(&f) {
                m.problems.push(problem(format!(
                    "field 'filename' '{f}' must be a path inside the import folder"
                )));
                continue;
            }
            let i = m.rows.len();
            if m.by_path.insert(f.clone(), i).is_some() {
                m.problems.push(problem(format!(
                    "'{f}' is listed twice (the later row is used)"
                )));
            }
            let base = f.rsplit('/').next().unwrap_or(&f).to_string();
            m.by_name.entry(base).or_default().push(i);
            m.rows.push((line, rec));
        }
        if m.rows.is_empty() && m.problems.is_empty() {
            return Err(Error::Invalid(format!("--cdr {source}: no rows")));
        }
        Ok(m)
    }

    fn find(
        &self,
        rel: &str,
        file_name: &str,
    ) -> Option<(&(usize, csv::StringRecord), &'static str)> {
        if let Some(&i) = self.by_path.get(rel) {
            return Some((&self.rows[i], "filename"));
        }
        match self.by_name.get(file_name).map(Vec::as_slice) {
            Some([i]) => Some((&self.rows[*i], "filename (bare name)")),
            _ => None,
        }
    }
}

/// Understand one file of the Oreka layout.
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub fn understand(ctx: &Ctx, meta: Option<&Meta>) -> std::result::Result<Call, String> {
    let n = parse_name(ctx.file_name)?;
    ctx.check_date_folders(n.local, true)?;
    let time = resolve_local(n.local, ctx.tz, None)?;
    let mut c = Call::new(time, Direction::Inbound);
    c.remarks.push(format!("capture port {}", n.port));
    let row = meta.and_then(|m| m.find(ctx.rel, ctx.file_name).map(|r| (m, r)));
    let Some((m, ((line, rec), by))) = row else {
        c.direction_assumed = true;
        c.notes.push(
            "direction unknown (an Oreka file name holds only the time and capture port): recorded as inbound"
                .into(),
        );
        if let Some(m) = meta {
            c.remarks
                .push(format!("no row in {} for this recording", m.source));
        }
        return Ok(c);
    };
    let get = |col: &str| m.cols.get(rec, col);
    match get("direction").map(str::to_ascii_lowercase).as_deref() {
        Some("in" | "inbound" | "incoming") => {}
        Some("out" | "outbound" | "outgoing") => c.direction = Direction::Outbound,
        Some("internal" | "local") => c.direction = Direction::Internal,
        Some(other) => {
            c.direction_assumed = true;
            c.notes.push(format!(
                "direction '{other}' in the Oreka metadata is not in/out: recorded as inbound"
            ));
        }
        None => {
            c.direction_assumed = true;
            c.notes
                .push("direction not in the Oreka metadata: recorded as inbound".into());
        }
    }
    if let Some(l) = get("localparty") {
        if is_extension(l) {
            c.extension = Some(l.to_string());
        } else {
            c.staff = Some(l.to_string());
        }
    }
    if let Some(r) = get("remoteparty") {
        let digits = r.trim_start_matches('+');
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
            if c.direction == Direction::Internal && is_extension(r) {
                c.parties.push(r.to_string());
            } else {
                c.external_number = Some(r.to_string());
            }
        } else {
            c.parties.push(r.to_string());
        }
    }
    if let Some(e) = get("localentrypoint") {
        c.notes.push(format!("dialled {e}"));
    }
    if let Some(d) = get("duration") {
        c.notes.push(format!("Oreka: duration {d} s"));
    }
    let fields: BTreeMap<String, String> = SHOWN
        .iter()
        .filter_map(|&k| get(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    c.metadata = Some(MetadataRow {
        source: m.source.clone(),
        line: *line,
        matched_by: by.to_string(),
        fields,
    });
    Ok(c)
}
