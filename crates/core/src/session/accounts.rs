//! Users through `Session`: adding people and ingest identities, roles, telephony ids, disabling,
//! password resets, and reading every user record (with its keys) from the archive. Each change is
//! the admin's and is audited.

use super::*;
use crate::error::{Error, Result};
use crate::policy::{self, Action, Role};

impl Session {
    /// Read every user record (keys, roles) from the archive. A record older than the highest
    /// revision this computer has seen, or than an admin's journalled checkpoint, was rolled back
    /// (a newer version removed from the share, to undo a demotion or a disablement): that user
    /// is left out — their signature believed for nothing new, their roles counting for nothing —
    /// and named in a warning until an admin writes their record again.
    pub(super) async fn reload_users(&mut self) -> Result<()> {
        let profiles = users::ProfileKey::of(&self.archive, &self.user.secrets)?;
        let checkpoints = self.index.checkpointed_revs().await?;
        let named_keys = self.index.checkpointed_keys().await?;
        let mut seen = crate::device::seen_revisions(&self.device);
        let mut pins = crate::device::seen_keys(&self.device);
        let mut out = Vec::new();
        let mut rolled_back = Vec::new();
        for uid in users::list_uids(&self.archive)? {
            match users::load_latest(&self.archive, &uid).and_then(|r| {
                let r = r.ok_or_else(|| Error::NotFound(format!("user {uid}")))?;
                let p = users::read_profile(&r, &profiles)?;
                let key = |b64: &str| -> Result<[u8; 32]> {
                    crypto::unb64(b64, "user record")?
                        .try_into()
                        .map_err(|_| Error::tampered(format!("users/{uid}"), "key length"))
                };
                let pin = crate::device::key_pin(&r.signed.public_key, &r.signed.signing_key);
                Ok((
                    (r.signed.rev, r.signed.given),
                    p,
                    key(&r.signed.public_key)?,
                    key(&r.signed.signing_key)?,
                    pin,
                ))
            }) {
                Ok(((rev, given), p, pk, sk, pin)) => {
                    if pins.get(&uid).is_some_and(|k| *k != pin) {
                        self.warn_once(format!(
                            "users/{uid}: this user's keys changed since this computer first saw them (a record forged with the archive's signing key?); this user is refused here. Tell the data controller"
                        ));
                        continue;
                    }
                    if named_keys
                        .get(&uid)
                        .is_some_and(|ks| ks.iter().any(|k| *k != pin))
                    {
                        self.warn_once(format!(
                            "users/{uid}: this user's keys are not those an admin's checkpoint in the journal names (a record forged with the archive's signing key?); this user is refused. Tell the data controller"
                        ));
                        continue;
                    }
                    pins.insert(uid.clone(), pin);
                    let known = seen
                        .get(&uid)
                        .copied()
                        .max(checkpoints.get(&uid).copied())
                        .unwrap_or(0);
                    if rev < known {
                        rolled_back.push(uid.clone());
                        self.warn_once(format!(
                            "users/{uid}: rolled back to revision {rev} though revision {known} was seen (a newer record was removed from the share); this user is refused until the removed record is put back from a backup, or an admin saves their account again (not possible where an admin key epoch names the removed revision)"
                        ));
                        continue;
                    }
                    seen.insert(uid.clone(), rev);
                    out.push(UserSummary {
                        name: p.name,
                        roles: p.roles,
                        telephony_ids: p.telephony_ids,
                        disabled: p.disabled,
                        uid,
                        public_key: pk,
                        signing_key: sk,
                        given,
                    })
                }
                Err(e) => self.warn_once(e.to_string()),
            }
        }
        crate::device::remember_revisions(&self.device, &seen)?;
        crate::device::remember_keys(&self.device, &pins)?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        self.users = out;
        Ok(())
    }

    /// Add a user. Only an admin may, and only granting archive keys the admin holds.
    pub async fn add_user(
        &mut self,
        name: &str,
        roles: &[Role],
        telephony_ids: &[String],
        password: &Password,
    ) -> Result<()> {
        self.add_user_keyed(name, roles, telephony_ids, password)
            .await
            .map(|_| ())
    }

    /// Create an ingest identity (role `ingest` only) and return its secret, for an ingest profile.
    pub async fn add_ingest_user(&mut self, name: &str, password: &Password) -> Result<Key32> {
        self.add_user_keyed(name, &policy::users::INGEST_ROLES, &[], password)
            .await
    }

