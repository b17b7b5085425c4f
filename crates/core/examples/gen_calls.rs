//! Write N made-up calls (speech-like G.711 µ-law WAV, 8 kHz) and a manifest.csv into a folder,
//! for benchmarks: `cargo run --example gen_calls -- DIR N SECONDS`.

use callvault_testkit::demo::{speechlike, wav_g711};
use std::fmt::Write as _;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("usage: gen_calls DIR N SECONDS"));
    let n: usize = args.get(2).map_or(100, |s| s.parse().expect("N"));
    let secs: usize = args.get(3).map_or(60, |s| s.parse().expect("SECONDS"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest =
        String::from("file,started_at,direction,staff,extension,external_number,parties,notes\n");
    for i in 0..n {
        let name = format!("call-{i:06}.wav");
        std::fs::write(
            dir.join(&name),
            wav_g711(8000, &speechlike(8000, secs, i as u32), true),
        )
        .unwrap();
        writeln!(
            manifest,
            "{name},2025-{:02}-{:02}T{:02}:{:02}:00,inbound,,20{},07700 900{:03},Caller {i},",
            1 + i % 12,
            1 + i % 28,
            8 + i % 10,
            i % 60,
            i % 3,
            i % 1000
        )
        .unwrap();
    }
    std::fs::write(dir.join("manifest.csv"), manifest).unwrap();
}
