//! Decoding every supported format, through the real path: the file sealed as an archive audio
//! object (`archive::audio::seal`) and read back through `DecryptingReader`. Fixtures are made at
//! run time from espeak-ng speech with sox, ffmpeg and libgsm's toast (CI installs them:
//! scripts/deps.sh); a test whose tool is missing fails saying which.
//!
//! References: PCM, µ-law, A-law and FLAC sample-exact against sox; IMA and MS ADPCM against
//! ffmpeg (sox's ADPCM decoders round differently from both); GSM 06.10 bit-exact against libgsm
//! (`untoast`, and sox, which decodes raw GSM and WAV49 with libgsm).

use callvault_core::archive::audio::{parse_header, seal, DecryptingReader};
use callvault_core::audio::decode::{decode_all, peaks, Decoder};
use callvault_core::crypto;
use callvault_core::ingest::probe::probe;
use callvault_core::secret::Key32;
use callvault_core::Error;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

const RATE: u32 = 8000;
const SPEECH: &str = "Good morning, you are through to the surgery. Please hold while we connect \
    your call. The doctor would like to see you next week about your blood test results; there is \
    nothing to worry about.";

// ---------------------------------------------------------------------------------------------
// Tools and fixtures
// ---------------------------------------------------------------------------------------------

/// Panic with a clear message if `tool` is not on the PATH.
fn need(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    let package = match tool {
        "toast" | "untoast" => "libgsm-tools",
        "sox" => "sox libsox-fmt-all",
        other => other,
    };
    assert!(
        found,
        "this test needs `{tool}`, which is not installed (apt-get install {package}; \
         scripts/deps.sh installs it)"
    );
}

/// Run a command; panic with its stderr if it fails; return its stdout.
fn run(args: &[&str]) -> Vec<u8> {
    need(args[0]);
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn le_i16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Decoded f32 back to the 16-bit values it came from (exact for 16-bit sources).
fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Decode `file` to 16-bit little-endian with sox.
fn sox_s16(file: &Path) -> Vec<i16> {
    le_i16(&run(&[
        "sox",
        p(file),
        "-t",
        "raw",
        "-e",
        "signed",
        "-b",
        "16",
        "-",
    ]))
}

/// Decode `file` to 16-bit little-endian with ffmpeg.
fn ffmpeg_s16(file: &Path) -> Vec<i16> {
    le_i16(&run(&[
        "ffmpeg",
        "-v",
        "error",
        "-nostdin",
        "-i",
        p(file),
        "-f",
        "s16le",
        "-",
    ]))
}

/// Speech at 8 kHz mono 16-bit, in `dir`: (the WAV, its samples).
fn speech(dir: &Path) -> (PathBuf, Vec<i16>) {
    let wav = dir.join("espeak.wav");
    run(&["espeak-ng", "-w", p(&wav), SPEECH]);
    let s16 = dir.join("speech16.wav");
    run(&[
        "sox",
        p(&wav),
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed",
        p(&s16),
    ]);
    let samples = sox_s16(&s16);
    assert!(samples.len() > RATE as usize * 5, "speech too short");
    (s16, samples)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Reference {
    /// Sample-exact against sox.
    Sox,
    /// Sample-exact against ffmpeg.
    Ffmpeg,
    /// Bit-exact against libgsm (untoast for raw GSM, sox for both).
    Libgsm,
    /// Lossy: checked by length and correlation with the source.
    Lossy,
}

struct Format {
    name: &'static str,
    file: &'static str,
    channels: u16,
    reference: Reference,
    /// The command, `{in}` and `{out}` standing for the paths.
    make: &'static [&'static str],
}

const FORMATS: &[Format] = &[
    Format {
        name: "pcm16",
        file: "pcm16.wav",
        channels: 1,
        reference: Reference::Sox,
        make: &["sox", "{in}", "-e", "signed", "-b", "16", "{out}"],
    },
    Format {
        name: "pcm16 stereo",
        file: "stereo.wav",
        channels: 2,
        reference: Reference::Sox,
        make: &["sox", "{in}", "{out}", "remix", "1", "1v0.5"],
    },
    Format {
        name: "mu-law",
        file: "mulaw.wav",
        channels: 1,
        reference: Reference::Sox,
        make: &["sox", "{in}", "-e", "mu-law", "-b", "8", "{out}"],
    },
    Format {
        name: "a-law",
        file: "alaw.wav",
        channels: 1,
        reference: Reference::Sox,
        make: &["sox", "{in}", "-e", "a-law", "-b", "8", "{out}"],
    },
    Format {
        name: "ima adpcm",
        file: "ima.wav",
        channels: 1,
        reference: Reference::Ffmpeg,
        make: &["sox", "{in}", "-e", "ima-adpcm", "{out}"],
    },
    Format {
        name: "ms adpcm",
        file: "msadpcm.wav",
        channels: 1,
        reference: Reference::Ffmpeg,
        make: &["sox", "{in}", "-e", "ms-adpcm", "{out}"],
    },
    Format {
        name: "flac",
        file: "speech.flac",
        channels: 1,
        reference: Reference::Sox,
        make: &["sox", "{in}", "{out}"],
    },
    Format {
        name: "mp3",
        file: "speech.mp3",
        channels: 1,
        reference: Reference::Lossy,
        make: &[
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-i",
            "{in}",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "32k",
            "{out}",
        ],
    },
    Format {
        name: "aac (m4a)",
        file: "speech.m4a",
        channels: 1,
        reference: Reference::Lossy,
        make: &[
            "ffmpeg", "-v", "error", "-nostdin", "-y", "-i", "{in}", "-c:a", "aac", "-b:a", "32k",
            "{out}",
        ],
    },
    Format {
        name: "ogg vorbis",
        file: "speech.ogg",
        channels: 1,
        reference: Reference::Lossy,
        make: &[
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-i",
            "{in}",
            "-c:a",
            "libvorbis",
            "-q:a",
            "3",
            "{out}",
        ],
    },
    Format {
        name: "gsm raw",
        file: "speech.gsm",
        channels: 1,
        reference: Reference::Libgsm,
        make: &["sox", "{in}", "{out}"],
    },
    Format {
        name: "gsm wav49",
        file: "speech49.wav",
        channels: 1,
        reference: Reference::Libgsm,
        make: &["sox", "{in}", "-e", "gsm-full-rate", "{out}"],
    },
];

fn format(name: &str) -> &'static Format {
    FORMATS
        .iter()
        .find(|f| f.name == name)
        .expect("known format")
}

