//! Which layout a folder (or each file in it) is in, and one planner over all of them.
//!
//! `plan` walks the folder and, for each file, decides how it is named (FreePBX/Asterisk
//! MixMonitor, 3CX, OrecX Oreka, a `<file>.json` sidecar, or the CSV manifest), parses the name
//! strictly and produces a `CallSource` for the common import path plus a record of how the file
//! was understood (shown by `--dry-run`). A file that cannot be understood is a `Rejected` with a
//! reason naming it; the rest of the folder goes on.
//!
//! Rules common to every layout:
//! - Times in file names are wall-clock time in the import's zone (`--tz`, default the archive's).
//!   A time in the spring's skipped hour does not exist and is refused; a time in the autumn's
//!   repeated hour takes the earlier instant, unless the name itself proves the later one (a
//!   FreePBX `uniqueid` is the call's start in epoch seconds), and the choice is written into the
//!   call's notes and the understood record.
//! - An extension is 2 to 5 digits and not a UK emergency or service number (999, 112, 111, 101,
//!   105, 119), so that a call to 999 is never taken for a call to extension 999.
//! - Symbolic links are not followed; names that are not UTF-8 or hold control characters, empty
//!   files, unreadable files, special files and files that are not audio are rejected by name.
//!   Hidden files (a leading `.`) and the folders NAS boxes and OSes add (`@eaDir`, `#recycle`,
//!   `$RECYCLE.BIN`, `System Volume Information`), `Thumbs.db` and `desktop.ini` are skipped.
//! - Paths given inside metadata (a sidecar's `file`, an Oreka CSV's `filename`) must stay inside
//!   the folder: `..` and absolute paths are rejected.

use super::{
    csv_manifest, freepbx, oreka, sidecar, threecx, CallSource, Rejected, AUDIO_EXTENSIONS,
};
use crate::archive::journal::Direction;
use crate::error::{Error, Result};
use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// How a folder's files are named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// Decide per file (a CSV manifest, when present, describes the whole folder).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "freepbx")]
    FreePbx,
    #[serde(rename = "3cx")]
    ThreeCx,
    #[serde(rename = "oreka")]
    Oreka,
    #[serde(rename = "sidecar")]
    Sidecar,
    #[serde(rename = "csv")]
    Csv,
}

impl Layout {
    pub fn as_str(&self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::FreePbx => "freepbx",
            Layout::ThreeCx => "3cx",
            Layout::Oreka => "oreka",
            Layout::Sidecar => "sidecar",
            Layout::Csv => "csv",
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Layout, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Layout::Auto),
            "freepbx" | "asterisk" => Ok(Layout::FreePbx),
            "3cx" | "threecx" => Ok(Layout::ThreeCx),
            "oreka" | "orecx" => Ok(Layout::Oreka),
            "sidecar" => Ok(Layout::Sidecar),
            "csv" | "manifest" => Ok(Layout::Csv),
            other => Err(format!(
                "layout '{other}': use auto, freepbx, 3cx, oreka, sidecar or csv"
            )),
        }
    }
}

/// How one file was understood: what `--dry-run` shows, one per call the import would take.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Understood {
    pub file: String,
    pub layout: Layout,
    /// The wall-clock time as the name (or metadata) gives it, `YYYY-MM-DD HH:MM:SS`; None when
    /// the metadata gave an offset or the manifest's time is shown as read.
    pub local_time: Option<String>,
    /// The zone `local_time` was read in.
    pub tz: String,
    /// The instant stored, RFC 3339 UTC.
    pub started_at: String,
    /// Which offset applied, e.g. `BST (UTC+01:00)`, and the choice made in the autumn's repeated hour.
    pub dst: String,
    pub direction: Direction,
    /// The direction was not in the name or metadata and was assumed (see `notes`).
    pub direction_assumed: bool,
    /// The numbers as the name gives them (FreePBX `<from>`/`<to>`, 3CX `<from>`/`<to>`).
    pub from: Option<String>,
    pub to: Option<String>,
    pub external_number: Option<String>,
    pub extension: Option<String>,
    pub staff: Option<String>,
    pub parties: Vec<String>,
    /// The notes stored with the call.
    pub notes: Option<String>,
    /// What the name says of the audio format (e.g. FreePBX's upper-case `.WAV` = WAV49 GSM).
    pub format_hint: Option<String>,
    /// The joined CDR or Oreka metadata row, when there was one.
    pub metadata: Option<MetadataRow>,
    /// Remarks that are not stored with the call (e.g. "no CDR row for this call").
    pub remarks: Vec<String>,
    pub size: u64,
    /// Filled in by the session (dry run): the user the call maps to, None = unassigned.
    pub mapped_user: Option<String>,
    /// Filled in by the session (dry run): other users party to the call.
    pub party_users: Vec<String>,
    /// Filled in by the session (dry run): codec, rate, channels, duration.
    pub audio: Option<String>,
    /// Filled in by the session (dry run): "import", "duplicate of ID", or "reject: reason".
    pub outcome: Option<String>,
}

