//! Unattended ingest: a machine that moves the telephone system's recordings into the archive with
//! no user, no password and no key that decrypts anything. It runs from an **ingest profile**
//! exported by an admin: the archive's location and pinned public description, the users'
//! public keys and telephony identities (to map calls to staff and wrap each call's key to them),
//! and an ingest identity — a user of role `ingest` whose key bag holds only the duplicate-detection
//! key and whose signing key lets readers attribute what it adds (readers accept only recordings
//! from it). A stolen ingest machine can add calls, which are attributed to it; it can read none.
//!
//! Exactly once across crashes: before a call is journalled, a `pending` line naming the journal
//! segment number it will take is appended (and fsync'd) to the ingest's state file; after, a
//! `done` line. On restart a pending call whose segment exists is done; otherwise it is imported
//! again under a new id (the half-written audio object is left unreferenced, never shown). With
//! `--move`, the source is deleted only after the archived object was read back from the share and
//! found identical to what was written.

use crate::archive::audio;
use crate::archive::journal::{self, JournalEntry};
use crate::archive::readers::Readers;
use crate::archive::{Archive, Signer};
use crate::audit::{self, AuditEntry};
use crate::crypto;
use crate::device;
use crate::dnr;
use crate::error::{Error, Result};
use crate::ingest::seal;
use crate::ingest::CallSource;
use crate::secret::{Key32, Password};
use crate::users;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A staff user as the ingest machine needs them: public key and telephony identities only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileUser {
    pub uid: String,
    pub name: String,
    pub telephony_ids: Vec<String>,
    /// X25519 public key, base64.
    pub public_key: String,
}

/// The ingest profile file (written by `callvault ingest-profile export`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IngestProfile {
    pub format: String,
    pub v: u32,
    /// Where the archive is (as the admin gave it; may be overridden on the ingest machine).
    pub archive: String,
    /// archive.json as trusted by the admin's device, base64.
    pub archive_json: String,
    pub ingest_user: String,
    /// The ingest identity's secret: opens only its own key bag (the dedup key) and signs.
    pub ingest_secret: String,
    pub users: Vec<ProfileUser>,
    pub created_at: String,
    pub created_by: String,
}

/// What happened to one file.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Imported {
        id: String,
    },
    /// Already imported by this ingest (seen again after a restart, or copied twice).
    AlreadyImported {
        id: String,
    },
    Rejected {
        reason: String,
    },
    /// Its number or extension is on the do-not-record list: its audio was dropped unread and
    /// nothing of it stored (the source is removed with `--move`, as the archived copy would be).
    NotKept,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum StateLine {
    Pending {
        dedup: String,
        id: String,
        seq: u64,
    },
    Done {
        dedup: String,
        id: String,
        seq: u64,
        object_sha256: String,
    },
}

/// An ingest machine's connection to the archive.
pub struct IngestSession {
    archive: Archive,
    device: String,
    uid: String,
    signing: Key32,
    dedup_key: Key32,
    /// Opens user profiles, to know who is the data controller (None in an archive made before
    /// profiles were sealed for every user: then no do-not-record list is believed here).
    profiles: Option<users::ProfileKey>,
    users: Vec<ProfileUser>,
    state_path: PathBuf,
    /// This machine's own folder (device state: the call key epoch it saw).
    state_dir: PathBuf,
    /// dedup -> (id, object sha256) of calls already imported.
    done: HashMap<String, (String, String)>,
}

impl std::fmt::Debug for IngestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestSession")
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

impl IngestSession {
    /// The newest call key new audio is wrapped to: its epochs believed by their proofs (this
    /// machine knows no user's signing key), refused if below the newest this machine saw.
    fn call_key_recipient(&self) -> Result<(String, [u8; 32])> {
        let chain = users::callkey::read(&self.archive, None)?;
        let current = chain.current();
        let public = crypto::b64(&chain.public(&self.archive, current)?);
        let dev = device::Device {
            id: self.device.clone(),
            dir: self.state_dir.clone(),
        };
        match device::seen_call_key(&dev) {
            Some((e, k)) if e > current || (e == current && k != public) => {
                return Err(Error::tampered(
                    users::callkey::DIR,
                    format!("the archive's call key was rolled back (epoch {e} seen, {current} found); nothing is stored until it is restored"),
                ))
            }
            _ => device::remember_call_key(&dev, current, &public)?,
        }
        // The journal segment and audit file of this import: to the newest metadata and audit keys,
        // or nothing is stored (an epoch this machine saw is gone or replaced on the share).
        if let Some(why) = crate::session::point_writers(&self.archive, &dev, true)
            .into_iter()
            .next()
        {
            return Err(Error::tampered("keys", why));
        }
        chain.current_recipient(&self.archive)
    }

