//! The practice's recovery key through `Session` (docs/FORMAT.md, "The recovery key"): creating it
//! for an archive made before it existed (the data controller), resetting the password of a user
//! who holds call keys with it (an admin and the recovery code), and breaking the glass when no
//! admin can log on (the recovery code alone, for an admin's own account). Every use is audited
//! loudly: an audit entry naming it, a `k` logon marker, and a warning at the next logon of every
//! admin and data controller.

use super::*;
use crate::error::{Error, Result};
use crate::policy::{self, Action};
use crate::users::recovery;

/// How long after a use of the recovery key admins and the data controller are warned of it.
const WARN_DAYS: i64 = 30;

impl Session {
    /// Create the archive's recovery key (the data controller; an archive made before it existed)
    /// and return its recovery code, to be written down and kept offline: it is shown once. The
    /// next logon of an admin who holds call keys moves the escrow of every key holder to it.
    pub fn create_recovery_key(&self) -> Result<Password> {
        if let Err(e) = policy::decide(self.roles(), Action::CreateRecoveryKey) {
            return self.refuse(Action::CreateRecoveryKey, vec![], e);
        }
        let custodian = self.user.secrets.require("custodian")?;
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
    /// the practice's recovery code (an admin): their secret is escrowed to the recovery key, not
    /// the admin key. Audited loudly.
    pub async fn reset_password_with_recovery(
        &mut self,
        name: &str,
        new_password: &Password,
        code: &Password,
    ) -> Result<()> {
        self.reset_password_by(name, new_password, Some(code)).await
    }

    pub(super) async fn reset_password_by(
        &mut self,
        name: &str,
        new_password: &Password,
        code: Option<&Password>,
    ) -> Result<()> {
        self.require(Action::ResetPassword)?;
        if new_password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        let uid = users::uid_for(&self.archive, name)?;
        let Some(rec) = users::load_latest(&self.archive, &uid)? else {
            return Err(Error::NotFound(format!("user '{name}'")));
        };
        let seed = match code.map(|c| recovery::open(&self.archive, c)) {
            None => None,
            Some(Ok(seed)) => Some(seed),
            Some(Err(e)) => return self.refuse(Action::ResetPassword, vec![uid], e),
        };
        if users::escrowed_to_recovery(&rec) && seed.is_none() {
            return self.refuse(
                Action::ResetPassword,
                vec![uid],
                Error::Forbidden(format!(
                    "{name} holds call keys: their password is reset only with the practice's recovery code, kept by the data controller (`callvault user reset-password {name} --recovery`)"
                )),
            );
        }
        let rev = match users::reset_password(
            &self.archive,
            &self.user.secrets,
            &self.user.uid,
            &uid,
            new_password,
            seed.as_ref(),
        ) {
            Ok(rev) => rev,
            Err(e @ Error::Forbidden(_)) => {
                return self.refuse(Action::ResetPassword, vec![uid], e)
            }
            Err(e) => return Err(e),
        };
        let disabled = self.users.iter().any(|u| u.uid == uid && u.disabled);
        self.checkpoint_user(&uid, rev, disabled).await?;
        if seed.is_some() {
            users::mark(&self.archive, &uid, 'k')?;
            self.audit(
                Action::RecoverAccount,
                "allowed",
                vec![uid.clone()],
                Some("the practice's recovery key was used to reset this password".into()),
            )?;
        }
        self.audit(Action::ResetPassword, "allowed", vec![uid], None)
    }

    /// Break the glass: an admin who can no longer log on (a practice whose only admin forgot
    /// their password) sets a new password with the practice's recovery code, and is logged on.
    /// Only for an account whose key bag holds the archive's signing key (an admin's): anyone else
    /// is reset by an admin. Audited loudly, a wrong code too.
    pub async fn recover_account(
        root: &Path,
        data: &Path,
        name: &str,
        code: &Password,
        new_password: &Password,
    ) -> Result<Session> {
        if new_password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        let (archive, device, _) = device::open_in(root, data)?;
        let uid = users::uid_for(&archive, name)?;
        let refused = |e: Error| -> Error {
            let logged = audit::append(
                &archive,
                &device.id,
                &[entry(
                    &device.id,
                    &uid,
                    Action::RecoverAccount,
                    "refused",
                    vec![uid.clone()],
                    Some(e.to_string()),
                )],
                None,
            );
            logged.err().unwrap_or(e)
        };
        let rec = users::load_latest(&archive, &uid)?
            .ok_or_else(|| Error::NotFound(format!("user '{name}'")))?;
        let seed = recovery::open(&archive, code).map_err(refused)?;
        let nobody = users::ArchiveSecrets::default();
        let secret = users::open_escrow(&rec, &nobody, Some(&seed)).map_err(refused)?;
        let bag = users::open_keybag(&rec, &secret)?;
        if bag.get("signing").is_none() || bag.get("admin").is_none() {
            return Err(refused(Error::Forbidden(format!(
                "{name} is not an admin: an admin resets their password with the recovery code (`callvault user reset-password {name} --recovery`)"
            ))));
        }
        let rev = users::reset_password(&archive, &bag, &uid, &uid, new_password, Some(&seed))?;
        users::mark(&archive, &uid, 'k')?;
        drop(bag);
        let mut s = Session::logon_in(root, data, name, new_password).await?;
        s.checkpoint_user(&uid, rev, false).await?;
        s.audit(
            Action::RecoverAccount,
            "allowed",
            vec![uid],
            Some("the practice's recovery key was used to reset this admin's own password".into()),
        )?;
        Ok(s)
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