/// A metadata row joined to a file (FreePBX CDR or Oreka CSV).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct MetadataRow {
    /// The metadata file and its line.
    pub source: String,
    pub line: usize,
    /// How it was matched: `recordingfile`, `uniqueid` or `filename`.
    pub matched_by: String,
    /// The fields used, as read.
    pub fields: BTreeMap<String, String>,
}

/// A call the import will take: where its audio is, and what is known of it (bytes not yet read).
#[derive(Clone, Debug)]
pub struct Planned {
    pub path: PathBuf,
    pub size: u64,
    /// `bytes` is empty until `load` (the CSV layout reads them while planning, as it always has).
    pub source: CallSource,
    loaded: bool,
}

impl Planned {
    /// Read the audio. A file that changed size since it was planned is refused (still being written?).
    pub fn load(mut self) -> std::result::Result<CallSource, Rejected> {
        if self.loaded {
            return Ok(self.source);
        }
        let reject = |reason: String| Rejected {
            file: self.source.name.clone(),
            reason,
        };
        let bytes = std::fs::read(&self.path)
            .map_err(|e| reject(format!("cannot read the file ({})", io_kind(&e))))?;
        if bytes.len() as u64 != self.size {
            return Err(reject(format!(
                "the file changed while importing ({} bytes, then {}): still being written? Import it again once the recording has finished",
                self.size,
                bytes.len()
            )));
        }
        self.source.bytes = bytes;
        Ok(self.source)
    }
}

/// What a folder holds: calls to import (in order), files refused, and how each call was understood.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub calls: Vec<Planned>,
    pub rejected: Vec<Rejected>,
    /// One per entry of `calls`, same order.
    pub understood: Vec<Understood>,
}

impl Plan {
    /// Read every call's audio: sources for `Session::import_sources`, plus files that failed to read.
    pub fn into_sources(self) -> (Vec<CallSource>, Vec<Rejected>) {
        let mut rejected = self.rejected;
        let mut sources = Vec::with_capacity(self.calls.len());
        for c in self.calls {
            match c.load() {
                Ok(s) => sources.push(s),
                Err(r) => rejected.push(r),
            }
        }
        (sources, rejected)
    }
}

/// Plan an import of `dir` in `layout`. Times in names are local to `tz`. `cdr` is a FreePBX CDR
/// CSV export (joined by `recordingfile`/`uniqueid`) or an Oreka metadata CSV (joined by `filename`).
pub fn plan(dir: &Path, layout: Layout, tz: Tz, cdr: Option<&Path>) -> Result<Plan> {
    plan_with_manifest(dir, layout, tz, cdr, None)
}