    /// Open with a profile; `state_dir` is this machine's own folder (device id, state file).
    pub fn open(
        profile_path: &Path,
        archive_root: Option<&Path>,
        state_dir: &Path,
    ) -> Result<IngestSession> {
        let what = profile_path.display().to_string();
        let bytes = std::fs::read(profile_path).map_err(|e| Error::io(&what, e))?;
        let p: IngestProfile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{what}: not an ingest profile ({e})")))?;
        if p.format != "callvault-ingest-profile" || p.v != 1 {
            return Err(Error::Invalid(format!(
                "{what}: not a version-1 ingest profile"
            )));
        }
        let root = archive_root
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(&p.archive));
        let pinned = crypto::unb64(&p.archive_json, &what)?;
        let on_share =
            crate::archive::read_capped(&root.join("archive.json"), crate::archive::MAX_SMALL)?;
        if on_share != pinned {
            return Err(Error::tampered(
                root.join("archive.json").display(),
                "differs from the one in the ingest profile",
            ));
        }
        let (archive, dev, _) = device::open_in(&root, state_dir)?;
        let dev_dir = dev.dir.clone();
        let secret = Key32::from_slice(&crypto::unb64(&p.ingest_secret, &what)?)
            .ok_or_else(|| Error::Invalid(format!("{what}: malformed ingest secret")))?;
        let rec = users::load_latest(&archive, &p.ingest_user)?.ok_or_else(|| {
            Error::NotFound(format!(
                "ingest identity {} (was it removed?)",
                p.ingest_user
            ))
        })?;
        if crypto::b64(&crypto::x25519_public(&secret)) != rec.signed.public_key {
            return Err(Error::Invalid(format!(
                "{what}: the ingest secret does not match its identity"
            )));
        }
        // The key bag is opened with the identity's secret directly (no password on this machine).
        let bag = users::open_keybag(&rec, &secret)?;
        let dedup_key = bag.require("dedup")?.clone();
        let profiles = users::ProfileKey::of(&archive, &bag).ok();
        let state_path = state_dir.join("ingest-state.jsonl");
        let mut s = IngestSession {
            signing: users::user_signing_seed(&secret),
            archive,
            device: dev.id,
            uid: p.ingest_user,
            dedup_key,
            profiles,
            users: p.users,
            state_path,
            state_dir: dev_dir,
            done: HashMap::new(),
        };
        s.recover()?;
        Ok(s)
    }

    pub fn device_id(&self) -> &str {
        &self.device
    }

    /// Read the state file; settle pending lines by whether their journal segment exists.
    fn recover(&mut self) -> Result<()> {
        let text = match std::fs::read_to_string(&self.state_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(self.state_path.display(), e)),
        };
        let mut pending: Vec<(String, String, u64)> = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // A torn last line (crash mid-write) is ignored: its call was not yet journalled.
            let Ok(l) = serde_json::from_str::<StateLine>(line) else {
                continue;
            };
            match l {
                StateLine::Pending { dedup, id, seq } => pending.push((dedup, id, seq)),
                StateLine::Done {
                    dedup,
                    id,
                    seq: _,
                    object_sha256,
                } => {
                    pending.retain(|p| p.0 != dedup);
                    self.done.insert(dedup, (id, object_sha256));
                }
            }
        }
        for (dedup, id, seq) in pending {
            let rel = format!("journal/{}/{}", self.device, journal::segment_name(seq));
            if self.archive.path(&rel).exists() {
                // Journalled: done. (If its object has gone missing, the empty hash keeps a
                // `--move` from deleting the source; verify names the missing object.)
                let sha = self
                    .archive
                    .sha256_object(&audio::object_path(&id))
                    .map(hex::encode)
                    .unwrap_or_default();
                self.append_state(&StateLine::Done {
                    dedup: dedup.clone(),
                    id: id.clone(),
                    seq,
                    object_sha256: sha.clone(),
                })?;
                self.done.insert(dedup, (id, sha));
            }
        }
        Ok(())
    }

    fn append_state(&self, line: &StateLine) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.state_path)
            .map_err(|e| Error::io(self.state_path.display(), e))?;
        let mut s = serde_json::to_string(line).expect("serialisable");
        s.push('\n');
        f.write_all(s.as_bytes())
            .map_err(|e| Error::io(self.state_path.display(), e))?;
        f.sync_all()
            .map_err(|e| Error::io(self.state_path.display(), e))
    }

    fn resolve(&self, label: &str) -> Option<&ProfileUser> {
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

    /// The do-not-record list as this machine believes it: versions signed by a user whose
    /// current record (admin-signed, its profile opened here) makes them an enabled data
    /// controller. Refused if older than the newest this machine saw.
    pub fn do_not_record(&self) -> Result<(dnr::Keys, dnr::Believed)> {
        let keys = dnr::Keys::from_dedup(&self.dedup_key);
        let author = |uid: &str| -> std::result::Result<[u8; 32], String> {
            let rec = users::load_latest(&self.archive, uid)
                .map_err(|e| e.to_string())?
                .ok_or("an unknown user")?;
            let key = self.profiles.as_ref().ok_or(
                "this archive's user profiles are sealed to the metadata key, which an ingest machine does not hold",
            )?;
            let profile = users::read_profile(&rec, key).map_err(|e| e.to_string())?;
            let signing: [u8; 32] = crypto::unb64(&rec.signed.signing_key, "user record")
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| "malformed signing key".to_string())?;
            dnr::vouch(&profile.name, profile.disabled, &profile.roles, signing)
        };
        let believed = dnr::read(&self.archive, &keys, &author)?;
        let dev = device::Device {
            id: self.device.clone(),
            dir: self.state_dir.clone(),
        };
        dnr::check_seen(&self.archive, &dev, &believed, true)?;
        Ok((keys, believed))
    }

    /// Import one call exactly once. The caller deletes the source (for `--move`) only when
    /// `source_may_go` says the archived copy was read back and found intact.
    pub fn import(&mut self, mut src: CallSource) -> Result<Outcome> {
        if src.bytes.is_empty() {
            return Ok(Outcome::Rejected {
                reason: "empty file".into(),
            });
        }
        // A listed call's audio is dropped before anything of it is hashed, encrypted or
        // written; only that a call was not kept is audited.
        let (keys, list) = self.do_not_record()?;
        if list.list.matches(&keys, &src) {
            zeroize::Zeroize::zeroize(&mut src.bytes);
            self.audit_import(
                vec![],
                "unattended ingest: 1 call not kept (do-not-record list)",
            )?;
            return Ok(Outcome::NotKept);
        }
        let (data, res) = seal::probe(&mut src, &self.dedup_key);
        let probed = match res {
            Ok(p) => p,
            Err(reason) => return Ok(Outcome::Rejected { reason }),
        };
        let dedup = probed.dedup.clone();
        if let Some((id, _)) = self.done.get(&dedup) {
            return Ok(Outcome::AlreadyImported { id: id.clone() });
        }
        let (staff, users) = seal::parties(&src, |l| self.resolve(l), |u: &ProfileUser| &u.uid);
        let mut recipients = vec![self.call_key_recipient()?];
        // The call's parties read its journal entry too (FORMAT.md, "Segment readers").
        let mut parties: Vec<(String, [u8; 32])> = Vec::new();
        for u in &users {
            let pk: [u8; 32] = crypto::unb64(&u.public_key, "ingest profile")?
                .try_into()
                .map_err(|_| {
                    Error::Invalid(format!("ingest profile: bad public key for {}", u.name))
                })?;
            recipients.push((format!("user:{}", u.uid), pk));
            parties.push((u.uid.clone(), pk));
        }
        parties.sort();
        parties.dedup();
        let readers = if parties.is_empty() {
            Readers::Metadata
        } else {
            Readers::Parties(parties)
        };
        let mut meta = seal::meta(
            &src,
            &probed,
            data.len(),
            staff.map(|u| u.uid.clone()),
            users.iter().map(|u| u.uid.clone()).collect(),
            &self.uid,
            &self.device,
        );
        seal::seal(
            &self.archive,
            &data,
            &recipients,
            &mut meta,
            probed.peaks.as_deref(),
        )?;
        let id = meta.id.clone();
        let object_sha256 = meta.object_sha256.clone();
        // The segment number this call will take: recorded before it is written.
        let next = self
            .archive
            .list(&format!("journal/{}", self.device))?
            .iter()
            .filter_map(|n| journal::parse_segment_name(n))
            .max()
            .map_or(0, |m| m + 1);
        self.append_state(&StateLine::Pending {
            dedup: dedup.clone(),
            id: id.clone(),
            seq: next,
        })?;
        let signer = Signer {
            uid: &self.uid,
            seed: &self.signing,
        };
        let seq = journal::append_for(
            &self.archive,
            &self.device,
            &[JournalEntry::Recording(Box::new(meta))],
            next.checked_sub(1),
            &signer,
            &readers,
        )?;
        self.append_state(&StateLine::Done {
            dedup: dedup.clone(),
            id: id.clone(),
            seq,
            object_sha256: object_sha256.clone(),
        })?;
        self.done.insert(dedup, (id.clone(), object_sha256));
        self.audit_import(vec![id.clone()], "unattended ingest")?;
        Ok(Outcome::Imported { id })
    }

    /// The `import` audit entry of one call taken (its id) or not kept (none).
    fn audit_import(&self, targets: Vec<String>, detail: &str) -> Result<()> {
        let e = AuditEntry {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            device: self.device.clone(),
            actor: Some(self.uid.clone()),
            action: crate::policy::Action::Import.as_str().into(),
            outcome: "allowed".into(),
            targets,
            detail: Some(detail.into()),
            request: None,
            witness: vec![],
        };
        let signer = Signer {
            uid: &self.uid,
            seed: &self.signing,
        };
        audit::append(&self.archive, &self.device, &[e], Some(&signer))
    }

    /// Read the archived object of `id` back from the share and check it is exactly what was
    /// written (fsync on a share may return before the server has it).
    pub fn verify_stored(&self, id: &str) -> Result<bool> {
        let Some((_, sha)) = self.done.values().find(|(i, _)| i == id) else {
            return Ok(false);
        };
        // Streamed: a long call's object may be larger than any whole-file read allows.
        let obj = match self.archive.sha256_object(&audio::object_path(id)) {
            Ok(h) => h,
            Err(_) => return Ok(false),
        };
        Ok(&hex::encode(obj) == sha)
    }
}

