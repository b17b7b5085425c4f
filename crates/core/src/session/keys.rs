//! The metadata, audit and admin keys follow their holders as the call key does (docs/FORMAT.md,
//! "Rotating the metadata, audit and admin keys"): when someone who held one leaves (disabled, or the role that
//! grants it taken away), the admin making that change makes the key's next epoch before writing
//! it (or, for a key that admin does not hold, the next logon of a remaining holder does), given to
//! every current holder. Journal segments, user profiles, audit files and escrows written afterwards are
//! encrypted to it, so a copy of the leaver's key bag opens none of them; what was written before
//! stays readable to the holders through the new key's chain back to the first.

use super::*;
use crate::users::callkey::{self, Chain};

/// The rotating keys other than the call key (whose epochs also move the audio: `callkey.rs`).
pub(super) const OTHERS: [&str; 3] = ["metadata", "audit", "admin"];

/// One rotating archive key, as the Users screen shows it to someone who holds it.
#[derive(Clone, Debug, Serialize)]
pub struct KeyState {
    /// `custodian` (the call key), `metadata`, `audit` or `admin`.
    pub key: String,
    /// The key in words: "call key", "metadata key", …
    pub what: String,
    /// Its newest epoch believed here (0: the archive's first key).
    pub epoch: u32,
    /// May this user make its next epoch by hand (they hold it)?
    pub may_rotate: bool,
    /// Those who held it and no longer may, whose leaving no epoch answered yet (user names).
    pub leavers: Vec<String>,
}

pub(super) fn holds(roles: &[Role], name: &str, readers: bool) -> bool {
    policy::archive_keys_for(roles, readers).contains(&name)
}

/// Point the archive's writers at the newest epoch of the metadata, audit and admin keys,
/// believing the chain's proofs alone (nobody is logged on yet) and this computer's record of the
/// newest seen. `remember`: record the newest as seen (an ingest machine, which knows no user's
/// signing key and so never reads the chain otherwise; a logged-on session records it once the
/// authors are checked). Returns what is amiss (a rolled-back or unreadable chain): an ingest
/// machine then stores nothing.
pub(crate) fn point_writers(archive: &Archive, device: &Device, remember: bool) -> Vec<String> {
    let mut amiss = Vec::new();
    for name in OTHERS {
        match callkey::read_key(archive, name, None) {
            Ok(chain) => match set_recipient(archive, device, &chain) {
                Ok(None) => {
                    // The admin key's newest epoch is pinned on sight: every user record read
                    // here is checked against it (`users::cosign`), so its removal from the share
                    // is noticed even before anyone logs on on this computer again.
                    if remember || name == "admin" {
                        let current = chain.current();
                        if let Ok(k) = chain.public(archive, current) {
                            device::remember_key(device, name, current, &crypto::b64(&k)).ok();
                        }
                    }
                }
                Ok(Some(w)) => amiss.push(w),
                Err(e) => amiss.push(e.to_string()),
            },
            Err(e) => amiss.push(unreadable(archive, device, name, &e)),
        }
    }
    amiss
}

/// `keys/<name>` cannot be listed (a file planted in its place): write to the newest epoch this
/// computer saw, or, if it saw none, refuse to write under that key — never fall back to
/// `archive.json`'s, which every former holder has. Returns the warning.
fn unreadable(archive: &Archive, device: &Device, name: &'static str, e: &Error) -> String {
    let why = format!(
        "{}: the archive's {} epochs cannot be read ({}); ask the data controller",
        callkey::dir(name),
        callkey::what(name),
        e
    );
    match device::seen_key(device, name).and_then(|(ep, k)| {
        let k: [u8; 32] = crypto::unb64(&k, "seen key").ok()?.try_into().ok()?;
        Some((ep, k))
    }) {
        Some(k) => archive.set_recipient(name, Ok(k)),
        None => archive.set_recipient(name, Err(why.clone())),
    }
    why
}

/// Before the users are known (at logon, right after the password): take the epochs of the
/// metadata, audit and admin keys this user reaches, believing the chains' proofs alone
/// (`point_writers`, in `device::open_in`, already pointed the writers at their newest epochs).
/// `Session::read_other_keys` reads them again, each epoch's author checked.
pub(super) fn take_unverified(archive: &Archive, user: &mut UnlockedUser) {
    callkey::take_epochs_unverified(archive, &user.uid, &user.secret, &mut user.secrets);
}