/// As `plan`, with an explicit CSV manifest (default `DIR/manifest.csv`; its presence makes `auto`
/// mean `csv`, as the import has always behaved).
pub fn plan_with_manifest(
    dir: &Path,
    layout: Layout,
    tz: Tz,
    cdr: Option<&Path>,
    manifest: Option<&Path>,
) -> Result<Plan> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!("{}: not a folder", dir.display())));
    }
    let default_manifest = dir.join("manifest.csv");
    let layout = match layout {
        Layout::Auto if manifest.is_some() || default_manifest.is_file() => Layout::Csv,
        l => l,
    };
    if layout == Layout::Csv {
        if cdr.is_some() {
            return Err(Error::Invalid(
                "--cdr is not used with a CSV manifest (put the details in the manifest)".into(),
            ));
        }
        let manifest = manifest.unwrap_or(&default_manifest);
        if !manifest.exists() {
            return Err(Error::Invalid(format!(
                "{}: no manifest (give --manifest FILE, or put manifest.csv in the folder)",
                manifest.display()
            )));
        }
        return plan_csv(dir, manifest, tz);
    }
    if let Some(m) = manifest {
        return Err(Error::Invalid(format!(
            "{}: a manifest is only read by the csv layout (not {layout})",
            m.display()
        )));
    }
    let meta = match cdr {
        None => Meta::None,
        Some(p) => Meta::load(p, layout)?,
    };
    let skip_canon: Option<PathBuf> = cdr.and_then(|p| std::fs::canonicalize(p).ok());
    let (entries, mut rejected) = walk(dir, skip_canon.as_deref());
    match &meta {
        Meta::FreePbx(c) => rejected.extend(c.problems.iter().cloned()),
        Meta::Oreka(m) => rejected.extend(m.problems.iter().cloned()),
        Meta::None => {}
    }
    let json_files: HashSet<String> = entries
        .iter()
        .filter(|e| e.rel.to_ascii_lowercase().ends_with(".json"))
        .map(|e| e.rel.clone())
        .collect();
    let mut used_json = HashSet::new();
    let mut plan = Plan::default();
    for e in &entries {
        let lower = e.rel.to_ascii_lowercase();
        if json_files.contains(&e.rel) {
            continue; // sidecars: taken with their audio file, or named as orphans below
        }
        let reject = |reason: String| Rejected {
            file: e.rel.clone(),
            reason,
        };
        let ext = Path::new(&lower)
            .extension()
            .map(|x| x.to_string_lossy().into_owned())
            .unwrap_or_default();
        if ext == "csv" {
            rejected.push(reject(
                "a CSV file not used by this import (give a FreePBX CDR or Oreka CSV with --cdr, a manifest with --manifest)".into(),
            ));
            continue;
        }
        if !AUDIO_EXTENSIONS.contains(&ext.as_str()) {
            rejected.push(reject(if ext.is_empty() {
                "not an audio file (no extension)".into()
            } else {
                format!("not an audio file (.{ext})")
            }));
            continue;
        }
        if e.size == 0 {
            rejected.push(reject(
                "empty file (0 bytes): a failed recording, or one still being written".into(),
            ));
            continue;
        }
        if let Err(why) = readable(&e.path) {
            rejected.push(reject(why));
            continue;
        }
        let side = format!("{}.json", e.rel);
        let has_sidecar = json_files.contains(&side);
        let file_name = Path::new(&e.rel)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let chosen = match layout {
            Layout::Auto => {
                if has_sidecar {
                    Layout::Sidecar
                } else if freepbx::looks_like(&file_name) {
                    Layout::FreePbx
                } else if threecx::looks_like(&file_name) {
                    Layout::ThreeCx
                } else if oreka::looks_like(&file_name) {
                    Layout::Oreka
                } else {
                    rejected.push(reject(
                        "the name matches no known layout (FreePBX <type>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext>, 3CX [<name>]_<from>-<to>_<YYYYMMDDHHMMSS>(<n>).wav, Oreka YYYYMMDD_HHMMSS_<port>.<ext>) and there is no sidecar .json beside it".into(),
                    ));
                    continue;
                }
            }
            l => l,
        };
        let ctx = Ctx {
            rel: &e.rel,
            file_name: &file_name,
            tz,
        };
        let parsed = match chosen {
            Layout::FreePbx => freepbx::understand(&ctx, meta.freepbx()),
            Layout::ThreeCx => threecx::understand(&ctx),
            Layout::Oreka => oreka::understand(&ctx, meta.oreka()),
            Layout::Sidecar => {
                if has_sidecar {
                    used_json.insert(side.clone());
                    sidecar::understand(&ctx, &dir.join(&side))
                } else {
                    Err(format!(
                        "no sidecar {file_name}.json beside it (the sidecar layout needs one per audio file)"
                    ))
                }
            }
            Layout::Auto | Layout::Csv => unreachable!("resolved above"),
        };
        if has_sidecar {
            used_json.insert(side.clone());
            if chosen != Layout::Sidecar {
                rejected.push(Rejected {
                    file: side,
                    reason: format!("sidecar not read: the {chosen} layout was forced"),
                });
            }
        }
        let call = match parsed.and_then(|c| {
            crate::time::check_call_time(c.time.utc)
                .map(|()| c)
                .map_err(|e| format!("call time {e}"))
        }) {
            Ok(c) => c,
            Err(reason) => {
                rejected.push(reject(reason));
                continue;
            }
        };
        let (source, understood) = call.finish(&e.rel, chosen, tz, e.size);
        plan.calls.push(Planned {
            path: e.path.clone(),
            size: e.size,
            source,
            loaded: false,
        });
        plan.understood.push(understood);
    }
    for j in &json_files {
        if used_json.contains(j) {
            continue;
        }
        let audio = &j[..j.len() - ".json".len()];
        let audio_ext = Path::new(audio)
            .extension()
            .map(|x| x.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        rejected.push(Rejected {
            file: j.clone(),
            reason: if AUDIO_EXTENSIONS.contains(&audio_ext.as_str()) {
                format!("a sidecar whose audio file {audio} is not in the folder")
            } else {
                "not an audio file (.json), and not a sidecar: a sidecar is named after its audio file plus .json (call.wav.json)".into()
            },
        });
    }
    rejected.sort_by(|a, b| a.file.cmp(&b.file));
    plan.rejected.splice(0..0, rejected);
    Ok(plan)
}