    /// The upgrade run of an admin's logon: user records written before format 2 are signed again
    /// with their password sealing and the archive identity bound, each as a new revision,
    /// checkpointed. Returns how many were upgraded; one that cannot be (this admin does not hold
    /// the keys of its roles) is named in a warning and left as it is.
    pub(super) async fn upgrade_user_records(&mut self) -> Result<usize> {
        if !policy::users::may_manage_users(self.roles()) {
            return Ok(0);
        }
        let stale = |s: &Self| {
            s.users
                .iter()
                .filter(|u| {
                    users::needs_upgrade(&s.archive, &u.uid)
                        || users::over_granted(&s.archive, &s.user.secrets, &u.uid)
                        || users::unvouched(&s.archive, &s.user.secrets, &u.uid)
                        || users::reader_unvouched(&s.archive, &s.user.secrets, &u.uid)
                        || s.user.secrets.get("custodian").is_some()
                            && crate::users::recovery::exists(&s.archive)
                            && users::ProfileKey::of(&s.archive, &s.user.secrets)
                                .is_ok_and(|m| users::escrow_misplaced(&s.archive, &m, &u.uid))
                })
                .map(|u| (u.uid.clone(), u.disabled))
                .collect::<Vec<_>>()
        };
        if self.index.legacy_heads_to_record().await?.is_none() && stale(self).is_empty() {
            return Ok(0);
        }
        // Under the maintenance lock, so two admins logging on at once upgrade once; if another
        // computer holds it (a deletion run), the upgrade waits for a later logon.
        let archive = self.archive.clone();
        let lock = match crate::retention::lock::acquire(
            &archive,
            &self.device.id,
            &self.user.uid,
            chrono::Duration::minutes(5),
            std::time::Duration::from_secs(10),
        ) {
            Ok(l) => l,
            Err(e) => {
                self.warnings.push(format!(
                    "the archive's upgrade to format 2 waits for a later logon: {e}"
                ));
                return Ok(0);
            }
        };
        // Another admin may have upgraded while this one waited.
        self.sync_index().await?;
        // The journal segments written before format 2, so compacted generations of them (which
        // carry no entry signatures) are believed there and nowhere else.
        if let Some(legacy) = self.index.legacy_heads_to_record().await? {
            let f = journal::FormatUpgrade {
                legacy,
                by: self.user.uid.clone(),
                at: now_rfc3339_ms(),
            };
            self.journal(vec![JournalEntry::FormatUpgrade(Box::new(f))])
                .await?;
        }
        let mut n = 0;
        for (uid, disabled) in stale(self) {
            lock.check()?;
            // Each of `stale` is among the users read, so its keys are the ones known here.
            match users::upgrade_record(&self.archive, &self.user.secrets, &self.user.uid, &uid) {
                Ok(Some(rev)) => {
                    self.checkpoint_user(&uid, rev, disabled).await?;
                    n += 1;
                }
                Ok(None) => {}
                Err(e) => self
                    .warnings
                    .push(format!("users/{uid}: not upgraded ({e})")),
            }
        }
        drop(lock);
        if n > 0 {
            self.audit(
                Action::UpdateUser,
                "allowed",
                vec![],
                Some(format!("upgraded {n} user records to archive format 2")),
            )?;
            self.reload_users().await?;
        }
        Ok(n)
    }

    /// Name the keys of every current user whose keys no checkpoint names yet (users made before
    /// checkpoints named keys), in one journal write of checkpoints at their current revisions
    /// (an admin's logon), so a computer new to the archive refuses a record with other keys.
    /// A disabled user is left out (a checkpoint of them would move their disablement's point).
    pub(super) async fn name_user_keys(&mut self) -> Result<usize> {
        if !policy::users::may_manage_users(self.roles()) {
            return Ok(0);
        }
        let named = self.index.checkpointed_keys().await?;
        let mut entries = Vec::new();
        for u in self
            .users
            .iter()
            .filter(|u| !u.disabled && !named.contains_key(&u.uid))
        {
            let Ok(Some(rec)) = users::load_latest(&self.archive, &u.uid) else {
                continue;
            };
            let keys =
                crate::device::key_pin(&crypto::b64(&u.public_key), &crypto::b64(&u.signing_key));
            if crate::device::key_pin(&rec.signed.public_key, &rec.signed.signing_key) != keys {
                continue;
            }
            entries.push(JournalEntry::UserCheckpoint(Box::new(
                journal::UserCheckpoint {
                    uid: u.uid.clone(),
                    rev: rec.signed.rev,
                    disabled: false,
                    heads: Default::default(),
                    keys: Some(keys),
                    by: self.user.uid.clone(),
                    at: now_rfc3339_ms(),
                },
            )));
        }
        let n = entries.len();
        if n > 0 {
            self.journal(entries).await?;
        }
        Ok(n)
    }

