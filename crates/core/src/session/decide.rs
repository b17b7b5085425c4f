//! Decisions that destroy — the retention sweep and its plan, deletion and erasure — taken on what
//! the signed journal says, never on this computer's index file alone: any user of the computer
//! holds the index's key and could delete a hold's row, move a call's date into the past or plant
//! a tombstone. Each such decision re-derives the rows it rests on into an index in memory, synced
//! from nothing with every check a sync makes, and decides from that. If this computer's index
//! disagrees, it is reported (a warning and the audit trail) and rebuilt from the journal at once.

use super::Session;
use crate::error::Result;
use crate::index::{self, Index};
use crate::policy::Action;
use crate::retention::certificate::Certificate;
use crate::retention::Due;

impl Session {
    /// What the retention sweep would delete now, and why (held recordings listed, kept).
    pub async fn retention_due(&mut self) -> Result<Vec<Due>> {
        self.require(Action::PlanRetention)?;
        let local = self.use_journal_index().await?;
        let r = self.retention_due_here().await;
        self.restore_index(local, "planning retention").await?;
        r
    }

    /// Run the retention sweep: delete what is due and not held. Safe on two devices at once.
    pub async fn retention_run(&mut self) -> Result<Option<Certificate>> {
        self.require(Action::PlanRetention)?;
        let local = self.use_journal_index().await?;
        let r = self.retention_run_here().await;
        self.restore_index(local, "a retention run").await?;
        r
    }

    /// Delete recordings (supervisor or data controller) with a reason.
    pub async fn delete(&mut self, ids: &[String], reason: &str) -> Result<Certificate> {
        self.require_for(Action::DeleteRecording, ids)?;
        let local = self.use_journal_index().await?;
        let r = self.delete_here(ids, reason).await;
        self.restore_index(local, "a deletion").await?;
        r
    }

    /// Erase every recording an approved erasure request covers (data controller), then complete it.
    pub async fn erase(&mut self, request: &str) -> Result<Certificate> {
        self.require(Action::EraseRecording)?;
        let local = self.use_journal_index().await?;
        let r = self.erase_here(request).await;
        self.restore_index(local, "an erasure").await?;
        r
    }

    /// Put an index re-derived from the signed journal in place of this computer's for one
    /// decision; returns this computer's, and how it differed (None if it agreed).
    async fn use_journal_index(&mut self) -> Result<(Index, Option<String>)> {
        let reader = self.journal_reader();
        let (keys, roles) = (self.signer_keys(), self.signer_roles());
        let fresh = Index::in_memory_as(&self.index).await?;
        let mut diff = None;
        // Another computer may write to the journal between the two syncs: both catch up again
        // (each sync is incremental) before a difference is believed.
        for _ in 0..3 {
            self.index
                .sync(&self.archive, &reader, &keys, &roles)
                .await?;
            fresh.sync(&self.archive, &reader, &keys, &roles).await?;
            diff = index::decision_differences(
                &self.index.decision_rows().await?,
                &fresh.decision_rows().await?,
            );
            if diff.is_none() {
                break;
            }
        }
        let local = std::mem::replace(&mut self.index, fresh);
        Ok((local, diff))
    }

    /// Put this computer's index back after a decision, caught up with what the decision wrote;
    /// if it disagreed with the journal, rebuilt from it and reported.
    async fn restore_index(
        &mut self,
        (local, diff): (Index, Option<String>),
        what: &str,
    ) -> Result<()> {
        let fresh = std::mem::replace(&mut self.index, local);
        fresh.close().await;
        if let Some(diff) = diff {
            let old = std::mem::replace(&mut self.index, Index::in_memory().await?);
            self.index = old.reset().await?;
            let w = format!(
                "this computer's local index disagreed with the signed journal before {what} ({diff}): \
                 the decision followed the journal, and the index was rebuilt from it"
            );
            self.audit(Action::RebuildIndex, "allowed", vec![], Some(w.clone()))?;
            self.warnings.push(w);
        }
        self.sync_index().await?;
        Ok(())
    }
}
