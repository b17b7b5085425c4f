//! The player, end to end and headless: recordings go through the real path (sealed as archive
//! audio objects, read back through `DecryptingReader` and `Decoder`) and are played through cpal
//! into ALSA `file` devices (one per test, defined in a `.asoundrc` in a temporary HOME), whose
//! captures are compared with what was stored. The `file` plugin over `null` is not real time: the
//! device takes audio as fast as it can, so a minute plays in a fraction of a second.
//!
//! ALSA reads its configuration once per process, so every test calls `alsa()` before touching
//! cpal; tests needing another configuration live in another test binary (`player_no_device`).

use callvault_core::archive::audio::{parse_header, seal, DecryptingReader};
use callvault_core::audio::decode::{decode_all, Decoder, Stitched};
use callvault_core::crypto;
use callvault_core::secret::Key32;
use callvault_core::Error;
use callvault_player::{Player, PlayerEvent};
use callvault_testkit::demo::{speechlike, wav_g711, wav_pcm16};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const DEVICES: [&str; 9] = [
    "exact",
    "stitched",
    "resampled",
    "damaged",
    "speed",
    "seek",
    "volume",
    "controls",
    "devices",
];
const RATE: u32 = 48_000;
const SEG: u32 = 65_536;
/// No playback here takes more than a few seconds; a hang fails instead of blocking CI.
const LIMIT: Duration = Duration::from_secs(60);

fn alsa() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Clear what earlier runs left (each run has its own folder, so runs can overlap).
        for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("player-alsa-") {
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = base.join(format!("player-alsa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str| dir.join(format!("{name}.raw")).display().to_string();
        let mut conf = format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
            file("default")
        );
        for d in DEVICES {
            conf += &format!(
                "pcm.cv_{d} {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" \
                 hint {{ show on description \"Callvault test {d}\" }} }}\n",
                file(d)
            );
        }
        std::fs::write(dir.join(".asoundrc"), conf).unwrap();
        // Before anything in this process has initialised ALSA (every test comes through here).
        std::env::set_var("HOME", &dir);
        dir
    })
}

/// Tests play one at a time: on a device that is not real time, a decoding thread kept off the
/// CPU for longer than a device period (20 ms) leaves a gap of silence, and this machine has two
/// cores.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A player on test device `name`, checked to be 48 kHz stereo f32 (what cpal picks on ALSA's
/// `null`), so captures can be read as such.
fn player(name: &str) -> Player {
    alsa();
    let p = Player::new(Some(&format!("cv_{name}"))).unwrap();
    assert_eq!(
        (
            p.output_rate(),
            p.output_channels(),
            p.output_format().as_str()
        ),
        (RATE, 2, "f32"),
        "{p:?}"
    );
    p
}

/// The capture of device `name` as stereo frames; the file is removed.
fn captured(name: &str) -> Vec<[f32; 2]> {
    let path = alsa().join(format!("{name}.raw"));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
        .chunks_exact(8)
        .map(|b| {
            [
                f32::from_le_bytes(b[..4].try_into().unwrap()),
                f32::from_le_bytes(b[4..].try_into().unwrap()),
            ]
        })
        .collect()
}

/// Both channels of a capture of mono audio, checked equal.
fn mono(cap: &[[f32; 2]]) -> Vec<f32> {
    for (i, f) in cap.iter().enumerate() {
        assert_eq!(
            f[0], f[1],
            "frame {i}: mono should reach both channels alike"
        );
    }
    cap.iter().map(|f| f[0]).collect()
}

struct Sealed {
    object: Vec<u8>,
    key: Key32,
}

/// `wav` encrypted as an archive audio object, as import stores it.
fn sealed(wav: &[u8]) -> Sealed {
    let key = Key32::random();
    let object = seal(
        &crypto::new_id(),
        SEG,
        wav,
        &[("custodian".to_string(), crypto::x25519_public(&key))],
    )
    .unwrap();
    Sealed { object, key }
}

impl Sealed {
    /// A decoder over the object, decrypting as it goes.
    fn decoder(&self) -> Decoder {
        let reader = DecryptingReader::new(
            Cursor::new(self.object.clone()),
            &[("custodian".to_string(), &self.key)],
            "rec",
        )
        .unwrap();
        Decoder::open(reader, Some("wav"), "rec.wav").unwrap()
    }
}

/// Play `rec` on test device `name` (calling `during` once it has started) and return its events
/// and what the device got (mono). A run in which the decoder fell behind the device (the machine
/// was busy; the gap is silence, counted in the stats) is played again, up to three times.
fn play(
    p: &Player,
    name: &str,
    rec: &Sealed,
    during: impl Fn(&Player),
) -> (Vec<PlayerEvent>, Vec<f32>) {
    for attempt in 1..=3 {
        let rx = p.play(rec.decoder()).unwrap();
        during(p);
        let ev = events(rx);
        let got = mono(&captured(name));
        let stats = p.stats();
        if stats.underrun_frames == 0 {
            return (ev, got);
        }
        eprintln!("{name}: try {attempt}: the decoder fell behind the device ({stats:?})");
    }
    panic!("{name}: the decoder fell behind the device on every try");
}

/// Every event until the playback closes its receiver.
fn events(rx: Receiver<PlayerEvent>) -> Vec<PlayerEvent> {
    let deadline = Instant::now() + LIMIT;
    let mut out = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(e) => out.push(e),
            Err(RecvTimeoutError::Disconnected) => return out,
            Err(RecvTimeoutError::Timeout) => {
                panic!("playback did not end within {LIMIT:?}; last events {:?}", {
                    let n = out.len();
                    &out[n.saturating_sub(5)..]
                })
            }
        }
    }
}

