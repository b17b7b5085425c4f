//! The practice's recovery key through `Session` (docs/FORMAT.md, "The recovery key"): creating it
//! for an archive made before it existed (the data controller), resetting the password of a user
//! who holds call keys with it (the data controller prepares it with the code, an admin signs it:
//! the code never reaches an admin's session), and breaking the glass at the logon screen. Every use is audited
//! loudly: an audit entry naming it, a `k` logon marker, and a warning at the next logon of every
//! admin and data controller.

use super::*;
use crate::error::{Error, Result};
use crate::policy::{self, Action};
use crate::users::recovery;

/// How long after a use of the recovery key admins and the data controller are warned of it.
const WARN_DAYS: i64 = 30;

impl Session {
    /// Does this archive have its recovery key (`recovery.json`)? For offering the data controller
    /// to create one; says nothing about anyone.
    pub fn has_recovery_key(&self) -> bool {
        recovery::exists(&self.archive)
    }

    /// Create the archive's recovery key (the data controller; an archive made before it existed)
    /// and return its recovery code, to be written down and kept offline: it is shown once. The
    /// next logon of an admin who holds call keys moves the escrow of every key holder to it.
    pub fn create_recovery_key(&self) -> Result<Password> {
        if let Err(e) = policy::decide(self.roles(), Action::CreateRecoveryKey) {
            return self.refuse(Action::CreateRecoveryKey, vec![], e);
        }
        let custodian = self.user.secrets.require("custodian")?;
        if !recovery::exists(&self.archive) && users::recovery_in_use(&self.archive) {
            // A new key would orphan the escrows made to the old one.
            return self.refuse(
                Action::CreateRecoveryKey,
                vec![],
                Error::tampered(
                    recovery::PATH,
                    "missing, though secrets are escrowed to it (removed from the share?): restore it from a backup; a new recovery key would leave them unopenable",
                ),
            );
        }
        match recovery::create(&self.archive, custodian) {
            Ok(code) => {
                self.audit(
                    Action::CreateRecoveryKey,
                    "allowed",
                    vec![],
                    Some("created the practice's recovery key".into()),
                )?;
                Ok(code)
            }
            Err(e) => self.refuse(Action::CreateRecoveryKey, vec![], e),
        }
    }

    /// Reset the password of a user who holds call keys (an approver or the data controller) with
    /// the practice's recovery code — the data controller, in her own session: their secret is
    /// escrowed to the recovery key, not the admin key. She prepares the reset (the secret sealed
    /// under the new password, signed by her); an admin signs the user's new record around it —
    /// at once if she is an admin too (returns true), else at an admin's next logon (false). The
    /// code never reaches an admin's session. Audited loudly.
    pub async fn reset_password_with_recovery(
        &mut self,
        name: &str,
        new_password: &Password,
        code: &Password,
    ) -> Result<bool> {
        let uid = users::uid_for(&self.archive, name)?;
        self.require_for(Action::RecoverAccount, std::slice::from_ref(&uid))?;
        if new_password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        // Only the practice's own recovery key (its tag checked with the call key) is opened.
        let seed = match self
            .user
            .secrets
            .require("custodian")
            .and_then(|_| {
                recovery::verified_public_any(&self.archive, &self.user.secrets.call_seeds())
            })
            .and_then(|_| recovery::open(&self.archive, code))
        {
            Ok(seed) => seed,
            Err(e) => return self.refuse(Action::RecoverAccount, vec![uid], e),
        };
        let Some(rec) = users::load_latest(&self.archive, &uid)? else {
            return Err(Error::NotFound(format!("user '{name}'")));
        };
        if !self.users.iter().any(|u| u.uid == uid) {
            return Err(Error::NotFound(format!("user '{name}'")));
        }
        if !users::escrowed_to_recovery(&rec) {
            return self.refuse(
                Action::RecoverAccount,
                vec![uid],
                Error::Invalid(format!(
                    "{name}'s secret is not escrowed to the recovery key: an admin resets their password without the code (someone who holds call keys in an archive from before the recovery key needs the next logon of an admin who holds them first)"
                )),
            );
        }
        let by = (self.user.uid.as_str(), &self.signing);
        if let Err(e) = users::reset::prepare(
            &self.archive,
            &rec,
            &seed,
            new_password,
            by,
            &self.user.secrets.call_seeds(),
        ) {
            return self.refuse(Action::RecoverAccount, vec![uid], e);
        }
        drop(seed);
        users::mark(&self.archive, &uid, 'k')?;
        self.audit(
            Action::RecoverAccount,
            "allowed",
            vec![uid.clone()],
            Some("the practice's recovery key was used to prepare a reset of this password".into()),
        )?;
        if self.user.secrets.get("signing").is_some() {
            let outcome = self.apply_prepared_resets().await?;
            return match outcome.into_iter().find(|(u, _)| *u == uid) {
                Some((_, Ok(()))) => Ok(true),
                Some((_, Err(why))) => Err(Error::Invalid(format!(
                    "the reset of {name}'s password was prepared but could not be completed: {why}"
                ))),
                None => Err(Error::Invalid(format!(
                    "the reset of {name}'s password was prepared but not found again on the share"
                ))),
            };
        }
        Ok(false)
    }

