//! `Session`: the only way to act on an archive. It knows who is logged on, checks every rule
//! through `policy` before acting, and writes every decision — allowed or refused — to the audit trail.

mod access;
mod export;
pub mod ingest;
mod listen;
pub mod overview;
mod retention;

pub use access::{audit_csv, AuditFilter, Grant, RequestView};
pub use export::SarOptions;
pub use listen::Waveform;

use crate::archive::audio::{self, DecryptingReader};
use crate::archive::journal::{self, Direction, JournalEntry, RecordingMeta};
use crate::archive::{self, Archive, ArchiveConfig, PublicKeys, Signer, SignerKeys};
use crate::audit::{self, AuditEntry, AuditReport, Problem};
use crate::crypto::{self, KdfParams};
use crate::device::{self, Device};
use crate::error::{Error, Result};
use crate::index::{self, Index, SyncReport};
use crate::ingest::{csv_manifest, CallSource, Duplicate, ImportReport, Imported, Rejected};
use crate::phone;
use crate::policy::{self, Action, Role, Scope};
use crate::secret::{Key32, Password};
use crate::time;
use crate::users::{self, ArchiveSecrets, Profile, UnlockedUser};
use chrono::Utc;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Journal entries per segment when importing.
const SEGMENT_ENTRIES: usize = 256;

/// A user as others see them (no keys).
#[derive(Clone, Debug, Serialize)]
pub struct UserSummary {
    pub name: String,
    pub roles: Vec<Role>,
    pub telephony_ids: Vec<String>,
    pub disabled: bool,
    #[serde(skip)]
    pub uid: String,
    #[serde(skip)]
    pub public_key: [u8; 32],
    #[serde(skip)]
    pub signing_key: [u8; 32],
}

/// A recording as shown to a user who may see it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecordingView {
    pub id: String,
    pub started_at: String,
    pub direction: Direction,
    /// The mapped staff user's name, or None when unassigned.
    pub staff: Option<String>,
    pub extension: Option<String>,
    pub external_number: Option<String>,
    pub parties: Vec<String>,
    pub duration_s: f64,
    pub notes: Option<String>,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub source_name: String,
    /// A consent mark, e.g. "caller objected; recording stopped at 01:12".
    pub consent: Option<String>,
}

/// Search criteria as a person gives them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub number: Option<String>,
    pub staff: Option<String>,
    pub party: Option<String>,
    pub direction: Option<String>,
    pub min_duration_s: Option<f64>,
    pub max_duration_s: Option<f64>,
    pub text: Option<String>,
    pub limit: Option<i64>,
}

/// What `verify` found.
#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub objects_checked: usize,
    pub recordings_checked: usize,
    /// Recordings whose every audio segment was decrypted and authenticated (needs the custodian key).
    pub recordings_decrypted: usize,
    /// Audio objects no journal entry refers to (e.g. left by an interrupted import): not trusted, not shown.
    pub unreferenced: Vec<String>,
    /// Older generations of compacted journal segments (left by an interrupted erasure): ignored by
    /// readers, removed by the next deletion run.
    pub superseded: Vec<String>,
    pub problems: Vec<Problem>,
}

/// What `init` made.
#[derive(Debug, Serialize)]
pub struct InitReport {
    pub archive_id: String,
    pub kdf: KdfParams,
    pub kdf_measured_ms: u64,
}

/// How costly password hashing should be at `init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KdfChoice {
    /// Calibrated on this machine to about half a second.
    Calibrated,
    /// Cheap, for tests only (recorded in the archive like any other choice).
    Fast,
}

fn now_rfc3339_ms() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn entry(
    device: &str,
    actor: &str,
    action: Action,
    outcome: &str,
    targets: Vec<String>,
    detail: Option<String>,
) -> AuditEntry {
    AuditEntry {
        at: now_rfc3339_ms(),
        device: device.to_string(),
        actor: Some(actor.to_string()),
        action: action.as_str().to_string(),
        outcome: outcome.to_string(),
        targets,
        detail,
        request: None,
        witness: vec![],
    }
}

/// Create a new archive at `root` with its keys and its first user (roles admin and data-controller).
pub async fn init(
    root: &Path,
    admin: &str,
    password: &Password,
    kdf: KdfChoice,
) -> Result<InitReport> {
    init_in(root, &device::data_root()?, admin, password, kdf).await
}

/// As `init`, with an explicit app-data folder for this device.
pub async fn init_in(
    root: &Path,
    data: &Path,
    admin: &str,
    password: &Password,
    kdf: KdfChoice,
) -> Result<InitReport> {
    users::check_name(admin)?;
    if password.expose().chars().count() < 8 {
        return Err(Error::Invalid("password: use at least 8 characters".into()));
    }
    let secrets = ArchiveSecrets::generate();
    let (params, ms) = match kdf {
        KdfChoice::Calibrated => KdfParams::calibrate(500),
        KdfChoice::Fast => (KdfParams::FAST, 0),
    };
    let pk = |n: &str| crypto::b64(&crypto::x25519_public(secrets.get(n).expect("generated")));
    let config = ArchiveConfig {
        format: "callvault-archive".into(),
        v: archive::FORMAT_VERSION,
        id: crypto::new_id(),
        created_at: time::rfc3339(Utc::now()),
        keys: PublicKeys {
            metadata: pk("metadata"),
            custodian: pk("custodian"),
            audit: pk("audit"),
            admin: pk("admin"),
            signing: crypto::b64(&crypto::ed25519_public(
                secrets.get("signing").expect("generated"),
            )),
        },
        kdf: params,
        kdf_measured_ms: ms as u64,
        user_salt: crypto::b64(&crypto::random_array::<16>()),
        segment_size: 65536,
        timezone: "Europe/London".into(),
    };
    let archive = archive::create_config(root, &config)?;
    let uid = users::uid_for(&archive, admin)?;
    let profile = Profile {
        name: admin.trim().to_string(),
        roles: policy::users::FOUNDER_ROLES.to_vec(),
        telephony_ids: vec![],
        disabled: false,
    };
    let secret = Key32::random();
    users::write_user(
        &archive, &secrets, None, &uid, &secret, &profile, password, 1,
    )?;
    let (archive, device, _) = device::open_in(root, data)?;
    let seed = users::user_signing_seed(&secret);
    audit::append(
        &archive,
        &device.id,
        &[entry(
            &device.id,
            &uid,
            Action::InitArchive,
            "allowed",
            vec![archive.config.id.clone()],
            None,
        )],
        Some(&Signer {
            uid: &uid,
            seed: &seed,
        }),
    )?;
    Ok(InitReport {
        archive_id: archive.config.id,
        kdf: params,
        kdf_measured_ms: ms as u64,
    })
}