/// The CSV manifest layout: today's import, with how each row was understood.
fn plan_csv(dir: &Path, manifest: &Path, tz: Tz) -> Result<Plan> {
    let (sources, rejected) = csv_manifest::plan(dir, manifest, tz)?;
    let mut plan = Plan {
        rejected,
        ..Plan::default()
    };
    for s in sources {
        let local = s.started_at.with_timezone(&tz);
        let naive = local.naive_local();
        let dst = match tz.from_local_datetime(&naive) {
            LocalResult::Ambiguous(a, b) if a.with_timezone(&Utc) == s.started_at => format!(
                "ambiguous (clocks went back): earlier instant taken, {} (the later would be {})",
                offset_name(&a),
                offset_name(&b)
            ),
            LocalResult::Ambiguous(_, b) => {
                format!("ambiguous (clocks went back): later instant, {}, as the manifest's offset says", offset_name(&b))
            }
            _ => offset_name(&local),
        };
        plan.understood.push(Understood {
            file: s.name.clone(),
            layout: Layout::Csv,
            local_time: Some(naive.format("%Y-%m-%d %H:%M:%S").to_string()),
            tz: tz.name().to_string(),
            started_at: crate::time::rfc3339(s.started_at),
            dst,
            direction: s.direction,
            direction_assumed: false,
            from: None,
            to: None,
            external_number: s.external_number.clone(),
            extension: s.extension.clone(),
            staff: s.staff.clone(),
            parties: s.parties.clone(),
            notes: s.notes.clone(),
            format_hint: None,
            metadata: None,
            remarks: vec![],
            size: s.bytes.len() as u64,
            mapped_user: None,
            party_users: vec![],
            audio: None,
            outcome: None,
        });
        plan.calls.push(Planned {
            path: dir.join(&s.name),
            size: s.bytes.len() as u64,
            source: s,
            loaded: true,
        });
    }
    Ok(plan)
}

// ---- what the layouts share ----

/// One file being understood.
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub struct Ctx<'a> {
    /// Path relative to the import folder, `/`-separated.
    pub rel: &'a str,
    pub file_name: &'a str,
    pub tz: Tz,
}