/// Make `f` from the speech WAV `s16` in `dir`.
fn make(dir: &Path, s16: &Path, f: &Format) -> PathBuf {
    let out = dir.join(f.file);
    let args: Vec<&str> = f
        .make
        .iter()
        .map(|&a| match a {
            "{in}" => p(s16),
            "{out}" => p(&out),
            a => a,
        })
        .collect();
    run(&args);
    out
}

fn ext(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

// ---------------------------------------------------------------------------------------------
// The archive path
// ---------------------------------------------------------------------------------------------

struct Sealed {
    key: Key32,
    object: Vec<u8>,
    seg: u32,
}

fn seal_bytes(plain: &[u8], seg: u32) -> Sealed {
    let key = Key32::random();
    let object = seal(
        &crypto::new_id(),
        seg,
        plain,
        &[("custodian".to_string(), crypto::x25519_public(&key))],
    )
    .unwrap();
    Sealed { key, object, seg }
}

impl Sealed {
    fn reader(&self, name: &str) -> DecryptingReader<Cursor<Vec<u8>>> {
        DecryptingReader::new(
            Cursor::new(self.object.clone()),
            &[("custodian".to_string(), &self.key)],
            name,
        )
        .unwrap()
    }

    /// Flip a byte in the middle of segment `i`'s ciphertext.
    fn flip_in_segment(&mut self, i: u64) {
        let (header, body) = parse_header(&self.object, "test").unwrap();
        assert!(i < header.segment_count());
        let at = body + (i * (u64::from(self.seg) + 16)) as usize + 10;
        self.object[at] ^= 0x40;
    }
}

/// Decode a fixture file through the real path: sealed into an object on disk, opened as a File
/// through `DecryptingReader`.
fn decode_sealed_file(dir: &Path, file: &Path) -> (Decoder, Vec<f32>) {
    let sealed = seal_bytes(&std::fs::read(file).unwrap(), 65536);
    let object = dir.join(format!(
        "{}.cva",
        file.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::write(&object, &sealed.object).unwrap();
    let reader = DecryptingReader::new(
        std::fs::File::open(&object).unwrap(),
        &[("custodian".to_string(), &sealed.key)],
        "rec",
    )
    .unwrap();
    let mut d = Decoder::open(reader, ext(file), p(file)).unwrap();
    let mut all = Vec::new();
    while let Some(b) = d.next_block().unwrap() {
        assert_eq!(b.len() % usize::from(d.channels()), 0);
        all.extend(b);
    }
    (d, all)
}

/// Everything the decoder has left.
fn rest(d: &mut Decoder) -> Vec<f32> {
    let mut out = Vec::new();
    while let Some(b) = d.next_block().unwrap() {
        out.extend(b);
    }
    out
}

/// The same samples, bit for bit.
fn assert_same_f32(what: &str, mine: &[f32], reference: &[f32]) {
    assert_eq!(mine.len(), reference.len(), "{what}: length");
    if let Some(i) = (0..mine.len()).find(|&i| mine[i].to_bits() != reference[i].to_bits()) {
        panic!(
            "{what}: sample {i} is {}, the reference has {}",
            mine[i], reference[i]
        );
    }
}

fn first_difference(a: &[i16], b: &[i16]) -> Option<(usize, i16, i16)> {
    a.iter()
        .zip(b)
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .map(|(i, (&x, &y))| (i, x, y))
}

fn assert_same(what: &str, mine: &[i16], reference: &[i16]) {
    assert_eq!(
        mine.len(),
        reference.len(),
        "{what}: {} samples decoded, the reference has {}",
        mine.len(),
        reference.len()
    );
    if let Some((i, x, y)) = first_difference(mine, reference) {
        panic!("{what}: sample {i} is {x}, the reference has {y}");
    }
}

/// Normalised correlation of `a` against `b` delayed by `lag` samples.
fn correlation(a: &[f32], b: &[f32], lag: usize) -> f64 {
    let n = a.len().saturating_sub(lag).min(b.len());
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for i in 0..n {
        let (x, y) = (f64::from(a[i + lag]), f64::from(b[i]));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1e-12)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_format_decodes_through_the_decrypting_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (s16, source) = speech(dir.path());
    let source_f32: Vec<f32> = source.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let n = source.len();
    for f in FORMATS {
        let file = make(dir.path(), &s16, f);
        let (d, samples) = decode_sealed_file(dir.path(), &file);
        let what = format!("{} ({})", f.name, d.codec_name());
        assert_eq!(d.sample_rate(), RATE, "{what}: rate");
        assert_eq!(d.channels(), f.channels, "{what}: channels");
        let frames = samples.len() / usize::from(f.channels);
        if let Some(total) = d.total_frames() {
            assert_eq!(total as usize, frames, "{what}: total_frames vs decoded");
        }
        let mine = to_i16(&samples);
        match f.reference {
            Reference::Sox => assert_same(&what, &mine, &sox_s16(&file)),
            Reference::Ffmpeg => assert_same(&what, &mine, &ffmpeg_s16(&file)),
            Reference::Libgsm => {} // gsm_is_bit_exact_against_libgsm
            Reference::Lossy => {}
        }
        // Durations: lossless formats are exact (sox pads ADPCM to a whole block, raw GSM to a
        // whole frame); MP3 (gapless, LAME header) and Vorbis are exact; AAC in M4A keeps its
        // 1024-sample priming and the last frame's padding, which symphonia 0.5 does not trim
        // (it does not apply MP4 edit lists).
        let slack = match f.name {
            "ima adpcm" | "ms adpcm" => 1017,
            "gsm raw" => 159,
            "aac (m4a)" => 2048,
            _ => 0,
        };
        assert!(
            frames >= n && frames <= n + slack,
            "{what}: {frames} frames, the source has {n}"
        );
        if f.reference == Reference::Lossy {
            let lag = if f.name == "aac (m4a)" { 1024 } else { 0 };
            let c = correlation(&samples, &source_f32, lag);
            assert!(c > 0.9, "{what}: correlation with the source {c:.3}");
        }
        eprintln!(
            "{what}: {frames} frames (source {n}), {} Hz",
            d.sample_rate()
        );
    }
}

#[test]
fn gsm_is_bit_exact_against_libgsm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (s16, source) = speech(d);
    let n = source.len();

    // Raw GSM made by sox, and by toast itself, against untoast and sox.
    let by_sox = make(d, &s16, format("gsm raw"));
    let raw = d.join("speech16.raw");
    std::fs::write(
        &raw,
        run(&["sox", p(&s16), "-t", "raw", "-e", "signed", "-b", "16", "-"]),
    )
    .unwrap();
    let by_toast = d.join("toasted.gsm");
    std::fs::write(&by_toast, run(&["toast", "-l", "-c", p(&raw)])).unwrap();
    for file in [&by_sox, &by_toast] {
        let (dec, samples) = decode_sealed_file(d, file);
        assert_eq!(dec.codec_name(), "gsm");
        let mine = to_i16(&samples);
        let untoast = le_i16(&run(&["untoast", "-l", "-c", p(file)]));
        assert_same(&format!("{} vs untoast", p(file)), &mine, &untoast);
        assert_same(&format!("{} vs sox", p(file)), &mine, &sox_s16(file));
        assert_eq!(mine.len(), n.div_ceil(160) * 160);
    }

    // WAV49 made by sox, against sox (libgsm with its WAV49 option). sox ignores the fact chunk
    // and returns the last block's padding too; we stop at the fact chunk's count.
    let wav49 = make(d, &s16, format("gsm wav49"));
    let (dec, samples) = decode_sealed_file(d, &wav49);
    assert_eq!(dec.codec_name(), "gsm_ms");
    let mine = to_i16(&samples);
    let reference = sox_s16(&wav49);
    assert_eq!(mine.len(), n, "the fact chunk's sample count");
    assert_eq!(reference.len(), n.div_ceil(320) * 320);
    assert_same("wav49 vs sox", &mine, &reference[..n]);

    // Random frames: every parameter value, out-of-range lags and saturation, which speech may
    // not reach.
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut random = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 24) as u8
    };
    let mut frames = Vec::new();
    for _ in 0..2000 {
        let mut f: Vec<u8> = (0..33).map(|_| random()).collect();
        f[0] = 0xD0 | (f[0] & 0x0F);
        frames.extend(f);
    }
    let rand_gsm = d.join("random.gsm");
    std::fs::write(&rand_gsm, &frames).unwrap();
    let (_, samples) = decode_sealed_file(d, &rand_gsm);
    let untoast = le_i16(&run(&["untoast", "-l", "-c", p(&rand_gsm)]));
    assert_same("random frames vs untoast", &to_i16(&samples), &untoast);
    assert!(untoast.contains(&i16::MIN), "saturation reached");

    let blocks: Vec<u8> = (0..1000 * 65).map(|_| random()).collect();
    let rand49 = d.join("random49.wav");
    std::fs::write(&rand49, wav49_file(&blocks, None)).unwrap();
    let (_, samples) = decode_sealed_file(d, &rand49);
    assert_same("random blocks vs sox", &to_i16(&samples), &sox_s16(&rand49));
}

