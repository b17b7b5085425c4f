//! Synchronising the index from the archive's journals: every segment not yet applied is read,
//! its signature and its signer's right to each entry checked, and its entries written into the
//! tables ([`Index::sync`]); damaged or missing segments are reported, not fatal.

use super::open::Index;
use crate::archive::journal::{self, JournalEntry};
use crate::archive::{Archive, SignerKeys};
use crate::audit::Problem;
use crate::error::{Error, Result};
use crate::policy::journal::may_compact;
use crate::policy::Role;
use crate::users::callkey::KeyRing;
use std::collections::{HashMap, HashSet};

/// The roles of every user whose entries may be read, by uid (an unknown signer has none). A
/// disabled user's roles count only for segments within their disablement's journal heads: any
/// segment they signed, or holding an entry they wrote, beyond them is refused whole. Every entry read from the share is checked
/// against the rulebook (`policy::journal`) with these before it is believed.
#[derive(Clone, Debug, Default)]
pub struct SignerRoles {
    pub roles: HashMap<String, Vec<Role>>,
    /// Users whose current record is disabled: what they signed is believed only up to the
    /// journal heads their disablement's checkpoint names.
    pub disabled: HashSet<String>,
}

impl SignerRoles {
    pub fn of(&self, uid: &str) -> &[Role] {
        self.roles.get(uid).map(|r| r.as_slice()).unwrap_or(&[])
    }
}

/// How a reader opens journal segments: with the metadata key (every segment it holds the epoch
/// of), or, holding none, as a party (a clinician or staff member): only the segments addressed
/// to them or to every user (`journal::open_segment_as_party`). A metadata holder whose ring
/// lacks a segment's epoch (a newer one not given to them, as when they lose the role) still
/// reads it as a party if it is addressed to them: the user checkpoints that name their own
/// record above all.
pub struct JournalReader {
    metadata: Option<KeyRing>,
    party: Option<(String, crate::secret::Key32, Option<crate::secret::Key32>)>,
}

impl JournalReader {
    /// A reader with the metadata key alone.
    pub fn metadata(ring: KeyRing) -> JournalReader {
        JournalReader {
            metadata: Some(ring),
            party: None,
        }
    }

    /// A user's reader: their metadata ring if they hold one, and their own keys as a party.
    pub fn user(
        metadata: Option<KeyRing>,
        uid: &str,
        secret: &crate::secret::Key32,
        dedup: Option<&crate::secret::Key32>,
    ) -> JournalReader {
        JournalReader {
            metadata,
            party: Some((uid.to_string(), secret.clone(), dedup.cloned())),
        }
    }

    fn as_party(
        &self,
        data: &[u8],
        device: &str,
        seq: u64,
        gen: u32,
        signers: &SignerKeys,
        what: &str,
    ) -> Result<Reading> {
        let Some((uid, secret, dedup)) = &self.party else {
            return Ok(Err(String::new()));
        };
        let keys = crate::archive::readers::PartyKeys {
            uid,
            secret,
            dedup: dedup.as_ref(),
        };
        journal::open_segment_as_party_by(data, &keys, device, seq, gen, signers, what)
    }

    /// Open one segment (its bytes) as this reader: `Ok(Err(signer))` if it is not addressed to
    /// them, with the signer whose signature over these bytes was checked. Its signature, place
    /// and entries' signatures are checked either way.
    pub fn open(
        &self,
        data: &[u8],
        device: &str,
        seq: u64,
        gen: u32,
        signers: &SignerKeys,
        what: &str,
    ) -> Result<Reading> {
        match &self.metadata {
            Some(m) => {
                match journal::open_segment_signed(data, m, device, seq, gen, signers, what) {
                    Ok(o) => Ok(Ok(o)),
                    // Only a segment under an epoch this holder does not hold (a newer one not
                    // given to them) is read as a party; any other failure (an altered wrap, a
                    // key that does not match its commitment) stands.
                    Err(e) => match journal::segment_epoch(data, what) {
                        Ok(epoch) if m.newer_than_held(epoch) => {
                            match self.as_party(data, device, seq, gen, signers, what) {
                                Ok(Ok(o)) => Ok(Ok(o)),
                                _ => Err(e),
                            }
                        }
                        _ => Err(e),
                    },
                }
            }
            None => self.as_party(data, device, seq, gen, signers, what),
        }
    }
}

/// A segment opened: its signer, its entries and each entry's signature (format 2).
pub type Opened = (String, Vec<JournalEntry>, Option<Vec<String>>);

/// A segment as a reader meets it: opened, or not addressed to them (`Err`: its checked signer).
pub type Reading = std::result::Result<Opened, String>;

