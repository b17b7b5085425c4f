//! `callvault play` end to end: authorised and audited, then played through cpal into a headless
//! ALSA `file` device; the bytes the device received are the stored audio (here at 48 kHz, so no
//! resampling: sample-exact). Refusals play nothing.

mod common;

use callvault_testkit::demo::wav_pcm16;
use common::*;

fn alsa_home(d: &Device, capture: &std::path::Path) {
    std::fs::create_dir_all(&d.data).unwrap();
    std::fs::write(
        d.data.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
            capture.display()
        ),
    )
    .unwrap();
}

#[test]
fn a_clinician_plays_their_own_call_and_hears_exactly_what_was_stored() {
    let env = Env::new();
    let d = env.device("pc");
    let capture = env.path("played.raw");
    alsa_home(&d, &capture);
    let mut f = Fixture::new(env.path("in"));
    let samples = pcm(2, 5)
        .iter()
        .flat_map(|s| std::iter::repeat_n(*s, 6)) // 8 kHz -> 48 kHz by repetition: no resampling needed
        .collect::<Vec<i16>>();
    let mut bytes = wav_pcm16(48000, &samples);
    // wav_pcm16 writes the given rate; check the header says 48 kHz.
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 48000);
    f.add(
        "c.wav",
        &std::mem::take(&mut bytes),
        "2025-05-01T10:00:00,inbound,,201,07700 900951,Pat,",
    );
    f.add(
        "d.wav",
        &wav_pcm16(8000, &pcm(1, 6)),
        "2025-05-01T11:00:00,inbound,,202,07700 900952,Sam,",
    );
    f.write_manifest();
    let rep = d
        .cmd(ADMIN, &["import", f.dir.to_str().unwrap(), "--json"])
        .ok()
        .json();
    let mine = rep["imported"][0]["id"].as_str().unwrap().to_string();
    let theirs = rep["imported"][1]["id"].as_str().unwrap().to_string();
    // Without a reason: refused, nothing played.
    let out = d.cmd(CLIN, &["play", &mine]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(!capture.exists() || std::fs::metadata(&capture).unwrap().len() == 0);
    // A colleague's call: refused.
    let out = d.cmd(CLIN, &["play", &theirs, "--reason", "curious"]);
    assert_eq!(out.code, 5);
    // A supervisor without a request: refused.
    assert_eq!(d.cmd(SUPER, &["play", &mine]).code, 5);
    // Own call with a reason: played; the device received the stored samples.
    let out = d.cmd(CLIN, &["play", &mine, "--reason", "check what I advised"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // cpal picks 48 kHz stereo f32 on ALSA's null device: read the capture as such.
    let raw = std::fs::read(&capture).unwrap();
    let first: Vec<i16> = raw
        .chunks_exact(8)
        .map(|b| (f32::from_le_bytes(b[..4].try_into().unwrap()) * 32768.0).round() as i16)
        .collect();
    let start = first.iter().position(|&s| s != 0).unwrap_or(0);
    let want_start = samples.iter().position(|&s| s != 0).unwrap();
    let n = samples.len() - want_start;
    assert!(
        first.len() >= start + n,
        "played {} frames, wanted {}",
        first.len(),
        samples.len()
    );
    let same = first[start..start + n] == samples[want_start..];
    assert!(same, "what was played is not what was stored");
    // The waveform was computed at import and is stored encrypted: 2 s = 200 windows of 10 ms.
    let w = d.cmd(CLIN, &["waveform", &mine]).ok().json();
    assert_eq!(w["window_ms"], 10);
    let peaks = w["peaks"].as_array().unwrap();
    assert!((199..=201).contains(&peaks.len()), "{}", peaks.len());
    assert!(
        peaks.iter().any(|p| p[1].as_i64().unwrap() > 5),
        "speech-like audio has peaks"
    );
    assert_eq!(
        d.cmd(CLIN, &["waveform", &theirs]).code,
        5,
        "not theirs to see"
    );
    // The play is audited with its reason.
    let audit = d
        .cmd(ADMIN, &["audit", "list", "--recording", &mine, "--json"])
        .ok()
        .json();
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "recording.listen"
            && e["outcome"] == "allowed"
            && e["detail"]
                .as_str()
                .unwrap_or("")
                .contains("check what I advised")));
}

/// `play --conversation`: the two legs of a call the manifest's `conversation` column names as one
/// (both the clinician's own) play one after the other, sample for sample; `show` lists the legs.
#[test]
fn a_clinician_plays_both_legs_of_her_transferred_call_in_order() {
    let env = Env::new();
    let d = env.device("pc");
    let capture = env.path("played.raw");
    alsa_home(&d, &capture);
    let dir = env.path("in");
    std::fs::create_dir_all(&dir).unwrap();
    // 8 kHz speech repeated to 48 kHz: the device's rate, so no resampling.
    let at48 = |secs: usize, seed: u32| -> Vec<i16> {
        pcm(secs, seed)
            .iter()
            .flat_map(|s| std::iter::repeat_n(*s, 6))
            .collect()
    };
    let (a, b) = (at48(2, 3), at48(3, 4));
    std::fs::write(dir.join("a.wav"), wav_pcm16(48000, &a)).unwrap();
    std::fs::write(dir.join("b.wav"), wav_pcm16(48000, &b)).unwrap();
    std::fs::write(
        dir.join("manifest.csv"),
        "file,started_at,direction,extension,external_number,conversation\n\
         a.wav,2025-05-01T10:00:00,inbound,201,07700 900953,pbx:call-77\n\
         b.wav,2025-05-01T10:00:04,inbound,201,07700 900953,pbx:call-77\n",
    )
    .unwrap();
    let rep = d
        .cmd(ADMIN, &["import", dir.to_str().unwrap(), "--json"])
        .ok()
        .json();
    let first = rep["imported"][0]["id"].as_str().unwrap().to_string();
    let second = rep["imported"][1]["id"].as_str().unwrap().to_string();
    let shown = d.cmd(CLIN, &["show", &second]).ok().stdout;
    assert!(shown.contains("conversation: leg 2 of 2"), "{shown}");
    assert!(shown.contains(&first), "{shown}");
    let out = d.cmd(
        CLIN,
        &[
            "play",
            &second,
            "--conversation",
            "--reason",
            "the transfer",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("joins at 00:02"), "{}", out.stderr);
    let raw = std::fs::read(&capture).unwrap();
    let got: Vec<i16> = raw
        .chunks_exact(8)
        .map(|b| (f32::from_le_bytes(b[..4].try_into().unwrap()) * 32768.0).round() as i16)
        .collect();
    let want: Vec<i16> = a.iter().chain(&b).copied().collect();
    let start = got.iter().position(|&s| s != 0).unwrap_or(0);
    let want_start = want.iter().position(|&s| s != 0).unwrap();
    let n = want.len() - want_start;
    assert!(got.len() >= start + n, "played {} frames", got.len());
    assert!(
        got[start..start + n] == want[want_start..],
        "what was played is not the two legs in order"
    );
}