/// A WAVE file of GSM 6.10 blocks, as Windows' codec writes it.
fn wav49_file(blocks: &[u8], fact: Option<u32>) -> Vec<u8> {
    let mut fmt = Vec::new();
    for v in [0x31u16, 1] {
        fmt.extend(v.to_le_bytes());
    }
    fmt.extend(8000u32.to_le_bytes());
    fmt.extend(1625u32.to_le_bytes());
    for v in [65u16, 0, 2, 320] {
        fmt.extend(v.to_le_bytes());
    }
    let mut body = b"WAVE".to_vec();
    body.extend(b"fmt ");
    body.extend((fmt.len() as u32).to_le_bytes());
    body.extend(&fmt);
    if let Some(n) = fact {
        body.extend(b"fact");
        body.extend(4u32.to_le_bytes());
        body.extend(n.to_le_bytes());
    }
    body.extend(b"data");
    body.extend((blocks.len() as u32).to_le_bytes());
    body.extend(blocks);
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn seeking_gives_the_same_samples_as_decoding_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (s16, _) = speech(dir.path());
    for f in FORMATS {
        let file = make(dir.path(), &s16, f);
        let sealed = seal_bytes(&std::fs::read(&file).unwrap(), 65536);
        let (all, rate, channels) = decode_all(sealed.reader("rec"), ext(&file), f.name).unwrap();
        assert_eq!((rate, channels), (RATE, f.channels));
        let ch = usize::from(channels);
        let frames = all.len() / ch;
        let mut d = Decoder::open(sealed.reader("rec"), ext(&file), f.name).unwrap();
        // Forwards, backwards, unaligned, and near the end.
        for target in [frames / 2 + 7, 1, 4321, 20_000, frames - 500, 333] {
            d.seek(target as u64).unwrap();
            assert_eq!(d.position(), target as u64, "{}", f.name);
            let mut got = Vec::new();
            while let Some(b) = d.next_block().unwrap() {
                got.extend(b);
            }
            let want = &all[target * ch..];
            // Exactly the same samples, lossy codecs included: the decoder pre-rolls before the
            // target (GSM 2 s; MP3, AAC and Vorbis 8192 frames) so its state has converged.
            assert_same_f32(&format!("{}: seek to frame {target}", f.name), &got, want);
        }
        // Seeks in mid-stream, each after reading a single block.
        for target in [30_000, 10_000, 60_001, 9_999] {
            d.seek(target as u64).unwrap();
            let b = d.next_block().unwrap().unwrap();
            let what = format!("{}: seek to frame {target} mid-stream", f.name);
            assert_same_f32(&what, &b, &all[target * ch..target * ch + b.len()]);
        }
        // Past the end: nothing more.
        d.seek(frames as u64 + 10_000).unwrap();
        assert!(d.next_block().unwrap().is_none(), "{}", f.name);
    }
}