/// What a sync did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub segments_applied: usize,
    pub recordings_added: usize,
    pub recordings_erased: usize,
    pub problems: Vec<Problem>,
    /// Entries waiting for a recording another journal holds: (device, seq, legacy, file, place
    /// in the segment, entry), decided once every segment of this sync is applied.
    #[serde(skip)]
    waiting: Vec<(String, u64, bool, String, usize, JournalEntry)>,
}

/// The runs of sequence numbers below the highest present that are neither present nor applied
/// before, as (first, last) inclusive: found from the numbers there are, not by counting up to the
/// highest (which anyone can make huge by planting a file name).
fn gaps(present: &HashSet<i64>, applied: &HashSet<i64>) -> Vec<(u64, u64)> {
    let Some(&max) = present.iter().max() else {
        return Vec::new();
    };
    let mut known: Vec<i64> = present
        .iter()
        .chain(applied.iter())
        .copied()
        .filter(|&s| (0..=max).contains(&s))
        .collect();
    known.sort_unstable();
    known.dedup();
    let mut out = Vec::new();
    let mut next = 0i64;
    for s in known {
        if s > next {
            out.push((next as u64, (s - 1) as u64));
        }
        next = s + 1;
    }
    out
}

/// A journal folder that could not be listed, as a problem.
fn unlisted(object: &str, e: &Error) -> Problem {
    Problem {
        object: object.to_string(),
        reason: match e {
            Error::Tampered { reason, .. } => reason.clone(),
            other => other.to_string(),
        },
    }
}

