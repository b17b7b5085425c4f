//! `Session`: the only way to act on an archive. It knows who is logged on, checks every rule
//! through `policy` before acting, and writes every decision — allowed or refused — to the audit trail.

mod access;
mod accounts;
mod breach;
mod callkey;
mod candidates;
mod compact;
mod completeness;
mod conversation;
mod decide;
mod dnr;
mod export;
mod import;
pub mod ingest;
mod keys;
mod listen;
mod logon;
pub mod overview;
mod readers;
mod recovery;
mod requests;
mod retention;
mod search;
mod trail;
mod verify;

pub use access::Grant;
pub use breach::BreachView;
pub use callkey::{RewrapReport, RotationReport};
pub use completeness::{CompletenessQuery, CompletenessReport};
pub use conversation::{ConversationPlayback, ConversationView, LegView};
pub use dnr::{DoNotRecordEntry, DoNotRecordList};
pub use export::SarOptions;
pub(crate) use keys::point_writers;
pub use keys::KeyState;
pub use listen::{AwaitingKey, Waveform};
pub use logon::{init, init_in};
pub use requests::{RequestView, MAX_APPROVAL_DAYS, MAX_SCAN_BYTES};
pub use search::{RecordingView, SearchQuery};
pub use trail::{audit_csv, AuditFilter};
pub use verify::VerifyReport;

// The session's prelude: what its job files (logon, accounts, import, search, …) share; each takes it
// with `use super::*` and imports only what is its own beside it.
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
    /// The newest epoch of each rotating key their key bags were given (`SignedPart::given`).
    #[serde(skip)]
    pub given: std::collections::BTreeMap<String, u32>,
}

/// What `init` made.
#[derive(Debug, Serialize)]
pub struct InitReport {
    pub archive_id: String,
    /// The archive identity's fingerprint, for the practice's set-up sheet.
    pub fingerprint: String,
    pub kdf: KdfParams,
    pub kdf_measured_ms: u64,
    /// The practice's recovery code (docs/FORMAT.md, "The recovery key"): shown once, to be
    /// written down and kept offline by the data controller; never stored in the clear.
    #[serde(skip)]
    pub recovery_code: Password,
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
    /// The call key's epochs (read at logon, after the users).
    call_keys: callkey::CallKeys,
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

    /// What this user may do, as the app shows it (the rulebook's `abilities`); it follows the
    /// roles, so it changes after a `refresh` that took a role away.
    pub fn abilities(&self) -> policy::Abilities {
        let mut a = policy::abilities(self.roles());
        // An importer needs an index of the whole archive (`require_import`): an admin without
        // the metadata key is not offered the import.
        a.may_import = policy::users::may_import_into(
            self.roles(),
            self.user.secrets.get("metadata").is_some(),
        );
        a
    }

    /// Seconds of inactivity before the app locks: the archive's `idle-lock-minutes`, shortened
    /// (never lengthened) by `local_seconds` set on this computer.
    pub async fn idle_lock_seconds(&self, local_seconds: Option<&str>) -> Result<u64> {
        let setting = self.setting("idle-lock-minutes").await?;
        Ok(crate::retention::idle_lock_seconds(
            Some(&setting),
            local_seconds,
        ))
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

    pub(super) fn roles_of(&self, uid: &str) -> Vec<Role> {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.roles.clone())
            .unwrap_or_default()
    }

    /// Append entries to this device's journal (signed) and catch the index up.
    pub(super) async fn journal(&mut self, entries: Vec<JournalEntry>) -> Result<()> {
        self.journal_grouped(entries).await?;
        self.sync_index().await?;
        Ok(())
    }

