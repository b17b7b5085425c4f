//! Listening through `Session`: every play is authorised (`authorize`, audited with the request it
//! served) before a single sample is decrypted; the decoder reads the encrypted object through the
//! decrypting reader, so no plaintext audio is ever written anywhere. Waveform peaks for the app.

use super::Session;
use crate::archive::audio::{self, DecryptingReader};
use crate::audio::decode::Decoder;
use crate::error::{Error, Result};
use crate::requests::Right;
use crate::session::Grant;
use std::path::Path;

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
                    None => Err(Error::Forbidden(m)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The audio object of a recording, opened and checked against the SHA-256 its signed journal
    /// entry commits to, before any byte of it is used: an object deleted and replaced by another
    /// (wrapped to the archive's public keys, with fresh checksums) is refused. Returns the open
    /// file (at its start) and its header.
    pub(super) async fn open_checked_object(
        &self,
        id: &str,
    ) -> Result<(std::fs::File, audio::AudioHeader)> {
        use std::io::{Read, Seek};
        if self.index.get(id).await?.is_none() {
            return Err(Error::NotFound(format!("recording {id}")));
        }
        let meta = self.recording_from_journal(id).await?;
        let rel = audio::object_path(id);
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
        if hex::encode(h.finish()) != meta.object_sha256 {
            return Err(Error::tampered(
                &rel,
                "audio object is not the one its journal entry names (replaced or altered); refused",
            ));
        }
        let (header, _) = audio::parse_header(&head, &rel)?;
        f.rewind().map_err(io)?;
        Ok((f, header))
    }

    /// A decrypting reader over a recording this session holds a key for, its object checked
    /// against its journal entry first.
    pub(super) async fn open_reader(&self, id: &str) -> Result<DecryptingReader<std::fs::File>> {
        let rel = audio::object_path(id);
        let (f, header) = self.open_checked_object(id).await?;
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
        let rel = audio::object_path(&id);
        let (_, header) = self.open_checked_object(&id).await?;
        let dek = self.dek_for(&header, &rel).await?;
        let wrap = crate::crypto::wrap(&user.public_key, &audio::wrap_info(&id), dek.expose())?;
        let a = crate::archive::journal::Assignment {
            recording: id.clone(),
            staff_uid: user.uid.clone(),
            wrap,
            by: self.user.uid.clone(),
            at: super::now_rfc3339_ms(),
        };
        self.journal(vec![crate::archive::journal::JournalEntry::Assign(
            Box::new(a),
        )])
        .await?;
        self.audit(
            crate::policy::Action::AssignRecording,
            "allowed",
            vec![id, user.uid],
            None,
        )
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
        let rel = audio::object_path(&view.id);
        let (_, header) = self.open_checked_object(&view.id).await?;
        let dek = self.dek_for(&header, &rel).await?;
        let prel = audio::peaks_path(&view.id);
        let meta = self.recording_from_journal(&view.id).await?;
        // Peaks only as the signed journal entry names them: a planted or replaced object is refused.
        let Some(want) = meta.peaks_sha256 else {
            return Err(Error::NotFound(format!(
                "waveform of recording {}",
                view.id
            )));
        };
        let data = self.archive.read(&prel)?;
        if hex::encode(crate::crypto::sha256(&data)) != want {
            return Err(Error::tampered(
                &prel,
                "waveform object is not the one its journal entry names (replaced or altered); refused",
            ));
        }
        let (window_ms, peaks) = audio::open_peaks(&data, &view.id, &dek, &prel)?;
        Ok(Waveform { window_ms, peaks })
    }
}
