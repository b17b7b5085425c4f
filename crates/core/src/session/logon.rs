//! Creating an archive and logging on: the first user, the password check with its lockout (the
//! same work and answers whether or not the name exists), the logon's audit entry with its
//! witnesses, and the first catch-up of this computer's index.

use super::*;

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
        readers: Some(1),
    };
    let archive = archive::create_config(root, &config)?;
    let uid = users::uid_for(&archive, admin)?;
    let profile = Profile {
        name: admin.trim().to_string(),
        roles: policy::users::FOUNDER_ROLES.to_vec(),
        telephony_ids: vec![],
        disabled: false,
    };
    // The recovery key first: the founder holds call keys, so their secret is escrowed to it.
    let recovery_code = users::recovery::create(&archive, secrets.require("custodian")?)?;
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
        fingerprint: archive.config.fingerprint(),
        archive_id: archive.config.id,
        kdf: params,
        kdf_measured_ms: ms as u64,
        recovery_code,
    })
}

fn locked_text(until_ms: i64, archive: &Archive) -> String {
    let tz = time::zone(&archive.config.timezone).unwrap_or(chrono_tz::Europe::London);
    chrono::DateTime::from_timestamp_millis(until_ms)
        .map(|t| t.with_timezone(&tz).format("%H:%M:%S %Z").to_string())
        .unwrap_or_default()
}

/// How often a device anchors the audit heads in its journal (at a logon).
const ANCHOR_EVERY_MINUTES: i64 = 15;

