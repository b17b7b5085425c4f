//! The fuzz corpus (`crates/core/fuzz/corpus/<target>/`) replayed on the stable toolchain, without
//! cargo-fuzz: every input every target has kept (seeds, inputs the fuzzer found interesting, and
//! past crashes) must still run through its parser without a panic. The seeds made by the core
//! (signed journal segment, audit file, audio and peaks objects) must open with the test keys, so
//! the fuzzer starts from real objects; `UPDATE_FUZZ_SEEDS=1` rewrites them.

use callvault_testkit::fuzz_api as f;
use std::path::PathBuf;

/// A fuzz target: its name (its corpus folder) and the function it calls.
type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("journal_segment", f::journal_segment),
    ("journal_entries", f::journal_entries),
    ("audit_file", f::audit_file),
    ("audio_object", f::audio_object),
    ("peaks_object", f::peaks_object),
    ("archive_files", f::archive_json_and_user_record),
    ("import_name", f::import_name),
    ("sidecar", f::sidecar),
    ("csv_manifest", f::csv_manifest),
    ("metadata_csv", f::metadata_csv),
    ("gsm_frames", f::gsm_frames),
    ("decode", f::decode),
];

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

#[test]
fn seeds_made_by_the_core_open_with_the_test_keys() {
    let k = f::keys();
    for (target, name, bytes) in f::seeds() {
        match target {
            "journal_segment" => {
                let (signer, entries) = callvault_core::archive::journal::open_segment_gen(
                    &bytes,
                    &callvault_core::users::callkey::KeyRing::one(&k.metadata),
                    f::DEVICE,
                    0,
                    0,
                    &k.signers,
                    name,
                )
                .unwrap();
                assert_eq!(signer, f::SIGNER);
                assert_eq!(entries.len(), 3);
            }
            "audio_object" => {
                use std::io::Read;
                let mut r = callvault_core::archive::audio::DecryptingReader::open_recording(
                    std::io::Cursor::new(bytes.clone()),
                    f::RECORDING,
                    &[("custodian".into(), &k.custodian)],
                    name,
                )
                .unwrap();
                let mut out = Vec::new();
                r.read_to_end(&mut out).unwrap();
                assert_eq!(&out[..4], b"RIFF");
            }
            "peaks_object" => {
                let (w, p) =
                    callvault_core::archive::audio::open_peaks(&bytes, f::RECORDING, &k.dek, name)
                        .unwrap();
                assert_eq!((w, p.len()), (10, 2));
            }
            _ => {}
        }
        let path = corpus(target).join(name);
        if std::env::var_os("UPDATE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(corpus(target)).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else {
            // (Not compared byte for byte: the wraps in them are randomised at every run.)
            assert!(
                path.exists(),
                "{} missing: run UPDATE_FUZZ_SEEDS=1 cargo test -p callvault-core --test fuzz_corpus",
                path.display()
            );
        }
    }
}

#[test]
fn every_corpus_input_still_parses_without_a_panic() {
    let mut total = 0;
    for (target, run) in TARGETS {
        let dir = corpus(target);
        let mut n = 0;
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
        {
            let data = std::fs::read(e.path()).unwrap();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{target}: {} panics", e.path().display());
            n += 1;
        }
        assert!(n > 0, "no corpus for {target}");
        total += n;
    }
    eprintln!("replayed {total} corpus inputs");
}
