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
        let rel = audio::object_path(&grant.recording);
        let path = self.archive.path(&rel);
        let file = std::fs::File::open(&path).map_err(|e| Error::io(path.display(), e))?;
        let reader =
            DecryptingReader::open_recording(file, &grant.recording, &self.audio_keys(), &rel)?;
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
        let head = {
            use std::io::Read;
            let path = self.archive.path(&rel);
            let f = std::fs::File::open(&path).map_err(|e| Error::io(path.display(), e))?;
            let mut buf = Vec::new();
            f.take(1 << 20)
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(path.display(), e))?;
            buf
        };
        let (header, _) = audio::parse_header(&head, &rel)?;
        let dek = header.unwrap_dek(&self.audio_keys(), &rel)?;
        let prel = audio::peaks_path(&view.id);
        let data = self.archive.read(&prel)?;
        let (window_ms, peaks) = audio::open_peaks(&data, &view.id, &dek, &prel)?;
        Ok(Waveform { window_ms, peaks })
    }
}