impl Ctx<'_> {
    /// The folder names above the file, nearest last.
    pub fn parents(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.rel.split('/').collect();
        v.pop();
        v
    }

    /// If the file sits in date-named folders (`YYYY/MM/DD`, or `YYYY/MM/DD/HH` when `hour` is
    /// given), they must agree with the time in its name: a file in another day's folder was
    /// moved or renamed, and which one is right cannot be told.
    pub fn check_date_folders(
        &self,
        t: NaiveDateTime,
        hour: bool,
    ) -> std::result::Result<(), String> {
        let p = self.parents();
        let looks = |parts: &[&str], lens: &[usize]| {
            parts.len() == lens.len()
                && parts
                    .iter()
                    .zip(lens)
                    .all(|(s, &n)| s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        };
        let want_h = [
            t.format("%Y").to_string(),
            t.format("%m").to_string(),
            t.format("%d").to_string(),
            t.format("%H").to_string(),
        ];
        let tail = |n: usize| &p[p.len().saturating_sub(n)..];
        let (got, want): (&[&str], &[String]) = if hour && looks(tail(4), &[4, 2, 2, 2]) {
            (tail(4), &want_h[..])
        } else if looks(tail(3), &[4, 2, 2]) {
            (tail(3), &want_h[..3])
        } else {
            return Ok(());
        };
        if got.iter().zip(want).all(|(g, w)| g == w) {
            Ok(())
        } else {
            Err(format!(
                "it is in folder {} but its name says {}: moved or renamed? (the folder and the name must agree)",
                got.join("/"),
                want.join("/")
            ))
        }
    }
}

/// A time as understood: the instant, and how the local time was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Instant {
    pub utc: DateTime<Utc>,
    /// As named, when it was a wall-clock time.
    pub local: Option<NaiveDateTime>,
    pub dst: String,
    /// Stored in the call's notes (the autumn's repeated hour).
    pub note: Option<String>,
}

fn offset_name<T: TimeZone>(t: &DateTime<T>) -> String
where
    T::Offset: std::fmt::Display,
{
    format!("{} (UTC{})", t.format("%Z"), t.format("%:z"))
}

/// A wall-clock time in `tz` to an instant. The spring's skipped hour is refused; in the autumn's
/// repeated hour the earlier instant is taken, unless `not_before` (when the call is known to have
/// begun no earlier than, e.g. a FreePBX uniqueid) rules it out.
pub fn resolve_local(
    local: NaiveDateTime,
    tz: Tz,
    not_before: Option<DateTime<Utc>>,
) -> std::result::Result<Instant, String> {
    let shown = local.format("%Y-%m-%d %H:%M:%S");
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(Instant {
            utc: t.with_timezone(&Utc),
            local: Some(local),
            dst: offset_name(&t),
            note: None,
        }),
        LocalResult::Ambiguous(a, b) => {
            let (ea, eb) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            // Two seconds of slack: both clocks are the PBX's, read at whole seconds.
            let later = not_before.is_some_and(|nb| ea + chrono::Duration::seconds(2) < nb);
            if later {
                let nb = not_before.expect("checked");
                Ok(Instant {
                    utc: eb,
                    local: Some(local),
                    dst: format!(
                        "ambiguous (clocks went back): later instant taken, {} (the earlier, {}, is before the call's uniqueid time {})",
                        offset_name(&b),
                        offset_name(&a),
                        crate::time::rfc3339(nb)
                    ),
                    note: Some(format!(
                        "time ambiguous (clocks went back): later instant taken ({shown} {} = {}), as the call's uniqueid shows",
                        b.format("%Z"),
                        crate::time::rfc3339(eb)
                    )),
                })
            } else {
                Ok(Instant {
                    utc: ea,
                    local: Some(local),
                    dst: format!(
                        "ambiguous (clocks went back): earlier instant taken, {} (the later would be {})",
                        offset_name(&a),
                        offset_name(&b)
                    ),
                    note: Some(format!(
                        "time ambiguous (clocks went back): earlier instant taken ({shown} {} = {})",
                        a.format("%Z"),
                        crate::time::rfc3339(ea)
                    )),
                })
            }
        }
        LocalResult::None => Err(format!(
            "time {shown} does not exist in {} (the clocks went forward): check the phone system's clock or --tz",
            tz.name()
        )),
    }
}