fn pcm_f32(pcm: &[i16]) -> Vec<f32> {
    pcm.iter().map(|&s| f32::from(s) / 32768.0).collect()
}

/// `got` is `want` sample for sample, then only silence (the device runs on briefly after the
/// end).
fn assert_exact(got: &[f32], want: &[f32], what: &str) {
    assert!(
        got.len() >= want.len(),
        "{what}: the device got {} frames, the recording has {}",
        got.len(),
        want.len()
    );
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{what}: frame {i} differs: device {} vs recording {}",
            got[i], want[i]
        );
    }
    if let Some(i) = got[want.len()..].iter().position(|&v| v != 0.0) {
        panic!("{what}: sound after the end, at frame {}", want.len() + i);
    }
}

fn last_audible(x: &[f32]) -> usize {
    x.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1)
}

/// Frequency (1 Hz steps, `lo..=hi`) with the most energy in `x`.
fn dominant(x: &[f32], rate: u32, lo: u32, hi: u32) -> u32 {
    let mut best = (0.0, 0);
    for f in lo..=hi {
        let w = 2.0 * std::f64::consts::PI * f64::from(f) / f64::from(rate);
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            re += f64::from(v) * (w * i as f64).cos();
            im += f64::from(v) * (w * i as f64).sin();
        }
        if re * re + im * im > best.0 {
            best = (re * re + im * im, f);
        }
    }
    best.1
}

/// Band-limited interpolation by an integer factor (Hann-windowed sinc, 48 taps each side): an
/// independent reference for the player's resampling.
fn upsample(x: &[f32], factor: usize) -> Vec<f32> {
    const W: isize = 48;
    (0..x.len() * factor)
        .map(|j| {
            let t = j as f64 / factor as f64;
            let k0 = t.floor() as isize;
            let mut acc = 0.0f64;
            for k in (k0 - W + 1).max(0)..=(k0 + W).min(x.len() as isize - 1) {
                let d = t - k as f64;
                let sinc = if d == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * d).sin() / (std::f64::consts::PI * d)
                };
                let w = 0.5 + 0.5 * (std::f64::consts::PI * d / W as f64).cos();
                acc += f64::from(x[k as usize]) * sinc * w;
            }
            acc as f32
        })
        .collect()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        ab += f64::from(*x) * f64::from(*y);
        aa += f64::from(*x) * f64::from(*x);
        bb += f64::from(*y) * f64::from(*y);
    }
    ab / (aa * bb).sqrt()
}