    pub(super) async fn reset_password_by(
        &mut self,
        name: &str,
        new_password: &Password,
    ) -> Result<()> {
        self.require(Action::ResetPassword)?;
        if new_password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        let uid = users::uid_for(&self.archive, name)?;
        let Some(rec) = users::load_latest(&self.archive, &uid)? else {
            return Err(Error::NotFound(format!("user '{name}'")));
        };
        if !self.users.iter().any(|u| u.uid == uid) {
            // Left out when read: rolled back, or keys other than the ones known.
            return Err(Error::NotFound(format!("user '{name}'")));
        }
        if users::escrowed_to_recovery(&rec) {
            return self.refuse(
                Action::ResetPassword,
                vec![uid],
                Error::Forbidden(format!(
                    "{name}'s secret is escrowed to the practice's recovery key (a supervisor, an approver, the data controller or an admin, now or before): their password is reset only with the practice's recovery code, by the data controller in her own session (`callvault user reset-password {name} --recovery`); an admin's next logon then completes it"
                )),
            );
        }
        let rev = match users::reset_password(
            &self.archive,
            &self.user.secrets,
            &self.user.uid,
            &uid,
            new_password,
            None,
        ) {
            Ok(rev) => rev,
            Err(e @ (Error::Forbidden(_) | Error::Tampered { .. })) => {
                return self.refuse(Action::ResetPassword, vec![uid], e)
            }
            Err(e) => return Err(e),
        };
        let disabled = self.users.iter().any(|u| u.uid == uid && u.disabled);
        self.checkpoint_user(&uid, rev, disabled).await?;
        self.audit(Action::ResetPassword, "allowed", vec![uid], None)
    }

    /// Sign the user records around the password resets the data controller prepared with the
    /// recovery code (an admin: at each logon, and at once in the session of one who is both).
    /// A prepared reset is believed only if signed by a current data controller or by the user
    /// themself (the break-glass of a key holder), for a current user and the record's current
    /// revision; any other is taken off the share. Refusals are named in one warning and one
    /// audit entry (anyone can plant files: at most `reset::MAX_PER_LOGON` are looked at).
    /// Returns each prepared reset's outcome by uid.
    pub(super) async fn apply_prepared_resets(
        &mut self,
    ) -> Result<Vec<(String, std::result::Result<(), String>)>> {
        if !policy::users::may_manage_users(self.roles())
            || self.user.secrets.get("signing").is_none()
        {
            return Ok(vec![]);
        }
        let (found, other) = match users::reset::list(&self.archive) {
            Ok(x) => x,
            Err(e) => {
                self.warnings
                    .push(format!("prepared password resets cannot be read: {e}"));
                return Ok(vec![]);
            }
        };
        if !other.is_empty() {
            self.warnings.push(format!(
                "unexpected files among prepared password resets, left alone: {}",
                other.join(", ")
            ));
        }
        let mut out = Vec::new();
        for (uid, p) in found {
            let outcome = match p {
                Ok(p) => self.apply_one_reset(&uid, &p).await,
                Err(e) => Err(e),
            };
            users::reset::remove(&self.archive, &uid);
            match outcome {
                Ok((rev, by)) => {
                    let disabled = self.users.iter().any(|u| u.uid == uid && u.disabled);
                    self.checkpoint_user(&uid, rev, disabled).await?;
                    users::mark(&self.archive, &uid, 'r')?;
                    self.audit(
                        Action::ResetPassword,
                        "allowed",
                        vec![uid.clone()],
                        Some(format!("prepared by {by} with the practice's recovery key")),
                    )?;
                    out.push((uid, Ok(())));
                }
                Err(e) => out.push((uid, Err(e.to_string()))),
            }
        }
        let refused: Vec<(String, String)> = out
            .iter()
            .filter_map(|(u, r)| r.as_ref().err().map(|e| (u.clone(), e.clone())))
            .collect();
        if !refused.is_empty() {
            let why: Vec<String> = refused.iter().map(|(u, e)| format!("{u}: {e}")).collect();
            self.warnings.push(format!(
                "{} prepared password reset(s) not applied, and taken off the share: {}",
                refused.len(),
                why.join("; ")
            ));
            self.audit(
                Action::ResetPassword,
                "refused",
                refused.into_iter().map(|(u, _)| u).collect(),
                Some(format!("prepared resets not applied: {}", why.join("; "))),
            )?;
        }
        if out.iter().any(|(_, r)| r.is_ok()) {
            self.reload_users().await?;
        }
        Ok(out)
    }