    fn signer(&self) -> Signer<'_> {
        Signer {
            uid: &self.user.uid,
            seed: &self.signing,
        }
    }

    /// Every user's roles, for checking what each may write to the journal, and who is disabled
    /// (what they sign after their disablement is refused).
    pub fn signer_roles(&self) -> index::SignerRoles {
        index::SignerRoles {
            roles: self
                .users
                .iter()
                .map(|u| (u.uid.clone(), u.roles.clone()))
                .collect(),
            disabled: self
                .users
                .iter()
                .filter(|u| u.disabled)
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
        // A session that found its account disabled has ended: it does nothing more (and says
        // so once in the audit trail).
        if self.user.profile.roles.is_empty() {
            return Err(Error::Forbidden(
                "this session has ended (the account was disabled, or holds no role any more): log on again".into(),
            ));
        }
        // A key rotated since (a leaver's: another computer made its next epoch, given to this
        // user) opens what was written after it: its epochs are taken first.
        self.read_call_keys()?;
        self.read_other_keys()?;
        self.reload_users().await?;
        // A disabled account's key bag holds no seed: its record, written under keys rotated
        // at the disablement, may not open for this session at all.
        let disabled = || {
            users::load_latest(&self.archive, &self.user.uid)
                .ok()
                .flatten()
                .and_then(|r| users::open_keybag(&r, &self.user.secret).ok())
                .is_some_and(|b| b.is_empty())
        };
        let why = match self.users.iter().find(|u| u.uid == self.user.uid) {
            Some(me) if me.disabled => Some("this account has been disabled"),
            Some(me) => {
                let now = me.roles.clone();
                self.user.profile.roles.retain(|r| now.contains(r));
                None
            }
            None if disabled() => Some("this account has been disabled"),
            // Unreadable or gone: not a reason to carry on with the roles of the logon.
            None => Some("this account's user record can no longer be read"),
        };
        if let Some(why) = why {
            // A disabled account: no role from now on, so every action of this session is refused
            // by the rulebook. (A record that cannot be read now — a passing error on the share,
            // or a file planted there — refuses this catch-up only.)
            if why.contains("disabled") {
                self.user.profile.roles.clear();
            }
            self.audit(Action::SessionEnd, "refused", vec![], Some(why.to_string()))?;
            return Err(Error::Forbidden(why.into()));
        }
        let rep = self.sync_index().await?;
        Ok(rep.segments_applied)
    }

    /// Catch the local index up with the archive; problems become warnings for the user.
    async fn sync_index(&mut self) -> Result<index::SyncReport> {
        let reader = self.journal_reader();
        let sync = self
            .index
            .sync(
                &self.archive,
                &reader,
                &self.signer_keys(),
                &self.signer_roles(),
            )
            .await?;
        for p in &sync.problems {
            self.warn_once(format!("{}: {}", p.object, p.reason));
        }
        Ok(sync)
    }

    /// How this user reads the journal: with the metadata key if their key bag holds it, else as
    /// a party (`index::JournalReader`).
    pub(super) fn journal_reader(&self) -> index::JournalReader {
        index::JournalReader::user(
            self.user.secrets.ring("metadata").ok(),
            &self.user.uid,
            &self.user.secret,
            self.user.secrets.get("dedup"),
        )
    }

    /// Add a warning unless it is already there.
    pub(super) fn warn_once(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
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
        self.audit_keyed(action, outcome, targets, &|_| detail.clone())
    }

    /// As `audit`, the detail made with the criteria key of the audit file it goes in (personal
    /// values in it hashed with a key only the audit key's holders can derive).
    fn audit_keyed(
        &self,
        action: Action,
        outcome: &str,
        targets: Vec<String>,
        detail: &dyn Fn(&audit::CriteriaKey) -> Option<String>,
    ) -> Result<()> {
        audit::append_with(&self.archive, &self.device.id, Some(&self.signer()), &|k| {
            vec![entry(
                &self.device.id,
                &self.user.uid,
                action,
                outcome,
                targets.clone(),
                detail(k),
            )]
        })
        .map(|_| ())
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

    // ---- import ----

    // ---- search ----

    // ---- verification and maintenance ----
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

/// Open this computer's index for `user`: the device's, keyed from the metadata key, for its
/// holders; their own (`Index::open_party`), keyed from their own secret, for a party reader.
async fn open_index_for(
    user: &users::UnlockedUser,
    device: &crate::device::Device,
) -> Result<Index> {
    match user.secrets.ring("metadata") {
        Ok(m) => {
            // Their own index from before a promotion, no longer used.
            Index::remove_party(&device.dir, &user.uid);
            Index::open(&device.dir, m.first(), &device.id).await
        }
        Err(_) => Index::open_party(&device.dir, &user.secret, &user.uid, &device.id).await,
    }
}
