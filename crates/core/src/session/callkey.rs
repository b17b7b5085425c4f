//! The call key follows its holders (docs/FORMAT.md, "Rotating the call key"): when an approver
//! or a data controller leaves (disabled, or the role taken away), the next logon of a remaining
//! holder makes the call key's next epoch, which every recording imported afterwards is wrapped
//! to; the re-wrap run then moves every recording's data key to it and removes the old wraps, so a
//! copy of the leaver's key bag opens nothing written after the rotation and, once the re-wrap is
//! done, no audio at all.

use super::*;
use crate::users::callkey::{self, Chain};
use std::collections::HashSet;

/// The call key's epochs as this session read them.
#[derive(Clone, Debug, Default)]
pub(super) struct CallKeys {
    pub chain: Chain,
    /// Set when the newest epoch this computer saw is missing from the share: new audio is then
    /// not written (it would be wrapped to a key a leaver holds).
    pub rolled_back: Option<String>,
    /// The metadata, audit and admin keys' epochs (`keys.rs`).
    pub others: std::collections::BTreeMap<&'static str, Chain>,
    /// Those of them rolled back or unreadable on the share (then never rotated here), and why.
    pub rolled: std::collections::BTreeMap<&'static str, String>,
}

/// What a re-wrap run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RewrapReport {
    /// The call key epoch the recordings were moved to.
    pub epoch: u32,
    /// Recordings whose object was re-wrapped by this run.
    pub rewrapped: usize,
    /// Recordings already under the newest key (imported after the rotation, or done by an
    /// earlier run).
    pub already: usize,
    /// Recordings that could not be re-wrapped: (recording id, why). They keep the old wrap and
    /// are tried again by the next run.
    pub failed: Vec<(String, String)>,
}

/// What a rotation did.
#[derive(Clone, Debug, Serialize)]
pub struct RotationReport {
    pub epoch: u32,
    /// The user names of the leavers it answers.
    pub leavers: Vec<String>,
    /// The user names it gave the new key to.
    pub holders: Vec<String>,
}

/// Does a user's record show they were given the call key: their secret escrowed to the recovery
/// key, and not because they hold the admin key or the metadata key without a call key (admins and
/// supervisors are escrowed there too)? An admin or a supervisor who was also an approver and lost
/// only that role is not told apart here (their record's `given` tells it; named in FORMAT.md's
/// known limits).
fn escrowed_as_holder(u: &UserSummary, r: &users::UserRecord) -> bool {
    let keys = policy::archive_keys_for(&u.roles, true);
    users::escrowed_to_recovery(r)
        && (policy::holds_call_key(&u.roles)
            || !keys.contains(&"admin") && !keys.contains(&"metadata"))
}

impl Session {
    /// The signing key of a known user, for an epoch's author (enabled or not: an epoch stays
    /// believed after its author leaves, and their leaving makes the next).
    pub(super) fn call_key_author(&self, uid: &str) -> Option<[u8; 32]> {
        self.signing_key_of(uid)
    }

    /// Is this uid a current holder of the call key (enabled, with a role that grants it)?
    fn holds_call_key_now(&self, uid: &str) -> bool {
        self.users
            .iter()
            .any(|u| u.uid == uid && !u.disabled && policy::holds_call_key(&u.roles))
    }

