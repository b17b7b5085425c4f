//! The general layout: a folder of audio files plus a CSV manifest with a header row and the columns
//! `file,started_at,direction,staff,extension,external_number,parties,notes,nhs_number,conversation`
//! (any order; `file`, `started_at` and `direction` required; `conversation` is the phone system's
//! id shared by a transferred call's legs). Times without an offset are local to the archive's zone.

use crate::archive::journal::Direction;
use crate::error::{Error, Result};
use crate::ingest::names::{offset_name, unportable};
use crate::ingest::understand::{
    Call, Ctx, Fit, Folder, Layout, LayoutName, Metadata, Plan, Planned, Understood,
};
use crate::ingest::source::{CallSource, Rejected, AUDIO_EXTENSIONS};
use chrono::{LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path};

/// The layout's name.
pub const NAME: &str = "csv";

/// The default manifest's name in the folder.
const MANIFEST: &str = "manifest.csv";

/// The CSV manifest layout: the folder as a whole, as its manifest lists it.
pub struct CsvManifest;

impl Layout for CsvManifest {
    fn name(&self) -> &'static str {
        NAME
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["manifest"]
    }
    fn description(&self) -> &'static str {
        "Audio files listed in a CSV manifest"
    }
    fn looks_like(&self, _file: &Ctx) -> Fit {
        Fit::No
    }
    fn understand(&self, file: &Ctx, _meta: Option<&Metadata>) -> std::result::Result<Call, String> {
        Err(format!(
            "{}: the csv layout reads its manifest, not file names",
            file.rel
        ))
    }
    fn manifest(&self) -> Option<&'static str> {
        Some(MANIFEST)
    }
    fn understand_folder(&self, folder: &Folder) -> Result<Plan> {
        if folder.cdr.is_some() {
            return Err(Error::Invalid(
                "--cdr is not used with a CSV manifest (put the details in the manifest)".into(),
            ));
        }
        let default_manifest = folder.dir.join(MANIFEST);
        let manifest = folder.manifest.unwrap_or(&default_manifest);
        if !manifest.exists() {
            return Err(Error::Invalid(format!(
                "{}: no manifest (give --manifest FILE, or put manifest.csv in the folder)",
                manifest.display()
            )));
        }
        plan_understood(folder.dir, manifest, folder.tz)
    }
}

/// The CSV manifest layout: today's import, with how each row was understood.
fn plan_understood(dir: &Path, manifest: &Path, tz: Tz) -> Result<Plan> {
    let (sources, rejected) = plan(dir, manifest, tz)?;
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
            layout: LayoutName::named(NAME),
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
            nhs_numbers: s.nhs_numbers.clone(),
            conversation: s.conversation.clone(),
            format_hint: None,
            metadata: None,
            remarks: vec![],
            size: s.bytes.len() as u64,
            mapped_user: None,
            party_users: vec![],
            audio: None,
            outcome: None,
        });
        plan.calls.push(Planned::loaded(dir.join(&s.name), s));
    }
    Ok(plan)
}

/// Longer than any honest manifest field (a party's name, a note).
const MAX_FIELD: usize = 4096;

const COLUMNS: &[&str] = &[
    "file",
    "started_at",
    "direction",
    "staff",
    "extension",
    "external_number",
    "parties",
    "notes",
    "nhs_number",
    "conversation",
];

/// Read the manifest and the files it names. A damaged manifest as a whole is an error; a bad row
/// or file is a rejection and the rest go on.
pub fn plan(dir: &Path, manifest: &Path, tz: Tz) -> Result<(Vec<CallSource>, Vec<Rejected>)> {
    let mname = manifest.display().to_string();
    let file = std::fs::File::open(manifest)
        .map_err(|e| Error::Invalid(format!("manifest {mname}: {e}")))?;
    let (sources, mut rejected, listed) = plan_rows(dir, &mname, file, tz)?;
    rejected.extend(unlisted(dir, manifest, &listed));
    Ok((sources, rejected))
}