/// `YYYYMMDD` and `HHMMSS` (or `YYYYMMDDHHMMSS` split by the caller) as a wall-clock time.
pub(crate) fn naive(date: &str, time: &str) -> std::result::Result<NaiveDateTime, String> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{date}' is not a date YYYYMMDD"));
    }
    if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{time}' is not a time HHMMSS"));
    }
    NaiveDateTime::parse_from_str(&format!("{date}{time}"), "%Y%m%d%H%M%S")
        .map_err(|_| format!("{date}-{time} is not a real date and time"))
}

/// UK numbers that are 2–5 digits long but are not extensions: emergency and public services.
const SERVICE_NUMBERS: &[&str] = &["999", "112", "111", "101", "105", "119"];

/// An internal extension: 2 to 5 digits, and not 999, 112, 111, 101, 105 or 119.
pub fn is_extension(s: &str) -> bool {
    (2..=5).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && !SERVICE_NUMBERS.contains(&s)
}

/// A number field of a name: digits (with `+`, `*`, `#`), empty, or a word a PBX writes when
/// there is no number (`unknown`, `anonymous`, `withheld`, ...), which gives None.
pub(crate) fn number_field(s: &str, what: &str) -> std::result::Result<Option<String>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let digits = s.strip_prefix('+').unwrap_or(s);
    if !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Ok(Some(s.to_string()));
    }
    if s.len() <= 20 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(None);
    }
    Err(format!("{what} '{s}' is not a phone number or extension"))
}

/// What a layout understood of one file, before it becomes a `CallSource`.
#[derive(Clone, Debug)]
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub struct Call {
    pub time: Instant,
    pub direction: Direction,
    pub direction_assumed: bool,
    pub from: Option<String>,
    pub to: Option<String>,
    pub external_number: Option<String>,
    pub extension: Option<String>,
    pub staff: Option<String>,
    pub parties: Vec<String>,
    pub notes: Vec<String>,
    pub format_hint: Option<String>,
    pub metadata: Option<MetadataRow>,
    pub remarks: Vec<String>,
}

impl Call {
    pub fn new(time: Instant, direction: Direction) -> Call {
        Call {
            time,
            direction,
            direction_assumed: false,
            from: None,
            to: None,
            external_number: None,
            extension: None,
            staff: None,
            parties: vec![],
            notes: vec![],
            format_hint: None,
            metadata: None,
            remarks: vec![],
        }
    }

    // Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
    #[doc(hidden)]
    pub fn finish(self, rel: &str, layout: Layout, tz: Tz, size: u64) -> (CallSource, Understood) {
        let mut notes: Vec<String> = self.time.note.iter().cloned().collect();
        notes.extend(self.notes.iter().filter(|n| !n.is_empty()).cloned());
        let notes = (!notes.is_empty()).then(|| notes.join("; "));
        let mut parties: Vec<String> = Vec::new();
        for p in self.parties {
            let p = p.trim().to_string();
            if !p.is_empty() && !parties.contains(&p) {
                parties.push(p);
            }
        }
        let source = CallSource {
            name: rel.to_string(),
            bytes: Vec::new(),
            started_at: self.time.utc,
            direction: self.direction,
            staff: self.staff.clone(),
            extension: self.extension.clone(),
            external_number: self.external_number.clone(),
            parties: parties.clone(),
            notes: notes.clone(),
        };
        let understood = Understood {
            file: rel.to_string(),
            layout,
            local_time: self
                .time
                .local
                .map(|l| l.format("%Y-%m-%d %H:%M:%S").to_string()),
            tz: tz.name().to_string(),
            started_at: crate::time::rfc3339(self.time.utc),
            dst: self.time.dst,
            direction: self.direction,
            direction_assumed: self.direction_assumed,
            from: self.from,
            to: self.to,
            external_number: self.external_number,
            extension: self.extension,
            staff: self.staff,
            parties,
            notes,
            format_hint: self.format_hint,
            metadata: self.metadata,
            remarks: self.remarks,
            size,
            mapped_user: None,
            party_users: vec![],
            audio: None,
            outcome: None,
        };
        (source, understood)
    }
}

