//! The one path by which a call enters the archive, shared by a user's import
//! (`Session::import_sources`) and the unattended ingest (`unattended::Ingest::import`): check the
//! audio and take its keyed hash and waveform peaks ([`probe`]), find the staff member and parties
//! it maps to ([`parties`]), describe it ([`meta`]), then encrypt it to the custodian and those
//! people and write its audio object and peaks, each written once and never replaced ([`seal`]).
//! Journalling the metadata (the moment a call counts as stored) is the caller's: a session
//! journals a batch at a time, an ingest machine each call with its recovery state.

use crate::archive::journal::RecordingMeta;
use crate::archive::{audio, Archive};
use crate::audio::decode;
use crate::crypto;
use crate::error::{Error, Result};
use crate::ingest::probe::{self, AudioInfo};
use crate::ingest::CallSource;
use crate::secret::Key32;
use std::path::Path;
use std::sync::Arc;

/// A call whose audio was checked: what it is, its keyed hash (duplicate detection), and its
/// waveform peaks when it decodes whole (so the app draws it without decoding).
pub struct Probed {
    pub info: AudioInfo,
    pub dedup: String,
    pub peaks: Option<Vec<(i16, i16)>>,
}

/// Step 1 (pure, run in parallel by a session): is it audio, its keyed hash and its peaks. The
/// error is a reason fit to show beside the file's name. The source's bytes move into the result.
pub fn probe(src: &mut CallSource, dedup_key: &Key32) -> (Arc<[u8]>, Result<Probed, String>) {
    let ext = extension(&src.name);
    let data: Arc<[u8]> = std::mem::take(&mut src.bytes).into();
    let res = probe::probe(data.clone(), ext.as_deref()).map(|info| {
        let peaks = decode::decode_all(
            std::io::Cursor::new(data.clone()),
            ext.as_deref(),
            &src.name,
        )
        .ok()
        .map(|(s, rate, ch)| decode::peaks(&s, rate, ch, decode::PEAK_WINDOW_MS));
        Probed {
            info,
            dedup: hex::encode(crypto::hmac_sha256(dedup_key.expose(), &data)),
            peaks,
        }
    });
    (data, res)
}

fn extension(name: &str) -> Option<String> {
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Step 2: the member of staff a call maps to (its staff label, else its extension) and every
/// user among its parties, that member first, each once. `resolve` maps a user name or
/// telephony identity to a user; `uid` names one.
pub fn parties<'u, U>(
    src: &CallSource,
    resolve: impl Fn(&str) -> Option<&'u U>,
    uid: impl Fn(&U) -> &str,
) -> (Option<&'u U>, Vec<&'u U>) {
    let staff = src
        .staff
        .as_deref()
        .and_then(&resolve)
        .or_else(|| src.extension.as_deref().and_then(&resolve));
    let mut users: Vec<&U> = staff.into_iter().collect();
    for p in &src.parties {
        if let Some(u) = resolve(p) {
            if !users.iter().any(|x| uid(x) == uid(u)) {
                users.push(u);
            }
        }
    }
    (staff, users)
}

/// Step 3: the call's metadata as it will be journalled (its object's and peaks' hashes are filled
/// in by [`seal`]).
pub fn meta(
    src: &CallSource,
    probed: &Probed,
    size: usize,
    staff_uid: Option<String>,
    party_uids: Vec<String>,
    imported_by: &str,
    device: &str,
) -> RecordingMeta {
    let nonce = crypto::new_id();
    RecordingMeta {
        id: crate::archive::journal::recording_id(imported_by, device, &nonce),
        nonce: Some(nonce),
        started_at: crate::time::rfc3339(src.started_at),
        direction: src.direction,
        staff_uid,
        staff_label: src.staff.clone(),
        extension: src.extension.clone(),
        external_number: src.external_number.clone(),
        parties: src.parties.clone(),
        party_uids,
        notes: src.notes.clone(),
        nhs_numbers: src.nhs_numbers.clone(),
        conversation: src.conversation.clone(),
        duration_ms: probed.info.duration_ms,
        codec: probed.info.codec.clone(),
        sample_rate: probed.info.sample_rate,
        channels: probed.info.channels,
        source_name: src.name.clone(),
        size: size as u64,
        object_sha256: String::new(),
        peaks_sha256: None,
        dedup: probed.dedup.clone(),
        imported_by: imported_by.to_string(),
        imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// Step 4: encrypt the audio to `recipients` (the custodian and the call's users, each
/// `(label, X25519 public key)`) and write its peaks and then its object, each created once and
/// never replaced; `meta` gets their SHA-256s. Nothing is stored until the caller journals `meta`.
pub fn seal(
    archive: &Archive,
    data: &[u8],
    recipients: &[(String, [u8; 32])],
    meta: &mut RecordingMeta,
    peaks: Option<&[(i16, i16)]>,
) -> Result<()> {
    let (object, dek) = audio::seal_keyed(&meta.id, archive.config.segment_size, data, recipients)?;
    if let Some(p) = peaks {
        let po = audio::seal_peaks(&meta.id, &dek, decode::PEAK_WINDOW_MS, p);
        let prel = audio::peaks_path(&meta.id);
        archive
            .write_new(&prel, &po)
            .map_err(|e| Error::io(archive.path(&prel).display(), e))?;
        meta.peaks_sha256 = Some(hex::encode(crypto::sha256(&po)));
    }
    drop(dek);
    let rel = audio::object_path(&meta.id);
    archive
        .write_new(&rel, &object)
        .map_err(|e| Error::io(archive.path(&rel).display(), e))?;
    meta.object_sha256 = hex::encode(crypto::sha256(&object));
    Ok(())
}