#[test]
fn a_flipped_byte_stops_decoding_with_damaged_at() {
    let dir = tempfile::tempdir().unwrap();
    let (s16, _) = speech(dir.path());
    // (format, bytes per second of audio if constant, bytes before the audio data)
    let cases: &[(&str, Option<u64>)] = &[
        ("pcm16", Some(16000)),
        ("mu-law", Some(8000)),
        ("gsm raw", Some(1650)),
        ("gsm wav49", Some(1625)),
        ("flac", None),
        ("mp3", Some(4000)),
    ];
    for &(name, bytes_per_sec) in cases {
        let f = format(name);
        let file = make(dir.path(), &s16, f);
        let bytes = std::fs::read(&file).unwrap();
        // Small segments, so the file spans several; damage the one in the middle.
        let seg = (bytes.len() as u32 / 8).max(512);
        let clean = seal_bytes(&bytes, seg);
        let (all, rate, _) = decode_all(clean.reader("rec"), ext(&file), name).unwrap();
        let mut sealed = seal_bytes(&bytes, seg);
        let k = 4u64;
        sealed.flip_in_segment(k);
        let damaged_from = k * u64::from(seg);

        let mut d = Decoder::open(sealed.reader("rec"), ext(&file), "call-0042.wav").unwrap();
        let mut got = Vec::new();
        let err = loop {
            match d.next_block() {
                Ok(Some(b)) => got.extend(b),
                Ok(None) => panic!("{name}: decoded to the end through a damaged segment"),
                Err(e) => break e,
            }
        };
        let msg = err.to_string();
        assert!(matches!(err, Error::Audio { .. }), "{name}: {msg}");
        assert!(msg.contains("call-0042.wav"), "{name}: {msg}");
        let at = msg
            .split("damaged at ")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no 'damaged at' in {msg}"));
        let secs = at[0..2].parse::<u64>().unwrap() * 60 + at[3..5].parse::<u64>().unwrap();
        // What was returned is the start of the recording, exactly.
        assert!(got.len() < all.len(), "{name}");
        if f.reference != Reference::Lossy {
            assert_same(name, &to_i16(&got), &to_i16(&all[..got.len()]));
        }
        // ... and none of it came from the damaged segment or after it.
        let returned_secs = got.len() as f64 / f64::from(rate);
        if let Some(bps) = bytes_per_sec {
            let damaged_secs = damaged_from as f64 / bps as f64;
            assert!(
                returned_secs <= damaged_secs,
                "{name}: {returned_secs:.3} s returned, damage begins at {damaged_secs:.3} s"
            );
            assert!(
                returned_secs > damaged_secs - 0.5,
                "{name}: stopped early, at {returned_secs:.3} s (damage at {damaged_secs:.3} s)"
            );
        }
        // The message says where playback stopped.
        assert_eq!(
            secs,
            returned_secs as u64,
            "{name}: 'damaged at {}' after {returned_secs:.3} s played",
            &at[0..5]
        );
        // Stopped for good: the error again, no samples.
        assert!(d.next_block().is_err(), "{name}");
        assert!(decode_all(sealed.reader("rec"), ext(&file), name).is_err());

        // What lies after the damaged segment can still be reached by seeking past it: exactly,
        // from three segments on (GSM's 2 s pre-roll then lies after the damage too) ...
        if let Some(bps) = bytes_per_sec {
            let after = ((k + 3) * u64::from(seg) * u64::from(RATE) / bps) as usize;
            d.seek(after as u64).unwrap();
            let tail = rest(&mut d);
            assert_eq!(tail.len(), all.len() - after, "{name}");
            if f.reference != Reference::Lossy {
                assert_same(name, &to_i16(&tail), &to_i16(&all[after..]));
            }
            // ... and, in the formats whose byte positions are exact, from just after it: there
            // GSM's pre-roll would start inside the damage and is skipped (the decoder then starts
            // from a reset state, so its first frames differ). (An MP3 seek this close may fail:
            // symphonia's coarse seek estimates the position from the bitrate and may land in the
            // damaged segment; the accurate one reads its way there.)
            if name != "mp3" {
                let after = ((k + 1) * u64::from(seg) * u64::from(RATE) / bps) as usize + 1000;
                d.seek(after as u64).unwrap();
                let tail = rest(&mut d);
                assert_eq!(tail.len(), all.len() - after, "{name}");
                let settle = 8000.min(tail.len() / 2);
                let c = correlation(&tail[settle..], &all[after + settle..], 0);
                assert!(
                    c > 0.99,
                    "{name}: correlation {c:.4} after seeking past the damage"
                );
            }
        }
        eprintln!("{name}: {msg}");
    }
}

