//! Importing calls through `Session`: a folder with its CSV manifest, or call sources a layout
//! understood — each call checked, sealed, its audio written and its metadata journalled; deleted
//! audio is refused again unless the data controller allows it for this session.

use super::*;
use crate::ingest::seal;

impl Session {
    /// Imports refuse deleted audio again (the default), after `allow_erased_reimport`.
    pub fn refuse_erased_reimport(&mut self) {
        self.allow_erased = false;
    }

    /// Allow this session's imports to bring back audio that was deleted (data controller only).
    pub fn allow_erased_reimport(&mut self) -> Result<()> {
        self.require(Action::AllowErasedImport)?;
        self.allow_erased = true;
        self.audit(Action::AllowErasedImport, "allowed", vec![], None)
    }

    /// May this session import: its roles, and an index of the whole archive to find duplicates
    /// and erased audio in (`policy::users::may_import_into`)? Refused and audited otherwise.
    pub(super) fn require_import(&self) -> Result<()> {
        self.require(Action::Import)?;
        let whole = self.user.secrets.get("metadata").is_some();
        if !crate::policy::users::may_import_into(self.roles(), whole) {
            return self.refuse(
                Action::Import,
                vec![],
                Error::Forbidden(
                    "importing needs the archive's metadata key, to find duplicates and erased audio among every stored call: a supervisor or the data controller imports (or an ingest machine, unattended)".into(),
                ),
            );
        }
        Ok(())
    }

    /// Import a folder described by a CSV manifest (default `DIR/manifest.csv`).
    pub async fn import_dir(
        &mut self,
        dir: &Path,
        manifest: Option<&Path>,
    ) -> Result<ImportReport> {
        self.require_import()?;
        let default = dir.join("manifest.csv");
        let manifest = manifest.unwrap_or(&default);
        if !manifest.exists() {
            return Err(Error::Invalid(format!(
                "{}: no manifest (give --manifest FILE, or put manifest.csv in the folder)",
                manifest.display()
            )));
        }
        let (sources, rejected) = csv_manifest::plan(dir, manifest, self.tz)?;
        let mut rep = self.import_sources(sources).await?;
        rep.rejected.splice(0..0, rejected);
        Ok(rep)
    }

    /// The common import path for every layout.
    pub async fn import_sources(&mut self, sources: Vec<CallSource>) -> Result<ImportReport> {
        self.require_import()?;
        // One import at a time on this computer: a second process waits for the first, then
        // catches up with what it stored, so nothing is stored twice or fails half-way.
        let _lock = device::import_lock(&self.device).await?;
        self.sync_index().await?;
        let dedup_key = self.user.secrets.require("dedup")?.clone();
        // The newest call key (refused if it was rolled back on the share).
        let custodian = self.call_key_recipient()?;
        let mut rep = ImportReport::default();
        let mut batch_dedup: HashMap<String, String> = HashMap::new();
        let mut pending = Pending::default();
        let mut placed: Vec<(usize, Imported)> = Vec::new();
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        // The do-not-record list: a listed call's audio is dropped here, before anything of it
        // is hashed, encrypted or written.
        let (dnr_keys, dnr) = self.dnr_believed(true)?;
        rep.warnings = dnr.problems;
        let mut sources = sources.into_iter().peekable();
        while sources.peek().is_some() {
            let mut chunk: Vec<CallSource> = sources.by_ref().take(workers * 4).collect();
            chunk.retain_mut(|src| {
                let listed = dnr.list.matches(&dnr_keys, src);
                if listed {
                    zeroize::Zeroize::zeroize(&mut src.bytes);
                    rep.not_kept += 1;
                }
                !listed
            });
            // 1. In parallel: is it audio, its keyed hash and its peaks.
            let probed = par_map(chunk, workers, |mut src| {
                let (data, res) = seal::probe(&mut src, &dedup_key);
                (src, data, res)
            });
            // 2. In order: duplicates, who the call maps to, whose keys open it.
            let mut to_seal = Vec::new();
            for (src, data, res) in probed {
                let probed = match res {
                    Ok(x) => x,
                    Err(reason) => {
                        rep.rejected.push(Rejected {
                            file: src.name,
                            reason,
                        });
                        continue;
                    }
                };
                let dedup = &probed.dedup;
                let existing = match batch_dedup.get(dedup) {
                    Some(id) => Some(id.clone()),
                    None => self.index.find_dedup(dedup).await?,
                };
                if let Some(t) = self.index.erased_dedup(dedup).await? {
                    if !self.allow_erased {
                        rep.rejected.push(Rejected {
                            file: src.name,
                            reason: format!(
                                "this audio was deleted on {} ({}); it is not imported again unless the data controller allows it",
                                &t.deleted_at[..10],
                                t.request.as_deref().map(|r| format!("erasure request {r}")).unwrap_or_else(|| t.reason.clone())
                            ),
                        });
                        continue;
                    }
                }
                if let Some(existing_id) = existing {
                    rep.duplicates.push(Duplicate {
                        file: src.name,
                        existing_id,
                    });
                    continue;
                }
                let (staff, users) =
                    seal::parties(&src, |l| self.resolve_staff(l), |u: &UserSummary| &u.uid);
                let mut recipients = vec![custodian.clone()];
                recipients.extend(
                    users
                        .iter()
                        .map(|u| (format!("user:{}", u.uid), u.public_key)),
                );
                let meta = seal::meta(
                    &src,
                    &probed,
                    data.len(),
                    staff.map(|u| u.uid.clone()),
                    users.iter().map(|u| u.uid.clone()).collect(),
                    &self.user.uid,
                    &self.device.id,
                );
                batch_dedup.insert(probed.dedup.clone(), meta.id.clone());
                to_seal.push((src.name, data, recipients, meta, probed.peaks));
            }
            // 3. In parallel: encrypt and write each audio object (written once, never replaced).
            let archive = &self.archive;
            let sealed = par_map(
                to_seal,
                workers,
                |(name, data, recipients, mut meta, peaks)| {
                    seal::seal(archive, &data, &recipients, &mut meta, peaks.as_deref())?;
                    Ok::<_, Error>((name, meta))
                },
            );
            let mut failed = None;
            for r in sealed {
                match r {
                    Ok(x) => pending.push(x),
                    Err(e) => failed = failed.or(Some(e)),
                }
            }
            // A call that could not be written stops the import, but every call sealed before it
            // is journalled first (stored, found again as a duplicate by a retry).
            if let Some(e) = failed {
                self.flush(&mut pending, &mut placed, true).await?;
                return Err(e);
            }
            // 4. Journal them: only now are they stored.
            self.flush(&mut pending, &mut placed, false).await?;
        }
        self.flush(&mut pending, &mut placed, true).await?;
        // In the order the calls were given.
        placed.sort_by_key(|(n, _)| *n);
        rep.imported = placed.into_iter().map(|(_, i)| i).collect();
        self.sync_index().await?;
        self.audit(
            Action::Import,
            "allowed",
            rep.imported.iter().map(|i| i.id.clone()).collect(),
            Some(format!(
                "imported {}, duplicates {}, rejected {}, not kept (do-not-record list) {}",
                rep.imported.len(),
                rep.duplicates.len(),
                rep.rejected.len(),
                rep.not_kept
            )),
        )?;
        Ok(rep)
    }

