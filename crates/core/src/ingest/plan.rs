//! The planner: which layout a folder (or each file in it) is in, and one plan over all of them.
//! Reached as `ingest::plan` and, as it always was, `ingest::layout`.
//!
//! `plan` walks the folder and, for each file, asks the registry (`layouts/`) which layout it is
//! in (or takes the one forced with `--layout`), lets that layout understand it strictly, and
//! produces a `CallSource` for the common import path plus a record of how the file was
//! understood (shown by `--dry-run`). A file that cannot be understood is a `Rejected` with a
//! reason naming it; the rest of the folder goes on. A layout with a manifest (the CSV layout)
//! reads the folder as a whole instead.
//!
//! Rules common to every layout (see also `names` for times, extensions and paths):
//! - Symbolic links are not followed; names that are not UTF-8 or hold control characters, empty
//!   files, unreadable files, special files and files that are not audio are rejected by name.
//!   Hidden files (a leading `.`) and the folders NAS boxes and OSes add (`@eaDir`, `#recycle`,
//!   `$RECYCLE.BIN`, `System Volume Information`), `Thumbs.db` and `desktop.ini` are skipped.
//! - A `<file>.json` beside an audio file is its sidecar: read by a layout that reads sidecars,
//!   reported as not read when another layout was forced; a `.json` that is no sidecar is refused.

use super::layouts::{self, LAYOUTS};
use super::source::{Rejected, AUDIO_EXTENSIONS};
use super::understand::{self, Ctx, Fit, Folder, LayoutName, Metadata};
use super::walk::{readable, walk};
use crate::error::{Error, Result};
use chrono_tz::Tz;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The names callers and tests have always reached through `ingest::layout`.
pub use super::names::{is_extension, resolve_local, Instant};
pub use super::understand::{LayoutName as Layout, MetadataRow, Plan, Planned, Understood};

/// One of the registry's layouts (the `understand::Layout` trait; `Layout` here is the name a
/// caller chooses, as it always was).
pub type AnyLayout = &'static dyn understand::Layout;

/// Plan an import of `dir` in `layout`. Times in names are local to `tz`. `cdr` is a metadata CSV
/// a layout joins to its files (a FreePBX CDR export, an Oreka metadata CSV).
pub fn plan(dir: &Path, layout: LayoutName, tz: Tz, cdr: Option<&Path>) -> Result<Plan> {
    plan_with_manifest(dir, layout, tz, cdr, None)
}

/// As `plan`, with an explicit manifest (default: the manifest layout's file in `DIR`, whose
/// presence makes `auto` mean that layout, as the import has always behaved).
pub fn plan_with_manifest(
    dir: &Path,
    layout: LayoutName,
    tz: Tz,
    cdr: Option<&Path>,
    manifest: Option<&Path>,
) -> Result<Plan> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!("{}: not a folder", dir.display())));
    }
    let folder = Folder {
        dir,
        tz,
        cdr,
        manifest,
    };
    // The whole folder: a layout with a manifest, forced or (auto) when its manifest is there.
    let forced = layouts::find(layout);
    let whole = match forced {
        Some(l) => l.manifest().map(|_| l),
        None => LAYOUTS.iter().copied().find(|l| {
            l.manifest()
                .is_some_and(|m| manifest.is_some() || dir.join(m).is_file())
        }),
    };
    if let Some(l) = whole {
        return l.understand_folder(&folder);
    }
    if let Some(m) = manifest {
        let readers: Vec<&str> = LAYOUTS
            .iter()
            .filter(|l| l.manifest().is_some())
            .map(|l| l.name())
            .collect();
        return Err(Error::Invalid(format!(
            "{}: a manifest is only read by the {} layout (not {layout})",
            m.display(),
            layouts::or_list(&readers)
        )));
    }
    let meta = match cdr {
        None => None,
        Some(p) => Some(load_metadata(p, layout)?),
    };
    per_file(&folder, forced, meta)
}

/// Read the metadata CSV given with `--cdr`, for the layout forced or (auto) the one that knows it.
fn load_metadata(path: &Path, layout: LayoutName) -> Result<(AnyLayout, Metadata)> {
    let name = path.display().to_string();
    if let Some(l) = layouts::find(layout) {
        if l.metadata().is_none() {
            return Err(Error::Invalid(format!(
                "--cdr is not used by the {layout} layout"
            )));
        }
    }
    let file =
        std::fs::File::open(path).map_err(|e| Error::Invalid(format!("--cdr {name}: {e}")))?;
    read_metadata(&name, file, layout)
}

