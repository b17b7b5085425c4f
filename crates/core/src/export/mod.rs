//! Subject access and portability exports: every approved recording as a WAV anyone can play
//! (16-bit PCM at the call's own rate, from any source codec, GSM included), the original file when
//! it is a common format and nothing was redacted, a plain printable cover letter (PDF),
//! `manifest.json` and `manifest.csv` (every metadata field, for portability) and `SHA256SUMS` —
//! as a folder, or as one AES-256 encrypted ZIP whose generated passphrase is shown once.
//!
//! This is the only place decrypted audio is written, and only where the user chose. Who may
//! export what is decided by `Session` before anything here runs.

pub mod pdf;

use crate::error::{Error, Result};
use crate::session::RecordingView;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A time range of a recording to replace (third-party information).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Redaction {
    pub recording: String,
    pub start_s: f64,
    pub end_s: f64,
}

impl Redaction {
    /// Parse `ID:START-END` (seconds).
    pub fn parse(s: &str) -> Result<Redaction> {
        let bad = || {
            Error::Invalid(format!(
                "redaction '{s}': use RECORDING_ID:START-END (seconds)"
            ))
        };
        let (id, range) = s.split_once(':').ok_or_else(bad)?;
        let (a, b) = range.split_once('-').ok_or_else(bad)?;
        let (start_s, end_s): (f64, f64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if !(start_s >= 0.0 && end_s > start_s && end_s.is_finite()) {
            return Err(bad());
        }
        Ok(Redaction {
            recording: id.trim().to_ascii_lowercase(),
            start_s,
            end_s,
        })
    }
}

/// How redacted audio is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    Silence,
    Tone,
}

/// One call to export: what is shown about it, and its decoded audio.
pub struct CallAudio {
    pub view: RecordingView,
    /// Decoded samples, interleaved, as 16-bit PCM.
    pub pcm: Vec<i16>,
    pub rate: u32,
    pub channels: u16,
    /// The original file's bytes and extension, when it is a common format.
    pub original: Option<(Vec<u8>, String)>,
    /// Local date and time of the call (for file names and the letter).
    pub local: chrono::DateTime<chrono_tz::Tz>,
}

/// A file written to the package.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExportedFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What an export wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    pub request: String,
    /// The folder or ZIP file written.
    pub destination: String,
    pub files: Vec<ExportedFile>,
    /// The ZIP's passphrase: shown once, to be sent to the person separately.
    pub passphrase: Option<String>,
    pub zip_sha256: Option<String>,
    pub redactions: Vec<Redaction>,
}

/// The letter's details.
pub struct Letter {
    pub practice_name: String,
    pub practice_address: String,
    pub addressee: Option<String>,
    pub received: Option<chrono::NaiveDate>,
    pub reference: String,
    pub signed_by: String,
    pub zipped: bool,
    pub redacted: bool,
}

/// Replace each range with silence or a quiet 1 kHz tone.
pub fn redact(pcm: &mut [i16], rate: u32, channels: u16, ranges: &[&Redaction], fill: Fill) {
    let ch = channels.max(1) as usize;
    let frames = pcm.len() / ch;
    for r in ranges {
        let a = ((r.start_s * rate as f64) as usize).min(frames);
        let b = ((r.end_s * rate as f64).ceil() as usize).min(frames);
        for f in a..b {
            let v = match fill {
                Fill::Silence => 0,
                Fill::Tone => {
                    ((f as f64 * 2.0 * std::f64::consts::PI * 1000.0 / rate as f64).sin() * 3000.0)
                        as i16
                }
            };
            for c in 0..ch {
                pcm[f * ch + c] = v;
            }
        }
    }
}