    /// Check one prepared reset and sign the record around it: the new revision and who prepared it.
    async fn apply_one_reset(
        &self,
        uid: &str,
        p: &users::reset::PreparedReset,
    ) -> Result<(u64, String)> {
        let by = self
            .users
            .iter()
            .find(|u| u.uid == p.body.by && !u.disabled)
            .filter(|u| policy::may_prepare_reset(&u.roles, u.uid == uid))
            .ok_or_else(|| {
                Error::tampered(
                    users::reset::path_of(uid),
                    "prepared by someone who is not the data controller",
                )
            })?;
        users::reset::check(&self.archive, uid, p, &by.signing_key)?;
        if !self.users.iter().any(|u| u.uid == uid) {
            return Err(Error::NotFound(format!("user {uid}")));
        }
        let rec = users::load_latest(&self.archive, uid)?
            .ok_or_else(|| Error::NotFound(format!("user {uid}")))?;
        let rev = users::reset::apply(
            &self.archive,
            &self.user.secrets,
            &self.user.uid,
            &rec,
            &p.body,
        )?;
        Ok((rev, by.name.clone()))
    }

    /// Break the glass at the logon screen, with the practice's recovery code: an admin who can no
    /// longer log on (a practice whose only admin forgot their password) sets a new password and
    /// is logged on (`Some`); anyone else whose secret is escrowed to the recovery key (an
    /// approver, the data controller) gets a reset prepared in their own name, which an admin's
    /// next logon completes (`None`). Audited loudly, a wrong code too; the code is checked
    /// before anything about the account is looked at.
    pub async fn recover_account(
        root: &Path,
        data: &Path,
        name: &str,
        code: &Password,
        new_password: &Password,
    ) -> Result<Option<Session>> {
        if new_password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        let (archive, device, _) = device::open_in(root, data)?;
        let uid = users::uid_for(&archive, name)?;
        // A refusal is unsigned (no one is logged on); a use is signed with the user's own key.
        let audit_as = |outcome: &str, why: String, by: Option<&Key32>| {
            audit::append(
                &archive,
                &device.id,
                &[entry(
                    &device.id,
                    &uid,
                    Action::RecoverAccount,
                    outcome,
                    vec![uid.clone()],
                    Some(why),
                )],
                by.map(|seed| Signer { uid: &uid, seed }).as_ref(),
            )
        };
        let refused =
            |e: Error| -> Error { audit_as("refused", e.to_string(), None).err().unwrap_or(e) };
        let seed = recovery::open(&archive, code).map_err(refused)?;
        let rec = users::load_latest(&archive, &uid)
            .map_err(refused)?
            .ok_or_else(|| refused(Error::NotFound(format!("user '{name}'"))))?;
        let nobody = users::ArchiveSecrets::default();
        let secret = users::open_escrow(&rec, &nobody, Some(&seed)).map_err(|_| {
            refused(Error::Forbidden(format!(
                "{name}'s secret is not escrowed to the recovery key: an admin resets their password"
            )))
        })?;
        let mut bag = users::open_keybag(&rec, &secret).map_err(refused)?;
        users::callkey::take_epochs_unverified(&archive, &uid, &secret, &mut bag);
        let profiles = if archive.config.party_readers() {
            users::ProfileKey::of(&archive, &bag).ok()
        } else {
            users::callkey::ring_unverified(&archive, "metadata", &rec.signed.uid, &secret, &bag)
                .ok()
                .map(users::ProfileKey::Metadata)
        };
        let admin = profiles
            .and_then(|m| users::read_profile(&rec, &m).ok())
            .is_some_and(|p| policy::users::may_manage_users(&p.roles))
            && bag.get("signing").is_some();
        if !admin {
            let signing = users::user_signing_seed(&secret);
            users::reset::prepare(&archive, &rec, &seed, new_password, (&uid, &signing), &[])
                .map_err(refused)?;
            users::mark(&archive, &uid, 'k')?;
            audit_as(
                "allowed",
                "the practice's recovery key was used to prepare a reset of this user's own password; an admin's next logon completes it".into(),
                Some(&signing),
            )?;
            return Ok(None);
        }
        let rev = users::reset_password(&archive, &bag, &uid, &uid, new_password, Some(&seed))
            .map_err(refused)?;
        users::mark(&archive, &uid, 'k')?;
        drop(bag);
        let mut s = match Session::logon_in(root, data, name, new_password).await {
            Ok(s) => s,
            Err(e) => return Err(refused(e)),
        };
        s.checkpoint_user(&uid, rev, false).await?;
        s.audit(
            Action::RecoverAccount,
            "allowed",
            vec![uid],
            Some("the practice's recovery key was used to reset this admin's own password".into()),
        )?;
        Ok(Some(s))
    }

