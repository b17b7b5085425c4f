//! What a telephony layout is, and what it is given and gives back: the `Layout` trait, the file
//! (`Ctx`) or folder (`Folder`) it reads, the `Call` it understands, and the records an import
//! plan is made of (`Understood`, `Planned`, `Plan`). Every layout in `layouts/` implements the
//! trait against these types; the registry (`layouts/mod.rs`) lists the layouts and the planner
//! (`plan.rs`) chooses among them. Nothing here names a layout.

use super::names::Instant;
use super::source::{CallSource, Rejected};
use super::walk::io_kind;
use crate::archive::journal::Direction;
use crate::error::Result;
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use serde::Serialize;
use std::any::Any;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A telephony layout: how one phone system (or a file of details) names and describes its
/// recordings. A layout is one file in `layouts/` plus its line in the registry there.
///
/// Most layouts read the folder file by file: auto-detect asks each layout whether a file
/// `looks_like` one of its own (the surest wins; a tie goes to the layout listed first) and the
/// planner calls `understand` for it. A layout whose calls are listed in a manifest reads the
/// folder as a whole instead (`manifest`, `understand_folder`).
pub trait Layout: Sync {
    /// The name `--layout` takes, the app sends and the dry run shows, e.g. `3cx`: lower case,
    /// unique, never `auto`.
    fn name(&self) -> &'static str;

    /// Other names `--layout` accepts (lower case), e.g. `threecx`.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// One line for the CLI's help and the app's list of layouts.
    fn description(&self) -> &'static str;

    /// The shape of its file names, quoted when a file matches no layout, e.g.
    /// `3CX [<name>]_<from>-<to>_<YYYYMMDDHHMMSS>(<n>).wav`. None: not known by its names.
    fn shape(&self) -> Option<&'static str> {
        None
    }

    /// Auto-detect, per file: how sure this layout is that the file is one of its own.
    fn looks_like(&self, file: &Ctx) -> Fit;

    /// Understand one file: what the call was, or why the file cannot be taken. `meta` is the
    /// metadata CSV given with `--cdr` when it is this layout's (see `metadata`).
    fn understand(&self, file: &Ctx, meta: Option<&Metadata>) -> std::result::Result<Call, String>;

    /// The metadata CSV (`--cdr`) this layout can join to its files, if any.
    fn metadata(&self) -> Option<&'static MetadataCsv> {
        None
    }

    /// Does this layout read the sidecar (`<file>.json`) beside a file? A sidecar that no layout
    /// read is reported as not read.
    fn reads_sidecar(&self) -> bool {
        false
    }

    /// For a layout that reads the folder as a whole from a manifest (a file listing its calls):
    /// the manifest's name in the folder. Its presence (or `--manifest`) makes `auto` mean this
    /// layout, for the whole folder.
    fn manifest(&self) -> Option<&'static str> {
        None
    }

    /// Understand the folder as a whole (asked only of a layout with a `manifest`).
    fn understand_folder(&self, folder: &Folder) -> Result<Plan> {
        Err(crate::error::Error::Invalid(format!(
            "{}: the {} layout reads files one by one",
            folder.dir.display(),
            self.name()
        )))
    }
}

/// How sure a layout is that a file is one of its own. Auto-detect takes the surest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// Not one of its own.
    No,
    /// The file's name has the layout's shape.
    Name,
    /// Details written for this very file sit beside it (a sidecar): surer than any name.
    Beside,
}

/// The folder being imported, for a layout that reads it as a whole.
pub struct Folder<'a> {
    pub dir: &'a Path,
    pub tz: Tz,
    /// `--cdr`, if given.
    pub cdr: Option<&'a Path>,
    /// `--manifest`, if given (else the layout's `manifest` name in the folder).
    pub manifest: Option<&'a Path>,
}