/// A 16-bit PCM WAV file.
pub fn wav(pcm: &[i16], rate: u32, channels: u16) -> Vec<u8> {
    let data_len = (pcm.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + pcm.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * channels as u32 * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// f32 samples (from the decoder) to 16-bit PCM.
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Where the package goes.
enum Sink {
    Folder(PathBuf),
    Zip(Box<zip::ZipWriter<std::fs::File>>, String),
}

impl Sink {
    fn add(&mut self, name: &str, data: &[u8]) -> Result<()> {
        match self {
            Sink::Folder(dir) => {
                let p = dir.join(name);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                    .map_err(|e| Error::io(p.display(), e))?;
                f.write_all(data).map_err(|e| Error::io(p.display(), e))?;
                f.sync_all().map_err(|e| Error::io(p.display(), e))
            }
            Sink::Zip(z, pass) => {
                let audio =
                    name.ends_with(".wav") || name.ends_with(".mp3") || name.ends_with(".flac");
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(if audio {
                        zip::CompressionMethod::Stored
                    } else {
                        zip::CompressionMethod::Deflated
                    })
                    .with_aes_encryption(zip::AesMode::Aes256, pass);
                z.start_file(name, opts)
                    .map_err(|e| Error::Invalid(format!("ZIP {name}: {e}")))?;
                z.write_all(data).map_err(|e| Error::io(name, e))
            }
        }
    }
}

/// A passphrase of 25 characters from an unambiguous alphabet (≈ 120 bits), in groups of five.
pub fn passphrase() -> String {
    const A: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes: [u8; 25] = crate::crypto::random_array();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| A[*b as usize % A.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn fmt_duration(s: f64) -> String {
    let t = s.round() as u64;
    format!("{}:{:02}", t / 60, t % 60)
}

/// Build the package. `letter` is None for a portability export (metadata and audio only).
#[allow(clippy::too_many_arguments)]
pub fn build(
    request: &str,
    calls: Vec<CallAudio>,
    redactions: &[Redaction],
    fill: Fill,
    letter: Option<Letter>,
    out: &Path,
    zipped: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ExportReport> {
    let (mut sink, destination, pass) = if zipped {
        if out.exists() {
            return Err(Error::Invalid(format!(
                "{}: already exists; choose a new file name",
                out.display()
            )));
        }
        let f = std::fs::File::create_new(out).map_err(|e| Error::io(out.display(), e))?;
        let pass = passphrase();
        (
            Sink::Zip(Box::new(zip::ZipWriter::new(f)), pass.clone()),
            out.display().to_string(),
            Some(pass),
        )
    } else {
        if out.exists()
            && std::fs::read_dir(out)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(Error::Invalid(format!(
                "{}: choose an empty or new folder for the export",
                out.display()
            )));
        }
        std::fs::create_dir_all(out).map_err(|e| Error::io(out.display(), e))?;
        (
            Sink::Folder(out.to_path_buf()),
            out.display().to_string(),
            None,
        )
    };
    let mut files: Vec<ExportedFile> = Vec::new();
    let add =
        |sink: &mut Sink, files: &mut Vec<ExportedFile>, name: String, data: &[u8]| -> Result<()> {
            sink.add(&name, data)?;
            files.push(ExportedFile {
                name,
                bytes: data.len() as u64,
                sha256: sha256_hex(data),
            });
            Ok(())
        };
    let total = calls.len();
    let mut manifest = Vec::new();
    let mut listing = Vec::new();
    for (i, mut c) in calls.into_iter().enumerate() {
        let mine: Vec<&Redaction> = redactions
            .iter()
            .filter(|r| r.recording == c.view.id)
            .collect();
        redact(&mut c.pcm, c.rate, c.channels, &mine, fill);
        let stem = format!(
            "{}_{}_{}_{}",
            c.local.format("%Y-%m-%d"),
            c.local.format("%H%M"),
            c.view.direction.as_str(),
            &c.view.id[..8]
        );
        let wav_name = format!("{stem}.wav");
        add(
            &mut sink,
            &mut files,
            wav_name.clone(),
            &wav(&c.pcm, c.rate, c.channels),
        )?;
        let mut original_name = None;
        if let (Some((bytes, ext)), true) = (&c.original, mine.is_empty()) {
            let name = format!("original/{stem}.{ext}");
            add(&mut sink, &mut files, name.clone(), bytes)?;
            original_name = Some(name);
        }
        listing.push((
            c.local,
            c.view.duration_s,
            c.view.direction.as_str(),
            wav_name.clone(),
        ));
        manifest.push(serde_json::json!({
            "recording": c.view,
            "local_time": c.local.to_rfc3339(),
            "file": wav_name,
            "original_file": original_name,
            "audio": { "format": "wav", "encoding": "pcm_s16le", "sample_rate": c.rate, "channels": c.channels },
            "redactions": mine.iter().map(|r| serde_json::json!({"start_s": r.start_s, "end_s": r.end_s, "fill": fill})).collect::<Vec<_>>(),
        }));
        progress(i + 1, total);
    }
    let manifest_json = serde_json::to_vec_pretty(&serde_json::json!({
        "request": request,
        "generated_by": "Callvault",
        "calls": manifest,
    }))
    .expect("serialisable");
    add(
        &mut sink,
        &mut files,
        "manifest.json".into(),
        &manifest_json,
    )?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "recording_id",
        "started_at_utc",
        "local_time",
        "direction",
        "staff",
        "extension",
        "external_number",
        "nhs_numbers",
        "parties",
        "duration_s",
        "notes",
        "consent",
        "codec",
        "sample_rate",
        "channels",
        "file",
        "redacted",
    ])
    .expect("in memory");
    for m in &manifest {
        let r = &m["recording"];
        let s = |v: &serde_json::Value| match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        w.write_record([
            s(&r["id"]),
            s(&r["started_at"]),
            s(&m["local_time"]),
            s(&r["direction"]),
            s(&r["staff"]),
            s(&r["extension"]),
            s(&r["external_number"]),
            s(&r["nhs_numbers"]),
            s(&r["parties"]),
            s(&r["duration_s"]),
            s(&r["notes"]),
            s(&r["consent"]),
            s(&r["codec"]),
            s(&r["sample_rate"]),
            s(&r["channels"]),
            s(&m["file"]),
            (!m["redactions"]
                .as_array()
                .map(|a| a.is_empty())
                .unwrap_or(true))
            .to_string(),
        ])
        .expect("in memory");
    }
    let manifest_csv = w.into_inner().expect("in memory");
    add(&mut sink, &mut files, "manifest.csv".into(), &manifest_csv)?;
    if let Some(l) = letter {
        let pdf = cover_letter(&l, &listing);
        add(&mut sink, &mut files, "cover-letter.pdf".into(), &pdf)?;
    }
    let sums: String = files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.name))
        .collect();
    add(&mut sink, &mut files, "SHA256SUMS".into(), sums.as_bytes())?;
    let zip_sha256 = match sink {
        Sink::Zip(z, _) => {
            let f = z
                .finish()
                .map_err(|e| Error::Invalid(format!("ZIP {}: {e}", out.display())))?;
            f.sync_all().map_err(|e| Error::io(out.display(), e))?;
            Some(sha256_hex(
                &std::fs::read(out).map_err(|e| Error::io(out.display(), e))?,
            ))
        }
        Sink::Folder(_) => None,
    };
    Ok(ExportReport {
        request: request.to_string(),
        destination,
        files,
        passphrase: pass,
        zip_sha256,
        redactions: redactions.to_vec(),
    })
}