#[test]
fn plays_a_recording_at_the_device_rate_sample_exact() {
    let _serial = serial();
    let p = player("exact");
    let pcm = speechlike(RATE, 10, 3);
    let rec = sealed(&wav_pcm16(RATE, &pcm));
    let (ev, got) = play(&p, "exact", &rec, |_| {});
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    assert_eq!(ev[ev.len() - 2], PlayerEvent::Position { ms: 10_000 });
    assert!(p.stats().first_buffer.is_some());
    assert_exact(&got, &pcm_f32(&pcm), "48 kHz PCM");
}

#[test]
fn a_conversation_plays_its_legs_in_order_with_a_mono_leg_on_both_channels() {
    let _serial = serial();
    let p = player("stitched");
    // Three legs of a transferred call, the middle one mono among stereo ones.
    let a = speechlike(RATE, 3, 21);
    let b = speechlike(RATE, 2, 22);
    let c = speechlike(RATE, 4, 23);
    let stereo = |m: &[i16], shift: i16| -> Vec<i16> {
        m.iter()
            .flat_map(|&s| [s, s.saturating_add(shift)])
            .collect()
    };
    let legs = [
        sealed(&callvault_testkit::demo::wav_pcm16_channels(
            RATE,
            2,
            &stereo(&a, 7),
        )),
        sealed(&wav_pcm16(RATE, &b)),
        sealed(&callvault_testkit::demo::wav_pcm16_channels(
            RATE,
            2,
            &stereo(&c, -7),
        )),
    ];
    let stitched = Stitched::new(legs.iter().map(|l| (l.decoder(), 0)).collect()).unwrap();
    assert_eq!(stitched.joins(), [3 * RATE as u64, 5 * RATE as u64]);
    let rx = p.play(stitched).unwrap();
    let ev = events(rx);
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    assert_eq!(ev[ev.len() - 2], PlayerEvent::Position { ms: 9_000 });
    let got = captured("stitched");
    let mut want: Vec<[f32; 2]> = vec![];
    let f = |s: i16| f32::from(s) / 32768.0;
    want.extend(a.iter().map(|&s| [f(s), f(s.saturating_add(7))]));
    want.extend(b.iter().map(|&s| [f(s), f(s)]));
    want.extend(c.iter().map(|&s| [f(s), f(s.saturating_add(-7))]));
    assert!(
        got.len() >= want.len(),
        "{} frames of {}",
        got.len(),
        want.len()
    );
    let bad = (0..want.len()).find(|&i| got[i] != want[i]);
    assert_eq!(bad, None, "the capture differs from the legs in order");
    assert!(got[want.len()..].iter().all(|f| f == &[0.0, 0.0]));
}

#[test]
fn plays_an_8k_mulaw_recording_resampled_to_the_device() {
    let _serial = serial();
    let p = player("resampled");
    let pcm = speechlike(8000, 10, 5);
    let wav = wav_g711(8000, &pcm, true);
    // What the recording decodes to (µ-law expanded), at 8 kHz.
    let (src, rate, ch) = decode_all(Cursor::new(wav.clone()), Some("wav"), "ref.wav").unwrap();
    assert_eq!((rate, ch), (8000, 1));
    let rec = sealed(&wav);
    let (ev, got) = play(&p, "resampled", &rec, |_| {});
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    let want = upsample(&src, 6);
    assert!(
        got.len() >= want.len() && last_audible(&got) <= want.len(),
        "{} frames played for {} expected",
        last_audible(&got),
        want.len()
    );
    // Aligned (no lag) and faithful.
    let (lag, corr) = (-24i32..=24)
        .map(|lag| {
            let (a, b) = if lag >= 0 {
                (&got[lag as usize..want.len()], &want[..])
            } else {
                (&got[..], &want[(-lag) as usize..])
            };
            (lag, correlation(a, b))
        })
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap();
    println!("8 kHz µ-law → 48 kHz: correlation {corr:.5} at lag {lag}");
    assert!(corr > 0.99, "correlation {corr} at lag {lag}");
    assert!(lag.abs() <= 2, "output shifted by {lag} frames");
}