/// A layout's metadata CSV (given with `--cdr`): how to know it by its header, and read it.
pub struct MetadataCsv {
    /// What it is, in messages: `a FreePBX CDR export ('uniqueid', 'recordingfile' columns)`.
    pub what: &'static str,
    /// Why a header is not one, when the layout was forced: `not a FreePBX CDR export (its
    /// header has neither 'uniqueid' nor 'recordingfile')`.
    pub not_one: &'static str,
    /// Is this header (trimmed, lower case) one of these?
    pub recognises: fn(&[String]) -> bool,
    /// Read the rows after the header; `source` names the file in messages.
    pub read: ReadMetadata,
}

/// Reads a metadata CSV's rows: its name (for messages), its header (trimmed, lower case), the
/// reader positioned after the header.
pub type ReadMetadata = fn(&str, Vec<String>, csv::Reader<&mut dyn Read>) -> Result<Metadata>;

/// A metadata CSV as read by its layout, with the rows that could not be used.
pub struct Metadata {
    /// Rows that could not be used (reported as rejections).
    pub problems: Vec<Rejected>,
    data: Box<dyn Any>,
}

impl Metadata {
    pub fn new<T: Any>(data: T, problems: Vec<Rejected>) -> Metadata {
        Metadata {
            problems,
            data: Box::new(data),
        }
    }

    /// The layout's own reading of it.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.data.downcast_ref()
    }
}

/// A layout chosen by name (`--layout`, the app), or `auto`: decide per folder and per file. What
/// the understood record names. Parsed (`FromStr`) and listed by the registry (`layouts/mod.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LayoutName(Option<&'static str>);

impl LayoutName {
    /// Decide per folder (a manifest) and per file.
    #[allow(non_upper_case_globals)]
    pub const Auto: LayoutName = LayoutName(None);

    /// The layout of this name (use the registry to check it exists).
    pub const fn named(name: &'static str) -> LayoutName {
        LayoutName(Some(name))
    }

    pub fn is_auto(&self) -> bool {
        self.0.is_none()
    }

    pub fn as_str(&self) -> &'static str {
        self.0.unwrap_or("auto")
    }
}

impl std::fmt::Display for LayoutName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LayoutName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Columns of a metadata CSV by (lower-case) name.
pub struct Columns(pub Vec<String>);

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

/// One file being understood.
pub struct Ctx<'a> {
    /// The import folder.
    pub dir: &'a Path,
    /// Path relative to the import folder, `/`-separated.
    pub rel: &'a str,
    pub file_name: &'a str,
    pub tz: Tz,
    /// The sidecar beside it (`<rel>.json`, relative to the folder), if there is one.
    pub sidecar: Option<&'a str>,
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

/// What a layout understood of one file, before it becomes a `CallSource`.
#[derive(Clone, Debug)]
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
    /// NHS numbers (canonical, checked) the metadata gave.
    pub nhs_numbers: Vec<String>,
    /// The conversation this call is one leg of (a transfer), as the metadata names it.
    pub conversation: Option<String>,
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
            nhs_numbers: vec![],
            conversation: None,
            format_hint: None,
            metadata: None,
            remarks: vec![],
        }
    }

    pub fn finish(
        self,
        rel: &str,
        layout: LayoutName,
        tz: Tz,
        size: u64,
    ) -> (CallSource, Understood) {
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
            nhs_numbers: self.nhs_numbers.clone(),
            conversation: self.conversation.clone(),
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
            nhs_numbers: self.nhs_numbers,
            conversation: self.conversation,
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

/// How one file was understood: what `--dry-run` shows, one per call the import would take.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Understood {
    pub file: String,
    pub layout: LayoutName,
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
    /// The patients' NHS numbers the metadata gave.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nhs_numbers: Vec<String>,
    /// The conversation (transfer) this call is one leg of, as the metadata names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
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
    /// A call whose audio is read later (`load`).
    pub fn new(path: PathBuf, size: u64, source: CallSource) -> Planned {
        Planned {
            path,
            size,
            source,
            loaded: false,
        }
    }

    /// A call whose audio the layout has already read (into `source.bytes`).
    pub fn loaded(path: PathBuf, source: CallSource) -> Planned {
        Planned {
            path,
            size: source.bytes.len() as u64,
            source,
            loaded: true,
        }
    }

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