#[test]
fn import_probe_accepts_gsm_and_keeps_codec_names() {
    let dir = tempfile::tempdir().unwrap();
    let (s16, source) = speech(dir.path());
    let n = source.len() as u64;
    let expect = [
        ("gsm raw", "gsm", n.div_ceil(160) * 160),
        ("gsm wav49", "gsm_ms", n),
        ("mu-law", "pcm_mulaw", n),
        ("a-law", "pcm_alaw", n),
        ("pcm16", "pcm_s16le", n),
        ("mp3", "mp3", n),
        ("flac", "flac", n),
    ];
    for (name, codec, frames) in expect {
        let file = make(dir.path(), &s16, format(name));
        let bytes: Arc<[u8]> = Arc::from(std::fs::read(&file).unwrap());
        let info = probe(bytes.clone(), ext(&file)).unwrap();
        assert_eq!(info.codec, codec, "{name}");
        assert_eq!((info.sample_rate, info.channels), (RATE, 1), "{name}");
        assert_eq!(info.duration_ms, frames * 1000 / u64::from(RATE), "{name}");
        // Raw GSM is recognised by content without its extension too.
        if name == "gsm raw" {
            assert_eq!(probe(bytes, None).unwrap().codec, "gsm");
        }
    }
    // A raw GSM file whose first frame lacks the magic is refused.
    let mut bad = std::fs::read(dir.path().join("speech.gsm")).unwrap();
    bad[0] &= 0x0F;
    assert!(probe(Arc::from(bad), Some("gsm")).is_err());
    // A WAV49 file without a fact chunk: every block's samples.
    let blocks = vec![0u8; 65 * 10];
    let info = probe(Arc::from(wav49_file(&blocks, None)), Some("wav")).unwrap();
    assert_eq!((info.codec.as_str(), info.duration_ms), ("gsm_ms", 400));
    let info = probe(Arc::from(wav49_file(&blocks, Some(3000))), Some("wav")).unwrap();
    assert_eq!(info.duration_ms, 375);
}

