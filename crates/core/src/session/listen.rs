//! Listening through `Session`: every play is authorised (`authorize`, audited with the request it
//! served) before a single sample is decrypted; the decoder reads the encrypted object through the
//! decrypting reader, so no plaintext audio is ever written anywhere. Waveform peaks for the app.

use super::Session;
use crate::archive::audio::{self, DecryptingReader};
use crate::archive::journal::JournalEntry;
use crate::audio::decode::Decoder;
use crate::error::{Error, Result};
use crate::requests::Right;
use crate::session::Grant;
use std::path::Path;

/// A call assigned without its key, waiting for an approver or the data controller to deliver it.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct AwaitingKey {
    pub recording: String,
    /// When the call started (RFC 3339, UTC).
    pub started_at: String,
    pub external_number: Option<String>,
    /// The user name of the clinician or staff member it is assigned to.
    pub assigned_to: String,
    /// The user name of the supervisor who assigned it.
    pub assigned_by: String,
    /// When it was assigned (RFC 3339).
    pub assigned_at: String,
}

/// Waveform peaks of a recording: min/max per window, as signed bytes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Waveform {
    pub window_ms: u32,
    pub peaks: Vec<(i8, i8)>,
}

impl Session {
    /// The data key of a recording, from a wrap in its object or one kept outside it (assignment).
    pub(super) async fn dek_for(
        &self,
        header: &audio::AudioHeader,
        what: &str,
    ) -> Result<crate::secret::Key32> {
        match header.unwrap_dek(&self.audio_keys(), what) {
            Ok(k) => Ok(k),
            Err(Error::Forbidden(m)) => {
                let label = format!("user:{}", self.user.uid);
                match self.index.extra_wrap(&header.id, &label).await? {
                    Some(w) => crate::crypto::unwrap_key(
                        &self.user.secret,
                        &audio::wrap_info(&header.id),
                        &w,
                        what,
                    ),
                    None => match self.granted_dek(&header.id, what).await? {
                        Some(k) => Ok(k),
                        None => Err(Error::Forbidden(m)),
                    },
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The data key of a recording handed to this user by an approval still in force (a request
    /// they may use, not completed or expired, naming the recording): the core enforces the
    /// approval's expiry by using the key only while it holds.
    async fn granted_dek(&self, id: &str, what: &str) -> Result<Option<crate::secret::Key32>> {
        let rules = self.fold_rules().await?;
        let now = chrono::Utc::now();
        for rid in self.index.request_ids().await? {
            let events = self.index.request_events(&rid).await?;
            let Some(st) = crate::requests::fold(&rid, events, &|u| self.roles_of(u), &rules)
            else {
                continue;
            };
            let Some(a) = &st.approval else { continue };
            let Some(k) = a
                .keys
                .iter()
                .find(|k| k.recording == id && k.to == self.user.uid)
            else {
                continue;
            };
            let in_force = [Right::Listen, Right::Export].into_iter().any(|r| {
                crate::policy::listen::access_refusal(&st, &self.user.uid, self.roles(), id, r, now)
                    .is_none()
            });
            if in_force {
                let info = crate::requests::grant_info(&rid, id, &self.user.uid);
                return crate::crypto::unwrap_key(&self.user.secret, &info, &k.wrap, what)
                    .map(Some);
            }
        }
        Ok(None)
    }

    /// The audio object of a recording, opened and checked against the SHA-256 its signed journal
    /// entry commits to, before any byte of it is used: an object deleted and replaced by another
    /// (wrapped to the archive's public keys, with fresh checksums) is refused. Returns the open
    /// file (at its start) and its header.
    pub(super) async fn open_checked_object(
        &self,
        id: &str,
    ) -> Result<(std::fs::File, audio::AudioHeader, String)> {
        use std::io::{Read, Seek};
        if self.index.get(id).await?.is_none() {
            return Err(Error::NotFound(format!("recording {id}")));
        }
        let meta = self.recording_from_journal(id).await?;
        let (rel, want) = self.locate_object(id, &meta.object_sha256)?;
        let path = self.archive.path(&rel);
        let io = |e| Error::io(path.display(), e);
        // A regular file only, never through a link (a pipe planted here would hang the player).
        let mut f = self.archive.open_object(&rel)?;
        let mut h = crate::crypto::Sha256Stream::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut head = Vec::new();
        loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            if head.len() < 1 << 20 {
                head.extend_from_slice(&buf[..n.min((1 << 20) - head.len())]);
            }
            h.update(&buf[..n]);
        }
        if hex::encode(h.finish()) != want {
            return Err(Error::tampered(
                &rel,
                "audio object is not the one its journal entry names (replaced or altered); refused",
            ));
        }
        let (header, _) = audio::parse_header(&head, &rel)?;
        f.rewind().map_err(io)?;
        Ok((f, header, rel))
    }

    /// A decrypting reader over a recording this session holds a key for, its object checked
    /// against its journal entry first.
    pub(super) async fn open_reader(&self, id: &str) -> Result<DecryptingReader<std::fs::File>> {
        let (f, header, rel) = self.open_checked_object(id).await?;
        let dek = self.dek_for(&header, &rel).await?;
        DecryptingReader::open_with_dek(f, id, dek, &rel)
    }

    /// Assign an unassigned call to a staff user (supervisor): its key is wrapped to them, so they
    /// reach it as a party from now on. Audited.
    pub async fn assign(&mut self, id: &str, staff: &str) -> Result<()> {
        let id = id.trim().to_ascii_lowercase();
        self.require(crate::policy::Action::AssignRecording)?;
        let Some((meta, _)) = self.index.get(&id).await? else {
            return Err(Error::NotFound(format!("recording {id}")));
        };
        if meta.staff_uid.is_some() {
            return Err(Error::Invalid(format!(
                "recording {id} is already assigned"
            )));
        }
        let user = self
            .resolve_staff(staff)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("staff user '{staff}'")))?;
        if !crate::policy::listen::may_be_assigned(&user.roles) {
            return self.refuse(
                crate::policy::Action::AssignRecording,
                vec![id.clone(), user.uid.clone()],
                Error::Forbidden(format!(
                    "recording {id}: a call is assigned only to a clinician or a member of staff; others reach it through an approved request"
                )),
            );
        }
        let (_, header, rel) = self.open_checked_object(&id).await?;
        // A supervisor holds no call keys: the assignment is journalled without the key, and an
        // approver or the data controller delivers it when they choose to (`deliver_assigned_key`).
        // Only with the call key itself (never a key an approval handed over, which would outlive
        // the approval as a wrap).
        let own = self.user.secrets.call_keys();
        let wrap = match header.unwrap_dek(&own, &rel) {
            Ok(dek) => Some(crate::crypto::wrap(
                &user.public_key,
                &audio::wrap_info(&id),
                dek.expose(),
            )?),
            Err(Error::Forbidden(_)) => None,
            Err(e) => return Err(e),
        };
        let pending = wrap.is_none();
        let at = super::now_rfc3339_ms();
        let a = crate::archive::journal::Assignment {
            recording: id.clone(),
            staff_uid: user.uid.clone(),
            wrap,
            by: self.user.uid.clone(),
            at: at.clone(),
        };
        // First, in a segment of its own (a build that does not know the kind refuses only it), a
        // copy of the call's own entry, its importer's signature and all, so that the user
        // assigned, who reads only the segments about them, reads the call (FORMAT.md,
        // "Segment readers") — before the assignment, which their sync applies only once it has
        // the call (a sync between the two then finds both in order). None for a call journalled
        // before entries were signed; and if the original cannot be read again, the assignment
        // stands and the copy is left out, said.
        match self.recording_copy(&id, &user.uid, &at).await {
            Ok(Some(c)) => {
                self.journal(vec![JournalEntry::RecordingCopy(Box::new(c))])
                    .await?
            }
            Ok(None) => {}
            Err(e) => self.warn_once(format!(
                "recording {id}: assigned, but its journal entry could not be read again to copy it for the user assigned ({e})"
            )),
        }
        self.journal(vec![JournalEntry::Assign(Box::new(a))])
            .await?;
        self.audit(
            crate::policy::Action::AssignRecording,
            "allowed",
            vec![id, user.uid],
            pending.then(|| {
                "assigned; the call's key reaches them when an approver or the data controller delivers it".to_string()
            }),
        )
    }

    /// A copy of recording `id`'s own journal entry for user `to`, read again from its segment on
    /// the share with its importer's signature; none if that segment carries no entry signatures
    /// (written before format 2) or no longer holds it.
    async fn recording_copy(
        &self,
        id: &str,
        to: &str,
        at: &str,
    ) -> Result<Option<crate::archive::journal::RecordingCopy>> {
        use crate::archive::journal;
        let Some(src) = self.index.recording_source(id).await? else {
            return Ok(None);
        };
        let Some((device, seq)) = src
            .split_once('/')
            .and_then(|(d, s)| Some((d.to_string(), s.parse::<u64>().ok()?)))
        else {
            return Ok(None);
        };
        let listing = journal::list_device(&self.archive, &device)?;
        let Some((gen, name)) = listing.current.get(&seq) else {
            return Ok(None);
        };
        let rel = format!("journal/{device}/{name}");
        let bytes = self.archive.read(&rel)?;
        let metadata = self.user.secrets.ring("metadata")?;
        let (_, entries, sigs) = journal::open_segment_signed(
            &bytes,
            &metadata,
            &device,
            seq,
            *gen,
            &self.signer_keys(),
            &rel,
        )?;
        let Some(sigs) = sigs else { return Ok(None) };
        Ok(entries.into_iter().zip(sigs).find_map(|(e, sig)| match e {
            JournalEntry::Recording(m) if m.id == id => Some(journal::RecordingCopy {
                recording: id.to_string(),
                to: to.to_string(),
                device: device.clone(),
                seq,
                entry: m,
                sig,
                by: self.user.uid.clone(),
                at: at.to_string(),
            }),
            _ => None,
        }))
    }

    /// The calls a supervisor assigned without their key (supervisors hold none), each waiting for
    /// an approver or the data controller to deliver it: the policy's authorisers decide who
    /// hears a call, so nothing is delivered without one of them choosing to (an admin who made
    /// themself a supervisor and a clinician of their own gets no key by waiting). Only to a
    /// clinician or staff member the call is still assigned to; empty for anyone else.
    pub(super) async fn awaiting_keys(&self) -> Result<Vec<AwaitingKey>> {
        if !crate::policy::listen::may_deliver_assigned_key(self.roles()) {
            return Ok(vec![]);
        }
        let mut out = Vec::new();
        for (id, uid, by, at) in self.index.pending_keys().await? {
            let Some(user) = self.users.iter().find(|u| {
                u.uid == uid && !u.disabled && crate::policy::listen::may_be_assigned(&u.roles)
            }) else {
                continue;
            };
            let Some((meta, _)) = self.index.get(&id).await? else {
                continue;
            };
            if meta.staff_uid.as_deref() != Some(uid.as_str()) {
                continue;
            }
            out.push(AwaitingKey {
                recording: id,
                started_at: meta.started_at,
                external_number: meta.external_number,
                assigned_to: user.name.clone(),
                assigned_by: self
                    .name_of(&by)
                    .unwrap_or_else(|| "an unknown user".into()),
                assigned_at: at,
            });
        }
        out.sort_by(|a, b| a.assigned_at.cmp(&b.assigned_at));
        Ok(out)
    }

    /// The calls assigned without their key that this user may deliver (an approver or the data
    /// controller). Audited.
    pub async fn assignments_awaiting_key(&self) -> Result<Vec<AwaitingKey>> {
        if !crate::policy::listen::may_deliver_assigned_key(self.roles()) {
            return self.refuse(
                crate::policy::Action::AssignRecording,
                vec![],
                Error::Forbidden(
                    "only an approver or the data controller delivers an assigned call's key"
                        .into(),
                ),
            );
        }
        let out = self.awaiting_keys().await?;
        self.audit(
            crate::policy::Action::AssignRecording,
            "allowed",
            vec![],
            Some(format!(
                "listed {} assigned call(s) awaiting a key",
                out.len()
            )),
        )?;
        Ok(out)
    }

    /// Deliver the key of a call a supervisor assigned without it (an approver's or the data
    /// controller's decision): wrapped to the staff member it is assigned to and journalled as a
    /// second `assign` entry. Audited, allowed or refused.
    /// `seen`: the assignment as the authoriser saw it, `(assigned_to, assigned_at)` from
    /// [`Session::assignments_awaiting_key`]: refused if the call was assigned again since.
    pub async fn deliver_assigned_key(
        &mut self,
        id: &str,
        seen: Option<(&str, &str)>,
    ) -> Result<String> {
        let id = id.trim().to_ascii_lowercase();
        if !crate::policy::listen::may_deliver_assigned_key(self.roles()) {
            return self.refuse(
                crate::policy::Action::AssignRecording,
                vec![id],
                Error::Forbidden(
                    "only an approver or the data controller delivers an assigned call's key"
                        .into(),
                ),
            );
        }
        let waiting = self.awaiting_keys().await?;
        let Some(w) = waiting.into_iter().find(|w| w.recording == id) else {
            return self.refuse(
                crate::policy::Action::AssignRecording,
                vec![id.clone()],
                Error::NotFound(format!(
                    "recording {id}: no assignment of it is waiting for a key"
                )),
            );
        };
        // The assignment the authoriser decided on, not one a supervisor made since.
        if seen.is_some_and(|(to, at)| to != w.assigned_to || at != w.assigned_at) {
            return self.refuse(
                crate::policy::Action::AssignRecording,
                vec![id.clone()],
                Error::Invalid(format!(
                    "recording {id}: it was assigned again since you looked (now to {}, by {}); look at it again before delivering its key",
                    w.assigned_to, w.assigned_by
                )),
            );
        }
        let uid = self
            .index
            .get(&id)
            .await?
            .and_then(|(m, _)| m.staff_uid)
            .ok_or_else(|| Error::NotFound(format!("recording {id}")))?;
        let public_key = self
            .users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.public_key)
            .ok_or_else(|| Error::NotFound(format!("user of recording {id}")))?;
        let (_, header, rel) = self.open_checked_object(&id).await?;
        // Only with the call key itself, never a key an approval handed over.
        let own = self.user.secrets.call_keys();
        let dek = header.unwrap_dek(&own, &rel)?;
        let wrap = crate::crypto::wrap(&public_key, &audio::wrap_info(&id), dek.expose())?;
        self.journal(vec![crate::archive::journal::JournalEntry::Assign(
            Box::new(crate::archive::journal::Assignment {
                recording: id.clone(),
                staff_uid: uid.clone(),
                wrap: Some(wrap),
                by: self.user.uid.clone(),
                at: super::now_rfc3339_ms(),
            }),
        )])
        .await?;
        self.audit(
            crate::policy::Action::AssignRecording,
            "allowed",
            vec![id, uid],
            Some(format!(
                "delivered the key of a call {} assigned to {}",
                w.assigned_by, w.assigned_to
            )),
        )?;
        Ok(w.assigned_to)
    }

    /// Authorise listening (a request, or for a party to the call a stated reason), then open a
    /// decoder over the encrypted recording.
    pub async fn open_for_listening(
        &self,
        id: &str,
        request: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(Decoder, Grant)> {
        let grant = self.authorize(id, Right::Listen, request, reason).await?;
        let (meta, _) = self
            .index
            .get(&grant.recording)
            .await?
            .ok_or_else(|| Error::NotFound(format!("recording {id}")))?;
        let reader = match self.open_reader(&grant.recording).await {
            Ok(r) => r,
            // Granted, but this user holds no key that opens it (e.g. a clinician's approved
            // request for a colleague's call): a refusal, audited as one.
            Err(e @ Error::Forbidden(_)) => {
                return self.refuse(
                    crate::policy::Action::Listen,
                    vec![grant.recording.clone()],
                    e,
                )
            }
            Err(e) => return Err(e),
        };
        let ext = Path::new(&meta.source_name)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let dec = Decoder::open(
            reader,
            ext.as_deref(),
            &format!("recording {}", grant.recording),
        )?;
        Ok((dec, grant))
    }

    /// The stored waveform of a recording this user may see and whose key they hold.
    pub async fn waveform(&self, id: &str) -> Result<Waveform> {
        let view = self.show(id).await?;
        self.stored_waveform(&view.id).await
    }

    /// The stored waveform of recording `id` with the keys this session holds, its objects checked
    /// against the signed journal; no rule and no audit here (the callers decide and audit).
    pub(super) async fn stored_waveform(&self, id: &str) -> Result<Waveform> {
        let (_, header, rel) = self.open_checked_object(id).await?;
        let dek = self.dek_for(&header, &rel).await?;
        let prel = audio::peaks_path(id);
        let meta = self.recording_from_journal(id).await?;
        // Peaks only as the signed journal entry names them: a planted or replaced object is refused.
        let Some(want) = meta.peaks_sha256 else {
            return Err(Error::NotFound(format!("waveform of recording {id}")));
        };
        let data = self.archive.read(&prel)?;
        if hex::encode(crate::crypto::sha256(&data)) != want {
            return Err(Error::tampered(
                &prel,
                "waveform object is not the one its journal entry names (replaced or altered); refused",
            ));
        }
        let (window_ms, peaks) = audio::open_peaks(&data, id, &dek, &prel)?;
        Ok(Waveform { window_ms, peaks })
    }
}