    /// Warn an admin or the data controller, at every logon, while any key holder's secret is still
    /// escrowed to the admin key (an archive from before the recovery key, or no admin who holds
    /// call keys has logged on since to move it): an admin could become them.
    pub(super) fn misplaced_escrow_warning(&mut self) {
        let roles = self.roles();
        if !(policy::users::may_manage_users(roles) || policy::may_create_recovery_key(roles)) {
            return;
        }
        let Ok(m) = users::ProfileKey::of(&self.archive, &self.user.secrets) else {
            return;
        };
        let names: Vec<String> = self
            .users
            .iter()
            .filter(|u| users::escrow_misplaced(&self.archive, &m, &u.uid))
            .map(|u| u.name.clone())
            .collect();
        if names.is_empty() {
            return;
        }
        self.warnings.push(if recovery::exists(&self.archive) {
            format!(
                "The secrets of {} (who hold call keys, the metadata key or the admin key) are still escrowed to the admin key, so an admin could become them: they move to the recovery key at the next logon of an admin who is also an approver or the data controller.",
                names.join(", ")
            )
        } else {
            format!(
                "This archive has no recovery key: the secrets of {} (who hold call keys, the metadata key or the admin key) are still escrowed to the admin key, so an admin could become them. The data controller creates one (`callvault recovery create`) and keeps its code offline.",
                names.join(", ")
            )
        });
    }

    /// The warnings of an admin's or the data controller's logon about recent uses of the
    /// recovery key (`k` markers of the last [`WARN_DAYS`] days; anyone can write a marker, so the
    /// audit trail is the record, this the alarm).
    pub(super) fn recovery_warnings(&self) -> Vec<String> {
        let roles = self.roles();
        if !(policy::users::may_manage_users(roles) || policy::users::may_read_audit(roles)) {
            return vec![];
        }
        let now = Utc::now().timestamp_millis();
        let mut out = Vec::new();
        for u in &self.users {
            let Ok(names) = self.archive.list(&format!("auth/{}", u.uid)) else {
                continue;
            };
            // One warning per user: how many uses, and the latest.
            let uses: Vec<i64> = names
                .iter()
                .filter_map(|n| match users::parse_mark(n) {
                    Some(('k', ms))
                        if ms > now - WARN_DAYS * 86_400_000 && ms <= now + users::MARK_SKEW_MS =>
                    {
                        Some(ms)
                    }
                    _ => None,
                })
                .collect();
            let Some(&last) = uses.iter().max() else {
                continue;
            };
            let when = chrono::DateTime::from_timestamp_millis(last)
                .map(|t| {
                    t.with_timezone(&self.tz)
                        .format("%d/%m/%Y %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            let times = if uses.len() > 1 {
                format!(" ({} times in the last {WARN_DAYS} days)", uses.len())
            } else {
                String::new()
            };
            out.push(format!(
                "The practice's recovery key was used on {when} to reset the password of {}{times}. If that was not agreed, tell the data controller now.",
                u.name
            ));
        }
        out
    }
}