/// A path given inside metadata must name a file inside the folder.
pub(crate) fn inside(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty()
        && !p.is_absolute()
        && !rel.starts_with('/')
        && !rel.starts_with('\\')
        && !rel.contains('\\')
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && unportable(rel).is_none()
}

/// Why a path given inside metadata would name another file, or a device, on some system: a NUL
/// or other control character, a Windows device name (`CON`, `aux.wav`, `COM1`…), or a part
/// ending in a dot or a space (which Windows drops).
pub(crate) fn unportable(rel: &str) -> Option<String> {
    if rel.chars().any(char::is_control) {
        return Some("the name holds a control character".into());
    }
    for part in rel.split(['/', '\\']) {
        let stem = part
            .split('.')
            .next()
            .unwrap_or("")
            .trim_end()
            .to_ascii_uppercase();
        let device = matches!(
            stem.as_str(),
            "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
        ) || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
        if device {
            return Some(format!("'{part}' is a Windows device name, not a file"));
        }
        if part.ends_with('.') || part.ends_with(' ') {
            return Some(format!(
                "'{part}' ends in a dot or a space (Windows would read another file)"
            ));
        }
    }
    None
}

// ---- metadata files given with --cdr ----

// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub enum Meta {
    None,
    FreePbx(freepbx::Cdr),
    Oreka(oreka::Meta),
}

impl Meta {
    fn load(path: &Path, layout: Layout) -> Result<Meta> {
        let name = path.display().to_string();
        if !matches!(layout, Layout::Auto | Layout::FreePbx | Layout::Oreka) {
            return Err(Error::Invalid(format!(
                "--cdr is not used by the {layout} layout"
            )));
        }
        let file =
            std::fs::File::open(path).map_err(|e| Error::Invalid(format!("--cdr {name}: {e}")))?;
        Self::read(&name, file, layout)
    }

    /// Read a FreePBX CDR export or an Oreka metadata CSV (which, by its header) named `name`.
    // Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
    #[doc(hidden)]
    pub fn read<R: std::io::Read>(name: &str, data: R, layout: Layout) -> Result<Meta> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(data);
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::Invalid(format!("--cdr {name}: header row: {e}")))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let has = |c: &str| headers.iter().any(|h| h == c);
        let is_cdr = has("uniqueid") || has("recordingfile");
        let is_oreka = has("filename");
        match layout {
            Layout::FreePbx | Layout::Auto if is_cdr => {
                Ok(Meta::FreePbx(freepbx::Cdr::read(name, headers, rdr)?))
            }
            Layout::Oreka | Layout::Auto if is_oreka => {
                Ok(Meta::Oreka(oreka::Meta::read(name, headers, rdr)?))
            }
            Layout::FreePbx => Err(Error::Invalid(format!(
                "--cdr {name}: not a FreePBX CDR export (its header has neither 'uniqueid' nor 'recordingfile')"
            ))),
            Layout::Oreka => Err(Error::Invalid(format!(
                "--cdr {name}: not an Oreka metadata CSV (its header has no 'filename' column)"
            ))),
            _ => Err(Error::Invalid(format!(
                "--cdr {name}: neither a FreePBX CDR export ('uniqueid', 'recordingfile' columns) nor an Oreka metadata CSV ('filename' column)"
            ))),
        }
    }

    // Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
    #[doc(hidden)]
    pub fn freepbx(&self) -> Option<&freepbx::Cdr> {
        match self {
            Meta::FreePbx(c) => Some(c),
            _ => None,
        }
    }

    // Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
    #[doc(hidden)]
    pub fn oreka(&self) -> Option<&oreka::Meta> {
        match self {
            Meta::Oreka(m) => Some(m),
            _ => None,
        }
    }
}

