//! Importing a folder as a phone system lays it out (FreePBX, 3CX, Oreka, sidecars, CSV manifest):
//! the layout planner says how each file is understood, then the common path (`import_sources`)
//! stores the calls, in batches so that memory stays bounded and progress can be shown.

use super::{Session, UserSummary};
use crate::crypto;
use crate::error::Result;
use crate::ingest::layout::{self, Planned};
use crate::ingest::{probe, CallSource, ImportReport, Rejected};

use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::ingest::layout::{Layout, MetadataRow, Understood};

/// A batch handed to `import_sources`: at most this many files...
const BATCH_FILES: usize = 256;
/// ...or this many bytes of audio (the last file may take it over).
const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// How far an import has got (cumulative), after each batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    pub files: usize,
    pub files_total: usize,
    pub bytes: u64,
    pub bytes_total: u64,
}

/// Called with the progress so far.
pub type ProgressFn = Box<dyn FnMut(ImportProgress) + Send>;

/// What to import and how.
#[derive(Default)]
pub struct ImportOptions {
    pub layout: Layout,
    /// The zone of the times in file names; default the archive's.
    pub tz: Option<Tz>,
    /// A FreePBX CDR export or an Oreka metadata CSV.
    pub cdr: Option<PathBuf>,
    /// The CSV manifest (csv layout); default `DIR/manifest.csv`.
    pub manifest: Option<PathBuf>,
    /// Say how each file would be imported; write nothing to the archive.
    pub dry_run: bool,
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("layout", &self.layout)
            .field("tz", &self.tz)
            .field("cdr", &self.cdr)
            .field("manifest", &self.manifest)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// What an import of a layout did (or, dry run, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LayoutImportReport {
    /// The layout asked for (`auto` decides per file; each understood record names the one used).
    pub layout: Layout,
    pub tz: String,
    pub dry_run: bool,
    /// imported, duplicates, rejected (files refused while planning come first).
    #[serde(flatten)]
    pub report: ImportReport,
    /// How many imported calls map to no user ("unassigned": supervisors only).
    pub unassigned: usize,
    pub unassigned_files: Vec<String>,
    /// Dry run: how each file was understood and what would happen to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub understood: Vec<Understood>,
}

impl Session {
    /// The user a call maps to, as `import_sources` decides it: its staff label, else its extension.
    fn call_user(&self, staff: Option<&str>, extension: Option<&str>) -> Option<&UserSummary> {
        staff
            .and_then(|s| self.resolve_staff(s))
            .or_else(|| extension.and_then(|e| self.resolve_staff(e)))
    }

