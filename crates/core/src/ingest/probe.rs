//! Is this decodable audio, and what is it? (symphonia probe plus GSM, a trial decode, and the
//! duration.)

use crate::audio::decode;
use std::io::Cursor;
use std::sync::Arc;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;

/// What the importer records about the audio.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_ms: u64,
}

/// Probe in-memory audio. The error is a reason fit to show next to the file's name.
pub fn probe(data: Arc<[u8]>, extension: Option<&str>) -> Result<AudioInfo, String> {
    // symphonia's formats with gapless trimming, plus raw GSM and WAV49.
    let mut format = decode::probe_format(Box::new(Cursor::new(data)), extension)
        .map_err(|e| format!("not a recognised audio file ({})", short(&e)))?;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or("no audio track")?
        .clone();
    let params = track.codec_params.clone();
    // symphonia's codecs plus GSM ("gsm" raw, "gsm_ms" WAV49).
    let registry = decode::codecs();
    let codec = registry
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut decoder = decode::guard(|| registry.make(&params, &DecoderOptions::default()))
        .map_err(|e| format!("audio codec not supported ({})", short(&e)))?;
    let sample_rate = params.sample_rate.ok_or("no sample rate")?;
    let mut channels = params.channels.map(|c| c.count() as u16).unwrap_or(0);
    let mut frames: u64 = 0;
    let mut decoded = 0u32;
    loop {
        let packet = match decode::guard(|| format.next_packet()) {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(format!("damaged audio ({})", short(&e))),
        };
        if packet.track_id() != track.id {
            continue;
        }
        frames += packet.dur;
        if decoded < 4 {
            match decode::guard(|| decoder.decode(&packet).map(|b| b.spec().channels.count())) {
                Ok(n) => {
                    channels = n as u16;
                    decoded += 1;
                }
                Err(SymError::DecodeError(_)) if frames > packet.dur => {}
                Err(e) => return Err(format!("audio does not decode ({})", short(&e))),
            }
        }
    }
    if decoded == 0 {
        return Err("no audio could be decoded".into());
    }
    let total = params.n_frames.filter(|&n| n > 0).unwrap_or(frames);
    Ok(AudioInfo {
        codec,
        sample_rate,
        channels,
        duration_ms: total * 1000 / sample_rate as u64,
    })
}

fn short(e: &SymError) -> String {
    let s = e.to_string();
    s.chars().take(120).collect()
}
