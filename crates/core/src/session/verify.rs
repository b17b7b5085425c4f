//! Checking the archive through `Session`: every object's signature, author and place; the audit
//! chain; and rebuilding this computer's index from the journals.

use super::*;

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

fn rep_problem(problems: &mut Vec<Problem>, object: String, reason: String) {
    problems.push(Problem { object, reason });
}

fn reason_of(e: &Error) -> String {
    match e {
        Error::Tampered { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// The names in archive folder `rel`; a folder that cannot be listed (a file or a link planted
/// where it belongs) is a problem, and empty: the rest is still checked.
fn listed(a: &Archive, rel: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    a.list(rel).unwrap_or_else(|e| {
        problems.push(Problem {
            object: rel.to_string(),
            reason: reason_of(&e),
        });
        Vec::new()
    })
}

/// The hex SHA-256 of an opened object; the object, rewound to its start, for reading again.
fn hash_and_rewind(mut f: std::fs::File, what: &str) -> Result<(std::fs::File, String)> {
    use sha2::Digest;
    use std::io::{Read, Seek};
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(what, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    f.rewind().map_err(|e| Error::io(what, e))?;
    Ok((f, hex::encode(h.finalize())))
}

/// Decrypt every segment if one of `keys` opens the object; Ok(false) if none does.
fn decrypt_all<R: std::io::Read + std::io::Seek>(
    object: R,
    id: &str,
    keys: &[(String, &Key32)],
    what: &str,
) -> Result<bool> {
    let mut r = match DecryptingReader::open_recording(object, id, keys, what) {
        Ok(r) => r,
        Err(Error::Forbidden(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    for i in 0..r.segment_count() {
        r.segment(i)?;
    }
    Ok(true)
}

impl Session {
    /// The keys this session holds that may open audio objects.
    pub(super) fn audio_keys(&self) -> Vec<(String, &Key32)> {
        let mut k = self.user.secrets.call_keys();
        k.push((format!("user:{}", self.user.uid), &self.user.secret));
        k
    }

    /// Read and authenticate every object in the archive, naming each one that fails.
    pub async fn verify(&mut self) -> Result<VerifyReport> {
        self.require(Action::VerifyArchive)?;
        let mut rep = VerifyReport::default();
        let a = &self.archive;
        let mut unlisted = Vec::new();
        let mut problem =
            |object: String, reason: String| rep_problem(&mut rep.problems, object, reason);
        // archive.json against this device's pinned copy.
        match archive::read_capped(&a.path("archive.json"), archive::MAX_SMALL) {
            Ok(b) if b == a.config_bytes => {}
            Ok(_) => problem(
                "archive.json".into(),
                "differs from the copy this device pinned (altered)".into(),
            ),
            Err(e) => problem(
                "archive.json".into(),
                format!("unreadable ({})", reason_of(&e)),
            ),
        }
        rep.objects_checked += 1;
        for top in a.list("")? {
            if ![
                "archive.json",
                "recovery.json",
                "resets",
                "keys",
                "users",
                "journal",
                "audit",
                "rec",
                "auth",
                "locks",
                crate::dnr::DIR,
            ]
            .contains(&top.as_str())
            {
                problem(
                    top.clone(),
                    "unexpected file or folder in the archive".into(),
                );
            }
        }
        // The do-not-record list: versions not believed (a list only the data controller may
        // write), or the newest this computer saw gone.
        if !a.list(crate::dnr::DIR)?.is_empty() {
            rep.objects_checked += 1;
            match self.dnr_believed(false) {
                Ok((_, b)) => {
                    for p in b.problems {
                        problem(crate::dnr::DIR.into(), p);
                    }
                }
                Err(e) => problem(crate::dnr::DIR.into(), reason_of(&e)),
            }
        }
        // The recovery key: its tag checked by a holder of the call key.
        if users::recovery::exists(a) {
            rep.objects_checked += 1;
            let seeds = self.user.secrets.call_seeds();
            if !seeds.is_empty() {
                if let Err(e) = users::recovery::verified_public_any(a, &seeds) {
                    problem(users::recovery::PATH.into(), reason_of(&e));
                }
            }
        }
        // The call key's epochs: each proved by the one before and signed by a holder.
        let chain = crate::users::callkey::read(a, Some(&|uid| self.call_key_author(uid)))?;
        rep.objects_checked += chain.epochs.len();
        for (rel, why) in chain.problems {
            problem(rel, why);
        }
        // The metadata, audit and admin keys' epochs likewise (read as the session read them).
        for (name, why) in &self.call_keys.rolled {
            problem(crate::users::callkey::dir(name), why.clone());
        }
        for (name, chain) in &self.call_keys.others {
            let Ok(again) =
                crate::users::callkey::read_key(a, name, Some(&|uid| self.call_key_author(uid)))
            else {
                continue;
            };
            rep.objects_checked += again.epochs.len();
            if again.current() < chain.current() {
                problem(
                    crate::users::callkey::dir(name),
                    format!(
                        "epochs after {} were removed since this session began",
                        again.current()
                    ),
                );
            }
            for (rel, why) in again.problems {
                problem(rel, why);
            }
        }
        if let Ok(names) = a.list("keys") {
            for n in names {
                if !["custodian", "metadata", "audit", "admin", "rewrapped"].contains(&n.as_str()) {
                    problem(
                        format!("keys/{n}"),
                        "unexpected file or folder among the archive's keys".into(),
                    );
                }
            }
        }
        // User records.
        for uid in listed(a, "users", &mut unlisted) {
            let names = listed(a, &format!("users/{uid}"), &mut unlisted);
            let newest = names.iter().filter_map(|n| users::parse_ver(n)).max();
            for name in names {
                let rel = format!("users/{uid}/{name}");
                rep.objects_checked += 1;
                let ver = users::parse_ver(&name);
                match (archive::is_id(&uid), ver) {
                    (true, Some(ver)) => {
                        if let Err(e) = a.read(&rel).and_then(|b| {
                            users::check_version(a, &b, &uid, (ver, Some(ver) == newest), &rel)
                        }) {
                            problem(rel, reason_of(&e));
                        }
                    }
                    _ => problem(rel, "unexpected file among user records".into()),
                }
            }
        }
        let signers = self.signer_keys();
        // Journal segments.
        let reader = self.journal_reader();
        for dev in listed(a, "journal", &mut unlisted) {
            if !archive::is_id(&dev) {
                problem(
                    format!("journal/{dev}"),
                    "unexpected folder in journal/".into(),
                );
                continue;
            }
            let listing = match journal::list_device(a, &dev) {
                Ok(l) => l,
                Err(e) => {
                    problem(format!("journal/{dev}"), reason_of(&e));
                    continue;
                }
            };
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
                // (A party reader checks the segments addressed to them; the others' signatures
                // and places only, as every reader does before opening a key.)
                if let Err(e) = a
                    .read(&rel)
                    .and_then(|b| reader.open(&b, &dev, seq, gen, &signers, &rel))
                {
                    problem(rel, reason_of(&e));
                }
            }
        }
        // Index catch-up (reports segments that went missing).
        let sync = self
            .index
            .sync(a, &reader, &signers, &self.signer_roles())
            .await?;
        for p in sync.problems {
            if !rep.problems.iter().any(|q| q.object == p.object) {
                rep.problems.push(p);
            }
        }
        // Every entry refused when it was read (an author without the right, a malformed id, a
        // second recording entry, a disabled user's later writing), however long ago.
        for p in self.index.refused_entries().await? {
            if !rep
                .problems
                .iter()
                .any(|q| q.object == p.object && q.reason == p.reason)
            {
                rep.problems.push(p);
            }
        }
        // Audit chains (bodies too when this user holds the audit key).
        let ar = audit::verify_chain(a, self.user.secrets.ring("audit").ok().as_ref(), &signers)?;
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
        for shard in listed(a, "rec", &mut unlisted) {
            for name in listed(a, &format!("rec/{shard}"), &mut unlisted) {
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
                let (id, epoch) =
                    match audio::parse_object_name(&name).filter(|(i, _)| i.starts_with(&shard)) {
                        Some((id, audio::ObjectName::Audio)) => (id, 0),
                        Some((id, audio::ObjectName::Rewrapped(e))) => (id, e),
                        // Checked with the object it names.
                        Some((_, audio::ObjectName::RewrapRecord(_))) => continue,
                        _ => {
                            rep.problems.push(Problem {
                                object: rel,
                                reason: "unexpected file among audio objects".into(),
                            });
                            continue;
                        }
                    };
                let Some(meta) = known.get(id) else {
                    rep.unreferenced.push(rel);
                    continue;
                };
                // A re-wrapped object with no record yet: left by a re-wrap run stopped between
                // the two (never read; the next run replaces it), or planted (never read either).
                if epoch > 0
                    && std::fs::symlink_metadata(a.path(&audio::rewrap_record_path(id, epoch)))
                        .is_err()
                {
                    rep.unreferenced.push(rel);
                    continue;
                }
                // An older object of a recording a newer, valid re-wrap record already names:
                // left by a re-wrap run stopped while shredding it (its header may be half
                // overwritten); the next run removes it, and nothing reads it meanwhile.
                let signer = |uid: &str| {
                    self.users
                        .iter()
                        .find(|u| u.uid == uid)
                        .map(|u| u.signing_key)
                };
                let superseded = (epoch + 1..=self.call_keys.chain.current()).any(|e| {
                    std::fs::symlink_metadata(a.path(&audio::rewrapped_path(id, e))).is_ok()
                        && crate::users::callkey::check_rewrap(
                            a,
                            &self.call_keys.chain,
                            id,
                            e,
                            &meta.object_sha256,
                            &signer,
                        )
                        .is_ok()
                });
                if superseded {
                    continue;
                }
                // A re-wrapped object: as its signed re-wrap record names it.
                let want = if epoch == 0 {
                    meta.object_sha256.clone()
                } else {
                    match crate::users::callkey::check_rewrap(
                        a,
                        &self.call_keys.chain,
                        id,
                        epoch,
                        &meta.object_sha256,
                        &signer,
                    ) {
                        Ok(sha) => sha,
                        Err(e) => {
                            rep.problems.push(Problem {
                                object: rel,
                                reason: reason_of(&e),
                            });
                            continue;
                        }
                    }
                };
                seen.insert(id.to_string());
                rep.recordings_checked += 1;
                // Streamed (a long call's object may be larger than any whole-file read allows);
                // a regular file only, never through a link.
                let (object, sha) = match a.open_object(&rel).and_then(|f| hash_and_rewind(f, &rel))
                {
                    Ok(x) => x,
                    Err(e) => {
                        rep.problems.push(Problem {
                            object: rel,
                            reason: reason_of(&e),
                        });
                        continue;
                    }
                };
                if sha != want {
                    rep.problems.push(Problem {
                        object: rel,
                        reason: "content does not match the hash recorded at import (altered, truncated or replaced)".into(),
                    });
                    continue;
                }
                match decrypt_all(object, id, &keys, &rel) {
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
        for uid in listed(a, "auth", &mut unlisted) {
            for name in listed(a, &format!("auth/{uid}"), &mut unlisted) {
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
        rep.problems.extend(unlisted);
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
        let key = &self.user.secrets.ring("audit")?;
        let mut rep = audit::verify(&self.archive, key, &self.signer_keys())?;
        // What other devices witnessed of each chain must still be there, unchanged.
        let mut witnessed: HashMap<(String, u64), (String, String)> = HashMap::new();
        for e in &rep.all_entries {
            for w in &e.witness {
                witnessed.insert(
                    (w.device.clone(), w.files),
                    (w.last.clone(), format!("device {}", e.device)),
                );
            }
        }
        // And what logons anchored in the signed journal (kept by an index rebuild, seen by a
        // computer new to the archive, untouched by deleting the audit folder).
        for (dev, files, last, by) in self.index.audit_anchors().await? {
            witnessed.entry((dev, files)).or_insert((
                last,
                format!("a logon of user {by} (anchored in the journal)"),
            ));
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
                        "{by} saw this chain at {files} files; it has been cut back or rewritten since"
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

    /// Drop the local index and rebuild it from the archive alone.
    pub async fn rebuild_index(self) -> Result<(Session, SyncReport, i64)> {
        self.require(Action::RebuildIndex)?;
        let Session {
            archive,
            device,
            user,
            signing,
            index,
            users,
            tz,
            allow_erased,
            call_keys,
            warnings,
        } = self;
        let index = index.reset().await?;
        let s = Session {
            archive,
            device,
            user,
            signing,
            index,
            users,
            tz,
            allow_erased,
            call_keys,
            warnings,
        };
        let sync = s
            .index
            .sync(
                &s.archive,
                &s.journal_reader(),
                &s.signer_keys(),
                &s.signer_roles(),
            )
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