/// Read a metadata CSV named `name` (which kind, by its header) for `layout`: its owner and what
/// it says.
pub fn read_metadata<R: Read>(
    name: &str,
    mut data: R,
    layout: LayoutName,
) -> Result<(AnyLayout, Metadata)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&mut data as &mut dyn Read);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Invalid(format!("--cdr {name}: header row: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    let readers: Vec<AnyLayout> = match layouts::find(layout) {
        Some(l) => vec![l],
        None => LAYOUTS.to_vec(),
    };
    let kinds: Vec<_> = readers
        .iter()
        .filter_map(|l| l.metadata().map(|m| (*l, m)))
        .collect();
    if let Some((l, m)) = kinds.iter().find(|(_, m)| (m.recognises)(&headers)) {
        return Ok((*l, (m.read)(name, headers, rdr)?));
    }
    Err(Error::Invalid(
        match (layouts::find(layout), kinds.as_slice()) {
            (Some(_), [(_, m)]) => format!("--cdr {name}: {}", m.not_one),
            (Some(_), _) => format!("--cdr is not used by the {layout} layout"),
            _ => {
                let whats: Vec<&str> = kinds.iter().map(|(_, m)| m.what).collect();
                format!("--cdr {name}: {}", neither(&whats))
            }
        },
    ))
}

/// `neither A nor B` (`neither A, B nor C`).
fn neither(whats: &[&str]) -> String {
    match whats {
        [] => "not a metadata CSV any layout reads".into(),
        [one] => format!("not {one}"),
        [init @ .., last] => format!("neither {} nor {last}", init.join(", ")),
    }
}

/// The folder file by file, each in the layout forced or (auto) the one it looks like.
fn per_file(
    folder: &Folder,
    forced: Option<AnyLayout>,
    meta: Option<(AnyLayout, Metadata)>,
) -> Result<Plan> {
    let (dir, tz) = (folder.dir, folder.tz);
    let skip_canon: Option<PathBuf> = folder.cdr.and_then(|p| std::fs::canonicalize(p).ok());
    let (entries, mut rejected) = walk(dir, skip_canon.as_deref());
    if let Some((_, m)) = &meta {
        rejected.extend(m.problems.iter().cloned());
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
        let ctx = Ctx {
            dir,
            rel: &e.rel,
            file_name: &file_name,
            tz,
            sidecar: has_sidecar.then_some(side.as_str()),
        };
        let Some(chosen) = forced.or_else(|| detect(&ctx)) else {
            rejected.push(reject(unmatched()));
            continue;
        };
        let own_meta = meta
            .as_ref()
            .filter(|(owner, _)| owner.name() == chosen.name())
            .map(|(_, m)| m);
        let parsed = chosen.understand(&ctx, own_meta);
        if has_sidecar {
            used_json.insert(side.clone());
            if !chosen.reads_sidecar() {
                rejected.push(Rejected {
                    file: side,
                    reason: format!("sidecar not read: the {} layout was forced", chosen.name()),
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
        let (source, understood) =
            call.finish(&e.rel, LayoutName::named(chosen.name()), tz, e.size);
        plan.calls
            .push(Planned::new(e.path.clone(), e.size, source));
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

/// Auto-detect, per file: the layout surest of it; among equals, the one listed first.
pub fn detect(file: &Ctx) -> Option<AnyLayout> {
    let mut best: Option<(Fit, AnyLayout)> = None;
    for &l in LAYOUTS {
        let fit = l.looks_like(file);
        if fit > Fit::No && best.is_none_or(|(b, _)| fit > b) {
            best = Some((fit, l));
        }
    }
    best.map(|(_, l)| l)
}

/// Why a file matched no layout: the shapes the layouts know.
fn unmatched() -> String {
    let shapes: Vec<&str> = LAYOUTS.iter().filter_map(|l| l.shape()).collect();
    format!(
        "the name matches no known layout ({}) and there is no sidecar .json beside it",
        shapes.join(", ")
    )
}