/// Create an ingest identity (role `ingest`) and write its profile (admin). The file holds no key
/// that decrypts anything; keep it readable only by the ingest service's account all the same.
pub async fn export_profile(
    session: &mut crate::session::Session,
    name: &str,
    out: &Path,
) -> Result<()> {
    if out.exists() {
        return Err(Error::Invalid(format!("{}: already exists", out.display())));
    }
    // A random password is needed to create the user record; it is thrown away: the identity
    // is used only through its secret, which goes in the profile.
    let throwaway = Password::new(crypto::new_id());
    let secret = session.add_ingest_user(name, &throwaway).await?;
    let profile = IngestProfile {
        format: "callvault-ingest-profile".into(),
        v: 1,
        archive: session.archive().root().display().to_string(),
        archive_json: crypto::b64(&session.archive().config_bytes),
        ingest_user: users::uid_for(session.archive(), name)?,
        ingest_secret: crypto::b64(secret.expose()),
        users: session.profile_users(),
        created_at: crate::time::rfc3339(chrono::Utc::now()),
        created_by: session.user_name().to_string(),
    };
    let bytes = serde_json::to_vec_pretty(&profile).expect("serialisable");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(out).map_err(|e| Error::io(out.display(), e))?;
    f.write_all(&bytes)
        .map_err(|e| Error::io(out.display(), e))?;
    f.sync_all().map_err(|e| Error::io(out.display(), e))?;
    Ok(())
}

