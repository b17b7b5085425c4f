//! Who may read each journal entry besides the metadata key's holders (issue 18, item 2;
//! FORMAT.md, "Segment readers"): the parties of a call, the raiser of a request, or, for entries
//! that name no patient, every user. Entries with different readers are never written in one
//! segment.

use super::Session;
use crate::archive::journal::{self, JournalEntry};
use crate::archive::readers::Readers;
use crate::error::Result;
use crate::requests::RequestEvent;
use std::collections::BTreeSet;

/// The readers of an entry, by uid (before their keys are looked up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    /// Only the metadata key's holders.
    Metadata,
    /// And these users.
    Parties(BTreeSet<String>),
    /// And every user.
    Everyone,
}

impl Session {
    /// Who may read `e` besides the metadata key's holders: a call's entries (its recording,
    /// consent marks, tombstone) its parties — the staff on it and whoever it was assigned to; an
    /// assignment, the user assigned; a request's every event, its raiser; settings, checkpoints,
    /// audit anchors and upgrades, every user; a legal hold, nobody else.
    pub(crate) async fn entry_readers(&self, e: &JournalEntry) -> Result<Who> {
        let set = |v: Vec<String>| {
            let s: BTreeSet<String> = v.into_iter().collect();
            if s.is_empty() {
                Who::Metadata
            } else {
                Who::Parties(s)
            }
        };
        Ok(match e {
            JournalEntry::Recording(m) => {
                set(m.staff_uid.iter().chain(&m.party_uids).cloned().collect())
            }
            JournalEntry::Consent(c) => set(self.index.parties_of(&c.recording).await?),
            JournalEntry::PatientLink(l) => set(self.index.parties_of(&l.recording).await?),
            JournalEntry::Tombstone(t) => set(self.index.parties_of(&t.recording).await?),
            JournalEntry::Assign(a) => set(vec![a.staff_uid.clone()]),
            JournalEntry::RecordingCopy(c) => set(vec![c.to.clone()]),
            JournalEntry::Request(r) => match &r.event {
                RequestEvent::Raised(_) => set(vec![r.by.clone()]),
                // An erasure's own record of who raised it.
                RequestEvent::Erased { raised_by, .. } => set(vec![raised_by.clone()]),
                // The raiser, from the `raised` event — or, once an erasure compacted that away,
                // from the `erased` event that says who raised it.
                _ => set(self
                    .index
                    .request_events(&r.request)
                    .await?
                    .into_iter()
                    .filter_map(|x| match x.event {
                        RequestEvent::Raised(_) => Some(x.by),
                        RequestEvent::Erased { raised_by, .. } => Some(raised_by),
                        _ => None,
                    })
                    .collect()),
            },
            JournalEntry::Hold(_) | JournalEntry::HoldRelease(_) => Who::Metadata,
            // The reporter follows their own report; supervisors and the data controller hold
            // the metadata key.
            JournalEntry::Breach(b) => set(vec![b.reporter.clone()]),
            JournalEntry::Setting(_)
            | JournalEntry::UserCheckpoint(_)
            | JournalEntry::AuditAnchor(_)
            | JournalEntry::FormatUpgrade(_) => Who::Everyone,
        })
    }

    /// The keys of `who`: each party's own public key (a user unknown or disabled is left out:
    /// they read nothing more), or the `dedup` seed for every user.
    pub(crate) fn readers(&self, who: &Who) -> Readers {
        match who {
            Who::Metadata => Readers::Metadata,
            Who::Everyone => match self.user.secrets.get("dedup") {
                Some(d) => Readers::Everyone(d.clone()),
                None => Readers::Metadata,
            },
            Who::Parties(uids) => {
                let p: Vec<(String, [u8; 32])> = uids
                    .iter()
                    .filter_map(|u| {
                        self.users
                            .iter()
                            .find(|x| &x.uid == u && !x.disabled)
                            .map(|x| (u.clone(), x.public_key))
                    })
                    .collect();
                if p.is_empty() {
                    Readers::Metadata
                } else {
                    Readers::Parties(p)
                }
            }
        }
    }

    /// The readers a segment's header names (a compaction keeps them).
    pub(crate) fn readers_named(&self, uids: Vec<String>, everyone: bool) -> Readers {
        if everyone {
            self.readers(&Who::Everyone)
        } else if uids.is_empty() {
            Readers::Metadata
        } else {
            self.readers(&Who::Parties(uids.into_iter().collect()))
        }
    }

    /// Journal `entries` (signed), one segment per set of readers, in the order each set first
    /// appears; entries keep their order within a segment.
    pub(crate) async fn journal_grouped(&self, entries: Vec<JournalEntry>) -> Result<()> {
        let mut groups: Vec<(Who, Vec<JournalEntry>)> = Vec::new();
        for e in entries {
            let who = self.entry_readers(&e).await?;
            match groups.iter_mut().find(|(w, _)| *w == who) {
                Some((_, v)) => v.push(e),
                None => groups.push((who, vec![e])),
            }
        }
        for (who, entries) in groups {
            let floor = self.index.max_applied(&self.device.id).await?;
            journal::append_for(
                &self.archive,
                &self.device.id,
                &entries,
                floor,
                &self.signer(),
                &self.readers(&who),
            )?;
        }
        Ok(())
    }
}