    /// Journal the pending recordings (their audio objects are already written): only now are they
    /// stored. A segment is read by its calls' parties (FORMAT.md, "Segment readers"), so calls
    /// wait, grouped by their parties, until a group fills a segment; with `all` (the end of the
    /// import) every group is written, and once 8 segments' worth wait, the largest groups until
    /// at most 4 segments' worth are left (so a crash leaves at most about 2,000 audio objects
    /// unjournalled, never reported stored).
    async fn flush(
        &self,
        pending: &mut Pending,
        placed: &mut Vec<(usize, Imported)>,
        all: bool,
    ) -> Result<()> {
        let mut ready: Vec<Vec<String>> = pending
            .groups
            .iter()
            .filter(|(_, v)| all || v.len() >= SEGMENT_ENTRIES)
            .map(|(k, _)| k.clone())
            .collect();
        let mut left = pending.total - ready.iter().map(|k| pending.groups[k].len()).sum::<usize>();
        if left >= SEGMENT_ENTRIES * 8 {
            let mut by_size: Vec<(&Vec<String>, usize)> = pending
                .groups
                .iter()
                .filter(|(k, _)| !ready.contains(k))
                .map(|(k, v)| (k, v.len()))
                .collect();
            by_size.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let mut more = Vec::new();
            for (k, n) in by_size {
                if left <= SEGMENT_ENTRIES * 4 {
                    break;
                }
                more.push(k.clone());
                left -= n;
            }
            ready.extend(more);
        }
        if ready.is_empty() {
            return Ok(());
        }
        ready.sort();
        let mut now: Vec<(usize, String, RecordingMeta)> = Vec::new();
        for k in &ready {
            if let Some(v) = pending.groups.remove(k) {
                pending.total -= v.len();
                now.extend(v);
            }
        }
        now.sort_by_key(|(n, _, _)| *n);
        let entries: Vec<JournalEntry> = now
            .iter()
            .map(|(_, _, m)| JournalEntry::Recording(Box::new(m.clone())))
            .collect();
        self.journal_grouped(entries).await?;
        placed.extend(
            now.into_iter()
                .map(|(n, file, m)| (n, Imported { file, id: m.id })),
        );
        Ok(())
    }
}

/// Calls sealed but not yet journalled, grouped by their parties (sorted uids).
#[derive(Default)]
struct Pending {
    /// Each call with its place in the import.
    groups: HashMap<Vec<String>, Vec<(usize, String, RecordingMeta)>>,
    total: usize,
    next: usize,
}

impl Pending {
    fn push(&mut self, (file, m): (String, RecordingMeta)) {
        let mut k: Vec<String> = m.staff_uid.iter().chain(&m.party_uids).cloned().collect();
        k.sort();
        k.dedup();
        self.groups.entry(k).or_default().push((self.next, file, m));
        self.total += 1;
        self.next += 1;
    }
}