    /// Journal a user record's new revision (admin), so every device — a new one too — refuses a
    /// rollback of it; for a disablement with the journal heads read so far, beyond which what the
    /// disabled user signs is refused.
    pub(super) async fn checkpoint_user(
        &mut self,
        uid: &str,
        rev: u64,
        disabled: bool,
    ) -> Result<()> {
        let heads = if disabled {
            self.sync_index().await?;
            self.index.journal_heads().await?
        } else {
            Default::default()
        };
        // The keys this session read (pinned and checked), never a record swapped in since.
        let on_share = users::load_latest(&self.archive, uid)?
            .map(|r| crate::device::key_pin(&r.signed.public_key, &r.signed.signing_key));
        let keys = match self.users.iter().find(|u| u.uid == uid) {
            Some(u) => {
                let known = crate::device::key_pin(
                    &crypto::b64(&u.public_key),
                    &crypto::b64(&u.signing_key),
                );
                if on_share.as_ref().is_some_and(|k| *k != known) {
                    return Err(Error::tampered(
                        format!("users/{uid}"),
                        "this user's record on the share has other keys than the ones read at logon (replaced?); not checkpointed",
                    ));
                }
                Some(known)
            }
            None => on_share,
        };
        let c = journal::UserCheckpoint {
            uid: uid.to_string(),
            rev,
            disabled,
            heads,
            keys,
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
        };
        self.journal(vec![JournalEntry::UserCheckpoint(Box::new(c))])
            .await
    }

    /// The users as an ingest machine needs them: public keys and telephony identities.
    pub fn profile_users(&self) -> Vec<crate::ingest::unattended::ProfileUser> {
        self.users
            .iter()
            .filter(|u| {
                !u.disabled && !u.roles.is_empty() && !policy::users::is_ingest_only(&u.roles)
            })
            .map(|u| crate::ingest::unattended::ProfileUser {
                uid: u.uid.clone(),
                name: u.name.clone(),
                telephony_ids: u.telephony_ids.clone(),
                public_key: crypto::b64(&u.public_key),
            })
            .collect()
    }

    pub(super) async fn add_user_keyed(
        &mut self,
        name: &str,
        roles: &[Role],
        telephony_ids: &[String],
        password: &Password,
    ) -> Result<Key32> {
        self.require(Action::AddUser)?;
        users::check_name(name)?;
        if password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        let uid = users::uid_for(&self.archive, name)?;
        if users::load_latest(&self.archive, &uid)?.is_some() {
            return Err(Error::Invalid(format!("user '{name}' already exists")));
        }
        for t in telephony_ids {
            if let Some(other) = self.resolve_staff(t) {
                return Err(Error::Invalid(format!(
                    "telephony identity '{t}' already maps to {}",
                    other.name
                )));
            }
        }
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let profile = Profile {
            name: name.trim().to_string(),
            roles,
            telephony_ids: telephony_ids.iter().map(|t| t.trim().to_string()).collect(),
            disabled: false,
        };
        if let Err(e) = self
            .user
            .secrets
            .may_grant(&profile, self.archive.config.party_readers())
        {
            return self.refuse(Action::AddUser, vec![uid], e);
        }
        let secret = Key32::random();
        users::write_user(
            &self.archive,
            &self.user.secrets,
            Some(&self.user.uid),
            &uid,
            &secret,
            &profile,
            password,
            1,
        )?;
        self.checkpoint_user(&uid, 1, false).await?;
        let roles: Vec<&str> = profile.roles.iter().map(|r| r.as_str()).collect();
        self.audit(
            Action::AddUser,
            "allowed",
            vec![uid],
            Some(format!("roles {}", roles.join(","))),
        )?;
        self.reload_users().await?;
        Ok(secret)
    }