    /// Import a folder laid out as a phone system writes it. See `ingest::layout`.
    pub async fn import_layout(
        &mut self,
        dir: &Path,
        mut opts: ImportOptions,
    ) -> Result<LayoutImportReport> {
        self.require_import()?;
        let tz = opts.tz.unwrap_or(self.tz);
        let plan = layout::plan_with_manifest(
            dir,
            opts.layout,
            tz,
            opts.cdr.as_deref(),
            opts.manifest.as_deref(),
        )?;
        let mut out = LayoutImportReport {
            layout: opts.layout,
            tz: tz.name().to_string(),
            dry_run: opts.dry_run,
            ..Default::default()
        };
        if opts.dry_run {
            self.dry_run(plan, &mut out).await?;
            return Ok(out);
        }
        out.report.rejected = plan.rejected;
        let files_total = plan.calls.len();
        let bytes_total: u64 = plan.calls.iter().map(|c| c.size).sum();
        let mut progress = ImportProgress {
            files_total,
            bytes_total,
            ..Default::default()
        };
        if let Some(p) = opts.progress.as_mut() {
            p(progress);
        }
        if plan.calls.is_empty() {
            // Nothing to store; the attempt is still audited, as every import is.
            let rep = self.import_sources(vec![]).await?;
            out.report.rejected.extend(rep.rejected);
            return Ok(out);
        }
        // Read the next batch while this one is encrypted and written.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<LoadResult>, u64)>(1);
        let calls = plan.calls;
        let reader = std::thread::spawn(move || {
            let mut batch: Vec<Planned> = Vec::new();
            let mut bytes = 0u64;
            let send = |batch: Vec<Planned>, bytes: u64| {
                let loaded: Vec<LoadResult> = batch.into_iter().map(Planned::load).collect();
                tx.send((loaded, bytes)).is_ok()
            };
            for c in calls {
                bytes += c.size;
                batch.push(c);
                if batch.len() >= BATCH_FILES || bytes >= BATCH_BYTES {
                    if !send(std::mem::take(&mut batch), bytes) {
                        return;
                    }
                    bytes = 0;
                }
            }
            if !batch.is_empty() {
                send(batch, bytes);
            }
        });
        let mut unassigned: HashSet<String> = HashSet::new();
        let mut result = Ok(());
        while let Ok((batch, batch_bytes)) = rx.recv() {
            let n = batch.len();
            let mut sources: Vec<CallSource> = Vec::with_capacity(n);
            for r in batch {
                match r {
                    Ok(s) => sources.push(s),
                    Err(rej) => out.report.rejected.push(rej),
                }
            }
            for s in &sources {
                if self
                    .call_user(s.staff.as_deref(), s.extension.as_deref())
                    .is_none()
                {
                    unassigned.insert(s.name.clone());
                }
            }
            if !sources.is_empty() {
                match self.import_sources(sources).await {
                    Ok(rep) => {
                        out.report.imported.extend(rep.imported);
                        out.report.duplicates.extend(rep.duplicates);
                        out.report.rejected.extend(rep.rejected);
                        out.report.not_kept += rep.not_kept;
                        for w in rep.warnings {
                            if !out.report.warnings.contains(&w) {
                                out.report.warnings.push(w);
                            }
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            progress.files += n;
            progress.bytes += batch_bytes;
            if let Some(p) = opts.progress.as_mut() {
                p(progress);
            }
        }
        drop(rx);
        let _ = reader.join();
        result?;
        out.unassigned_files = out
            .report
            .imported
            .iter()
            .filter(|i| unassigned.contains(&i.file))
            .map(|i| i.file.clone())
            .collect();
        out.unassigned = out.unassigned_files.len();
        Ok(out)
    }

    /// Say what would happen to each file: the user it maps to, whether its audio decodes, and
    /// whether it is already stored. Reads the files and the local index; writes nothing.
    async fn dry_run(&self, plan: layout::Plan, out: &mut LayoutImportReport) -> Result<()> {
        let dedup_key = self.user.secrets.require("dedup")?.clone();
        let (dnr_keys, dnr) = self.dnr_believed(false)?;
        out.report.warnings = dnr.problems;
        out.report.rejected = plan.rejected;
        let mut seen: HashMap<String, String> = HashMap::new();
        for (call, mut u) in plan.calls.into_iter().zip(plan.understood) {
            let user = self.call_user(u.staff.as_deref(), u.extension.as_deref());
            u.mapped_user = user.map(|x| x.name.clone());
            let mut party_users: Vec<String> = Vec::new();
            for p in &u.parties {
                if let Some(pu) = self.resolve_staff(p) {
                    if Some(&pu.name) != u.mapped_user.as_ref() && !party_users.contains(&pu.name) {
                        party_users.push(pu.name.clone());
                    }
                }
            }
            u.party_users = party_users;
            let src = match call.load() {
                Ok(s) => s,
                Err(rej) => {
                    u.outcome = Some(format!("reject: {}", rej.reason));
                    out.report.rejected.push(rej);
                    out.understood.push(u);
                    continue;
                }
            };
            if dnr.list.matches(&dnr_keys, &src) {
                // Counted only: its row (name, number, parties) would tell the importer which
                // numbers are listed.
                out.report.not_kept += 1;
                continue;
            }
            let ext = Path::new(&src.name)
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            let data: Arc<[u8]> = src.bytes.into();
            let outcome = match probe::probe(data.clone(), ext.as_deref()) {
                Err(reason) => {
                    out.report.rejected.push(Rejected {
                        file: u.file.clone(),
                        reason: reason.clone(),
                    });
                    format!("reject: {reason}")
                }
                Ok(info) => {
                    u.audio = Some(format!(
                        "{} {} Hz {} ch {:.1} s",
                        info.codec,
                        info.sample_rate,
                        info.channels,
                        info.duration_ms as f64 / 1000.0
                    ));
                    let dedup = hex::encode(crypto::hmac_sha256(dedup_key.expose(), &data));
                    let erased = self.index.erased_dedup(&dedup).await?;
                    if let (Some(t), false) = (&erased, self.allow_erased) {
                        let reason = format!(
                            "this audio was deleted on {}; it is not imported again unless the data controller allows it",
                            t.deleted_at.get(..10).unwrap_or(&t.deleted_at)
                        );
                        out.report.rejected.push(Rejected {
                            file: u.file.clone(),
                            reason: reason.clone(),
                        });
                        format!("reject: {reason}")
                    } else if let Some(id) = self.index.find_dedup(&dedup).await? {
                        format!("duplicate of {id}")
                    } else if let Some(other) = seen.get(&dedup) {
                        format!("duplicate of {other} (same audio in this folder)")
                    } else {
                        seen.insert(dedup, u.file.clone());
                        if u.mapped_user.is_none() {
                            out.unassigned_files.push(u.file.clone());
                        }
                        "import".to_string()
                    }
                }
            };
            u.outcome = Some(outcome);
            out.understood.push(u);
        }
        out.unassigned = out.unassigned_files.len();
        Ok(())
    }
}

type LoadResult = std::result::Result<CallSource, Rejected>;