#[test]
fn a_damaged_segment_stops_playback_there_and_nothing_after_it_is_played() {
    let _serial = serial();
    let p = player("damaged");
    let pcm = speechlike(RATE, 10, 7);
    let wav = wav_pcm16(RATE, &pcm);
    let mut rec = sealed(&wav);
    // Flip a byte inside segment 5 (plaintext bytes 5 × 64 KiB onwards).
    let n = 5u64;
    let (_, body) = parse_header(&rec.object, "rec").unwrap();
    rec.object[body + (n * (u64::from(SEG) + 16)) as usize + 1000] ^= 0x40;
    // Frames wholly before segment n (a 44-byte header, then 2 bytes a frame).
    let before = ((n * u64::from(SEG) - 44) / 2) as usize;

    let (ev, got) = play(&p, "damaged", &rec, |_| {});
    let Some(PlayerEvent::Error { message }) = ev.last() else {
        panic!("expected an error, got {ev:?}");
    };
    let at = before as u64 / u64::from(RATE);
    let mmss = format!("recording damaged at {:02}:{:02}", at / 60, at % 60);
    println!("segment {n} damaged: {message}");
    assert!(message.contains(&mmss), "{message}");
    assert!(!ev.contains(&PlayerEvent::Ended));

    let src = pcm_f32(&pcm);
    let played = got.iter().zip(&src).take_while(|(a, b)| a == b).count();
    assert!(
        got[played..].iter().all(|&v| v == 0.0),
        "something other than the recording was played after frame {played}"
    );
    println!("played {played} frames; segment {n} starts at frame {before}");
    assert!(
        played <= before,
        "played {played} frames, past the damage at {before}"
    );
    assert!(
        played + RATE as usize / 10 >= before,
        "stopped at frame {played}, well before the damage at {before}"
    );
}

#[test]
fn double_speed_takes_half_the_frames_and_keeps_the_pitch() {
    let _serial = serial();
    let p = player("speed");
    let tone: Vec<i16> = (0..RATE as usize * 4)
        .map(|i| {
            ((2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(RATE)).sin() * 12_000.0)
                as i16
        })
        .collect();
    let rec = sealed(&wav_pcm16(RATE, &tone));
    assert!(p.set_speed(2.5).is_err());
    p.set_speed(2.0).unwrap();
    let (ev, got) = play(&p, "speed", &rec, |_| {});
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    let n = last_audible(&got);
    let half = tone.len() / 2;
    assert!(
        n.abs_diff(half) <= half / 100,
        "{n} frames at 2x for {} at 1x",
        tone.len()
    );
    let mid = &got[n / 2 - 12_000..n / 2 + 12_000];
    let f = dominant(mid, RATE, 300, 600);
    println!("440 Hz at 2x: dominant {f} Hz over {n} frames");
    assert!(f.abs_diff(440) <= 13, "pitch moved to {f} Hz");
}