    /// Reset another user's password (admin), without knowing the old one: only for a user who
    /// holds no call key (a key holder's needs the recovery code: `reset_password_with_recovery`).
    pub async fn reset_password(&mut self, name: &str, new_password: &Password) -> Result<()> {
        self.reset_password_by(name, new_password).await
    }

    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        self.require(Action::ListUsers)?;
        self.audit(Action::ListUsers, "allowed", vec![], None)?;
        Ok(self.users.clone())
    }

    /// Change a user's roles (admin; only granting keys the admin holds).
    pub async fn set_roles(&mut self, name: &str, roles: &[Role]) -> Result<()> {
        self.require(Action::SetRoles)?;
        let uid = crate::users::uid_for(&self.archive, name)?;
        let Some(u) = self.users.iter().find(|u| u.uid == uid).cloned() else {
            return Err(Error::NotFound(format!("user '{name}'")));
        };
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let profile = crate::users::Profile {
            name: u.name.clone(),
            roles: roles.clone(),
            telephony_ids: u.telephony_ids.clone(),
            disabled: u.disabled,
        };
        // The roles' keys, disabled or not: a role that holds call keys is granted only by
        // someone who holds them, even to an account that is disabled for now.
        let granting = crate::users::Profile {
            disabled: false,
            ..profile.clone()
        };
        if let Err(e) = self
            .user
            .secrets
            .may_grant(&granting, self.archive.config.party_readers())
        {
            return self.refuse(Action::SetRoles, vec![uid], e);
        }
        let own = self.rotate_before_leaving(&u, &profile).await;
        let rev = crate::users::update_profile(
            &self.archive,
            &self.user.secrets,
            &self.user.uid,
            &uid,
            &profile,
            &u.roles,
        )?;
        self.checkpoint_user(&uid, rev, profile.disabled).await?;
        self.rotate_after_stepping_down(own).await;
        let from: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
        let to: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        self.audit(
            Action::SetRoles,
            "allowed",
            vec![uid],
            Some(format!("roles {} -> {}", from.join(","), to.join(","))),
        )?;
        self.reload_users().await
    }

    /// Change a user's telephony identities and/or disable or re-enable the account (admin). A
    /// disabled user cannot log on; their calls, requests and audit entries stay. An admin cannot
    /// disable their own account (someone must be left to re-enable it). Each change is audited.
    pub async fn update_user(
        &mut self,
        name: &str,
        telephony_ids: Option<&[String]>,
        disabled: Option<bool>,
    ) -> Result<()> {
        self.require(Action::UpdateUser)?;
        let uid = crate::users::uid_for(&self.archive, name)?;
        let Some(u) = self.users.iter().find(|u| u.uid == uid).cloned() else {
            return Err(Error::NotFound(format!("user '{name}'")));
        };
        if disabled == Some(true) && uid == self.user.uid {
            return self.refuse(
                Action::UpdateUser,
                vec![uid],
                Error::Forbidden("you cannot disable your own account".into()),
            );
        }
        let mut ids = u.telephony_ids.clone();
        if let Some(t) = telephony_ids {
            ids = Vec::new();
            for t in t.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
                if t.chars().count() > 64 || t.chars().any(char::is_control) {
                    return Err(Error::Invalid(format!(
                        "telephony identity '{}': use up to 64 printable characters",
                        t.chars().take(64).collect::<String>()
                    )));
                }
                let clash = self.users.iter().find(|o| {
                    o.uid != uid
                        && (o.name.eq_ignore_ascii_case(t)
                            || o.telephony_ids.iter().any(|x| x.eq_ignore_ascii_case(t)))
                });
                if let Some(o) = clash {
                    return Err(Error::Invalid(format!(
                        "telephony identity '{t}' already maps to {}",
                        o.name
                    )));
                }
                if !ids.iter().any(|x: &String| x.eq_ignore_ascii_case(t)) {
                    ids.push(t.to_string());
                }
            }
        }
        let profile = crate::users::Profile {
            name: u.name.clone(),
            roles: u.roles.clone(),
            telephony_ids: ids.clone(),
            disabled: disabled.unwrap_or(u.disabled),
        };
        if profile.telephony_ids == u.telephony_ids && profile.disabled == u.disabled {
            return Ok(());
        }
        if let Err(e) = self
            .user
            .secrets
            .may_grant(&profile, self.archive.config.party_readers())
        {
            return self.refuse(Action::UpdateUser, vec![uid], e);
        }
        let own = self.rotate_before_leaving(&u, &profile).await;
        let rev = crate::users::update_profile(
            &self.archive,
            &self.user.secrets,
            &self.user.uid,
            &uid,
            &profile,
            &u.roles,
        )?;
        self.checkpoint_user(&uid, rev, profile.disabled).await?;
        self.rotate_after_stepping_down(own).await;
        let mut what = Vec::new();
        if profile.telephony_ids != u.telephony_ids {
            what.push(format!(
                "telephony ids {} -> {}",
                u.telephony_ids.join(","),
                profile.telephony_ids.join(",")
            ));
        }
        if profile.disabled != u.disabled {
            what.push(
                if profile.disabled {
                    "disabled"
                } else {
                    "enabled"
                }
                .to_string(),
            );
        }
        self.audit(
            Action::UpdateUser,
            "allowed",
            vec![uid],
            Some(what.join("; ")),
        )?;
        self.reload_users().await
    }

    /// The name of a user id, for showing audit entries.
    pub fn user_name_of(&self, uid: &str) -> Option<String> {
        self.name_of(uid)
    }
}