impl Index {
    /// Apply every journal segment not yet applied. Damaged segments are reported, not fatal:
    /// the rest still sync, and they are retried next time.
    pub async fn sync(
        &self,
        archive: &Archive,
        reader: &JournalReader,
        signers: &SignerKeys,
        roles: &SignerRoles,
    ) -> Result<SyncReport> {
        let mut rep = SyncReport::default();
        // First every device's listing, so the amount of work is known for progress reports.
        let mut devices = Vec::new();
        // A folder that cannot be listed (a file or link planted where it belongs) is reported,
        // never a reason to stop: the other devices' journals still sync.
        let names = archive.list("journal").unwrap_or_else(|e| {
            rep.problems.push(unlisted("journal", &e));
            Vec::new()
        });
        for device in names {
            if !crate::archive::is_id(&device) {
                rep.problems.push(Problem {
                    object: format!("journal/{device}"),
                    reason: "unexpected folder in journal/".into(),
                });
                continue;
            }
            let applied: HashSet<i64> =
                sqlx::query_scalar("SELECT seq FROM applied_segments WHERE device = ?")
                    .bind(&device)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .collect();
            let listing = match journal::list_device(archive, &device) {
                Ok(l) => l,
                Err(e) => {
                    rep.problems
                        .push(unlisted(&format!("journal/{device}"), &e));
                    continue;
                }
            };
            devices.push((device, applied, listing));
        }
        let total: u64 = devices
            .iter()
            .map(|(_, applied, l)| {
                l.current
                    .keys()
                    .filter(|s| !applied.contains(&(**s as i64)))
                    .count() as u64
            })
            .sum();
        let mut done = 0u64;
        let mut deferred = Vec::new();
        if let (Some(p), true) = (&self.progress, total > 0) {
            p(0, total);
        }
        for (device, applied, listing) in devices {
            for name in listing.unexpected {
                rep.problems.push(Problem {
                    object: format!("journal/{device}/{name}"),
                    reason: "unexpected file in a journal".into(),
                });
            }
            let mut present = HashSet::new();
            for (seq, (gen, name)) in listing.current {
                let rel = format!("journal/{device}/{name}");
                present.insert(seq as i64);
                if applied.contains(&(seq as i64)) {
                    continue;
                }
                done += 1;
                if let Some(p) = &self.progress {
                    if done.is_multiple_of(64) || done == total {
                        p(done, total);
                    }
                }
                let (signer, entries, sigs) = match archive
                    .read(&rel)
                    .and_then(|b| reader.open(&b, &device, seq, gen, signers, &rel))
                {
                    Ok(Ok(e)) => e,
                    Ok(Err(signer)) => {
                        // Not addressed to this party reader (nor will it be: a compaction keeps
                        // a segment's readers or fewer): done with, nothing of it here — if its
                        // signer may have written it there (a compacted generation only by a
                        // maintainer; nothing of a disabled signer's beyond their heads), so
                        // that no one hides a party's segment behind a generation of their own.
                        // (`signer`: the one whose signature over the bytes just read was
                        // checked — never a second read of a file anyone can swap meanwhile.)
                        if gen > 0 && !may_compact(roles.of(&signer)) {
                            rep.problems.push(Problem {
                                object: rel,
                                reason: format!(
                                    "compacted by {signer}, who is not a supervisor or data controller"
                                ),
                            });
                            continue;
                        }
                        if roles.disabled.contains(&signer) {
                            deferred.push((device.clone(), seq, gen, false, rel, signer, vec![]));
                            continue;
                        }
                        self.apply(&device, seq, false, &[], roles, false).await?;
                        continue;
                    }
                    Err(e) => {
                        rep.problems.push(Problem {
                            object: rel,
                            reason: e.to_string(),
                        });
                        continue;
                    }
                };
                // A first generation is signed by the author of every entry; a compacted one by a
                // maintainer (supervisor or data controller) who rewrote it for an erasure. Each
                // entry's author is then checked against the rulebook as it is applied.
                let bad = if gen == 0 {
                    entries.iter().find(|e| e.author() != signer).map(|b| {
                        format!(
                            "an entry claims author {} but the segment was signed by {signer}",
                            b.author()
                        )
                    })
                } else if !may_compact(roles.of(&signer)) {
                    Some(format!(
                        "compacted by {signer}, who is not a supervisor or data controller"
                    ))
                } else {
                    None
                };
                if let Some(reason) = bad {
                    rep.problems.push(Problem {
                        object: rel,
                        reason,
                    });
                    continue;
                }
                let legacy = sigs.is_none();
                // A disabled user's signature, or an entry a disabled user wrote (kept by a
                // compaction), counts only up to the journal heads of their disablement.
                // (A copy of a disabled importer's entry too: whether its original stands is
                // decided once every checkpoint is known, whatever order the journals came in.)
                let disabled_hand = roles.disabled.contains(&signer)
                    || entries.iter().any(|e| roles.disabled.contains(e.author()))
                    || entries.iter().any(|e| {
                        matches!(e, JournalEntry::RecordingCopy(c)
                            if roles.disabled.contains(&c.entry.imported_by))
                    });
                if disabled_hand || (legacy && gen > 0) {
                    // Decided once every checkpoint of this sync is known.
                    deferred.push((device.clone(), seq, gen, legacy, rel, signer, entries));
                    continue;
                }
                self.apply_reported(&device, seq, legacy, &rel, &entries, roles, &mut rep)
                    .await?;
            }
            for (from, to) in gaps(&present, &applied) {
                if to - from < 64 {
                    for gap in from..=to {
                        rep.problems.push(Problem {
                            object: format!("journal/{device}/{}", journal::segment_name(gap)),
                            reason: "segment missing from the journal's sequence (removed)".into(),
                        });
                    }
                } else {
                    // One problem for a long run: a segment planted with a huge number must not
                    // make this loop (or this report) go on for ever.
                    rep.problems.push(Problem {
                        object: format!("journal/{device}/{}", journal::segment_name(from)),
                        reason: format!(
                            "segments {from:016x} to {to:016x} ({} in all) missing from the journal's sequence (removed, or a segment with a far higher number planted)",
                            to - from + 1
                        ),
                    });
                }
            }
            for missing in applied.difference(&present) {
                rep.problems.push(Problem {
                    object: format!(
                        "journal/{device}/{}",
                        journal::segment_name(*missing as u64)
                    ),
                    reason: "segment seen before is missing from the archive (removed)".into(),
                });
            }
        }
        for (device, seq, gen, legacy, rel, signer, entries) in deferred {
            if legacy && gen > 0 {
                // A compacted generation without entry signatures: believed only where an admin's
                // upgrade run found segments written before format 2.
                let upgrades: Vec<String> =
                    sqlx::query_scalar("SELECT legacy FROM format_upgrades")
                        .fetch_all(&self.pool)
                        .await?;
                // Before any upgrade run (an archive not yet opened by an admin with this build),
                // format 1 is what every device wrote: believed as before.
                let covered = upgrades.is_empty()
                    || upgrades.iter().any(|l| {
                        serde_json::from_str::<std::collections::BTreeMap<String, u64>>(l)
                            .ok()
                            .and_then(|m| m.get(&device).copied())
                            .is_some_and(|head| seq <= head)
                    });
                if !covered {
                    let reason = format!(
                        "compacted by {signer} without its entries' own signatures, where no segment was written before format 2 (forged); refused"
                    );
                    sqlx::query(
                        "INSERT OR IGNORE INTO refused_entries (object, reason) VALUES (?, ?)",
                    )
                    .bind(&rel)
                    .bind(&reason)
                    .execute(&self.pool)
                    .await?;
                    rep.problems.push(Problem {
                        object: rel,
                        reason,
                    });
                    continue;
                }
            }
            let mut hands: Vec<&str> = std::iter::once(signer.as_str())
                .chain(entries.iter().map(|e| e.author()))
                .filter(|u| roles.disabled.contains(*u))
                .collect();
            hands.sort_unstable();
            hands.dedup();
            let mut late = None;
            for uid in hands {
                if !self.before_disablement(uid, &device, seq).await? {
                    late = Some(uid.to_string());
                    break;
                }
            }
            match late {
                None => {
                    self.apply_reported(&device, seq, legacy, &rel, &entries, roles, &mut rep)
                        .await?
                }
                Some(uid) => {
                    let reason =
                        format!("signed by {uid} after their account was disabled; refused");
                    sqlx::query(
                        "INSERT OR IGNORE INTO refused_entries (object, reason) VALUES (?, ?)",
                    )
                    .bind(&rel)
                    .bind(&reason)
                    .execute(&self.pool)
                    .await?;
                    rep.problems.push(Problem {
                        object: rel,
                        reason,
                    });
                }
            }
        }
        self.apply_waiting(roles, &mut rep).await?;
        Ok(rep)
    }