fn cover_letter(
    l: &Letter,
    calls: &[(chrono::DateTime<chrono_tz::Tz>, f64, &str, String)],
) -> Vec<u8> {
    use pdf::Block::{Row, Space, Text};
    let t = |s: &str| Text {
        text: s.to_string(),
        bold: false,
        size: 11.0,
    };
    let h = |s: &str| Text {
        text: s.to_string(),
        bold: true,
        size: 12.0,
    };
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .format("%-d %B %Y")
        .to_string();
    let mut b = vec![
        Text { text: if l.practice_name.is_empty() { "The Practice".into() } else { l.practice_name.clone() }, bold: true, size: 14.0 },
        t(&l.practice_address),
        Space(12.0),
        t(&today),
        Space(12.0),
        h(&format!("Your subject access request - recordings of telephone calls (reference {})", &l.reference[..12])),
        Space(6.0),
        t(&format!("Dear {},", l.addressee.as_deref().unwrap_or("Sir or Madam"))),
        Space(4.0),
        t(&format!(
            "Thank you for your request{}, made under Article 15 of the UK General Data Protection Regulation. \
             Enclosed are the recordings of the {} telephone call(s) we hold about you, listed below.",
            l.received.map(|d| format!(" received on {}", d.format("%-d %B %Y"))).unwrap_or_default(),
            calls.len()
        )),
        Space(8.0),
        Row { cells: vec![(0.0, "Date".into()), (90.0, "Time".into()), (140.0, "Length".into()), (195.0, "Direction".into()), (270.0, "File".into())], bold: true },
    ];
    for (local, dur, dir, file) in calls {
        b.push(Row {
            cells: vec![
                (0.0, local.format("%d/%m/%Y").to_string()),
                (90.0, local.format("%H:%M").to_string()),
                (140.0, fmt_duration(*dur)),
                (195.0, dir.to_string()),
                (270.0, file.clone()),
            ],
            bold: false,
        });
    }
    b.push(Space(10.0));
    b.push(h("How to listen"));
    b.push(t(
        "Each call is a WAV sound file, which plays on almost any computer, tablet or phone: double-click it \
         (Windows Media Player or Groove on Windows, QuickTime on a Mac), or open it in VLC. Where we also hold the \
         original file in a common format, it is in the folder 'original'. The files manifest.json and manifest.csv \
         list every detail we hold about each call in a form a computer can read, and SHA256SUMS lets you check \
         that no file has changed.",
    ));
    if l.zipped {
        b.push(Space(4.0));
        b.push(t(
            "The files are in an encrypted ZIP file. We are sending you its password separately. To open it, use \
             7-Zip (Windows), Keka or The Unarchiver (Mac), or any tool that supports AES-256 ZIP files.",
        ));
    }
    if l.redacted {
        b.push(Space(4.0));
        b.push(t(
            "Parts of some recordings have been replaced with silence or a tone because they contain information \
             about other people. The manifest shows where.",
        ));
    }
    b.push(Space(10.0));
    b.push(h("Your rights"));
    b.push(t(
        "You have the right to ask us to correct information that is wrong, to erase it, to restrict or object to \
         its use, and to receive it in a portable form. If you are unhappy with how we have handled your request or \
         your information, please contact us first. You also have the right to complain to the Information \
         Commissioner's Office: Wycliffe House, Water Lane, Wilmslow, Cheshire SK9 5AF; helpline 0303 123 1113; \
         ico.org.uk/make-a-complaint.",
    ));
    b.push(Space(14.0));
    b.push(t("Yours sincerely,"));
    b.push(Space(20.0));
    b.push(t(&l.signed_by));
    b.push(t("Data controller"));
    pdf::render("Subject access request - call recordings", &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_silences_only_the_range() {
        let mut pcm = vec![1000i16; 8000 * 3];
        let r = Redaction::parse("abc:1-1.5").unwrap();
        redact(&mut pcm, 8000, 1, &[&r], Fill::Silence);
        assert!(pcm[..8000].iter().all(|&s| s == 1000));
        assert!(pcm[8000..12000].iter().all(|&s| s == 0));
        assert!(pcm[12000..].iter().all(|&s| s == 1000));
        assert!(Redaction::parse("abc:2-1").is_err());
        assert!(Redaction::parse("abc").is_err());
    }

    #[test]
    fn passphrases_are_long_and_different() {
        let (a, b) = (passphrase(), passphrase());
        assert_eq!(a.len(), 29);
        assert_ne!(a, b);
    }
}