/// Point the archive's writer for `chain`'s key at its newest epoch, unless this computer saw a
/// newer (or another key at the same epoch): then at the one it saw, which a leaver does not hold,
/// and say so. Returns the warning.
fn set_recipient(archive: &Archive, device: &Device, chain: &Chain) -> Result<Option<String>> {
    let name = chain.name;
    let current = chain.current();
    let public = chain.public(archive, current)?;
    match device::seen_key(device, name) {
        Some((e, k)) if e > current || (e == current && k != crypto::b64(&public)) => {
            let pinned: [u8; 32] = crypto::unb64(&k, "seen key")
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "this computer's record of the {} is damaged",
                        callkey::what(name)
                    ))
                })?;
            archive.set_recipient(name, Ok((e, pinned)));
            Ok(Some(format!(
                "the archive's {} was rolled back: this computer saw epoch {e} ({}), the share gives epoch {current}; what is written here stays locked to the key this computer saw, which no holder can open until the epoch file is restored (ask the data controller)",
                callkey::what(name),
                callkey::path_of(name, e.max(1))
            )))
        }
        _ => {
            archive.set_recipient(name, Ok((current, public)));
            Ok(None)
        }
    }
}

impl Session {
    /// The signing key of a known user, for an epoch's author (enabled or not: an epoch stays
    /// believed after its author leaves, and their leaving makes the next).
    fn key_author(&self, uid: &str) -> Option<[u8; 32]> {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.signing_key)
    }

    fn holds_now(&self, name: &str, uid: &str) -> bool {
        self.users.iter().any(|u| {
            u.uid == uid
                && !u.disabled
                && holds(&u.roles, name, self.archive.config.party_readers())
        })
    }

    /// Read the metadata, audit and admin keys' epochs again, each one's author a known user (and,
    /// from epoch 2, one the previous epoch was given to); take the seeds of every epoch this user holds and write to the newest. Called at logon once
    /// the users are read, and after a rotation.
    pub(super) fn read_other_keys(&mut self) -> Result<()> {
        for name in OTHERS {
            let chain =
                match callkey::read_key(&self.archive, name, Some(&|uid| self.key_author(uid))) {
                    Ok(c) => c,
                    Err(e) => {
                        let w = unreadable(&self.archive, &self.device, name, &e);
                        self.warn_once(w.clone());
                        self.call_keys.rolled.insert(name, w);
                        continue;
                    }
                };
            for (rel, why) in &chain.problems {
                self.warn_once(format!("{rel}: {why}"));
            }
            self.call_keys.rolled.remove(name);
            match set_recipient(&self.archive, &self.device, &chain)? {
                Some(w) => {
                    self.warn_once(w.clone());
                    self.call_keys.rolled.insert(name, w);
                }
                None => {
                    let current = chain.current();
                    let public = crypto::b64(&chain.public(&self.archive, current)?);
                    device::remember_key(&self.device, name, current, &public)?;
                }
            }
            if let Ok(ring) = self.user.secrets.ring(name) {
                // The newest seed held that the believed chain knows (one believed on its proof
                // alone at logon may be a forgery the authors' check now refuses).
                let start = ring.newest_in(|k| {
                    (0..=chain.current()).any(|e| {
                        chain.public(&self.archive, e).ok() == Some(crypto::x25519_public(k))
                    })
                });
                if let Some(bag) = start {
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
                    self.user.secrets.set_epochs(name, seeds);
                }
            }
            self.call_keys.others.insert(name, chain);
        }
        Ok(())
    }

    /// Who held rotating key `name` at its newest epoch but no longer may (disabled, or the role
    /// that grants it taken away), and whose leaving no epoch answered yet: uids. For the first
    /// key, whose holders no file names, and for those given the key since the newest epoch
    /// (through a key bag), the disabled users whose roles grant it.
    pub fn key_leavers(&self, name: &str) -> Vec<String> {
        self.key_leavers_without(name, None)
    }

    /// `key_leavers`, with `leaving` (a uid whose change is about to be written) counted as no
    /// longer holding the key: so an earlier leaving answered only by an epoch they made is
    /// answered again by the epoch made at theirs, not by another at the next logon.
    pub(super) fn key_leavers_without(&self, name: &str, leaving: Option<&str>) -> Vec<String> {
        let empty = Chain::default();
        let chain = self.call_keys.others.get(name).unwrap_or(&empty);
        let mut past = chain.holders().unwrap_or_default();
        for u in &self.users {
            let had = (u.disabled && holds(&u.roles, name, self.archive.config.party_readers()))
                || u.given.contains_key(name);
            if had && !past.contains(&u.uid) {
                past.push(u.uid.clone());
            }
        }
        self.unanswered_leavers(name, chain, past, &|uid| {
            Some(uid) != leaving && self.holds_now(name, uid)
        })
    }

    /// The rule every rotating key shares (the call key's too): of `past`, those who held `chain`'s
    /// key, with the newest epoch's author added, the ones who no longer may (`holds_now` false)
    /// and whose leaving no epoch answered yet — named in the `leavers` of an epoch whose author
    /// still holds the key, and given no later epoch since (an epoch a leaver made with the key they
    /// kept, naming themselves, answers nothing), and not given that epoch or a later one through
    /// a key bag since (their record's `given`: re-enabled or promoted again). Users this computer
    /// knows count, and anyone the newest epoch was given to whose record is no longer believed
    /// (removed or refused: a leaver hiding their own record leaves all the same).
    pub(super) fn unanswered_leavers(
        &self,
        name: &str,
        chain: &Chain,
        mut past: Vec<String>,
        holds_now: &dyn Fn(&str) -> bool,
    ) -> Vec<String> {
        let epochs = &chain.epochs;
        if let Some(e) = epochs.last() {
            if !past.contains(&e.by) {
                past.push(e.by.clone());
            }
        }
        let given = |uid: &str| {
            self.users
                .iter()
                .find(|u| u.uid == uid)
                .and_then(|u| u.given.get(name).copied())
        };
        let answered = |uid: &str| {
            epochs.iter().enumerate().any(|(i, e)| {
                holds_now(&e.by)
                    && e.leavers.iter().any(|l| l == uid)
                    && given(uid).is_none_or(|g| e.epoch > g)
                    && !epochs[i + 1..]
                        .iter()
                        .any(|later| later.grants.iter().any(|g| g.to == uid))
            })
        };
        let granted = chain.holders().unwrap_or_default();
        past.into_iter()
            .filter(|uid| !holds_now(uid) && !answered(uid))
            .filter(|uid| self.users.iter().any(|u| &u.uid == uid) || granted.contains(uid))
            .collect()
    }

    /// Make the next epoch of the metadata or audit key now (a holder of it only), given to every
    /// enabled user whose roles grant it. Under the maintenance lock. Audited as `keys.rotate`.
    pub async fn rotate_archive_key(&mut self, name: &str) -> Result<RotationReport> {
        self.rotate_other(name, None).await
    }

    /// Before a user loses a rotating key (disabled, or the role that grants it taken away): its
    /// next epoch, made now by this session for each such key it holds and given to every other
    /// holder, so the change is written under it and nothing written from now on opens with what
    /// the leaver kept. The admin key's epoch names every user record's revision
    /// (`users::cosign`), so nothing the leaver signs with the keys they kept is believed. A key
    /// this session does not hold, or one it cannot rotate now (the maintenance lock busy for the
    /// call key), is rotated at a holder's next logon; the warning says so.
    /// Returns the keys a user takes from themselves (stepping down), for
    /// `rotate_after_stepping_down` once the change is written.
    pub(super) async fn rotate_before_leaving(
        &mut self,
        u: &UserSummary,
        after: &crate::users::Profile,
    ) -> Vec<&'static str> {
        let mut own = Vec::new();
        let readers = self.archive.config.party_readers();
        let before = policy::account_keys(&u.roles, u.disabled, readers);
        let kept = policy::account_keys(&after.roles, after.disabled, readers);
        let uid = u.uid.clone();
        for name in callkey::ROTATING {
            if !before.contains(&name) || kept.contains(&name) {
                continue;
            }
            // Taking a key from oneself: the change must be signed with the keys one holds now
            // (the admin key's newest epoch above all), so it is written first.
            if uid == self.user.uid {
                own.push(name);
                continue;
            }
            if self.user.secrets.get(name).is_none() {
                if name == "admin" {
                    continue;
                }
                self.warnings.push(format!(
                    "the {} is rotated out of {}'s reach at the next logon of someone who holds it (you do not)",
                    callkey::what(name),
                    u.name
                ));
                continue;
            }
            let res = self.rotate_leaving(name, Some(&uid)).await;
            match res {
                Ok(r) => self.warnings.push(format!(
                    "The archive's {} was rotated (epoch {}) because {} no longer hold(s) it: what is written from now on is locked to the new key{}",
                    callkey::what(name),
                    r.epoch,
                    u.name,
                    if name == "custodian" {
                        ". Re-wrap the calls stored before (the data controller's Users screen, or `callvault keys rewrap`) so that the old key opens none of them"
                    } else {
                        ""
                    }
                )),
                Err(e) => {
                    self.warnings.push(format!(
                        "the {}'s rotation waits for a later logon: {e}; until then a copy of {}'s key bag still opens what is written with it",
                        callkey::what(name),
                        u.name
                    ));
                    continue;
                }
            }
            if name == "admin" {
                self.warn_exposed_admins(&uid, &u.name);
            }
        }
        own
    }

    /// After a user's change to their own account that took keys from them (`own`, from
    /// `rotate_before_leaving`) is written: each key's next epoch, made by them without them. As
    /// its author no longer holds the key, it answers nothing (`unanswered_leavers`), so the next
    /// logon of another holder makes one more, which does — whatever their record says (`given`
    /// or not). Until then they hold what they made.
    pub(super) async fn rotate_after_stepping_down(&mut self, own: Vec<&'static str>) {
        if own.is_empty() {
            return;
        }
        let uid = self.user.uid.clone();
        if let Err(e) = self.reload_users().await {
            self.warnings.push(format!(
                "the keys you gave up are rotated at another holder's next logon: {e}"
            ));
            return;
        }
        for name in own {
            let res = self.rotate_leaving(name, Some(&uid)).await;
            let when = match res {
                Ok(r) => format!("epoch {} was made without you", r.epoch),
                Err(e) => format!("it could not be rotated now ({e})"),
            };
            self.warnings.push(format!(
                "You no longer hold the {}: {when}, and the next logon of someone else who holds it makes its next epoch",
                callkey::what(name)
            ));
        }
    }

    /// The admin key's new epoch is given to each remaining admin's public key. One whose secret
    /// is escrowed to the admin key (an admin who holds no call key) may be known to the leaver,
    /// who could then open that grant too.
    fn warn_exposed_admins(&mut self, uid: &str, name: &str) {
        let exposed: Vec<String> = self
            .users
            .iter()
            .filter(|o| o.uid != uid && !o.disabled && holds(&o.roles, "admin", self.archive.config.party_readers()))
            .filter(|o| {
                !matches!(crate::users::load_latest(&self.archive, &o.uid), Ok(Some(r)) if crate::users::escrowed_to_recovery(&r))
            })
            .map(|o| o.name.clone())
            .collect();
        if !exposed.is_empty() {
            self.warnings.push(format!(
                "{}: their secret is escrowed to the admin key {name} held, so {name} may know it and, with it, still sign user records; Callvault cannot yet give them a new key pair: prefer admins who also hold the call key (an approver or the data controller), whose secret is escrowed to the practice's recovery key",
                exposed.join(", "),
            ));
        }
    }

    /// `rotate_archive_key`, with `leaving` (a uid) given no new epoch though their record still
    /// grants the key: the change that takes it away is written next, under the new epoch.
    async fn rotate_other(&mut self, name: &str, leaving: Option<&str>) -> Result<RotationReport> {
        self.require(Action::RotateArchiveKey)?;
        let Some(name) = OTHERS.into_iter().find(|n| *n == name) else {
            return self.refuse(
                Action::RotateArchiveKey,
                vec![],
                Error::Invalid(
                    "key: not one of the keys that rotate here (metadata, audit, admin; the call key: `keys rotate`)".into(),
                ),
            );
        };
        if !policy::may_rotate(self.roles(), name, self.archive.config.party_readers()) {
            return self.refuse(
                Action::RotateArchiveKey,
                vec![name.to_string()],
                Error::Forbidden(format!(
                    "the {} is rotated by those who hold it",
                    callkey::what(name)
                )),
            );
        }
        let archive = self.archive.clone();
        let _lock = match crate::retention::lock::acquire(
            &archive,
            &self.device.id,
            &self.user.uid,
            chrono::Duration::minutes(5),
            std::time::Duration::from_secs(10),
        ) {
            Ok(l) => Some(l),
            // A leaving admin must not keep the key by holding the lock (a lock file planted
            // with a far lease): the epoch is made without it (its file is written once, so two
            // holders cannot both make it).
            Err(e) if leaving.is_some() => {
                self.warnings.push(format!(
                    "the maintenance lock is held ({e}); the {} was rotated without it",
                    callkey::what(name)
                ));
                None
            }
            Err(e) => return Err(e),
        };
        // Another holder may have rotated while this one waited.
        self.read_other_keys()?;
        // Never over a rolled-back or unreadable chain: the next epoch would take the place of
        // one this computer saw, and restoring that file would then lose this one.
        if let Some(why) = self.call_keys.rolled.get(name).cloned() {
            return self.refuse(
                Action::RotateArchiveKey,
                vec![name.to_string()],
                Error::tampered(callkey::dir(name), why),
            );
        }
        // The admin key's epoch names every user record's revision believed now: read them
        // afresh (another admin may have saved one since this session's logon).
        let revisions = if name == "admin" {
            self.reload_users().await?;
            let seen = device::seen_revisions(&self.device);
            let mut named = callkey::Revisions::new();
            // The users this session believes (pinned keys, no rollback), each by the record
            // on the share if it is the revision believed: its content named by its hash.
            for u in &self.users {
                if let Ok(Some(r)) = crate::users::load_latest(&self.archive, &u.uid) {
                    if seen.get(&u.uid) == Some(&r.signed.rev) {
                        named.insert(
                            u.uid.clone(),
                            callkey::RecordRef {
                                rev: r.signed.rev,
                                hash: crate::users::cosign::record_hash(&r.signed),
                            },
                        );
                    }
                }
            }
            Some(named)
        } else {
            None
        };
        let mut leavers = self.key_leavers_without(name, leaving);
        if let Some(l) = leaving {
            if !leavers.iter().any(|x| x == l) {
                leavers.push(l.to_string());
            }
        }
        let mut holders: Vec<(String, [u8; 32])> = Vec::new();
        for u in self.users.clone() {
            if u.disabled
                || !holds(&u.roles, name, self.archive.config.party_readers())
                || Some(u.uid.as_str()) == leaving
            {
                continue;
            }
            // The metadata key, which an admin does not hold in an archive with readers, goes only
            // to a record a holder of it vouched for (not to one an admin forged).
            if name == "metadata"
                && u.uid != self.user.uid
                && !crate::users::holder::vouched_now(
                    &self.archive,
                    &self.user.secrets,
                    &u.uid,
                    &u.public_key,
                    true,
                )
            {
                self.warn_once(format!(
                    "{}: their user record is not vouched for by a holder of the metadata key, so its new epoch is not given to them (an admin's next logon re-signs it; then rotate again)",
                    u.name
                ));
                continue;
            }
            holders.push((u.uid.clone(), u.public_key));
        }
        let current = self.user.secrets.require(name)?.clone();
        let chain = self.call_keys.others.get(name).cloned().unwrap_or_default();
        let res = callkey::rotate(
            &self.archive,
            &chain,
            &current,
            &self.signer(),
            &holders,
            leavers.clone(),
            revisions,
        );
        let leaver_names: Vec<String> = leavers
            .iter()
            .map(|u| self.name_of(u).unwrap_or_else(|| u.clone()))
            .collect();
        let epoch = match res {
            Ok((e, _)) => e,
            Err(e) => return self.refuse(Action::RotateArchiveKey, vec![name.to_string()], e),
        };
        self.read_other_keys()?;
        if self.call_keys.others.get(name).map(|c| c.current()) != Some(epoch) {
            return Err(Error::Archive {
                path: callkey::path_of(name, epoch),
                reason: "the epoch just written is not believed on reading it back".into(),
            });
        }
        self.audit(
            Action::RotateArchiveKey,
            "allowed",
            leavers,
            Some(format!(
                "{} epoch {epoch}; leavers: {}",
                callkey::what(name),
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
            holders: holders
                .iter()
                .map(|(u, _)| self.name_of(u).unwrap_or_else(|| u.clone()))
                .collect(),
        })
    }

    /// A disabled admin whose record an older Callvault wrote after the admin key epoch made at
    /// their leaving, signed with it and with a key bag that is not empty (before disabled
    /// accounts' bags were emptied; so holding that epoch): their uid. The next epoch shuts them
    /// out again. Read at logon before the upgrade run empties that bag.
    pub(super) fn admin_left_with_newest(&self) -> Option<String> {
        let current = self.call_keys.others.get("admin")?.current();
        if current == 0 {
            return None;
        }
        self.users
            .iter()
            .filter(|u| u.disabled && holds(&u.roles, "admin", self.archive.config.party_readers()))
            .find(|u| {
                matches!(crate::users::load_latest(&self.archive, &u.uid),
                    Ok(Some(r)) if !crate::users::keybag_is_empty(&r)
                        && r.admin_sig.as_ref().is_some_and(|s| s.epoch == current))
            })
            .map(|u| u.uid.clone())
    }

    /// At logon: rotate the metadata and audit keys this user holds if a holder left since their
    /// newest epoch (waiting at most 10 seconds for the maintenance lock, else at a later logon).
    /// `left_holding`: `admin_left_with_newest`, read before the upgrade run.
    pub(super) async fn rotate_others_if_leavers(
        &mut self,
        left_holding: Option<String>,
    ) -> Result<()> {
        for name in OTHERS {
            // An admin key epoch made by an older build names no user record's revisions, so it
            // requires no admin signature of any record (`users::cosign`): the next is made.
            let unnamed = name == "admin"
                && self
                    .call_keys
                    .others
                    .get(name)
                    .and_then(|c| c.epochs.last())
                    .is_some_and(|e| e.revisions.is_none());
            if self.user.secrets.get(name).is_none() || self.call_keys.rolled.contains_key(name) {
                continue;
            }
            let left_holding = if name == "admin" {
                left_holding.clone()
            } else {
                None
            };
            if self.key_leavers(name).is_empty() && !unnamed && left_holding.is_none() {
                continue;
            }
            let res = match &left_holding {
                Some(uid) => self.rotate_other(name, Some(uid)).await,
                None => self.rotate_archive_key(name).await,
            };
            match res {
                Ok(r) if r.leavers.is_empty() => self.warnings.push(format!(
                    "The archive's admin key was rotated (epoch {}) so that it names every user record's revision, which the epoch an older Callvault made did not: a record a former admin signs from now on is refused",
                    r.epoch
                )),
                Ok(r) => self.warnings.push(format!(
                    "The archive's {} was rotated (epoch {}) because {} no longer hold(s) it: what is written from now on is locked to the new key",
                    callkey::what(name),
                    r.epoch,
                    r.leavers.join(", ")
                )),
                Err(e) => self.warnings.push(format!(
                    "the {}'s rotation waits for a later logon: {e}",
                    callkey::what(name)
                )),
            }
        }
        Ok(())
    }

    /// Every rotating key this user holds: its newest epoch and who left it unanswered. Names
    /// users, so only for those who may list them (`user.list`); audited as that.
    pub fn key_states(&self) -> Result<Vec<KeyState>> {
        self.require(Action::ListUsers)?;
        self.audit(
            Action::ListUsers,
            "allowed",
            vec![],
            Some("archive keys".into()),
        )?;
        Ok(callkey::ROTATING
            .into_iter()
            .filter(|n| self.user.secrets.get(n).is_some())
            .map(|name| {
                let (epoch, leavers) = if name == "custodian" {
                    (self.call_keys.chain.current(), self.call_key_leavers())
                } else {
                    (
                        self.call_keys
                            .others
                            .get(name)
                            .map(|c| c.current())
                            .unwrap_or(0),
                        self.key_leavers(name),
                    )
                };
                KeyState {
                    key: name.into(),
                    what: callkey::what(name).into(),
                    epoch,
                    may_rotate: policy::may_rotate(
                        self.roles(),
                        name,
                        self.archive.config.party_readers(),
                    ),
                    leavers: leavers
                        .iter()
                        .map(|u| self.name_of(u).unwrap_or_else(|| u.clone()))
                        .collect(),
                }
            })
            .collect())
    }

    /// Make the next epoch of one rotating key by hand: `custodian` (the call key: its re-wrap
    /// follows apart), `metadata`, `audit` or `admin`. A holder who may list users (the report
    /// names the holders) only; audited either way. (A holder's logon still rotates for a
    /// leaver whatever their roles.)
    pub async fn rotate_key(&mut self, name: &str) -> Result<RotationReport> {
        // (One who does not hold the key is refused below, saying who may.)
        if policy::may_rotate(self.roles(), name, self.archive.config.party_readers()) {
            self.require(Action::ListUsers)?;
        }
        self.rotate_leaving(name, None).await
    }

    /// The next epoch of any rotating key (`custodian`: the call key), with `leaving` given none.
    async fn rotate_leaving(
        &mut self,
        name: &str,
        leaving: Option<&str>,
    ) -> Result<RotationReport> {
        if name == "custodian" {
            self.rotate_call_key_leaving(leaving).await
        } else {
            self.rotate_other(name, leaving).await
        }
    }
}
