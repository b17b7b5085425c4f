//! Recognising a recording's container ([`probe_format`]): WAV49 and raw GSM by content, the rest
//! through symphonia's probe, after refusing FLAC metadata whose stated lengths overrun their
//! blocks (symphonia would allocate them first).

use super::registry::guard;
use crate::audio::gsm::{RawGsmReader, Wav49Reader, WAVE_FORMAT_GSM610};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, SeekBuffered};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// How many bytes [`probe_format`] looks at to recognise GSM.
const SNIFF_LEN: usize = 4096;

/// Open the container of `source`. WAV49 and raw GSM are recognised by content (raw GSM more
/// readily with the `gsm` extension), before symphonia's own probe, which would refuse the first
/// and could mistake the second for MPEG audio. Gapless trimming is on.
pub fn probe_format(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> std::result::Result<Box<dyn FormatReader>, SymError> {
    guard(|| probe_unguarded(source, extension))
}

fn probe_unguarded(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> std::result::Result<Box<dyn FormatReader>, SymError> {
    let mut mss = MediaSourceStream::new(source, Default::default());
    let opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };

    // Look at the first bytes, then give them back (they stay in the stream's buffer).
    let mut head = vec![0u8; SNIFF_LEN];
    let mut got = 0;
    while got < head.len() {
        match mss.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(SymError::IoError(e)),
        }
    }
    head.truncate(got);
    mss.seek_buffered_rev(got);

    // (symphonia's probe skips junk before a marker, and may sync on a later one when the first
    // fails: check every FLAC marker in the head.)
    let marks: Vec<usize> = head
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"fLaC")
        .map(|(i, _)| i)
        .collect();
    for at in marks {
        check_flac_comments(&mut mss, at)?;
    }
    let is_gsm_ext = extension.is_some_and(|e| e.eq_ignore_ascii_case("gsm"));
    if Wav49Reader::sniff(&head).is_some_and(|f| f.tag == WAVE_FORMAT_GSM610) {
        return Ok(Box::new(<Wav49Reader as FormatReader>::try_new(
            mss, &opts,
        )?));
    }
    if RawGsmReader::sniff(&head, mss.byte_len(), is_gsm_ext) {
        return Ok(Box::new(<RawGsmReader as FormatReader>::try_new(
            mss, &opts,
        )?));
    }
    let mut hint = Hint::new();
    if let Some(e) = extension {
        hint.with_extension(e);
    }
    symphonia::default::get_probe()
        .format(&hint, mss, &opts, &MetadataOptions::default())
        .map(|p| p.format)
}

/// symphonia 0.5 allocates each FLAC Vorbis comment's and PICTURE's stated length (up to 4 GiB)
/// before reading it (found by fuzzing): refuse a FLAC whose comment or picture block holds a
/// length beyond its own end.
/// Reads the metadata blocks after the `fLaC` marker at `at`, then returns to the start.
fn check_flac_comments(
    mss: &mut MediaSourceStream,
    at: usize,
) -> std::result::Result<(), SymError> {
    const DAMAGED: SymError =
        SymError::DecodeError("flac: a Vorbis comment or picture longer than its block");
    mss.ignore_bytes(at as u64 + 4)?;
    loop {
        let mut h = [0u8; 4];
        if mss.read_exact(&mut h).is_err() {
            break; // truncated: symphonia's reader says so
        }
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize; // at most 16 MiB
        if matches!(h[0] & 0x7f, 4 | 6) {
            // The block as far as the file holds it: symphonia allocates before finding it cut short.
            let mut body = Vec::new();
            (&mut *mss).take(len as u64).read_to_end(&mut body)?;
            let fits = if h[0] & 0x7f == 4 {
                vorbis_comment_fits(&body)
            } else {
                picture_fits(&body)
            };
            if !fits {
                return Err(DAMAGED);
            }
            if body.len() < len {
                break;
            }
        } else if mss.ignore_bytes(len as u64).is_err() {
            break;
        }
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    mss.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// Does every length in a FLAC PICTURE block (MIME type, description, picture data; big-endian)
/// fit inside it? symphonia allocates the stated picture length before reading it (found by fuzzing).
fn picture_fits(b: &[u8]) -> bool {
    let mut at = 4usize; // picture type
    let take = |at: &mut usize| -> Option<usize> {
        let v = b.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_be_bytes(v.try_into().ok()?) as usize)
    };
    let Some(mime) = take(&mut at) else {
        return false;
    };
    at = at.saturating_add(mime);
    let Some(desc) = take(&mut at) else {
        return false;
    };
    at = at.saturating_add(desc).saturating_add(16); // width, height, depth, colours
    match take(&mut at) {
        Some(data) => data <= b.len().saturating_sub(at),
        None => false,
    }
}

/// Does every length in a Vorbis comment block (vendor string, each comment) fit inside it?
pub(super) fn vorbis_comment_fits(b: &[u8]) -> bool {
    let mut at = 0usize;
    let u32_at = |at: &mut usize| -> Option<usize> {
        let v = b.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_le_bytes(v.try_into().ok()?) as usize)
    };
    let Some(vendor) = u32_at(&mut at) else {
        return false;
    };
    at = at.saturating_add(vendor);
    let Some(n) = u32_at(&mut at) else {
        return false;
    };
    for _ in 0..n {
        match u32_at(&mut at) {
            Some(len) if len <= b.len().saturating_sub(at) => at += len,
            _ => return false,
        }
    }
    true
}