/// The rows of a manifest named `mname` (its bytes from `data`), with the files they name in `dir`:
/// the calls, the rows or files refused, and the files listed.
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub fn plan_rows<R: std::io::Read>(
    dir: &Path,
    mname: &str,
    data: R,
    tz: Tz,
) -> Result<(Vec<CallSource>, Vec<Rejected>, HashSet<String>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers = rdr
        .headers()
        .map_err(|e| Error::Invalid(format!("manifest {mname}: header row: {e}")))?
        .clone();
    let mut col = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}').to_ascii_lowercase();
        if !COLUMNS.contains(&h.as_str()) {
            return Err(Error::Invalid(format!(
                "manifest {mname}: unknown column '{h}' (expected {})",
                COLUMNS.join(",")
            )));
        }
        col.insert(h, i);
    }
    for req in ["file", "started_at", "direction"] {
        if !col.contains_key(req) {
            return Err(Error::Invalid(format!(
                "manifest {mname}: required column '{req}' missing"
            )));
        }
    }
    let mut sources = Vec::new();
    let mut rejected = Vec::new();
    let mut listed = HashSet::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                rejected.push(Rejected {
                    file: format!("{mname} line {line}"),
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let get = |c: &str| {
            col.get(c)
                .and_then(|&i| rec.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let Some(file) = get("file") else {
            rejected.push(Rejected {
                file: format!("{mname} line {line}"),
                reason: "field 'file' is empty".into(),
            });
            continue;
        };
        let reject = |reason: String| Rejected {
            file: file.to_string(),
            reason,
        };
        let rel = Path::new(file);
        if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            rejected.push(reject(format!(
                "line {line}: field 'file' must be a path inside the import folder"
            )));
            continue;
        }
        if !listed.insert(file.to_string()) {
            rejected.push(reject(format!("line {line}: listed twice in the manifest")));
            continue;
        }
        if let Some((i, f)) = rec.iter().enumerate().find(|(_, f)| f.len() > MAX_FIELD) {
            let name = headers.get(i).unwrap_or("?").trim_start_matches('\u{feff}');
            rejected.push(reject(format!(
                "line {line}: field '{}' is longer than {} KiB ({} bytes)",
                name.to_ascii_lowercase(),
                MAX_FIELD / 1024,
                f.len()
            )));
            continue;
        }
        if let Some(why) = unportable(file) {
            rejected.push(reject(format!("line {line}: field 'file': {why}")));
            continue;
        }
        let started_at = match get("started_at")
            .map(|s| crate::time::parse_instant(s, tz))
            .map(|t| t.and_then(|t| crate::time::check_call_time(t).map(|()| t)))
        {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                rejected.push(reject(format!("line {line}: field 'started_at': {e}")));
                continue;
            }
            None => {
                rejected.push(reject(format!("line {line}: field 'started_at' is empty")));
                continue;
            }
        };
        let direction = match get("direction").and_then(Direction::parse) {
            Some(d) => d,
            None => {
                rejected.push(reject(format!(
                    "line {line}: field 'direction' must be inbound, outbound or internal"
                )));
                continue;
            }
        };
        // One or more NHS numbers, `;`-separated: each checked, a wrong one refuses the row.
        let mut nhs_numbers = Vec::new();
        let mut bad_nhs = None;
        for n in get("nhs_number").unwrap_or("").split(';').filter(|n| !n.trim().is_empty()) {
            match crate::patient::parse(n) {
                Ok(n) if !nhs_numbers.contains(&n) => nhs_numbers.push(n),
                Ok(_) => {}
                Err(e) => bad_nhs = Some(e),
            }
        }
        if let Some(e) = bad_nhs {
            rejected.push(reject(format!("line {line}: field 'nhs_number': {e}")));
            continue;
        }
        let conversation = match get("conversation").map(crate::conversation::check_key) {
            Some(Err(e)) => {
                rejected.push(reject(format!("line {line}: field 'conversation': {e}")));
                continue;
            }
            Some(Ok(k)) => Some(k),
            None => None,
        };
        let path = dir.join(rel);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                rejected.push(reject(format!("cannot read the file ({})", e.kind())));
                continue;
            }
        };
        sources.push(CallSource {
            name: file.to_string(),
            bytes,
            started_at,
            direction,
            staff: get("staff").map(String::from),
            extension: get("extension").map(String::from),
            external_number: get("external_number").map(String::from),
            parties: get("parties")
                .map(|p| {
                    p.split(';')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            notes: get("notes").map(String::from),
            nhs_numbers,
            conversation,
        });
    }
    Ok((sources, rejected, listed))
}

/// Audio files in the folder that the manifest does not list are named, not silently skipped.
fn unlisted(dir: &Path, manifest: &Path, listed: &HashSet<String>) -> Vec<Rejected> {
    let mut rejected = Vec::new();
    let manifest_canon = std::fs::canonicalize(manifest).ok();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for ent in rd.flatten() {
            let p = ent.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if std::fs::canonicalize(&p).ok() == manifest_canon {
                continue;
            }
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if !AUDIO_EXTENSIONS.contains(&ext.as_str()) {
                continue;
            }
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if !listed.contains(&rel) {
                rejected.push(Rejected {
                    file: rel,
                    reason: "not listed in the manifest".into(),
                });
            }
        }
    }
    rejected
}
