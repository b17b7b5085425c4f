//! Subject access and portability exports through `Session`: each recording is checked with
//! `authorize` (approved request, not expired, covers it, allows export) and audited; then the
//! package is built where the user chose (`crate::export`).

use super::Session;
use crate::audio::decode;
use crate::error::{Error, Result};
use crate::export::{self, CallAudio, ExportReport, Fill, Letter, Redaction};
use crate::policy::{self, Action};
use crate::requests::{Purpose, RequestState, Right, State};
use std::io::Read;
use std::path::Path;

/// Choices for a SAR export.
#[derive(Clone, Debug, Default)]
pub struct SarOptions {
    /// One AES-256 encrypted ZIP (passphrase shown once) instead of a folder.
    pub zip: bool,
    pub redactions: Vec<Redaction>,
    /// Fill redacted ranges with a tone instead of silence.
    pub tone: bool,
}

/// Codecs whose original file any person can play as it is.
const COMMON: &[&str] = &[
    "pcm_s16le",
    "pcm_mulaw",
    "pcm_alaw",
    "mp3",
    "flac",
    "vorbis",
    "aac",
];

impl Session {
    /// The one export of an approved request, whatever its purpose, into a new file or folder in
    /// `folder` (an existing folder the user chose): a SAR package with its letter, a portability
    /// folder (never a ZIP: machine-readable files for the person to take elsewhere), or a release
    /// copy for a police or disciplinary request. The name is new each time (purpose, request and
    /// time), so a second export never meets the first. Redaction ranges are checked here.
    pub async fn export(
        &self,
        request: &str,
        folder: &Path,
        opts: &SarOptions,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ExportReport> {
        let st = self.export_request(request).await?;
        if !folder.is_absolute() || !folder.is_dir() {
            return Err(Error::Invalid(format!(
                "export folder {}: choose an existing folder",
                folder.display()
            )));
        }
        for r in &opts.redactions {
            if !(r.start_s.is_finite()
                && r.end_s.is_finite()
                && 0.0 <= r.start_s
                && r.start_s < r.end_s)
            {
                return Err(Error::Invalid(format!(
                    "redaction of recording {}: the range must start before it ends",
                    r.recording
                )));
            }
        }
        let mut opts = opts.clone();
        opts.zip &= st.purpose != Purpose::Portability;
        for r in &mut opts.redactions {
            r.recording = r.recording.trim().to_ascii_lowercase();
        }
        let stem = format!(
            "{}-{}-{}",
            match st.purpose {
                Purpose::Sar => "subject-access",
                p => p.as_str(),
            },
            &st.id[..8],
            chrono::Utc::now()
                .with_timezone(&self.tz)
                .format("%Y%m%d-%H%M%S")
        );
        let out = folder.join(if opts.zip {
            format!("{stem}.zip")
        } else {
            stem
        });
        match st.purpose {
            Purpose::Sar => self.export_sar(&st.id, &out, &opts, progress).await,
            Purpose::Portability => self.export_portability(&st.id, &out, progress).await,
            _ => self.export_release(&st.id, &out, &opts, progress).await,
        }
    }

    /// One-click SAR export of an approved subject access request.
    pub async fn export_sar(
        &self,
        request: &str,
        out: &Path,
        opts: &SarOptions,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ExportReport> {
        self.export_common(request, Purpose::Sar, out, opts, progress)
            .await
    }

    /// Data portability export: machine-readable metadata plus audio of an approved portability request.
    pub async fn export_portability(
        &self,
        request: &str,
        out: &Path,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ExportReport> {
        self.export_common(
            request,
            Purpose::Portability,
            out,
            &SarOptions::default(),
            progress,
        )
        .await
    }

    /// A copy of the recordings of another approved request that allows export — a police
    /// request completed by the data controller, or a disciplinary release with the data
    /// controller's written agreement: the same package as a SAR's (WAVs, originals, manifest,
    /// checksums; folder or encrypted ZIP; optional redaction) without the subject access letter.
    pub async fn export_release(
        &self,
        request: &str,
        out: &Path,
        opts: &SarOptions,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ExportReport> {
        let st = self.export_request(request).await?;
        match st.purpose {
            Purpose::Sar | Purpose::Portability | Purpose::Erasure => {
                let e = Error::Invalid(format!(
                    "request {} is a {} request: use its own export",
                    st.id,
                    st.purpose.as_str()
                ));
                self.audit_export_refusal(&st.id, &e)?;
                Err(e)
            }
            p => self.export_common(&st.id, p, out, opts, progress).await,
        }
    }

    async fn export_common(
        &self,
        request: &str,
        purpose: Purpose,
        out: &Path,
        opts: &SarOptions,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ExportReport> {
        let st = self.export_request(request).await?;
        if st.purpose != purpose {
            let e = Error::Invalid(format!(
                "request {} is a {} request, not {}",
                st.id,
                st.purpose.as_str(),
                purpose.as_str()
            ));
            self.audit_export_refusal(&st.id, &e)?;
            return Err(e);
        }
        if st.state != State::Approved {
            let e = Error::Forbidden(format!(
                "request {} is {} (an export needs an approved request)",
                st.id,
                st.state.as_str()
            ));
            self.audit_export_refusal(&st.id, &e)?;
            return Err(e);
        }
        let recordings = st
            .approval
            .as_ref()
            .map(|a| a.recordings.clone())
            .unwrap_or_default();
        for r in &opts.redactions {
            if !policy::requests::may_redact(self.roles()) {
                let e = Error::Forbidden("only the data controller marks redactions".into());
                self.audit_export_refusal(&st.id, &e)?;
                return Err(e);
            }
            if !recordings.contains(&r.recording) {
                return Err(Error::Invalid(format!(
                    "redaction names recording {}, which request {} does not cover",
                    r.recording, st.id
                )));
            }
        }
        // Every recording through the one access check (audited, allowed or refused).
        for id in &recordings {
            self.authorize(id, Right::Export, Some(&st.id), Some("export"))
                .await?;
        }
        let mut calls = Vec::new();
        for id in &recordings {
            let Some((meta, _)) = self.index.get(id).await? else {
                return Err(Error::NotFound(format!("recording {id}")));
            };
            let reader = self.open_reader(id).await?;
            let ext = Path::new(&meta.source_name)
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            let (samples, rate, channels) =
                decode::decode_all(reader, ext.as_deref(), &format!("recording {id}"))?;
            let original = if COMMON.contains(&meta.codec.as_str()) {
                let mut r = self.open_reader(id).await?;
                let mut bytes = Vec::with_capacity(r.len() as usize);
                r.read_to_end(&mut bytes).map_err(|e| Error::Audio {
                    file: format!("recording {id}"),
                    reason: e.to_string(),
                })?;
                Some((bytes, ext.clone().unwrap_or_else(|| "bin".into())))
            } else {
                None
            };
            let started = chrono::DateTime::parse_from_rfc3339(&meta.started_at)
                .map_err(|_| Error::Index(format!("recording {id}: bad start time")))?
                .with_timezone(&self.tz);
            let mut view = self.views(vec![meta]).await?.remove(0);
            // Other legs of a conversation are other recordings (perhaps others' calls): a package
            // names only what it holds.
            view.conversation = None;
            // A call may be linked to other patients too (a parent ringing about a child): a
            // subject's package names only their own NHS number, a release to others none.
            view.nhs_numbers.retain(|n| {
                matches!(purpose, Purpose::Sar | Purpose::Portability)
                    && st
                        .details
                        .nhs_number
                        .as_deref()
                        .and_then(|s| crate::patient::parse(s).ok())
                        .as_deref()
                        == Some(n.as_str())
            });
            calls.push(CallAudio {
                view,
                pcm: export::to_i16(&samples),
                rate,
                channels,
                original,
                local: started,
            });
        }
        calls.sort_by_key(|c| c.local);
        let letter = if purpose == Purpose::Sar {
            let settings = self.settings().await?;
            let get = |k: &str| {
                settings
                    .iter()
                    .find(|(key, _, _)| key == k)
                    .map(|(_, v, _)| v.clone())
                    .unwrap_or_default()
            };
            Some(Letter {
                practice_name: get("practice-name"),
                practice_address: get("practice-address"),
                addressee: st.details.parties.first().cloned(),
                received: st.details.received,
                reference: st.id.clone(),
                signed_by: self.user.profile.name.clone(),
                zipped: opts.zip,
                redacted: !opts.redactions.is_empty(),
            })
        } else {
            None
        };
        let fill = if opts.tone { Fill::Tone } else { Fill::Silence };
        let rep = export::build(
            &st.id,
            calls,
            &opts.redactions,
            fill,
            letter,
            out,
            opts.zip,
            progress,
        )?;
        let files: Vec<String> = rep
            .files
            .iter()
            .map(|f| format!("{} {}", f.name, f.sha256))
            .collect();
        let mut e = super::entry(
            &self.device.id,
            &self.user.uid,
            match purpose {
                Purpose::Sar => Action::ExportSar,
                Purpose::Portability => Action::ExportPortability,
                _ => Action::ExportRelease,
            },
            "allowed",
            recordings,
            Some(format!(
                "to {}{}; files: {}",
                rep.destination,
                rep.zip_sha256
                    .as_deref()
                    .map(|h| format!(" (zip sha256 {h})"))
                    .unwrap_or_default(),
                files.join(", ")
            )),
        );
        e.request = Some(st.id.clone());
        crate::audit::append(&self.archive, &self.device.id, &[e], Some(&self.signer()))?;
        Ok(rep)
    }

    /// The request an export serves, refused (and audited) when it cannot be read or this user may
    /// not see it: whoever may not see a request learns nothing of it (its purpose or state) from
    /// an export's refusal.
    async fn export_request(&self, request: &str) -> Result<RequestState> {
        let st = match self.request_state(request).await {
            Ok(st) => st,
            Err(e) => return self.refuse(Action::Export, vec![], e),
        };
        if !self.may_see_request(&st) {
            let e = Error::Forbidden(format!("request {}: raised by someone else", st.id));
            self.audit_export_refusal(&st.id, &e)?;
            return Err(e);
        }
        Ok(st)
    }

    fn audit_export_refusal(&self, request: &str, e: &Error) -> Result<()> {
        let mut en = super::entry(
            &self.device.id,
            &self.user.uid,
            Action::Export,
            "refused",
            vec![],
            Some(e.to_string()),
        );
        en.request = Some(request.to_string());
        crate::audit::append(&self.archive, &self.device.id, &[en], Some(&self.signer()))
    }
}
