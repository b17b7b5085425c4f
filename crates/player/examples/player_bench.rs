//! Player benchmarks (figures, not tests): time from `play` to the first buffer handed to the
//! device, seek latency, and peak memory, on long 8 kHz µ-law recordings.
//!
//! ```sh
//! cargo run -p callvault-player --example player_bench -- make 3600 /tmp/call-1h.cva
//! cargo run -p callvault-player --example player_bench -- play /tmp/call-1h.cva
//! ```
//!
//! `make` writes a made-up call (speech-like audio as 8 kHz µ-law WAV) sealed as an archive audio
//! object under a fixed bench key. `play` opens it as the app does (a `DecryptingReader` over the
//! file, then a `Decoder`), plays all of it, seeking about while it plays, and prints the timings
//! and the process's peak resident memory (VmHWM); run each in its own process so the peak is the
//! player's. Unless `CALLVAULT_BENCH_REAL_DEVICE` is set, the device is ALSA's `file` plugin
//! writing to /dev/null (not real time: it takes audio as fast as the player makes it, so an hour
//! plays in seconds and the seek figures are the player's own, without waiting for a device
//! period).

use callvault_core::archive::audio::{seal, DecryptingReader};
use callvault_core::audio::decode::Decoder;
use callvault_core::crypto;
use callvault_core::secret::Key32;
use callvault_player::{Player, PlayerEvent};
use callvault_testkit::demo::{speechlike, wav_g711};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

fn key() -> Key32 {
    Key32::from_bytes([42; 32])
}

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_string())
        .unwrap_or_else(|| "?".into())
}

fn make(secs: usize, path: &str) {
    let pcm = speechlike(8000, secs, 1);
    let wav = wav_g711(8000, &pcm, true);
    let object = seal(
        &crypto::new_id(),
        65536,
        &wav,
        &[("custodian".to_string(), crypto::x25519_public(&key()))],
    )
    .unwrap();
    std::fs::write(path, &object).unwrap();
    println!(
        "{path}: {secs} s of 8 kHz µ-law, {} bytes sealed",
        object.len()
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn play(path: &str) {
    let _alsa_home;
    if std::env::var_os("CALLVAULT_BENCH_REAL_DEVICE").is_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".asoundrc"),
            "pcm.!default { type file slave.pcm \"null\" file \"/dev/null\" format \"raw\" }\n",
        )
        .unwrap();
        std::env::set_var("HOME", dir.path());
        _alsa_home = dir;
    }
    let base = status("VmHWM:");
    let open = || {
        let file = std::fs::File::open(path).unwrap();
        let reader =
            DecryptingReader::new(file, &[("custodian".to_string(), &key())], path).unwrap();
        Decoder::open(reader, Some("wav"), path).unwrap()
    };
    let decoder = open();
    let total = Duration::from_secs_f64(
        decoder.total_frames().unwrap() as f64 / f64::from(decoder.sample_rate()),
    );
    let player = Player::new(None).unwrap();
    println!(
        "{path}: {:.0} s of {} at {} Hz; device {:?} {} Hz × {} {}",
        total.as_secs_f64(),
        decoder.codec_name(),
        decoder.sample_rate(),
        player.device_name(),
        player.output_rate(),
        player.output_channels(),
        player.output_format()
    );
    drop(decoder);
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "{what}: no answer in 10 s");
            std::thread::sleep(Duration::from_micros(50));
        }
    };
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        (v[v.len() / 2], *v.last().unwrap())
    };

    // Play from the start several times: play() to the first buffer.
    let mut firsts = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let _rx = player.play(open()).unwrap();
        calls.push(t.elapsed());
        wait("first buffer", &|| player.stats().first_buffer.is_some());
        firsts.push(player.stats().first_buffer.unwrap());
        player.stop();
    }
    let (call, _) = median(&mut calls);
    let (first, first_max) = median(&mut firsts);
    println!(
        "play() returns in {} (median); first buffer handed to the device after {} (median of 7, max {})",
        ms(call),
        ms(first),
        ms(first_max)
    );

    // Seek about while playing (a device that is not real time runs through a short recording in
    // moments, so start again whenever it has ended).
    let mut seeks = Vec::new();
    let mut rx = player.play(open()).unwrap();
    for frac in [0.98, 0.17, 0.5, 0.01, 0.75, 0.33, 0.9, 0.6, 0.05, 0.45, 0.8] {
        if !player.is_playing() {
            rx = player.play(open()).unwrap();
        }
        let to = total.mul_f64(frac);
        player.seek(to).unwrap();
        wait("seek", &|| {
            player.stats().last_seek.is_some() || !player.is_playing()
        });
        if let Some(d) = player.stats().last_seek {
            seeks.push(d);
            println!("seek to {:>7.1} s: {}", to.as_secs_f64(), ms(d));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (seek, seek_max) = median(&mut seeks);
    println!(
        "seek latency (seek() to the first buffer from the new position handed to the device): median {}, max {} over {}",
        ms(seek),
        ms(seek_max),
        seeks.len()
    );

    // Then all of it, from the start.
    drop(rx);
    let rx = player.play(open()).unwrap();
    let t = Instant::now();
    let mut last = None;
    let mut positions = 0;
    loop {
        match rx.recv_timeout(Duration::from_secs(600)) {
            Ok(PlayerEvent::Position { .. }) => positions += 1,
            Ok(e) => last = Some(e),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("no end in 10 minutes"),
        }
    }
    println!(
        "played all {:.0} s in {:.2} s ({positions} position events), ended with {last:?}; {:?}",
        total.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        player.stats()
    );
    println!(
        "peak RSS (VmHWM): {} (before opening: {base}); RSS now {}",
        status("VmHWM:"),
        status("VmRSS:")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("make") if args.len() == 4 => make(args[2].parse().unwrap(), &args[3]),
        Some("play") if args.len() == 3 => play(&args[2]),
        _ => {
            eprintln!("usage: player_bench make SECONDS FILE | player_bench play FILE");
            std::process::exit(2);
        }
    }
}
