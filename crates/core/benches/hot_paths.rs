//! The core's hot paths under criterion: STREAM AES-256-GCM seal and open of one 64 KiB audio
//! segment, decoding G.711 µ-law WAV and raw GSM 06.10, a search of a prepared local index of
//! 20,000 recordings, and opening (verifying, unwrapping, decrypting, parsing) a journal segment of
//! 256 recordings.
//!
//! ```sh
//! cargo bench -p callvault-core --profile dev --bench hot_paths            # the project's one build mode
//! cargo bench -p callvault-core --profile dev --bench hot_paths -- stream  # just some
//! ```
//!
//! `--profile dev` reuses the workspace's dev build (callvault-core and every dependency at
//! opt-level 2); plain `cargo bench` would first build everything again in release mode. Medians
//! are in `target/criterion/<group>/<bench>/new/estimates.json` (what scripts/bench reads).

use callvault_core::archive::journal::{self, JournalEntry, RecordingMeta};
use callvault_core::archive::{Archive, Signer};
use callvault_core::audio::decode::decode_all;
use callvault_core::crypto::{self, stream};
use callvault_core::index::{Index, Query, SignerRoles};
use callvault_core::secret::Key32;
use callvault_testkit::bench_gen::{self, Audio, GenOptions};
use callvault_testkit::demo::{speechlike, wav_g711};
use callvault_testkit::fuzz_api::{self, DEVICE, SIGNER};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::io::Cursor;
use std::time::Duration;

const SEG: u32 = 65_536;

fn stream_segments(c: &mut Criterion) {
    let key = Key32::from_bytes([9; 32]);
    let prefix = [7u8; 7];
    let aad = b"callvault/v1/audio/bench";
    let pt: Vec<u8> = (0..SEG as usize).map(|i| (i * 31 % 251) as u8).collect();
    let ct = stream::encrypt_all(&key, &prefix, aad, SEG, &pt);
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Bytes(SEG as u64));
    g.bench_function("seal_64k", |b| {
        b.iter(|| stream::encrypt_all(&key, &prefix, aad, SEG, std::hint::black_box(&pt)))
    });
    g.bench_function("open_64k", |b| {
        b.iter(|| {
            stream::decrypt_segment(&key, &prefix, aad, 0, 1, std::hint::black_box(&ct), "bench")
                .unwrap()
        })
    });
    g.finish();
}

fn decoding(c: &mut Criterion) {
    const SECS: usize = 10;
    let ulaw: std::sync::Arc<[u8]> = wav_g711(8000, &speechlike(8000, SECS, 3), true).into();
    // Raw GSM 06.10: 50 frames of 33 bytes a second, each starting with the 0xD magic nibble;
    // the other bits from a fixed generator (the decoder's cost does not depend on them).
    let mut lcg = callvault_testkit::demo::Lcg(5);
    let gsm: std::sync::Arc<[u8]> = (0..SECS * 50)
        .flat_map(|_| {
            let mut f = [0u8; 33];
            for b in f.iter_mut() {
                *b = lcg.next_u64() as u8;
            }
            f[0] = 0xd0 | (f[0] & 0x0f);
            f
        })
        .collect::<Vec<u8>>()
        .into();
    let mut g = c.benchmark_group("decode");
    // Throughput in samples: seconds of 8 kHz audio decoded.
    g.throughput(Throughput::Elements((SECS * 8000) as u64));
    for (name, data, ext) in [("ulaw_wav_10s", &ulaw, "wav"), ("gsm_raw_10s", &gsm, "gsm")] {
        g.bench_function(name, |b| {
            b.iter(|| decode_all(Cursor::new(data.clone()), Some(ext), name).unwrap())
        });
    }
    g.finish();
}