impl Session {
    /// Anchor every audit chain's head, as this logon sees it, in this device's signed journal
    /// (at most every quarter of an hour per device), so a later cut of any chain is named by
    /// `audit verify` on every device, a new one and a rebuilt index included. Applied by the
    /// catch-up that follows.
    async fn anchor_audit_heads(&mut self) -> Result<()> {
        if policy::users::is_ingest_only(self.roles()) {
            return Ok(());
        }
        let recent = self
            .index
            .last_anchor_at(&self.device.id)
            .await?
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .is_some_and(|t| {
                Utc::now().signed_duration_since(t)
                    < chrono::Duration::minutes(ANCHOR_EVERY_MINUTES)
            });
        let (heads, _) = audit::heads(&self.archive, "");
        if recent || heads.is_empty() {
            return Ok(());
        }
        let anchor = journal::AuditAnchor {
            heads,
            by: self.user.uid.clone(),
            at: now_rfc3339_ms(),
        };
        self.journal_grouped(vec![JournalEntry::AuditAnchor(Box::new(anchor))])
            .await?;
        Ok(())
    }

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
        // A locked account is refused before any password work.
        let refuse_if_locked = || -> Result<()> {
            if let Some(until) = users::locked_until(&archive, &uid, Utc::now().timestamp_millis())?
            {
                audit_now(Action::Logon, "refused", Some("account locked".into()))?;
                return Err(Error::Locked {
                    until: locked_text(until, &archive),
                });
            }
            Ok(())
        };
        // A failed logon leaves a failure marker and is audited; the failure that reaches the
        // limit locks the account (audited too) and is answered as a lock.
        let failed = |why: &str| -> Error {
            let marked = users::mark(&archive, &uid, 'f')
                .and_then(|()| audit_now(Action::Logon, "failed", Some(why.into())))
                .and_then(|()| users::locked_until(&archive, &uid, Utc::now().timestamp_millis()));
            match marked {
                Err(e) => e,
                Ok(None) => Error::BadLogon,
                Ok(Some(until)) => match audit_now(
                    Action::AccountLock,
                    "locked",
                    Some(format!("{} failed logons", users::LOCKOUT_FAILURES)),
                ) {
                    Err(e) => e,
                    Ok(()) => Error::Locked {
                        until: locked_text(until, &archive),
                    },
                },
            }
        };
        let rec = match users::load_latest(&archive, &uid) {
            Ok(Some(r)) => r,
            Ok(None) => {
                // No such user: the same work and the same answers as a wrong password (the lockout
                // count, the KDF at the archive's cost, a failure marker), so neither the time taken
                // nor a lockout tells whether the name exists.
                refuse_if_locked()?;
                users::unlock_nobody(&archive, &uid, password);
                return Err(failed("no such user"));
            }
            Err(e) => {
                audit_now(Action::Logon, "failed", Some(format!("user record: {e}")))?;
                return Err(e);
            }
        };
        refuse_if_locked()?;
        // A record older than one this computer has seen was rolled back (a disablement or a
        // demotion undone by removing the newer version): refused before any password work.
        if let Some(seen) = device::seen_revisions(&device).get(&uid) {
            if rec.signed.rev < *seen {
                let why = format!(
                    "this account's user record was rolled back (revision {} found, {seen} seen before); ask an admin",
                    rec.signed.rev
                );
                audit_now(Action::Logon, "refused", Some(why.clone()))?;
                return Err(Error::tampered(format!("users/{uid}"), why));
            }
        }
        // Keys other than those this computer pinned: a record forged with the signing key.
        let pin = device::key_pin(&rec.signed.public_key, &rec.signed.signing_key);
        if device::seen_keys(&device)
            .get(&uid)
            .is_some_and(|k| *k != pin)
        {
            let why = "this account's keys are not the ones this computer saw before (its user record was replaced); ask the data controller".to_string();
            audit_now(Action::Logon, "refused", Some(why.clone()))?;
            return Err(Error::tampered(format!("users/{uid}"), why));
        }
        let mut user = match users::unlock(&archive, &rec, password) {
            Ok(u) => u,
            Err(Error::BadLogon) => return Err(failed("wrong password")),
            Err(Error::Forbidden(m)) if m == users::DISABLED => {
                audit_now(Action::Logon, "refused", Some("account disabled".into()))?;
                Index::remove_party(&device.dir, &uid);
                return Err(Error::Forbidden(m));
            }
            Err(e) => {
                audit_now(Action::Logon, "failed", Some(e.to_string()))?;
                return Err(e);
            }
        };
        if user.profile.disabled {
            audit_now(Action::Logon, "refused", Some("account disabled".into()))?;
            Index::remove_party(&device.dir, &uid);
            return Err(Error::Forbidden("this account is disabled".into()));
        }
        // (Until clinicians and staff read the journal as parties, the missing metadata key
        // refused these; now the rulebook says so.)
        if !policy::users::may_log_on(&user.profile.roles) {
            let why = "this account has no role that logs on (an ingest identity, or no roles yet): ask an admin";
            audit_now(Action::Logon, "failed", Some(why.into()))?;
            return Err(Error::Forbidden(why.into()));
        }
        users::mark(&archive, &uid, 's')?;
        super::keys::take_unverified(&archive, &mut user);
        let mut index = super::open_index_for(&user, &device).await?;
        let mut warnings = warnings;
        if device::take_rebuild_request(&device, index.party_uid()) {
            // A decision found this index disagreeing with the signed journal: never believed again.
            index = index.reset().await?;
            warnings.push(
                "this computer's local index disagreed with the signed journal (edited?) and was rebuilt from it".into(),
            );
        }
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
            call_keys: Default::default(),
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
        // Other devices' audit heads: a chain that cannot be read (a file planted in audit/) is
        // left out and named, never a reason to refuse the logon.
        let (witness, unreadable) = audit::heads(&s.archive, &s.device.id);
        logon.witness = witness;
        s.warnings.extend(
            unreadable
                .iter()
                .map(|p| format!("{}: {}", p.object, p.reason)),
        );
        audit::append(&s.archive, &s.device.id, &[logon], Some(&s.signer()))?;
        s.reload_users().await?;
        s.anchor_audit_heads().await?;
        let sync = s
            .index
            .sync(
                &s.archive,
                &s.journal_reader(),
                &s.signer_keys(),
                &s.signer_roles(),
            )
            .await?;
        s.warnings.extend(
            sync.problems
                .iter()
                .map(|p| format!("{}: {}", p.object, p.reason)),
        );
        // Now with every admin's checkpoint read: a rolled-back record (this user's own included)
        // is found even on a computer that never saw the newer one.
        s.reload_users().await?;
        let me = s.users.iter().find(|u| u.uid == s.user.uid);
        if me.is_none_or(|u| u.disabled) {
            let why = "this account's user record was rolled back or disabled (an admin's checkpoint names a newer revision); ask an admin";
            s.audit(Action::SessionEnd, "refused", vec![], Some(why.into()))?;
            if me.is_some_and(|u| u.disabled) {
                let (dir, uid) = (s.device.dir.clone(), s.user.uid.clone());
                s.index.close().await;
                Index::remove_party(&dir, &uid);
            }
            return Err(Error::Forbidden(why.into()));
        }
        s.read_call_keys()?;
        s.read_other_keys()?;
        let alarms = s.recovery_warnings();
        s.warnings.extend(alarms);
        // Before the upgrade run empties such a record's key bag (the evidence).
        let left_admin = s.admin_left_with_newest();
        // Prepared resets first: the upgrade run's new revisions would make them stale.
        let reset = s
            .apply_prepared_resets()
            .await?
            .iter()
            .filter(|(_, r)| r.is_ok())
            .count();
        let upgraded = s.upgrade_user_records().await?;
        s.name_user_keys().await?;
        s.misplaced_escrow_warning();
        s.rotate_if_leavers().await?;
        s.rotate_others_if_leavers(left_admin).await?;
        if reset > 0 {
            s.warnings.push(format!(
                "Completed {reset} password reset(s) the data controller prepared with the practice's recovery key"
            ));
        }
        if upgraded > 0 {
            s.warnings.push(format!(
                "Upgraded {upgraded} user records: their password sealing and the archive's identity are now bound by an admin's signature, and each key bag holds only what its roles grant"
            ));
        }
        Ok(s)
    }
}