/// Columns of a metadata CSV by (lower-case) name.
pub(crate) struct Columns(pub Vec<String>);

impl Columns {
    pub fn get<'r>(&self, rec: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.0
            .iter()
            .position(|h| h == name)
            .and_then(|i| rec.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

// ---- walking the folder ----

struct Entry {
    rel: String,
    path: PathBuf,
    size: u64,
}

const SKIP_DIRS: &[&str] = &[
    "@eaDir",
    "#recycle",
    "$RECYCLE.BIN",
    "System Volume Information",
];
const SKIP_FILES: &[&str] = &["Thumbs.db", "desktop.ini"];

fn io_kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "it is gone".into(),
        k => k.to_string(),
    }
}

/// Can the file be opened and read?
fn readable(path: &Path) -> std::result::Result<(), String> {
    let mut f =
        std::fs::File::open(path).map_err(|e| format!("cannot read the file ({})", io_kind(&e)))?;
    let mut b = [0u8; 1];
    f.read(&mut b)
        .map_err(|e| format!("cannot read the file ({})", io_kind(&e)))?;
    Ok(())
}

/// Every regular file under `dir` (sorted), with the entries that cannot be taken as rejections.
fn walk(dir: &Path, skip: Option<&Path>) -> (Vec<Entry>, Vec<Rejected>) {
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel_dir)) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => {
                rejected.push(Rejected {
                    file: if rel_dir.is_empty() {
                        ".".into()
                    } else {
                        format!("{rel_dir}/")
                    },
                    reason: format!("cannot read the folder ({})", io_kind(&e)),
                });
                continue;
            }
        };
        let mut names: Vec<_> = rd.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for ent in names {
            let os = ent.file_name();
            let lossy = os.to_string_lossy().into_owned();
            let rel = if rel_dir.is_empty() {
                lossy.clone()
            } else {
                format!("{rel_dir}/{lossy}")
            };
            let reject = |reason: &str| Rejected {
                file: rel.clone(),
                reason: reason.to_string(),
            };
            let Some(name) = os.to_str() else {
                rejected.push(reject(
                    "the name is not valid UTF-8 (shown with replacement characters): rename it",
                ));
                continue;
            };
            if name.chars().any(char::is_control) {
                rejected.push(reject("the name holds control characters: rename it"));
                continue;
            }
            if name.starts_with('.') || SKIP_FILES.contains(&name) {
                continue;
            }
            let path = ent.path();
            let md = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    rejected.push(reject(&format!("cannot read the file ({})", io_kind(&e))));
                    continue;
                }
            };
            let ft = md.file_type();
            if ft.is_symlink() {
                rejected.push(reject(
                    "a symbolic link: not followed (copy the recording itself into the folder)",
                ));
            } else if ft.is_dir() {
                if !SKIP_DIRS.contains(&name) {
                    subdirs.push((path, rel));
                }
            } else if !ft.is_file() {
                rejected.push(reject("not a regular file (a pipe, socket or device)"));
            } else if skip.is_some_and(|s| std::fs::canonicalize(&path).ok().as_deref() == Some(s))
            {
                // the metadata CSV given with --cdr
            } else {
                out.push(Entry {
                    rel,
                    path,
                    size: md.len(),
                });
            }
        }
        // Depth first, in name order.
        for s in subdirs.into_iter().rev() {
            stack.push(s);
        }
    }
    (out, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_reach_another_file_or_a_device_are_not_inside() {
        for ok in [
            "a.wav",
            "2025/03/27/in-1.wav",
            "console.wav",
            "COM10.wav",
            "lpt.wav",
        ] {
            assert!(inside(ok), "{ok}");
        }
        for bad in [
            "../a.wav",
            "/etc/passwd",
            "a\\b.wav",
            "CON.wav",
            "sub/aux.wav",
            "nul",
            "COM1.wav",
            "lpt9.mp3",
            "x.wav.",
            "sub /x.wav",
            "a\0.wav",
            "",
        ] {
            assert!(!inside(bad), "{bad}");
        }
        assert!(unportable("Con .wav").unwrap().contains("device"));
    }
}