/// A journal of `n` made-up recordings (bench_gen's calls, without their audio objects) written by
/// the fuzz API's fixed test signer into an archive in a temporary folder.
fn journal_fixture(n: usize) -> (tempfile::TempDir, Archive, Vec<String>) {
    let k = fuzz_api::keys();
    let dir = tempfile::tempdir().unwrap();
    let archive =
        Archive::from_bytes(dir.path(), serde_json::to_vec(&k.archive.config).unwrap()).unwrap();
    let signer = Signer {
        uid: SIGNER,
        seed: &k.signer,
    };
    let uid = |name: &str| hex::encode(&crypto::sha256(name.as_bytes())[..16]);
    let opts = GenOptions {
        calls: n,
        seed: 1,
        audio: Audio::Tiny,
    };
    let mut staff = Vec::new();
    for start in (0..n).step_by(256) {
        let entries: Vec<JournalEntry> = bench_gen::calls_range(&opts, start, 256)
            .into_iter()
            .map(|c| {
                let staff_uid = c.staff.as_deref().map(uid);
                if let (Some(u), true) = (&staff_uid, staff.len() < 16) {
                    if !staff.contains(u) {
                        staff.push(u.clone());
                    }
                }
                let nonce = crypto::new_id();
                JournalEntry::Recording(Box::new(RecordingMeta {
                    id: journal::recording_id(SIGNER, DEVICE, &nonce),
                    nonce: Some(nonce),
                    started_at: callvault_core::time::rfc3339(c.started_at),
                    direction: c.direction,
                    party_uids: staff_uid.iter().cloned().collect(),
                    staff_uid,
                    staff_label: c.staff,
                    extension: c.extension,
                    external_number: c.external_number,
                    parties: c.parties,
                    notes: c.notes,
                    nhs_numbers: c.nhs_numbers,
                    conversation: c.conversation,
                    duration_ms: c.bytes.len() as u64 / 8,
                    codec: "pcm_mulaw".into(),
                    sample_rate: 8000,
                    channels: 1,
                    source_name: c.name,
                    size: c.bytes.len() as u64,
                    object_sha256: hex::encode(crypto::sha256(&c.bytes)),
                    peaks_sha256: None,
                    dedup: hex::encode(crypto::sha256(&c.bytes)),
                    imported_by: SIGNER.into(),
                    imported_at: "2026-01-05T09:00:00.000Z".into(),
                }))
            })
            .collect();
        journal::append(&archive, DEVICE, &entries, &signer).unwrap();
    }
    (dir, archive, staff)
}

fn journal_segment(c: &mut Criterion) {
    let k = fuzz_api::keys();
    let (_dir, archive, _) = journal_fixture(256);
    let rel = format!("journal/{DEVICE}/{}", journal::segment_name(0));
    let bytes = archive.read(&rel).unwrap();
    let mut g = c.benchmark_group("journal");
    g.throughput(Throughput::Elements(256));
    g.bench_function("open_segment_256", |b| {
        b.iter(|| {
            journal::open_segment(
                &bytes,
                &callvault_core::users::callkey::KeyRing::one(&k.metadata),
                DEVICE,
                0,
                &k.signers,
                &rel,
            )
            .unwrap()
        })
    });
    g.finish();
}

/// The fixture's signer as a supervisor, who may import: every recording entry is believed.
fn importer_roles() -> SignerRoles {
    let mut r = SignerRoles::default();
    for uid in fuzz_api::keys().signers.keys() {
        r.roles
            .insert(uid.clone(), vec![callvault_core::policy::Role::Supervisor]);
    }
    r
}

fn index_search(c: &mut Criterion) {
    const N: usize = 20_000;
    let k = fuzz_api::keys();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_dir, archive, staff) = journal_fixture(N);
    let data = tempfile::tempdir().unwrap();
    let index = rt.block_on(async {
        let index = Index::open(data.path(), &k.metadata, DEVICE).await.unwrap();
        let rep = index
            .sync(
                &archive,
                &callvault_core::index::JournalReader::metadata(
                    callvault_core::users::callkey::KeyRing::one(&k.metadata),
                ),
                &k.signers,
                &importer_roles(),
            )
            .await
            .unwrap();
        assert_eq!(rep.recordings_added, N, "{:?}", rep.problems);
        index
    });
    // A week in the last year of the three, a frequent caller, a receptionist, a surname.
    let day = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    };
    let (from, to) = (
        day("2025-06-02T00:00:00+01:00"),
        day("2025-06-09T00:00:00+01:00"),
    );
    let number = callvault_core::phone::normalize(&bench_gen::number(3, false)).unwrap();
    let party = bench_gen::patient(1, 3)
        .rsplit(' ')
        .next()
        .unwrap()
        .chars()
        .skip(1)
        .take(5)
        .collect::<String>();
    let base = Query {
        limit: 1000,
        ..Default::default()
    };
    let queries = [
        (
            "date_week",
            Query {
                from_ms: Some(from),
                to_ms: Some(to),
                ..base.clone()
            },
        ),
        (
            "number",
            Query {
                number: Some(number.clone()),
                ..base.clone()
            },
        ),
        (
            "staff",
            Query {
                staff_uids: Some(vec![staff[0].clone()]),
                ..base.clone()
            },
        ),
        (
            "party_substring",
            Query {
                party: Some(party.clone()),
                ..base.clone()
            },
        ),
        (
            "combined",
            Query {
                from_ms: Some(from - 90 * 86_400_000),
                to_ms: Some(to),
                number: Some(number),
                staff_uids: Some(vec![staff[0].clone()]),
                party: Some(party),
                ..base.clone()
            },
        ),
    ];
    let mut g = c.benchmark_group("index_search_20k");
    for (name, q) in &queries {
        g.bench_with_input(BenchmarkId::from_parameter(name), q, |b, q| {
            b.iter(|| rt.block_on(index.search(q)).unwrap())
        });
    }
    g.finish();
    rt.block_on(index.close());
}

criterion_group! {
    name = benches;
    // Short runs: the machine is shared and CI only builds these (`--all-targets`).
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = stream_segments, decoding, journal_segment, index_search
}
criterion_main!(benches);