#[test]
fn seek_lands_on_the_target() {
    let _serial = serial();
    let p = player("seek");
    let pcm = speechlike(RATE, 60, 11);
    let rec = sealed(&wav_pcm16(RATE, &pcm));
    let (ev, got) = play(&p, "seek", &rec, |p| {
        // Seek once it is well under way, with the ring full of audio to drop.
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.position().unwrap() < Duration::from_secs(1) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        p.seek(Duration::from_secs(40)).unwrap();
    });
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    assert!(
        ev.contains(&PlayerEvent::Position { ms: 40_000 }),
        "{:?}",
        &ev[..ev.len().min(5)]
    );
    let stats = p.stats();
    assert!(stats.last_seek.is_some(), "{stats:?}");

    let src = pcm_f32(&pcm);
    // What played before the seek took effect is the start of the recording ...
    let mut j = got.iter().zip(&src).take_while(|(a, b)| a == b).count();
    // ... then (after at most a little silence) the recording from where the seek landed.
    while j < got.len() && got[j] == 0.0 {
        j += 1;
    }
    let target = 40 * RATE as usize;
    let probe = &got[j..j + 256];
    let mut landed = (target - RATE as usize..target + RATE as usize)
        .find(|&k| &src[k..k + 256] == probe)
        .expect("the audio after the seek is not the recording near 40 s");
    // Silence at the landing point was skipped on both sides: step back over it.
    while landed > target && src[landed - 1] == 0.0 && got[j - 1] == 0.0 {
        landed -= 1;
        j -= 1;
    }
    let off_ms = (landed as f64 - target as f64) / f64::from(RATE) * 1000.0;
    println!(
        "seek to 40 s landed at {:.3} s ({off_ms:+.2} ms), after {j} frames",
        landed as f64 / f64::from(RATE)
    );
    assert!(off_ms.abs() <= 20.0, "landed {off_ms} ms from the target");
    assert_exact(&got[j..], &src[landed..], "after the seek");
}

#[test]
fn volume_scales_the_samples() {
    let _serial = serial();
    let p = player("volume");
    let pcm = speechlike(RATE, 5, 13);
    let rec = sealed(&wav_pcm16(RATE, &pcm));
    assert!(p.set_volume(1.6).is_err());
    p.set_volume(0.5).unwrap();
    let (ev, got) = play(&p, "volume", &rec, |_| {});
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    let half: Vec<f32> = pcm_f32(&pcm).iter().map(|v| v * 0.5).collect();
    assert_exact(&got, &half, "volume 0.5");
}

#[test]
fn pause_holds_the_position_and_controls_need_a_playback() {
    let _serial = serial();
    let p = player("controls");
    let pcm = speechlike(RATE, 60, 17);
    let rec = sealed(&wav_pcm16(RATE, &pcm));
    let (ev, got) = play(&p, "controls", &rec, |p| {
        p.pause();
        assert!(p.is_paused());
        p.seek(Duration::from_secs(30)).unwrap();
        p.skip(-10).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let at = p.position().unwrap();
        assert_eq!(at, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(p.position().unwrap(), at, "moved while paused");
        assert_eq!(p.duration(), Some(Duration::from_secs(60)));
        p.resume();
    });
    assert_eq!(ev.last(), Some(&PlayerEvent::Ended), "{ev:?}");
    assert!(!p.is_playing());
    assert!(matches!(p.seek(Duration::ZERO), Err(Error::Invalid(_))));
    assert!(matches!(p.skip(10), Err(Error::Invalid(_))));
    // Perhaps a moment from the start (before the pause took hold), then silence, then the
    // recording from 20 s to the end.
    let src = pcm_f32(&pcm);
    let mut j = got.iter().zip(&src).take_while(|(a, b)| a == b).count();
    while got[j] == 0.0 {
        j += 1;
    }
    let from = 20 * RATE as usize;
    let from = from + src[from..].iter().take_while(|&&v| v == 0.0).count();
    assert_exact(&got[j..], &src[from..], "after the pause");
}

#[test]
fn devices_are_listed_and_chosen_by_name() {
    let _serial = serial();
    alsa();
    let names = Player::output_devices().unwrap();
    assert!(
        names.iter().any(|n| n == "Callvault test devices"),
        "{names:?}"
    );
    let p = Player::new(Some("callvault TEST devices")).unwrap();
    assert_eq!(p.device_name(), "Callvault test devices");
    let e = Player::new(Some("no such device")).unwrap_err();
    assert!(matches!(e, Error::Audio { .. }), "{e}");
    assert!(e.to_string().contains("no such output device"), "{e}");
    assert!(p.seek(Duration::ZERO).is_err());
    p.stop();
}