/// A logged-on user's session over one archive.
pub struct Session {
    archive: Archive,
    device: Device,
    user: UnlockedUser,
    /// The user's Ed25519 signing seed: signs what this session writes to journals and the audit trail.
    signing: Key32,
    index: Index,
    users: Vec<UserSummary>,
    tz: chrono_tz::Tz,
    /// The data controller chose to re-import audio that was erased.
    allow_erased: bool,
    /// Things the user should be told (e.g. a damaged journal segment found while syncing).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.uid)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Log on: the only way to act. Five failed logons within 15 minutes, counted across every
    /// device, lock the account for 15 minutes. Every attempt is audited.
    pub async fn logon(root: &Path, name: &str, password: &Password) -> Result<Session> {
        Self::logon_in(root, &device::data_root()?, name, password).await
    }

    /// As `logon`, with an explicit app-data folder for this device.
    pub async fn logon_in(
        root: &Path,
        data: &Path,
        name: &str,
        password: &Password,
    ) -> Result<Session> {
        Self::logon_with_progress(root, data, name, password, None).await
    }

    /// As `logon_in`, telling `progress` how the local index's catch-up with the archive's journal
    /// goes (long on a new device over a large archive), then at each later catch-up.
    pub async fn logon_with_progress(
        root: &Path,
        data: &Path,
        name: &str,
        password: &Password,
        progress: Option<index::Progress>,
    ) -> Result<Session> {
        let (archive, device, warnings) = device::open_in(root, data)?;
        let uid = users::uid_for(&archive, name)?;
        let audit_now = |action: Action, outcome: &str, detail: Option<String>| {
            audit::append(
                &archive,
                &device.id,
                &[entry(&device.id, &uid, action, outcome, vec![], detail)],
                None,
            )
        };
        let rec = match users::load_latest(&archive, &uid) {
            Ok(Some(r)) => r,
            Ok(None) => {
                // No such user: the same work and the same answers as a wrong password (the lockout
                // count, the KDF at the archive's cost, a failure marker), so neither the time taken
                // nor a lockout tells whether the name exists.
                let now = Utc::now().timestamp_millis();
                if let Some(until) = users::locked_until(&archive, &uid, now)? {
                    audit_now(Action::Logon, "refused", Some("account locked".into()))?;
                    return Err(Error::Locked {
                        until: locked_text(until, &archive),
                    });
                }
                users::unlock_nobody(&archive, &uid, password);
                users::mark(&archive, &uid, 'f')?;
                audit_now(Action::Logon, "failed", Some("no such user".into()))?;
                if let Some(until) =
                    users::locked_until(&archive, &uid, Utc::now().timestamp_millis())?
                {
                    audit_now(
                        Action::AccountLock,
                        "locked",
                        Some(format!("{} failed logons", users::LOCKOUT_FAILURES)),
                    )?;
                    return Err(Error::Locked {
                        until: locked_text(until, &archive),
                    });
                }
                return Err(Error::BadLogon);
            }
            Err(e) => {
                audit_now(Action::Logon, "failed", Some(format!("user record: {e}")))?;
                return Err(e);
            }
        };
        let now = Utc::now().timestamp_millis();
        if let Some(until) = users::locked_until(&archive, &uid, now)? {
            audit_now(Action::Logon, "refused", Some("account locked".into()))?;
            return Err(Error::Locked {
                until: locked_text(until, &archive),
            });
        }
        let user = match users::unlock(&rec, password) {
            Ok(u) => u,
            Err(Error::BadLogon) => {
                users::mark(&archive, &uid, 'f')?;
                audit_now(Action::Logon, "failed", Some("wrong password".into()))?;
                if let Some(until) =
                    users::locked_until(&archive, &uid, Utc::now().timestamp_millis())?
                {
                    audit_now(
                        Action::AccountLock,
                        "locked",
                        Some(format!("{} failed logons", users::LOCKOUT_FAILURES)),
                    )?;
                    return Err(Error::Locked {
                        until: locked_text(until, &archive),
                    });
                }
                return Err(Error::BadLogon);
            }
            Err(e) => {
                audit_now(Action::Logon, "failed", Some(e.to_string()))?;
                return Err(e);
            }
        };
        if user.profile.disabled {
            audit_now(Action::Logon, "refused", Some("account disabled".into()))?;
            return Err(Error::Forbidden("this account is disabled".into()));
        }
        users::mark(&archive, &uid, 's')?;
        let metadata = user.secrets.require("metadata")?.clone();
        let mut index = Index::open(&device.dir, &metadata, &device.id).await?;
        index.set_progress(progress);
        let tz = time::zone(&archive.config.timezone)?;
        let signing = users::user_signing_seed(&user.secret);
        let mut s = Session {
            archive,
            device,
            user,
            signing,
            index,
            users: vec![],
            tz,
            allow_erased: false,
            warnings,
        };
        let mut logon = entry(
            &s.device.id,
            &s.user.uid,
            Action::Logon,
            "allowed",
            vec![],
            None,
        );
        logon.witness = audit::heads(&s.archive, &s.device.id)?;
        audit::append(&s.archive, &s.device.id, &[logon], Some(&s.signer()))?;
        s.reload_users()?;
        let sync = s
            .index
            .sync(&s.archive, &metadata, &s.signer_keys(), &s.signer_roles())
            .await?;
        s.warnings.extend(
            sync.problems
                .iter()
                .map(|p| format!("{}: {}", p.object, p.reason)),
        );
        Ok(s)
    }