    /// Was segment `device`/`seq` within the journal heads of `uid`'s disablement now in force?
    async fn before_disablement(&self, uid: &str, device: &str, seq: u64) -> Result<bool> {
        super::apply::within_disablement(&self.pool, uid, device, seq).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_reported(
        &self,
        device: &str,
        seq: u64,
        legacy: bool,
        rel: &str,
        entries: &[JournalEntry],
        roles: &SignerRoles,
        rep: &mut SyncReport,
    ) -> Result<()> {
        let placed: Vec<(usize, &JournalEntry)> = entries.iter().enumerate().collect();
        let done = self
            .apply(device, seq, legacy, &placed, roles, false)
            .await?;
        rep.waiting.extend(
            done.waiting
                .into_iter()
                .map(|(idx, e)| (device.to_string(), seq, legacy, rel.to_string(), idx, e)),
        );
        rep.segments_applied += 1;
        self.report(rel, done.added, done.erased, done.refused, rep)
            .await
    }

    /// Decide the entries that waited for a recording, now that every segment of this sync is
    /// applied: each in its own segment's place, as every device decides it.
    async fn apply_waiting(&self, roles: &SignerRoles, rep: &mut SyncReport) -> Result<()> {
        let mut waiting = std::mem::take(&mut rep.waiting);
        // And those kept from earlier syncs, still waiting for their call.
        let kept: Vec<(String, i64, i64, bool, String)> =
            sqlx::query_as("SELECT device, seq, idx, legacy, entry FROM waiting_entries")
                .fetch_all(&self.pool)
                .await?;
        for (device, seq, idx, legacy, entry) in kept {
            if let Ok(e) = serde_json::from_str::<JournalEntry>(&entry) {
                let rel = format!("journal/{device}/{}", journal::segment_name(seq as u64));
                waiting.push((device, seq as u64, legacy, rel, idx as usize, e));
            }
        }
        // A key delivered for an assignment after the assignments themselves, whatever order the
        // journals were read in.
        waiting.sort_by_key(|w| {
            matches!(&w.5, JournalEntry::Assign(a)
                if !crate::policy::listen::may_assign(roles.of(&a.by)))
        });
        for (device, seq, legacy, rel, idx, e) in waiting {
            let done = self
                .apply(&device, seq, legacy, &[(idx, &e)], roles, true)
                .await?;
            self.report(&rel, done.added, done.erased, done.refused, rep)
                .await?;
        }
        Ok(())
    }

    async fn report(
        &self,
        rel: &str,
        added: usize,
        erased: usize,
        refused: Vec<String>,
        rep: &mut SyncReport,
    ) -> Result<()> {
        for reason in &refused {
            sqlx::query("INSERT OR IGNORE INTO refused_entries (object, reason) VALUES (?, ?)")
                .bind(rel)
                .bind(reason)
                .execute(&self.pool)
                .await?;
        }
        for reason in refused {
            rep.problems.push(Problem {
                object: rel.to_string(),
                reason,
            });
        }
        rep.recordings_added += added;
        rep.recordings_erased += erased;
        Ok(())
    }

    /// The highest journal segment number applied from `device`.
    pub async fn max_applied(&self, device: &str) -> Result<Option<u64>> {
        let m: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM applied_segments WHERE device = ?")
                .bind(device)
                .fetch_one(&self.pool)
                .await?;
        Ok(m.map(|m| m as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::gaps;
    use std::collections::HashSet;

    #[test]
    fn gaps_are_found_from_the_numbers_there_are() {
        let set = |v: &[i64]| v.iter().copied().collect::<HashSet<i64>>();
        assert_eq!(gaps(&set(&[]), &set(&[0, 1])), vec![]);
        assert_eq!(gaps(&set(&[0, 1, 4]), &set(&[2])), vec![(3, 3)]);
        assert_eq!(gaps(&set(&[2, 9]), &set(&[])), vec![(0, 1), (3, 8)]);
        // A planted name with a huge number: one run, found at once.
        let huge = (1i64 << 48) - 1;
        assert_eq!(
            gaps(&set(&[0, huge]), &set(&[])),
            vec![(1, huge as u64 - 1)]
        );
    }
}