    fn signing_key_of(&self, uid: &str) -> Option<[u8; 32]> {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.signing_key)
    }

    /// Read the call key's epochs (after the users), check them against what this computer saw,
    /// and take the seeds of every epoch this user holds. Called at logon.
    pub(super) fn read_call_keys(&mut self) -> Result<()> {
        let chain = callkey::read(&self.archive, Some(&|uid| self.call_key_author(uid)))?;
        for (rel, why) in &chain.problems {
            self.warn_once(format!("{rel}: {why}"));
        }
        let current = chain.current();
        let public = crypto::b64(&chain.public(&self.archive, current)?);
        let mut rolled_back = None;
        match device::seen_call_key(&self.device) {
            Some((e, k)) if e > current || (e == current && k != public) => {
                let why = format!(
                    "the archive's call key was rolled back: this computer saw epoch {e} ({}), the share gives epoch {current}; no audio is stored until it is restored (ask the data controller)",
                    callkey::path(e.max(1))
                );
                self.warn_once(why.clone());
                rolled_back = Some(why);
            }
            _ => device::remember_call_key(&self.device, current, &public)?,
        }
        if let Some(bag) = self.user.secrets.get("custodian").cloned() {
            let (seeds, missing) = callkey::seeds_for(
                &self.archive,
                &chain,
                &self.user.uid,
                &self.user.secret,
                &bag,
            )?;
            if let Some(m) = missing {
                self.warn_once(m);
            }
            self.user.secrets.set_call_keys(seeds);
        }
        self.call_keys.chain = chain;
        self.call_keys.rolled_back = rolled_back;
        Ok(())
    }

    /// The label and public key new audio is wrapped to: the newest call key.
    pub(super) fn call_key_recipient(&self) -> Result<(String, [u8; 32])> {
        if let Some(why) = &self.call_keys.rolled_back {
            return Err(Error::tampered(callkey::DIR, why.clone()));
        }
        self.call_keys.chain.current_recipient(&self.archive)
    }

    /// Who held the call key at its newest epoch but no longer may (disabled, or the role taken
    /// away): uids. For the archive's first key, whose holders no file names, those whose record
    /// says they held it: escrowed to the recovery key or tagged as a holder, or disabled with a
    /// role that grants it.
    pub fn call_key_leavers(&self) -> Vec<String> {
        self.call_key_leavers_without(None)
    }

    /// `call_key_leavers`, with `leaving` counted as no longer holding it (`key_leavers_without`).
    fn call_key_leavers_without(&self, leaving: Option<&str>) -> Vec<String> {
        let chain = &self.call_keys.chain;
        let mut past: Vec<String> = match chain.holders() {
            Some(h) => h,
            None => self
                .users
                .iter()
                .filter(|u| {
                    (u.disabled && policy::holds_call_key(&u.roles))
                        || u.given.contains_key("custodian")
                        || users::load_latest(&self.archive, &u.uid)
                            .ok()
                            .flatten()
                            .is_some_and(|r| r.signed.holder.is_some() || escrowed_as_holder(u, &r))
                })
                .map(|u| u.uid.clone())
                .collect(),
        };
        // Holders given the key after the newest epoch was made (promoted since) count too.
        if !chain.epochs.is_empty() {
            for u in &self.users {
                let held = (u.disabled && policy::holds_call_key(&u.roles))
                    || u.given.contains_key("custodian")
                    || users::load_latest(&self.archive, &u.uid)
                        .ok()
                        .flatten()
                        .is_some_and(|r| escrowed_as_holder(u, &r));
                if held && !past.contains(&u.uid) {
                    past.push(u.uid.clone());
                }
            }
        }
        self.unanswered_leavers("custodian", chain, past, &|uid| {
            Some(uid) != leaving && self.holds_call_key_now(uid)
        })
    }

    fn name_or_uid(&self, uid: &str) -> String {
        self.name_of(uid).unwrap_or_else(|| uid.to_string())
    }

    /// Make the call key's next epoch now (a holder only), given to every current holder whose
    /// record a holder vouched for. Under the maintenance lock. Audited.
    pub async fn rotate_call_key(&mut self) -> Result<RotationReport> {
        self.rotate_call_key_leaving(None).await
    }

    /// `rotate_call_key`, with `leaving` (a uid) given no new epoch though their record still
    /// grants the key: the change that takes it away is written next, under the new epoch.
    pub(super) async fn rotate_call_key_leaving(
        &mut self,
        leaving: Option<&str>,
    ) -> Result<RotationReport> {
        self.require(Action::RotateCallKey)?;
        let archive = self.archive.clone();
        let _lock = match crate::retention::lock::acquire(
            &archive,
            &self.device.id,
            &self.user.uid,
            chrono::Duration::minutes(5),
            std::time::Duration::from_secs(10),
        ) {
            Ok(l) => Some(l),
            // A leaver must not keep the key by holding the lock (a lock file planted with a far
            // lease): the epoch is made without it (its file is written once). A re-wrap running
            // meanwhile leaves its calls under the older epoch, counted as still to re-wrap.
            Err(e) if leaving.is_some() => {
                self.warnings.push(format!(
                    "the maintenance lock is held ({e}); the call key was rotated without it"
                ));
                None
            }
            Err(e) => return Err(e),
        };
        // Another holder may have rotated while this one waited.
        self.read_call_keys()?;
        if let Some(why) = self.call_keys.rolled_back.clone() {
            return self.refuse(
                Action::RotateCallKey,
                vec![],
                Error::tampered(callkey::DIR, why),
            );
        }
        let mut leavers = self.call_key_leavers_without(leaving);
        if let Some(l) = leaving {
            if !leavers.iter().any(|x| x == l) {
                leavers.push(l.to_string());
            }
        }
        let mut holders = Vec::new();
        for u in self.users.clone() {
            if u.disabled || !policy::holds_call_key(&u.roles) || Some(u.uid.as_str()) == leaving {
                continue;
            }
            if u.uid != self.user.uid
                && !users::holder::vouched_now(
                    &self.archive,
                    &self.user.secrets,
                    &u.uid,
                    &u.public_key,
                    false,
                )
            {
                self.warn_once(format!(
                    "{}: their user record is not vouched for by a holder of the call key, so the new call key is not given to them (an admin's next logon re-signs it; then rotate again)",
                    u.name
                ));
                continue;
            }
            holders.push((u.uid.clone(), u.public_key));
        }
        let current = self.user.secrets.require("custodian")?.clone();
        let res = callkey::rotate(
            &self.archive,
            &self.call_keys.chain,
            &current,
            &self.signer(),
            &holders,
            leavers.clone(),
            None,
        );
        let leaver_names: Vec<String> = leavers.iter().map(|u| self.name_or_uid(u)).collect();
        let (epoch, _seed) = match res {
            Ok(x) => x,
            Err(e) => return self.refuse(Action::RotateCallKey, leavers, e),
        };
        self.read_call_keys()?;
        if self.call_keys.chain.current() != epoch {
            return Err(Error::Archive {
                path: callkey::path(epoch),
                reason: "the call key epoch just written is not believed on reading it back".into(),
            });
        }
        self.audit(
            Action::RotateCallKey,
            "allowed",
            leavers,
            Some(format!(
                "call key epoch {epoch}; leavers: {}",
                if leaver_names.is_empty() {
                    "none (rotated by hand)".to_string()
                } else {
                    leaver_names.join(", ")
                }
            )),
        )?;
        Ok(RotationReport {
            epoch,
            leavers: leaver_names,
            holders: holders.iter().map(|(u, _)| self.name_or_uid(u)).collect(),
        })
    }

    /// At a holder's logon: rotate if a holder has left since the newest epoch (waiting at most 10
    /// seconds for the maintenance lock, else at a later logon), and say how many calls still hold
    /// an older key.
    pub(super) async fn rotate_if_leavers(&mut self) -> Result<()> {
        if !policy::holds_call_key(self.roles()) || self.user.secrets.get("custodian").is_none() {
            return Ok(());
        }
        if self.call_keys.rolled_back.is_none() && !self.call_key_leavers().is_empty() {
            match self.rotate_call_key().await {
                Ok(r) => self.warnings.push(format!(
                    "The call key was rotated (epoch {}) because {} no longer hold(s) it: calls stored from now on are locked to the new key. Re-wrap the calls stored before (the data controller's Users screen, or `callvault keys rewrap`) so that the old key opens none of them",
                    r.epoch,
                    r.leavers.join(", ")
                )),
                Err(e) => self
                    .warnings
                    .push(format!("the call key's rotation waits for a later logon: {e}")),
            }
        }
        let pending = self.rewrap_pending()?;
        if pending > 0 {
            self.warnings.push(format!(
                "{pending} stored call(s) are still locked to an older call key, which a leaver may hold: re-wrap them (the data controller's Users screen, or `callvault keys rewrap`)"
            ));
        }
        Ok(())
    }

    /// How many audio objects on the share are still under an older call key epoch (by name: an
    /// imported object `<id>.cva` with an epoch after the first is read for its label).
    pub fn rewrap_pending(&self) -> Result<usize> {
        let e = self.call_keys.chain.current();
        if e == 0
            || callkey::rewrap_done(&self.archive, &self.call_keys.chain, e, &|uid| {
                self.signing_key_of(uid)
            })
        {
            return Ok(0);
        }
        let label = audio::call_key_label(e);
        let mut n = 0;
        for shard in self.archive.list("rec")? {
            let Ok(names) = self.archive.list(&format!("rec/{shard}")) else {
                continue;
            };
            let done: HashSet<&str> = names
                .iter()
                .filter_map(|n| audio::parse_object_name(n))
                .filter(|(_, k)| *k == audio::ObjectName::RewrapRecord(e))
                .map(|(id, _)| id)
                .collect();
            for name in &names {
                match audio::parse_object_name(name) {
                    Some((id, audio::ObjectName::Audio)) if !done.contains(id) => {
                        let rel = format!("rec/{shard}/{name}");
                        let current = self
                            .archive
                            .read_head(&rel, 64 << 10)
                            .ok()
                            .and_then(|h| audio::parse_header(&h, &rel).ok())
                            .is_some_and(|(h, _)| is_current(&h, &label));
                        if !current {
                            n += 1;
                        }
                    }
                    Some((_, audio::ObjectName::Rewrapped(k))) if k < e => n += 1,
                    _ => {}
                }
            }
        }
        Ok(n)
    }

    /// The object of a recording to read and the SHA-256 it must have: the newest re-wrap whose
    /// signed record checks out, else the object as imported (its journal entry's hash).
    pub(super) fn locate_object(&self, id: &str, journal_sha: &str) -> Result<(String, String)> {
        let mut refused = None;
        for e in (1..=self.call_keys.chain.current()).rev() {
            let rec = audio::rewrap_record_path(id, e);
            if std::fs::symlink_metadata(self.archive.path(&rec)).is_err() {
                continue;
            }
            match callkey::check_rewrap(
                &self.archive,
                &self.call_keys.chain,
                id,
                e,
                journal_sha,
                &|uid| self.signing_key_of(uid),
            ) {
                Ok(sha) => return Ok((audio::rewrapped_path(id, e), sha)),
                Err(err) => {
                    refused.get_or_insert(err);
                }
            }
        }
        let rel = audio::object_path(id);
        match refused {
            Some(err) if std::fs::symlink_metadata(self.archive.path(&rel)).is_err() => Err(err),
            _ => Ok((rel, journal_sha.to_string())),
        }
    }

    /// Move every recording's data key to the newest call key (a holder only), under the
    /// maintenance lock: each object is checked against its journal entry, written again with the
    /// same body and a header whose wraps are the newest call key's and those of its parties still
    /// enabled, with a signed record binding it to the journal entry; then the older object is
    /// shredded. Resumable: a run stopped at any point is finished by the next. Audited.
    pub async fn rewrap_calls(
        &mut self,
        progress: Option<&(dyn Fn(usize, usize) + Sync)>,
    ) -> Result<RewrapReport> {
        self.require(Action::RewrapCalls)?;
        let archive = self.archive.clone();
        let lock = crate::retention::lock::acquire(
            &archive,
            &self.device.id,
            &self.user.uid,
            chrono::Duration::minutes(60),
            std::time::Duration::from_secs(10),
        )?;
        self.sync_index().await?;
        self.read_call_keys()?;
        let epoch = self.call_keys.chain.current();
        let mut rep = RewrapReport {
            epoch,
            ..Default::default()
        };
        let (label, public) = self.call_key_recipient()?;
        if epoch == 0 {
            self.audit(
                Action::RewrapCalls,
                "allowed",
                vec![],
                Some("nothing to do: the call key was never rotated".into()),
            )?;
            return Ok(rep);
        }
        let keep: HashSet<String> = self
            .users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| format!("user:{}", u.uid))
            .collect();
        let metas = self.index.all_objects().await?;
        let total = metas.len();
        for (i, meta) in metas.iter().enumerate() {
            if i.is_multiple_of(64) {
                lock.check()?;
            }
            match self.rewrap_one(meta, epoch, &label, &public, &keep) {
                Ok(true) => rep.rewrapped += 1,
                Ok(false) => rep.already += 1,
                Err(e) => rep.failed.push((meta.id.clone(), e.to_string())),
            }
            if let Some(p) = progress {
                p(i + 1, total);
            }
        }
        if rep.failed.is_empty() {
            // Every call is under the newest key: logons need not look again.
            callkey::write_rewrap_done(&self.archive, epoch, total, &self.signer())?;
        }
        self.audit(
            Action::RewrapCalls,
            if rep.failed.is_empty() {
                "allowed"
            } else {
                "partial"
            },
            vec![],
            Some(format!(
                "call key epoch {epoch}: {} re-wrapped, {} already, {} failed",
                rep.rewrapped,
                rep.already,
                rep.failed.len()
            )),
        )?;
        Ok(rep)
    }

    /// Re-wrap one recording; false if it was already under the newest key.
    fn rewrap_one(
        &mut self,
        meta: &RecordingMeta,
        epoch: u32,
        label: &str,
        public: &[u8; 32],
        keep: &HashSet<String>,
    ) -> Result<bool> {
        let id = &meta.id;
        let newest = audio::rewrapped_path(id, epoch);
        let record = audio::rewrap_record_path(id, epoch);
        let exists = |rel: &str| std::fs::symlink_metadata(self.archive.path(rel)).is_ok();
        if exists(&record) && exists(&newest) {
            // Done before; finish the clean-up a stopped run may have left.
            self.remove_older(id, epoch)?;
            return Ok(false);
        }
        let (rel, want) = self.locate_object(id, &meta.object_sha256)?;
        // Never more than the object of a recording this long can be (a file planted in its place
        // must not exhaust this computer).
        let seg_min = 4096;
        let cap = 12 + (1 << 20) + meta.size + (meta.size / seg_min + 1) * 16;
        let data = archive::read_capped(&self.archive.path(&rel), cap)?;
        if hex::encode(crypto::sha256(&data)) != want {
            return Err(Error::tampered(
                &rel,
                "audio object is not the one its journal entry names (replaced or altered); not re-wrapped",
            ));
        }
        let (header, body_at) = audio::parse_header(&data, &rel)?;
        if header.id != *id {
            return Err(Error::tampered(&rel, "object belongs to another recording"));
        }
        let stale_party = |w: &audio::KeyWrap| w.to.starts_with("user:") && !keep.contains(&w.to);
        if rel == audio::object_path(id)
            && is_current(&header, label)
            && !header.wraps.iter().any(stale_party)
        {
            return Ok(false);
        }
        let dek = header.unwrap_dek(&self.user.secrets.call_keys(), &rel)?;
        let mut wraps = vec![audio::KeyWrap {
            to: label.to_string(),
            wrapped: crypto::wrap(public, &audio::wrap_info(id), dek.expose())?,
        }];
        wraps.extend(
            header
                .wraps
                .iter()
                .filter(|w| w.to.starts_with("user:") && !stale_party(w))
                .cloned(),
        );
        drop(dek);
        let new_header = audio::AudioHeader { wraps, ..header };
        let hbytes = serde_json::to_vec(&new_header).expect("serialisable");
        let object = archive::join_envelope(audio::MAGIC, &hbytes, &data[body_at..]);
        drop(data);
        // A half-made re-wrap (stopped before its record) is replaced.
        archive::remove(&self.archive, &newest)?;
        self.archive
            .write_new(&newest, &object)
            .map_err(|e| Error::io(&newest, e))?;
        callkey::write_rewrap(
            &self.archive,
            callkey::RewrapSigned {
                id: id.clone(),
                epoch,
                object_sha256: hex::encode(crypto::sha256(&object)),
                journal_sha256: meta.object_sha256.clone(),
                by: self.user.uid.clone(),
                at: Utc::now().timestamp_millis(),
            },
            &self.signer(),
        )?;
        self.remove_older(id, epoch)?;
        Ok(true)
    }

    /// Shred the objects of a recording under call keys older than `epoch` (whose headers hold the
    /// old wraps) and remove their records.
    fn remove_older(&mut self, id: &str, epoch: u32) -> Result<()> {
        let mut olds = vec![(audio::object_path(id), None)];
        for e in 1..epoch {
            olds.push((
                audio::rewrapped_path(id, e),
                Some(audio::rewrap_record_path(id, e)),
            ));
        }
        for (obj, rec) in olds {
            let done = archive::shred_and_remove(&self.archive, &obj)?;
            self.warn_removal(&done, &obj);
            if let Some(rec) = rec {
                let done = archive::remove(&self.archive, &rec)?;
                self.warn_removal(&done, &rec);
            }
        }
        Ok(())
    }
}

/// Is this header's only call key wrap the newest one's?
fn is_current(h: &audio::AudioHeader, label: &str) -> bool {
    let call: Vec<&str> = h
        .wraps
        .iter()
        .filter(|w| w.to == "custodian" || w.to.starts_with("custodian:"))
        .map(|w| w.to.as_str())
        .collect();
    call == [label]
}