    /// Close the local index cleanly.
    pub async fn close(self) {
        self.index.close().await;
    }

    pub fn user_name(&self) -> &str {
        &self.user.profile.name
    }

    pub fn roles(&self) -> &[Role] {
        &self.user.profile.roles
    }

    /// This user's own preference on this device (e.g. the app's remembered search criteria), kept
    /// in the encrypted local index. Keys are the caller's; values at most 64 KiB.
    pub async fn preference(&self, key: &str) -> Result<Option<String>> {
        self.index.preference(&self.user.uid, key).await
    }

    /// Remember (or with `None`, forget) one of this user's preferences on this device.
    pub async fn set_preference(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        if key.is_empty() || key.len() > 64 {
            return Err(Error::Invalid(format!(
                "preference name {key:?}: 1 to 64 characters"
            )));
        }
        if value.is_some_and(|v| v.len() > 64 * 1024) {
            return Err(Error::Invalid(format!(
                "preference {key}: more than 64 KiB"
            )));
        }
        self.index.set_preference(&self.user.uid, key, value).await
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    pub fn device_id(&self) -> &str {
        &self.device.id
    }

    fn reload_users(&mut self) -> Result<()> {
        let metadata = self.user.secrets.require("metadata")?;
        let mut out = Vec::new();
        for uid in users::list_uids(&self.archive)? {
            match users::load_latest(&self.archive, &uid).and_then(|r| {
                let r = r.ok_or_else(|| Error::NotFound(format!("user {uid}")))?;
                let p = users::read_profile(&r, metadata)?;
                let key = |b64: &str| -> Result<[u8; 32]> {
                    crypto::unb64(b64, "user record")?
                        .try_into()
                        .map_err(|_| Error::tampered(format!("users/{uid}"), "key length"))
                };
                Ok((p, key(&r.signed.public_key)?, key(&r.signed.signing_key)?))
            }) {
                Ok((p, pk, sk)) => out.push(UserSummary {
                    name: p.name,
                    roles: p.roles,
                    telephony_ids: p.telephony_ids,
                    disabled: p.disabled,
                    uid,
                    public_key: pk,
                    signing_key: sk,
                }),
                Err(e) => {
                    let w = e.to_string();
                    if !self.warnings.contains(&w) {
                        self.warnings.push(w);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        self.users = out;
        Ok(())
    }

    fn signer(&self) -> Signer<'_> {
        Signer {
            uid: &self.user.uid,
            seed: &self.signing,
        }
    }

    /// What each signer may write: maintainers (supervisors, data controllers) compact journals;
    /// ingest-only identities only add recordings.
    pub fn signer_roles(&self) -> index::SignerRoles {
        index::SignerRoles {
            maintainers: self
                .users
                .iter()
                .filter(|u| policy::users::may_maintain_journals(&u.roles))
                .map(|u| u.uid.clone())
                .collect(),
            ingest_only: self
                .users
                .iter()
                .filter(|u| policy::users::is_ingest_only(&u.roles))
                .map(|u| u.uid.clone())
                .collect(),
        }
    }

    /// Catch up with what other computers wrote since logon (or the last refresh): new users and
    /// role changes, and new journal segments (imports, requests, decisions, holds, deletions).
    /// Returns how many journal segments were applied. If this user's own account was disabled
    /// meanwhile, the session must end: that is an error. Roles taken away elsewhere take effect
    /// now; roles added take effect at the next logon (their keys come with it).
    pub async fn refresh(&mut self) -> Result<usize> {
        self.reload_users()?;
        let why = match self.users.iter().find(|u| u.uid == self.user.uid) {
            Some(me) if me.disabled => Some("this account has been disabled"),
            Some(me) => {
                let now = me.roles.clone();
                self.user.profile.roles.retain(|r| now.contains(r));
                None
            }
            // Unreadable or gone: not a reason to carry on with the roles of the logon.
            None => Some("this account's user record can no longer be read"),
        };
        if let Some(why) = why {
            self.audit(Action::SessionEnd, "refused", vec![], Some(why.to_string()))?;
            return Err(Error::Forbidden(why.into()));
        }
        let rep = self.sync_index().await?;
        Ok(rep.segments_applied)
    }

    /// Catch the local index up with the archive; problems become warnings for the user.
    async fn sync_index(&mut self) -> Result<index::SyncReport> {
        let metadata = self.user.secrets.require("metadata")?.clone();
        let sync = self
            .index
            .sync(
                &self.archive,
                &metadata,
                &self.signer_keys(),
                &self.signer_roles(),
            )
            .await?;
        for p in &sync.problems {
            let w = format!("{}: {}", p.object, p.reason);
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        Ok(sync)
    }

    /// Every user's signing key, to check who wrote journal segments and audit files.
    pub fn signer_keys(&self) -> SignerKeys {
        self.users
            .iter()
            .map(|u| (u.uid.clone(), u.signing_key))
            .collect()
    }

    fn audit(
        &self,
        action: Action,
        outcome: &str,
        targets: Vec<String>,
        detail: Option<String>,
    ) -> Result<()> {
        audit::append(
            &self.archive,
            &self.device.id,
            &[entry(
                &self.device.id,
                &self.user.uid,
                action,
                outcome,
                targets,
                detail,
            )],
            Some(&self.signer()),
        )
    }

    /// Check the rulebook for `action`; a refusal is audited and returned.
    fn require(&self, action: Action) -> Result<()> {
        self.require_for(action, &[])
    }

    /// As `require`, the refusal audited with the recordings or users it concerned.
    fn require_for(&self, action: Action, targets: &[String]) -> Result<()> {
        match policy::decide(&self.user.profile.roles, action) {
            Ok(()) => Ok(()),
            Err(e) => self.refuse(action, targets.to_vec(), e),
        }
    }

    /// Refuse `action`, auditing the refusal.
    fn refuse<T>(&self, action: Action, targets: Vec<String>, e: Error) -> Result<T> {
        self.audit(action, "refused", targets, Some(e.to_string()))?;
        Err(e)
    }

    /// The user a staff label (user name or telephony identity) maps to.
    fn resolve_staff(&self, label: &str) -> Option<&UserSummary> {
        let l = label.trim().to_lowercase();
        self.users
            .iter()
            .find(|u| u.name.to_lowercase() == l)
            .or_else(|| {
                self.users
                    .iter()
                    .find(|u| u.telephony_ids.iter().any(|t| t.to_lowercase() == l))
            })
    }

    /// Every user a staff label (user name or telephony identity) could mean, for searching.
    fn staff_uids(&self, label: &str) -> Vec<String> {
        let l = label.trim().to_lowercase();
        self.users
            .iter()
            .filter(|u| {
                u.name.to_lowercase() == l || u.telephony_ids.iter().any(|t| t.to_lowercase() == l)
            })
            .map(|u| u.uid.clone())
            .collect()
    }

    fn name_of(&self, uid: &str) -> Option<String> {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.name.clone())
    }

    // ---- users ----

    /// Add a user. Only an admin may, and only granting archive keys the admin holds.
    pub async fn add_user(
        &mut self,
        name: &str,
        roles: &[Role],
        telephony_ids: &[String],
        password: &Password,
    ) -> Result<()> {
        self.add_user_keyed(name, roles, telephony_ids, password)
            .map(|_| ())
    }

    /// Create an ingest identity (role `ingest` only) and return its secret, for an ingest profile.
    pub fn add_ingest_user(&mut self, name: &str, password: &Password) -> Result<Key32> {
        self.add_user_keyed(name, &policy::users::INGEST_ROLES, &[], password)
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

    fn add_user_keyed(
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
        if let Err(e) = self.user.secrets.subset_for(&profile.roles) {
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
        let roles: Vec<&str> = profile.roles.iter().map(|r| r.as_str()).collect();
        self.audit(
            Action::AddUser,
            "allowed",
            vec![uid],
            Some(format!("roles {}", roles.join(","))),
        )?;
        self.reload_users()?;
        Ok(secret)
    }

    /// Reset another user's password (admin), without knowing the old one.
    pub async fn reset_password(&mut self, name: &str, new_password: &Password) -> Result<()> {
        self.require(Action::ResetPassword)?;
        if new_password.expose().chars().count() < 8 {
            return Err(Error::Invalid("password: use at least 8 characters".into()));
        }
        let uid = users::uid_for(&self.archive, name)?;
        if users::load_latest(&self.archive, &uid)?.is_none() {
            return Err(Error::NotFound(format!("user '{name}'")));
        }
        users::reset_password(&self.archive, &self.user.secrets, &uid, new_password)?;
        self.audit(Action::ResetPassword, "allowed", vec![uid], None)
    }

    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        self.require(Action::ListUsers)?;
        self.audit(Action::ListUsers, "allowed", vec![], None)?;
        Ok(self.users.clone())
    }

    // ---- import ----

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

    /// Import a folder described by a CSV manifest (default `DIR/manifest.csv`).
    pub async fn import_dir(
        &mut self,
        dir: &Path,
        manifest: Option<&Path>,
    ) -> Result<ImportReport> {
        self.require(Action::Import)?;
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
        self.require(Action::Import)?;
        let dedup_key = self.user.secrets.require("dedup")?.clone();
        let custodian = self.archive.config.keys.get("custodian")?;
        let seg = self.archive.config.segment_size;
        let mut rep = ImportReport::default();
        let mut batch_dedup: HashMap<String, String> = HashMap::new();
        let mut pending: Vec<(String, RecordingMeta)> = Vec::new();
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let mut sources = sources.into_iter().peekable();
        while sources.peek().is_some() {
            let chunk: Vec<CallSource> = sources.by_ref().take(workers * 4).collect();
            // 1. In parallel: is it audio, and its keyed hash.
            let probed = par_map(chunk, workers, |mut src| {
                let ext = Path::new(&src.name)
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase());
                let data: Arc<[u8]> = std::mem::take(&mut src.bytes).into();
                let res = crate::ingest::probe::probe(data.clone(), ext.as_deref()).map(|info| {
                    // Waveform peaks, computed once here so the app draws without decoding.
                    let peaks = crate::audio::decode::decode_all(
                        std::io::Cursor::new(data.clone()),
                        ext.as_deref(),
                        &src.name,
                    )
                    .ok()
                    .map(|(s, rate, ch)| {
                        crate::audio::decode::peaks(
                            &s,
                            rate,
                            ch,
                            crate::audio::decode::PEAK_WINDOW_MS,
                        )
                    });
                    (
                        info,
                        hex::encode(crypto::hmac_sha256(dedup_key.expose(), &data)),
                        peaks,
                    )
                });
                (src, data, res)
            });
            // 2. In order: duplicates, who the call maps to, whose keys open it.
            let mut to_seal = Vec::new();
            for (src, data, res) in probed {
                let (info, dedup, peaks) = match res {
                    Ok(x) => x,
                    Err(reason) => {
                        rep.rejected.push(Rejected {
                            file: src.name,
                            reason,
                        });
                        continue;
                    }
                };
                let existing = match batch_dedup.get(&dedup) {
                    Some(id) => Some(id.clone()),
                    None => self.index.find_dedup(&dedup).await?,
                };
                if let Some(t) = self.index.erased_dedup(&dedup).await? {
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
                let staff = src
                    .staff
                    .as_deref()
                    .and_then(|s| self.resolve_staff(s))
                    .or_else(|| src.extension.as_deref().and_then(|e| self.resolve_staff(e)));
                let mut party_users: Vec<&UserSummary> = staff.into_iter().collect();
                for p in &src.parties {
                    if let Some(u) = self.resolve_staff(p) {
                        if !party_users.iter().any(|x| x.uid == u.uid) {
                            party_users.push(u);
                        }
                    }
                }
                let mut recipients = vec![("custodian".to_string(), custodian)];
                recipients.extend(
                    party_users
                        .iter()
                        .map(|u| (format!("user:{}", u.uid), u.public_key)),
                );
                let id = crypto::new_id();
                batch_dedup.insert(dedup.clone(), id.clone());
                let meta = RecordingMeta {
                    id,
                    started_at: time::rfc3339(src.started_at),
                    direction: src.direction,
                    staff_uid: staff.map(|u| u.uid.clone()),
                    staff_label: src.staff.clone(),
                    extension: src.extension.clone(),
                    external_number: src.external_number.clone(),
                    parties: src.parties.clone(),
                    party_uids: party_users.iter().map(|u| u.uid.clone()).collect(),
                    notes: src.notes.clone(),
                    duration_ms: info.duration_ms,
                    codec: info.codec,
                    sample_rate: info.sample_rate,
                    channels: info.channels,
                    source_name: src.name.clone(),
                    size: data.len() as u64,
                    object_sha256: String::new(),
                    peaks_sha256: None,
                    dedup,
                    imported_by: self.user.uid.clone(),
                    imported_at: now_rfc3339_ms(),
                };
                to_seal.push((src.name, data, recipients, meta, peaks));
            }
            // 3. In parallel: encrypt and write each audio object (written once, never replaced).
            let archive = &self.archive;
            let sealed = par_map(
                to_seal,
                workers,
                |(name, data, recipients, mut meta, peaks)| {
                    let (object, dek) = audio::seal_keyed(&meta.id, seg, &data, &recipients)?;
                    if let Some(p) = peaks {
                        let po = audio::seal_peaks(
                            &meta.id,
                            &dek,
                            crate::audio::decode::PEAK_WINDOW_MS,
                            &p,
                        );
                        let prel = audio::peaks_path(&meta.id);
                        archive
                            .write_new(&prel, &po)
                            .map_err(|e| Error::io(archive.path(&prel).display(), e))?;
                        meta.peaks_sha256 = Some(hex::encode(crypto::sha256(&po)));
                    }
                    let rel = audio::object_path(&meta.id);
                    archive
                        .write_new(&rel, &object)
                        .map_err(|e| Error::io(archive.path(&rel).display(), e))?;
                    meta.object_sha256 = hex::encode(crypto::sha256(&object));
                    Ok::<_, Error>((name, meta))
                },
            );
            for r in sealed {
                pending.push(r?);
            }
            // 4. Journal them: only now are they stored.
            if pending.len() >= SEGMENT_ENTRIES {
                self.flush(&mut pending, &mut rep).await?;
            }
        }
        self.flush(&mut pending, &mut rep).await?;
        self.sync_index().await?;
        self.audit(
            Action::Import,
            "allowed",
            rep.imported.iter().map(|i| i.id.clone()).collect(),
            Some(format!(
                "imported {}, duplicates {}, rejected {}",
                rep.imported.len(),
                rep.duplicates.len(),
                rep.rejected.len()
            )),
        )?;
        Ok(rep)
    }

    /// Journal the pending recordings (their audio objects are already written): only now are they stored.
    async fn flush(
        &self,
        pending: &mut Vec<(String, RecordingMeta)>,
        rep: &mut ImportReport,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let entries: Vec<JournalEntry> = pending
            .iter()
            .map(|(_, m)| JournalEntry::Recording(Box::new(m.clone())))
            .collect();
        let floor = self.index.max_applied(&self.device.id).await?;
        journal::append_after(
            &self.archive,
            &self.device.id,
            &entries,
            floor,
            &self.signer(),
        )?;
        rep.imported.extend(
            pending
                .drain(..)
                .map(|(file, m)| Imported { file, id: m.id }),
        );
        Ok(())
    }

    // ---- search ----

    fn view(
        &self,
        m: RecordingMeta,
        consent: Option<&crate::requests::ConsentMark>,
    ) -> RecordingView {
        RecordingView {
            consent: consent.map(|c| c.describe()),
            staff: m.staff_uid.as_deref().and_then(|u| self.name_of(u)),
            id: m.id,
            started_at: m.started_at,
            direction: m.direction,
            extension: m.extension,
            external_number: m.external_number,
            parties: m.parties,
            duration_s: m.duration_ms as f64 / 1000.0,
            notes: m.notes,
            codec: m.codec,
            sample_rate: m.sample_rate,
            channels: m.channels,
            source_name: m.source_name,
        }
    }

    fn scope(&self) -> Scope {
        policy::recording_scope(&self.user.uid, &self.user.profile.roles)
    }

    /// Search criteria as the audit trail keeps them: personal values (number, party, text) as keyed
    /// hashes, so the trail proves who searched for what without keeping a patient's details past
    /// their erasure (the data controller can hash a number to check who searched for it).
    pub(super) fn criteria_for_audit(&self, q: &SearchQuery) -> String {
        let key = self
            .user
            .secrets
            .get("dedup")
            .map(|k| crypto::hkdf(k.expose(), b"callvault/v1/audit-criteria"));
        let h = |v: &Option<String>, norm: &dyn Fn(&str) -> String| {
            v.as_ref().map(|v| match &key {
                Some(k) => format!(
                    "hmac:{}",
                    &hex::encode(crypto::hmac_sha256(k.expose(), norm(v).as_bytes()))[..16]
                ),
                None => "hmac:-".to_string(),
            })
        };
        let mut c = q.clone();
        c.number = h(&q.number, &|v| phone::normalize(v).unwrap_or_default());
        c.party = h(&q.party, &|v| v.trim().to_lowercase());
        c.text = h(&q.text, &|v| v.trim().to_lowercase());
        serde_json::to_string(&c).expect("serialisable")
    }

    /// Search the recordings this user may see.
    pub async fn search(&self, q: &SearchQuery) -> Result<Vec<RecordingView>> {
        self.require(Action::Search)?;
        let party_to = match self.scope() {
            Scope::All => None,
            Scope::PartyTo(uid) => Some(uid),
            Scope::Nothing => {
                return self.refuse(
                    Action::Search,
                    vec![],
                    Error::Forbidden(
                        "your roles reach no recordings (admin alone does not)".into(),
                    ),
                )
            }
        };
        let mut used = Vec::new();
        let mut iq = index::Query {
            limit: q.limit.unwrap_or(100).clamp(1, 100_000),
            party_to,
            ..Default::default()
        };
        if let Some(f) = &q.from {
            iq.from_ms = Some(time::parse_bound(f, self.tz, false)?.timestamp_millis());
            used.push("from");
        }
        if let Some(t) = &q.to {
            iq.to_ms = Some(time::parse_bound(t, self.tz, true)?.timestamp_millis());
            used.push("to");
        }
        if let Some(n) = &q.number {
            iq.number = Some(
                phone::normalize(n)
                    .ok_or_else(|| Error::Invalid(format!("number '{n}' has no digits")))?,
            );
            used.push("number");
        }
        if let Some(s) = &q.staff {
            iq.staff_uids = Some(self.staff_uids(s));
            used.push("staff");
        }
        if let Some(p) = &q.party {
            iq.party = Some(p.trim().to_string());
            used.push("party");
        }
        if let Some(d) = &q.direction {
            let d = Direction::parse(d).ok_or_else(|| {
                Error::Invalid(format!(
                    "direction '{d}': use inbound, outbound or internal"
                ))
            })?;
            iq.direction = Some(d.as_str().to_string());
            used.push("direction");
        }
        for (v, slot, name) in [
            (q.min_duration_s, &mut iq.min_ms, "min-duration"),
            (q.max_duration_s, &mut iq.max_ms, "max-duration"),
        ] {
            if let Some(s) = v {
                if !(s >= 0.0 && s.is_finite()) {
                    return Err(Error::Invalid(format!(
                        "{name} must be a number of seconds"
                    )));
                }
                *slot = Some((s * 1000.0) as i64);
                used.push(name);
            }
        }
        if let Some(t) = &q.text {
            iq.text = Some(t.trim().to_string());
            used.push("text");
        }
        let rows = self.index.search(&iq).await?;
        let ids: Vec<String> = rows.iter().take(1000).map(|m| m.id.clone()).collect();
        self.audit(
            Action::Search,
            "allowed",
            ids,
            Some(format!(
                "fields [{}], criteria {}, {} results",
                used.join(","),
                self.criteria_for_audit(q),
                rows.len()
            )),
        )?;
        let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
        let marks = self.index.consent_marks(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let c = marks.get(&m.id);
                self.view(m, c)
            })
            .collect())
    }

    /// One recording's details, if this user may see it.
    pub async fn show(&self, id: &str) -> Result<RecordingView> {
        self.require(Action::ShowRecording)?;
        let id = id.trim().to_ascii_lowercase();
        let not_yours = || {
            Error::NotFound(format!(
                "recording {id}: no such recording, or not one you may see"
            ))
        };
        if !archive::is_id(&id) {
            return Err(Error::Invalid(format!(
                "'{id}' is not a recording id (32 hex digits)"
            )));
        }
        let Some((meta, rowid)) = self.index.get(&id).await? else {
            return self.refuse(Action::ShowRecording, vec![id.clone()], not_yours());
        };
        let allowed = match self.scope() {
            Scope::All => true,
            Scope::PartyTo(uid) => self.index.is_party(&uid, rowid).await?,
            Scope::Nothing => false,
        };
        if !allowed {
            return self.refuse(Action::ShowRecording, vec![id.clone()], not_yours());
        }
        self.audit(Action::ShowRecording, "allowed", vec![id], None)?;
        let marks = self
            .index
            .consent_marks(std::slice::from_ref(&meta.id))
            .await?;
        let c = marks.get(&meta.id);
        Ok(self.view(meta, c))
    }

    // ---- verification and maintenance ----

    /// The keys this session holds that may open audio objects.
    fn audio_keys(&self) -> Vec<(String, &Key32)> {
        let mut k = Vec::new();
        if let Some(c) = self.user.secrets.get("custodian") {
            k.push(("custodian".to_string(), c));
        }
        k.push((format!("user:{}", self.user.uid), &self.user.secret));
        k
    }

    /// Read and authenticate every object in the archive, naming each one that fails.
    pub async fn verify(&mut self) -> Result<VerifyReport> {
        self.require(Action::VerifyArchive)?;
        let mut rep = VerifyReport::default();
        let a = &self.archive;
        let mut problem =
            |object: String, reason: String| rep_problem(&mut rep.problems, object, reason);
        // archive.json against this device's pinned copy.
        match std::fs::read(a.path("archive.json")) {
            Ok(b) if b == a.config_bytes => {}
            Ok(_) => problem(
                "archive.json".into(),
                "differs from the copy this device pinned (altered)".into(),
            ),
            Err(e) => problem("archive.json".into(), format!("unreadable ({})", e.kind())),
        }
        rep.objects_checked += 1;
        for top in a.list("")? {
            if ![
                "archive.json",
                "users",
                "journal",
                "audit",
                "rec",
                "auth",
                "locks",
            ]
            .contains(&top.as_str())
            {
                problem(
                    top.clone(),
                    "unexpected file or folder in the archive".into(),
                );
            }
        }
        // User records.
        for uid in a.list("users")? {
            for name in a.list(&format!("users/{uid}"))? {
                let rel = format!("users/{uid}/{name}");
                rep.objects_checked += 1;
                let ver = users::parse_ver(&name);
                match (archive::is_id(&uid), ver) {
                    (true, Some(ver)) => {
                        if let Err(e) = a
                            .read(&rel)
                            .and_then(|b| users::check_record(a, &b, &uid, ver, &rel))
                        {
                            problem(rel, reason_of(&e));
                        }
                    }
                    _ => problem(rel, "unexpected file among user records".into()),
                }
            }
        }
        let signers = self.signer_keys();
        // Journal segments.
        let metadata = self.user.secrets.require("metadata")?.clone();
        for dev in a.list("journal")? {
            if !archive::is_id(&dev) {
                problem(
                    format!("journal/{dev}"),
                    "unexpected folder in journal/".into(),
                );
                continue;
            }
            let listing = journal::list_device(a, &dev)?;
            for name in listing.unexpected {
                problem(
                    format!("journal/{dev}/{name}"),
                    "unexpected file in a journal".into(),
                );
            }
            for name in listing.superseded {
                rep.superseded.push(format!("journal/{dev}/{name}"));
            }
            for (seq, (gen, name)) in listing.current {
                let rel = format!("journal/{dev}/{name}");
                rep.objects_checked += 1;
                if let Err(e) = a.read(&rel).and_then(|b| {
                    journal::open_segment_gen(&b, &metadata, &dev, seq, gen, &signers, &rel)
                }) {
                    problem(rel, reason_of(&e));
                }
            }
        }
        // Index catch-up (reports segments that went missing).
        let sync = self
            .index
            .sync(a, &metadata, &signers, &self.signer_roles())
            .await?;
        for p in sync.problems {
            if !rep.problems.iter().any(|q| q.object == p.object) {
                rep.problems.push(p);
            }
        }
        // Audit chains (bodies too when this user holds the audit key).
        let ar = audit::verify_chain(a, self.user.secrets.get("audit"), &signers)?;
        rep.objects_checked += ar.files;
        rep.problems.extend(ar.problems);
        // Audio objects against the hashes their journal entries recorded.
        let known: HashMap<String, RecordingMeta> = self
            .index
            .all_objects()
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut seen_peaks = std::collections::HashSet::new();
        let keys = self.audio_keys();
        for shard in a.list("rec")? {
            for name in a.list(&format!("rec/{shard}"))? {
                let rel = format!("rec/{shard}/{name}");
                rep.objects_checked += 1;
                if let Some(pid) = name
                    .strip_suffix(".cvp")
                    .filter(|i| archive::is_id(i) && i.starts_with(&shard))
                {
                    seen_peaks.insert(pid.to_string());
                    match known.get(pid) {
                        None => rep.unreferenced.push(rel),
                        Some(m) => {
                            let ok = a
                                .read(&rel)
                                .map(|b| Some(hex::encode(crypto::sha256(&b))) == m.peaks_sha256)
                                .unwrap_or(false);
                            if !ok {
                                rep.problems.push(Problem {
                                    object: rel,
                                    reason: "waveform peaks do not match the hash recorded at import (altered or replaced)".into(),
                                });
                            }
                        }
                    }
                    continue;
                }
                let Some(id) = name
                    .strip_suffix(".cva")
                    .filter(|i| archive::is_id(i) && i.starts_with(&shard))
                else {
                    rep.problems.push(Problem {
                        object: rel,
                        reason: "unexpected file among audio objects".into(),
                    });
                    continue;
                };
                let Some(meta) = known.get(id) else {
                    rep.unreferenced.push(rel);
                    continue;
                };
                seen.insert(id.to_string());
                rep.recordings_checked += 1;
                let bytes = match a.read(&rel) {
                    Ok(b) => b,
                    Err(e) => {
                        rep.problems.push(Problem {
                            object: rel,
                            reason: reason_of(&e),
                        });
                        continue;
                    }
                };
                if hex::encode(crypto::sha256(&bytes)) != meta.object_sha256 {
                    rep.problems.push(Problem {
                        object: rel,
                        reason: "content does not match the hash recorded at import (altered, truncated or replaced)".into(),
                    });
                    continue;
                }
                match decrypt_all(bytes, id, &keys, &rel) {
                    Ok(true) => rep.recordings_decrypted += 1,
                    Ok(false) => {}
                    Err(e) => rep.problems.push(Problem {
                        object: rel,
                        reason: reason_of(&e),
                    }),
                }
            }
        }
        for (id, _) in known.iter().filter(|(id, _)| !seen.contains(*id)) {
            rep.problems.push(Problem {
                object: audio::object_path(id),
                reason: "audio object missing".into(),
            });
        }
        for (id, _) in known
            .iter()
            .filter(|(id, m)| m.peaks_sha256.is_some() && !seen_peaks.contains(*id))
        {
            rep.problems.push(Problem {
                object: audio::peaks_path(id),
                reason: "waveform peaks object missing".into(),
            });
        }
        // Logon markers.
        for uid in a.list("auth")? {
            for name in a.list(&format!("auth/{uid}"))? {
                let rel = format!("auth/{uid}/{name}");
                rep.objects_checked += 1;
                let size = std::fs::metadata(a.path(&rel))
                    .map(|m| m.len())
                    .unwrap_or(1);
                if !archive::is_id(&uid) || users::parse_mark(&name).is_none() || size != 0 {
                    rep.problems.push(Problem {
                        object: rel,
                        reason: "unexpected logon marker".into(),
                    });
                }
            }
        }
        rep.problems.sort_by(|a, b| a.object.cmp(&b.object));
        rep.problems.dedup();
        let outcome = if rep.problems.is_empty() {
            "allowed"
        } else {
            "failed"
        };
        self.audit(
            Action::VerifyArchive,
            outcome,
            vec![],
            Some(format!(
                "{} objects, {} problems",
                rep.objects_checked,
                rep.problems.len()
            )),
        )?;
        Ok(rep)
    }

    /// Verify every device's audit chain and every entry; detect a chain cut back since this
    /// device last verified.
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        self.require(Action::VerifyAudit)?;
        let key = self.user.secrets.require("audit")?;
        let mut rep = audit::verify(&self.archive, key, &self.signer_keys())?;
        // What other devices witnessed of each chain must still be there, unchanged.
        let mut witnessed: HashMap<(String, u64), (String, String)> = HashMap::new();
        for e in &rep.all_entries {
            for w in &e.witness {
                witnessed.insert(
                    (w.device.clone(), w.files),
                    (w.last.clone(), e.device.clone()),
                );
            }
        }
        for ((dev, files), (last, by)) in witnessed {
            let rel = format!("audit/{dev}/{}", audit::file_name(files.saturating_sub(1)));
            let now = rep.heads.iter().find(|h| h.0 == dev).map_or(0, |h| h.1);
            let same = now >= files
                && self
                    .archive
                    .read(&rel)
                    .map(|b| hex::encode(crypto::sha256(&b)) == last)
                    .unwrap_or(false);
            if !same {
                rep.problems.push(Problem {
                    object: rel,
                    reason: format!(
                        "device {by} saw this chain at {files} files; it has been cut back or rewritten since"
                    ),
                });
            }
        }
        for (dev, files, hash) in self.index.audit_heads().await? {
            let now = rep.heads.iter().find(|h| h.0 == dev);
            let cut = match now {
                None => true,
                Some((_, n, _)) => (*n as i64) < files,
            };
            if cut {
                rep.problems.push(Problem {
                    object: format!("audit/{dev}"),
                    reason: format!(
                        "this device saw {files} audit files here before; fewer remain (cut back)"
                    ),
                });
            } else if files > 0 {
                let rel = format!("audit/{dev}/{}", audit::file_name(files as u64 - 1));
                let same = self
                    .archive
                    .read(&rel)
                    .map(|b| hex::encode(crypto::sha256(&b)) == hash)
                    .unwrap_or(false);
                if !same {
                    rep.problems.push(Problem {
                        object: rel,
                        reason: "differs from when this device last verified it (replaced)".into(),
                    });
                }
            }
        }
        if rep.problems.is_empty() {
            for (dev, files, hash) in &rep.heads {
                self.index.set_audit_head(dev, *files as i64, hash).await?;
            }
        }
        let outcome = if rep.problems.is_empty() {
            "allowed"
        } else {
            "failed"
        };
        self.audit(
            Action::VerifyAudit,
            outcome,
            vec![],
            Some(format!(
                "{} entries, {} problems",
                rep.entries,
                rep.problems.len()
            )),
        )?;
        Ok(rep)
    }

    /// Every audit entry (for the data controller / admin).
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.require(Action::VerifyAudit)?;
        let rep = audit::verify(
            &self.archive,
            self.user.secrets.require("audit")?,
            &self.signer_keys(),
        )?;
        Ok(rep.all_entries)
    }

    /// Drop the local index and rebuild it from the archive alone.
    pub async fn rebuild_index(self) -> Result<(Session, SyncReport, i64)> {
        self.require(Action::RebuildIndex)?;
        let metadata = self.user.secrets.require("metadata")?.clone();
        let Session {
            archive,
            device,
            user,
            signing,
            index,
            users,
            tz,
            allow_erased,
            warnings,
        } = self;
        let index = index.reset(&metadata, &device.id).await?;
        let s = Session {
            archive,
            device,
            user,
            signing,
            index,
            users,
            tz,
            allow_erased,
            warnings,
        };
        let sync = s
            .index
            .sync(&s.archive, &metadata, &s.signer_keys(), &s.signer_roles())
            .await?;
        let n = s.index.count().await?;
        s.audit(
            Action::RebuildIndex,
            "allowed",
            vec![],
            Some(format!("{n} recordings")),
        )?;
        Ok((s, sync, n))
    }
}

/// Map `f` over `items` on up to `workers` threads, keeping the order.
fn par_map<T: Send, R: Send>(items: Vec<T>, workers: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if workers <= 1 || items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    let mut lanes: Vec<Vec<(usize, T)>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, t) in items.into_iter().enumerate() {
        lanes[i % workers].push((i, t));
    }
    let f = &f;
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                s.spawn(move || lane.into_iter().map(|(i, t)| (i, f(t))).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("import worker panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

fn rep_problem(problems: &mut Vec<Problem>, object: String, reason: String) {
    problems.push(Problem { object, reason });
}

fn reason_of(e: &Error) -> String {
    match e {
        Error::Tampered { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Decrypt every segment if one of `keys` opens the object; Ok(false) if none does.
fn decrypt_all(bytes: Vec<u8>, id: &str, keys: &[(String, &Key32)], what: &str) -> Result<bool> {
    let mut r = match DecryptingReader::open_recording(std::io::Cursor::new(bytes), id, keys, what)
    {
        Ok(r) => r,
        Err(Error::Forbidden(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    for i in 0..r.segment_count() {
        r.segment(i)?;
    }
    Ok(true)
}

fn locked_text(until_ms: i64, archive: &Archive) -> String {
    let tz = time::zone(&archive.config.timezone).unwrap_or(chrono_tz::Europe::London);
    chrono::DateTime::from_timestamp_millis(until_ms)
        .map(|t| t.with_timezone(&tz).format("%H:%M:%S %Z").to_string())
        .unwrap_or_default()
}