#[test]
fn peaks_of_a_decoded_recording() {
    let dir = tempfile::tempdir().unwrap();
    let (s16, source) = speech(dir.path());
    let stereo = make(dir.path(), &s16, format("pcm16 stereo"));
    let sealed = seal_bytes(&std::fs::read(&stereo).unwrap(), 65536);
    let (samples, rate, channels) = decode_all(sealed.reader("rec"), Some("wav"), "s").unwrap();
    assert_eq!(channels, 2);
    let pk = peaks(&samples, rate, channels, 10);
    assert_eq!(pk.len(), source.len().div_ceil(80));
    // Against sox's decode of the same file, mixed and windowed here.
    let reference = sox_s16(&stereo);
    let mixed: Vec<i16> = reference
        .chunks_exact(2)
        .map(|lr| ((i32::from(lr[0]) + i32::from(lr[1])) as f32 / 2.0).round() as i16)
        .collect();
    for (i, (&(lo, hi), w)) in pk.iter().zip(mixed.chunks(80)).enumerate() {
        let (wlo, whi) = (*w.iter().min().unwrap(), *w.iter().max().unwrap());
        assert_eq!((lo, hi), (wlo, whi), "window {i}");
    }
    assert!(
        pk.iter().any(|&(lo, hi)| lo < -1000 && hi > 1000),
        "speech is there"
    );
}
