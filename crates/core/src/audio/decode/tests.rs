//! Unit tests of decoding: hostile files found by fuzzing are refused (not a crash or an
//! allocation of gigabytes), peaks, mm:ss, codec names, and garbage refused as an audio error.

use super::probe::vorbis_comment_fits;
use super::{codec_name, mmss, peaks, Decoder, PEAK_WINDOW_MS};
use crate::audio::gsm::{CODEC_TYPE_GSM, CODEC_TYPE_GSM_MS};
use crate::error::Error;

/// Found by fuzzing: an MS ADPCM WAV whose step size grows until symphonia's decoder
/// overflows (a panic in debug builds, which the app is). Refused as damaged, not a crash.
/// Found by fuzzing: a FLAC whose Vorbis comment says it is 4 GiB long, which symphonia
/// allocates before reading (out of memory, or an abort where the allocation fails).
#[test]
fn a_flac_comment_longer_than_its_block_is_refused_before_allocating() {
    let input = include_bytes!("../../../fuzz/corpus/decode/oom-flac-comment-length");
    let flac = &input[1..];
    // The same with junk before the marker, which symphonia's probe skips.
    let junk = include_bytes!("../../../fuzz/corpus/decode/oom-flac-comment-after-junk");
    let r = crate::ingest::probe::probe(junk[1..].into(), None);
    assert!(
        r.as_ref().is_err_and(|e| e.contains("Vorbis comment")),
        "{r:?}"
    );
    // And with the comment block cut short by the end of the file.
    let cut = include_bytes!("../../../fuzz/corpus/decode/oom-flac-comment-cut-short");
    let r = crate::ingest::probe::probe(cut[1..].into(), Some("flac"));
    assert!(
        r.as_ref().is_err_and(|e| e.contains("Vorbis comment")),
        "{r:?}"
    );
    // A second marker further on, where the probe syncs when the first stream fails (found
    // by the CI fuzz run).
    let second = include_bytes!("../../../fuzz/corpus/decode/oom-flac-second-marker");
    let r = crate::ingest::probe::probe(second[1..].into(), None);
    assert!(r.is_err(), "{r:?}");
    let r = crate::ingest::probe::probe(flac.into(), Some("flac"));
    assert!(
        r.as_ref().is_err_and(|e| e.contains("Vorbis comment")),
        "{r:?}"
    );
    let e = Decoder::open(std::io::Cursor::new(flac.to_vec()), None, "odd.flac").unwrap_err();
    assert!(e.to_string().contains("odd.flac"), "{e}");
    assert!(vorbis_comment_fits(&[
        0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', b'b'
    ]));
    assert!(!vorbis_comment_fits(&[
        0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, b'a', b'b'
    ]));
    assert!(!vorbis_comment_fits(&[9, 0, 0, 0]));
}

#[test]
fn a_decoder_panic_on_hostile_audio_is_a_refusal() {
    let input = include_bytes!("../../../fuzz/corpus/decode/crash-msadpcm-overflow");
    let wav = &input[1..]; // the fuzz target's first byte picks the extension hint
    let r = crate::ingest::probe::probe(wav.into(), Some("wav"));
    assert!(r.is_err(), "{r:?}");
    let mut blocks = 0;
    match Decoder::open(
        std::io::Cursor::new(wav.to_vec()),
        Some("wav"),
        "hostile.wav",
    ) {
        Err(e) => assert!(e.to_string().contains("hostile.wav"), "{e}"),
        Ok(mut d) => loop {
            match d.next_block() {
                Ok(Some(_)) => blocks += 1,
                Ok(None) => panic!("decoded to the end ({blocks} blocks)"),
                Err(e) => {
                    assert!(e.to_string().contains("damaged"), "{e}");
                    break;
                }
            }
        },
    }
}

#[test]
fn peaks_mix_scale_and_window() {
    // Stereo at 1 kHz: 10 ms windows are 10 frames; 25 frames give 3 windows.
    let mut s = Vec::new();
    for i in 0..25 {
        let v = if i == 3 { 0.5 } else { 0.0 };
        s.extend([v, -v]); // mixes to 0
    }
    assert_eq!(peaks(&s, 1000, 2, 10), vec![(0, 0); 3]);
    let mono: Vec<f32> = (0..25).map(|i| if i == 12 { -1.0 } else { 0.25 }).collect();
    assert_eq!(
        peaks(&mono, 1000, 1, PEAK_WINDOW_MS),
        vec![(8192, 8192), (-32768, 8192), (8192, 8192)]
    );
    assert_eq!(peaks(&[1.5], 8000, 1, 10), vec![(32767, 32767)]);
    assert!(peaks(&[], 8000, 1, 10).is_empty());
}

#[test]
fn mmss_formats_minutes_and_seconds() {
    assert_eq!(mmss(0, 8000), "00:00");
    assert_eq!(mmss(8000 * 83 + 7999, 8000), "01:23");
    assert_eq!(mmss(8000 * 3600 * 2, 8000), "120:00");
}

#[test]
fn registry_names_gsm_and_keeps_symphonia_names() {
    assert_eq!(codec_name(CODEC_TYPE_GSM), "gsm");
    assert_eq!(codec_name(CODEC_TYPE_GSM_MS), "gsm_ms");
    assert_eq!(
        codec_name(symphonia::core::codecs::CODEC_TYPE_PCM_MULAW),
        "pcm_mulaw"
    );
}

#[test]
fn garbage_is_refused_as_audio_error() {
    let e = Decoder::open(std::io::Cursor::new(vec![7u8; 5000]), None, "junk.wav").unwrap_err();
    assert!(matches!(e, Error::Audio { .. }), "{e}");
    assert!(e.to_string().contains("junk.wav"), "{e}");
}
