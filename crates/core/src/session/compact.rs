//! Journal compaction after a deletion run (docs/FORMAT.md, "Journal compaction"): every segment
//! holding a deleted recording's details, or an erased request's, rewritten without them.

use super::Session;
use crate::archive::journal::{self, JournalEntry};
use crate::error::Result;
use crate::policy;
use crate::retention::lock;
use std::collections::HashSet;

impl Session {
    /// Rewrite each journal segment that holds details of a `gone` recording without them. Returns
    /// the segments that could not be opened (which may hold such details): named in the
    /// certificate, and tried again by the next run.
    pub(super) fn compact(
        &mut self,
        gone: &HashSet<String>,
        metadata: &crate::users::callkey::KeyRing,
        lock: &lock::MaintenanceLock,
    ) -> Result<Vec<String>> {
        let mut uncompacted = Vec::new();
        let signers = self.signer_keys();
        for dev in self.archive.list("journal")? {
            if !crate::archive::is_id(&dev) {
                continue;
            }
            // A device's journal that cannot be listed (a file or link planted where its folder
            // belongs) is not ours to judge here: verify and every sync name it.
            let Ok(listing) = journal::list_device(&self.archive, &dev) else {
                uncompacted.push(format!("journal/{dev}"));
                continue;
            };
            let roles = self.signer_roles();
            for old in &listing.superseded {
                let rel = format!("journal/{dev}/{old}");
                // Only once the generation that supersedes it opens, signed by a maintainer: a
                // file planted under a higher generation's name must not get a genuine segment
                // shredded (verify names the planted file).
                let newer_holds = journal::parse_segment_name(old).is_some_and(|seq| {
                    listing.current.get(&seq).is_some_and(|(gen, name)| {
                        let newer = format!("journal/{dev}/{name}");
                        self.archive
                            .read(&newer)
                            .and_then(|b| {
                                journal::open_segment_gen(
                                    &b, metadata, &dev, seq, *gen, &signers, &newer,
                                )
                            })
                            .is_ok_and(|(signer, _)| {
                                policy::journal::may_compact(roles.of(&signer))
                            })
                    })
                });
                if !newer_holds {
                    continue;
                }
                let done = crate::archive::shred_and_remove(&self.archive, &rel)?;
                self.warn_removal(&done, &rel);
            }
            for (seq, (gen, name)) in listing.current {
                let rel = format!("journal/{dev}/{name}");
                let Ok(bytes) = self.archive.read(&rel) else {
                    uncompacted.push(rel);
                    continue;
                };
                // A segment that does not open is not ours to judge here (verify names it); it is
                // named as not compacted.
                let Ok((signer, entries, sigs)) =
                    journal::open_segment_signed(&bytes, metadata, &dev, seq, gen, &signers, &rel)
                else {
                    uncompacted.push(rel);
                    continue;
                };
                // Never launder: a first-generation segment whose entries are not all its signer's
                // is refused by readers, and is left for verify to name, not rewritten.
                if gen == 0 && entries.iter().any(|e| e.author() != signer) {
                    uncompacted.push(rel);
                    continue;
                }
                if !entries
                    .iter()
                    .any(|e| e.personal_data_of().is_some_and(|r| gone.contains(r)))
                {
                    continue;
                }
                // Each kept entry keeps its author's signature: compaction only removes.
                let keep: Vec<bool> = entries
                    .iter()
                    .map(|e| !e.personal_data_of().is_some_and(|r| gone.contains(r)))
                    .collect();
                let kept_sigs: Option<Vec<String>> = sigs.map(|s| {
                    s.into_iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(s, _)| s)
                        .collect()
                });
                let kept: Vec<JournalEntry> = entries
                    .into_iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(e, _)| e)
                    .collect();
                // The segment's readers stay as its header names them.
                let (uids, everyone) = journal::segment_readers(&bytes, &rel)?;
                let readers = self.readers_named(uids, everyone);
                lock.check()?;
                let done = journal::compact(
                    &self.archive,
                    &dev,
                    seq,
                    gen + 1,
                    &kept,
                    kept_sigs.as_deref(),
                    &name,
                    &self.signer(),
                    &readers,
                )?;
                self.warn_removal(&done, &rel);
            }
        }
        Ok(uncompacted)
    }
}