/// Keep the source, or delete it once its archived copy is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceMode {
    Copy,
    Move,
}

/// How the watcher runs.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    pub dir: PathBuf,
    pub layout: crate::ingest::layout::Layout,
    pub tz: chrono_tz::Tz,
    pub cdr: Option<PathBuf>,
    pub mode: SourceMode,
    pub quarantine: Option<PathBuf>,
    /// A file is taken once its size and modification time have not changed for this long.
    pub settle: std::time::Duration,
    pub poll: std::time::Duration,
    /// Stop after the first pass in which nothing was left waiting to settle.
    pub once: bool,
}

/// Watch a folder until `stop` is set (or, with `once`, until it is drained), importing each
/// complete file exactly once. `report` hears about every file taken.
pub fn watch(
    s: &mut IngestSession,
    o: &WatchOptions,
    stop: &std::sync::atomic::AtomicBool,
    report: &mut dyn FnMut(&str, &Outcome),
) -> Result<()> {
    use std::collections::HashMap as Map;
    use std::time::{Instant, SystemTime};
    // path -> (size, mtime, when first seen unchanged)
    let mut seen: Map<PathBuf, (u64, SystemTime, Instant)> = Map::new();
    let mut finished: std::collections::HashSet<(PathBuf, u64, SystemTime)> = Default::default();
    loop {
        let plan = crate::ingest::layout::plan(&o.dir, o.layout, o.tz, o.cdr.as_deref())?;
        let mut waiting = 0usize;
        let mut settled = |path: &Path| -> Option<(u64, SystemTime)> {
            let m = std::fs::metadata(path).ok()?;
            let (size, mtime) = (m.len(), m.modified().ok()?);
            let now = Instant::now();
            let e = seen.entry(path.to_path_buf()).or_insert((size, mtime, now));
            if e.0 != size || e.1 != mtime {
                *e = (size, mtime, now);
            }
            let old_enough = SystemTime::now()
                .duration_since(mtime)
                .map(|d| d >= o.settle)
                .unwrap_or(false);
            (now.duration_since(e.2) >= o.settle.min(std::time::Duration::from_secs(3600))
                && old_enough
                || o.settle.is_zero())
            .then_some((size, mtime))
        };
        for c in plan.calls {
            if o.quarantine.as_ref().is_some_and(|q| c.path.starts_with(q)) {
                continue;
            }
            let Some((size, mtime)) = settled(&c.path) else {
                waiting += 1;
                continue;
            };
            let key = (c.path.clone(), size, mtime);
            if finished.contains(&key) {
                continue;
            }
            let path = c.path.clone();
            let name = c.source.name.clone();
            let outcome = match c.load() {
                Ok(src) => s.import(src)?,
                Err(r) => Outcome::Rejected { reason: r.reason },
            };
            match &outcome {
                Outcome::Imported { id } | Outcome::AlreadyImported { id } => {
                    if o.mode == SourceMode::Move {
                        if s.verify_stored(id)? {
                            std::fs::remove_file(&path)
                                .map_err(|e| Error::io(path.display(), e))?;
                        } else {
                            report(&name, &Outcome::Rejected { reason: format!("archived copy of {id} did not read back intact; source kept") });
                            continue;
                        }
                    }
                }
                Outcome::Rejected { reason } => quarantine(o, &path, &name, reason)?,
                Outcome::NotKept => {
                    if o.mode == SourceMode::Move {
                        std::fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                    }
                }
            }
            report(&name, &outcome);
            finished.insert(key);
        }
        for r in plan.rejected {
            let path = o.dir.join(&r.file);
            if !path.is_file() || o.quarantine.as_ref().is_some_and(|q| path.starts_with(q)) {
                continue;
            }
            let Some((size, mtime)) = settled(&path) else {
                waiting += 1;
                continue;
            };
            if finished.insert((path.clone(), size, mtime)) {
                quarantine(o, &path, &r.file, &r.reason)?;
                report(&r.file, &Outcome::Rejected { reason: r.reason });
            }
        }
        if (o.once && waiting == 0) || stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        std::thread::sleep(o.poll);
    }
}

/// Move a failed file to the quarantine folder with a `.reason.txt` beside it.
fn quarantine(o: &WatchOptions, path: &Path, name: &str, reason: &str) -> Result<()> {
    let Some(q) = &o.quarantine else {
        return Ok(());
    };
    std::fs::create_dir_all(q).map_err(|e| Error::io(q.display(), e))?;
    let flat = name.replace(['/', '\\'], "_");
    let mut dest = q.join(&flat);
    let mut n = 1;
    while dest.exists() {
        dest = q.join(format!("{n}-{flat}"));
        n += 1;
    }
    let reason_path = PathBuf::from(format!("{}.reason.txt", dest.display()));
    std::fs::write(&reason_path, format!("{reason}\n"))
        .map_err(|e| Error::io(reason_path.display(), e))?;
    std::fs::rename(path, &dest)
        .or_else(|_| std::fs::copy(path, &dest).and_then(|_| std::fs::remove_file(path)))
        .map_err(|e| Error::io(path.display(), e))
}
