//! Entry points for the fuzz targets in `crates/core/fuzz` (cargo-fuzz, `scripts/fuzz`): each feeds
//! arbitrary bytes to one parser of outside or archive input, in memory, with fixed test keys, and
//! ignores the result. A parser passes if it returns (an error is fine) without panicking, hanging
//! or exhausting memory. Not an API: hidden from the docs, and free to change with the targets.

use callvault_core::archive::{self, audio, journal, Archive, SignerKeys};
use callvault_core::audio::{decode, gsm};
use callvault_core::crypto;
use callvault_core::ingest::layouts::LAYOUTS;
use callvault_core::ingest::understand::{Ctx, LayoutName, Metadata};
use callvault_core::ingest::{csv_manifest, freepbx, layout, oreka, probe, sidecar, threecx};
use callvault_core::secret::Key32;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The device, and the signer's uid, that the seeded objects name.
pub const DEVICE: &str = "7d1e9b3c5a0f4e2d8c6b1a9f0e7d5c3b";
pub const SIGNER: &str = "e289cc7c82ded3abcf7dbfebc9aea3dd";
/// The recording id the seeded audio and peaks objects carry.
pub const RECORDING: &str = "0b7c4e2a9d1f3e5c7a9b2d4f6e8a0c1e";

/// Fixed test keys (never a real archive's).
pub struct Keys {
    pub metadata: Key32,
    pub custodian: Key32,
    pub audit: Key32,
    pub signing: Key32,
    pub signer: Key32,
    pub dek: Key32,
    pub signers: SignerKeys,
    pub archive: Archive,
}

pub fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let k = |b: u8| Key32::from_bytes([b; 32]);
        let (metadata, custodian, audit, signing) = (k(1), k(2), k(3), k(4));
        let signer = callvault_core::users::user_signing_seed(&k(5));
        let mut signers = SignerKeys::new();
        signers.insert(SIGNER.to_string(), crypto::ed25519_public(&signer));
        let pk = |s: &Key32| crypto::b64(&crypto::x25519_public(s));
        let config = serde_json::json!({
            "format": "callvault-archive", "v": 1, "id": DEVICE,
            "created_at": "2025-01-06T09:00:00Z",
            "keys": {
                "metadata": pk(&metadata), "custodian": pk(&custodian), "audit": pk(&audit),
                "admin": pk(&k(6)), "signing": crypto::b64(&crypto::ed25519_public(&signing)),
            },
            "kdf": {"m_kib": 8192, "t": 1, "p": 1}, "kdf_measured_ms": 0,
            "user_salt": crypto::b64(&[7u8; 16]), "segment_size": 4096,
            "timezone": "Europe/London",
        });
        let archive = Archive::from_bytes(
            Path::new("fuzz-archive"),
            serde_json::to_vec_pretty(&config).expect("serialisable"),
        )
        .expect("a valid archive.json");
        Keys {
            metadata,
            custodian,
            audit,
            signing,
            signer,
            dek: k(8),
            signers,
            archive,
        }
    })
}

fn resign(signed: &[u8], domain: &str) -> Vec<u8> {
    let sig = crypto::ed25519_sign(&keys().signer, &archive::trailer_message(domain, signed));
    [signed, &sig].concat()
}

/// A journal segment file (`journal/<device>/<seq>.cvj`): as read (the signature stops almost
/// everything), then re-signed by the test signer so that the checks after the signature (place,
/// wrap, body, entries) see the fuzzer's header too.
pub fn journal_segment(data: &[u8]) {
    let k = keys();
    let open = |d: &[u8]| {
        journal::open_segment_gen(
            d,
            &callvault_core::users::callkey::KeyRing::one(&k.metadata),
            DEVICE,
            0,
            0,
            &k.signers,
            "journal/fuzz/0",
        )
    };
    let _ = open(data);
    if let Ok((_, _, _, signed)) = archive::split_signed(data, journal::MAGIC, "fuzz") {
        let _ = open(&resign(signed, journal::SIG_DOMAIN));
    }
}

/// A decrypted journal segment body (the JSON array of entries), and what readers do with the
/// entries: their author and recording, and folding request events.
pub fn journal_entries(data: &[u8]) {
    let Ok(entries) = journal::parse_entries(data, "journal/fuzz/0") else {
        return;
    };
    let mut requests: std::collections::BTreeMap<
        String,
        Vec<callvault_core::requests::RequestEntry>,
    > = Default::default();
    for e in entries {
        let _ = (e.author().len(), e.personal_data_of().map(str::len));
        if let journal::JournalEntry::Request(r) = e {
            requests.entry(r.request.clone()).or_default().push(*r);
        }
    }
    let roles = |uid: &str| {
        if uid.len().is_multiple_of(2) {
            callvault_core::Role::ALL.to_vec()
        } else {
            vec![callvault_core::Role::Approver]
        }
    };
    for (id, events) in requests {
        if let Some(st) = callvault_core::requests::fold(&id, events, &roles, &Default::default()) {
            let _ = format!("{st:?}");
        }
    }
}

/// An audit file (`audit/<device>/<seq>.cvl`), as read and re-signed (as for journal segments).
pub fn audit_file(data: &[u8]) {
    let k = keys();
    let open = |d: &[u8]| {
        callvault_core::audit::open_file(
            d,
            Some(&callvault_core::users::callkey::KeyRing::one(&k.audit)),
            &k.signers,
            DEVICE,
            0,
            "",
            "audit/fuzz/0",
        )
    };
    let _ = open(data);
    if let Ok((_, _, _, signed)) = archive::split_signed(data, callvault_core::audit::MAGIC, "fuzz")
    {
        let _ = open(&resign(signed, callvault_core::audit::SIG_DOMAIN));
    }
}

/// An audio object (`rec/../<id>.cva`): its header, and reading it through the decrypting reader
/// (opened with the custodian key, then by recording id, then with the test data key).
pub fn audio_object(data: &[u8]) {
    let k = keys();
    let what = "rec/fuzz.cva";
    if let Ok((h, off)) = audio::parse_header(data, what) {
        let _ = (h.segment_count(), h.expected_size(off));
    }
    let custodian = [("custodian".to_string(), &k.custodian)];
    if let Ok(mut r) = audio::DecryptingReader::open_recording(
        Cursor::new(data.to_vec()),
        RECORDING,
        &custodian,
        what,
    ) {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
    }
    if let Ok(mut r) = audio::DecryptingReader::open_with_dek(
        Cursor::new(data.to_vec()),
        RECORDING,
        Key32::from_bytes(*k.dek.expose()),
        what,
    ) {
        let n = r.segment_count();
        let _ = r.segment(n.saturating_sub(1));
        let _ = r.segment(0);
    }
}

/// A waveform peaks object (`rec/../<id>.cvp`), opened with the test data key.
pub fn peaks_object(data: &[u8]) {
    let _ = audio::open_peaks(data, RECORDING, &keys().dek, "rec/fuzz.cvp");
}

/// `archive.json`, and a user record (`users/<uid>/<ver>.cvu`) checked against the test archive.
pub fn archive_json_and_user_record(data: &[u8]) {
    if let Ok(a) = Archive::from_bytes(Path::new("fuzz-archive"), data.to_vec()) {
        for which in ["metadata", "custodian", "audit", "admin", "signing"] {
            let _ = a.config.keys.get(which);
        }
    }
    let k = keys();
    let rel = format!("users/{SIGNER}/00000000.cvu");
    if let Ok(rec) = callvault_core::users::check_record(&k.archive, data, SIGNER, 0, &rel) {
        let _ = rec.kdf.check(&rel);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = (
            callvault_core::users::parse_mark(s),
            callvault_core::users::parse_ver(s),
        );
        let _ = (journal::parse_segment_file(s), archive::is_id(s));
    }
}

/// A file name (its path in the import folder on the first line) through each telephony layout's
/// parser, as `auto` would choose and as each forced layout reads it.
pub fn import_name(data: &[u8]) {
    let Ok(rel) = std::str::from_utf8(data) else {
        return;
    };
    let rel = rel.lines().next().unwrap_or("");
    understand_name(rel, None);
}

fn understand_name(rel: &str, meta: Option<&(layout::AnyLayout, Metadata)>) {
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    let tz = chrono_tz::Europe::London;
    let ctx = Ctx {
        dir: Path::new("."),
        rel,
        file_name,
        tz,
        sidecar: None,
    };
    let _ = layout::detect(&ctx);
    let _ = (
        freepbx::parse_name(file_name),
        threecx::parse_name(file_name),
        oreka::parse_name(file_name),
    );
    // Every layout that reads names (one with a manifest reads a folder, and is fuzzed as such).
    for l in LAYOUTS.iter().filter(|l| l.manifest().is_none()) {
        let _ = l.looks_like(&ctx);
        let own = meta
            .filter(|(owner, _)| owner.name() == l.name())
            .map(|(_, m)| m);
        if let Ok(c) = l.understand(&ctx, own) {
            let _ = c.finish(rel, LayoutName::named(l.name()), tz, 1);
        }
    }
}

/// A sidecar (`<file>.json`): the audio file's name on the first line, the JSON after it.
pub fn sidecar(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (file_name, text) = s.split_once('\n').unwrap_or(("call.wav", s));
    let ctx = Ctx {
        dir: Path::new("."),
        rel: file_name,
        file_name,
        tz: chrono_tz::Europe::London,
        sidecar: None,
    };
    if let Ok(c) = sidecar::understand_text(&ctx, text) {
        let _ = c.finish(file_name, LayoutName::named(sidecar::NAME), ctx.tz, 1);
    }
}

/// A folder with two small files, for manifests to name.
fn import_dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("callvault-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(d.join("sub"));
        let _ = std::fs::write(d.join("a.wav"), b"RIFF");
        let _ = std::fs::write(d.join("sub/b.gsm"), [0xd0u8; 33]);
        d
    })
}

/// A CSV import manifest, naming files in a small folder.
pub fn csv_manifest(data: &[u8]) {
    let _ = csv_manifest::plan_rows(
        import_dir(),
        "manifest.csv",
        data,
        chrono_tz::Europe::London,
    );
}

/// A FreePBX CDR export or an Oreka metadata CSV (`--cdr`), joined to a recording whose path is
/// the first line.
pub fn metadata_csv(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(0);
    let rel = std::str::from_utf8(&data[..split]).unwrap_or("");
    let csv = data.get(split + 1..).unwrap_or(&[]);
    let readers = LAYOUTS
        .iter()
        .filter(|l| l.metadata().is_some())
        .map(|l| LayoutName::named(l.name()));
    for l in std::iter::once(LayoutName::Auto).chain(readers) {
        if let Ok(m) = layout::read_metadata("cdr.csv", csv, l) {
            understand_name(rel, Some(&m));
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = (freepbx::parse_clid(s), freepbx::channel_extension(s));
    }
}

/// The GSM 06.10 decoder on raw frames (33 bytes) and WAV49 blocks (65 bytes).
pub fn gsm_frames(data: &[u8]) {
    let mut st = gsm::GsmState::new();
    let mut out = [0i16; gsm::FRAME_SAMPLES];
    for f in data.chunks_exact(gsm::FRAME_BYTES) {
        let frame: &[u8; gsm::FRAME_BYTES] = f.try_into().expect("exact chunk");
        if let Some(p) = gsm::unpack_frame(frame) {
            st.decode_frame(&p, &mut out);
        }
    }
    let mut st = gsm::GsmState::new();
    for b in data.chunks_exact(gsm::MS_BLOCK_BYTES) {
        let block: &[u8; gsm::MS_BLOCK_BYTES] = b.try_into().expect("exact chunk");
        for p in gsm::unpack_ms_block(block) {
            st.decode_frame(&p, &mut out);
        }
    }
}

/// Extensions a file may arrive with (the first input byte picks one: it steers the probe).
const HINTS: &[Option<&str>] = &[
    None,
    Some("wav"),
    Some("gsm"),
    Some("WAV"),
    Some("mp3"),
    Some("flac"),
    Some("ogg"),
    Some("m4a"),
    Some("au"),
];

/// Any bytes as an audio file, through the import's probe and the player's decoder (open, decode
/// a bounded number of blocks, seek, decode again): WAV headers, WAV49, raw GSM and the rest.
pub fn decode(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let ext = HINTS[sel as usize % HINTS.len()];
    let _ = probe::probe(bytes.into(), ext);
    let Ok(mut d) = decode::Decoder::open(Cursor::new(bytes.to_vec()), ext, "fuzz") else {
        return;
    };
    let (rate, channels) = (d.sample_rate(), d.channels());
    let _ = (rate, channels, d.codec_name(), d.total_frames());
    let mut samples = 0usize;
    for _ in 0..64 {
        match d.next_block() {
            Ok(Some(b)) => {
                samples += b.len();
                if samples > 1 << 22 {
                    break;
                }
            }
            _ => break,
        }
    }
    let target = d.total_frames().unwrap_or(samples as u64) / 2;
    if d.seek(target).is_ok() {
        let _ = d.next_block();
    }
    let _ = decode::peaks(&[0.5, -0.5, 0.25], rate.max(1), channels, 10);
}

/// Seeds: a real signed journal segment (one recording entry), audit file, audio object and peaks
/// object made by the core with the test keys, as `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let k = keys();
    let signer = archive::Signer {
        uid: SIGNER,
        seed: &k.signer,
    };
    let sealed_envelope = |magic: &[u8; 8],
                           info: String,
                           domain: &str,
                           header: serde_json::Value,
                           plain: &[u8],
                           key: &Key32,
                           signed: bool| {
        let mut header = header;
        let recipient = if magic == journal::MAGIC {
            crypto::x25519_public(&k.metadata)
        } else {
            crypto::x25519_public(&k.audit)
        };
        header["wrap"] = serde_json::to_value(
            crypto::wrap(&recipient, info.as_bytes(), key.expose()).expect("wrap"),
        )
        .expect("serialisable");
        if signed {
            header["signer"] = SIGNER.into();
        }
        let h = serde_json::to_vec(&header).expect("serialisable");
        let body = crypto::seal(key, &[0u8; 12], &[magic.as_slice(), &h].concat(), plain);
        archive::join_signed(magic, &h, &body, domain, signed.then_some(&signer))
    };
    let entries = format!(
        r#"[{{"t":"recording","id":"{RECORDING}","started_at":"2025-01-06T09:15:00Z","direction":"inbound","staff_uid":"{SIGNER}","staff_label":"201","extension":"201","external_number":"01632 960123","parties":["Alice Example"],"party_uids":["{SIGNER}"],"notes":"test vector","duration_ms":1000,"codec":"pcm_s16le","sample_rate":8000,"channels":1,"source_name":"call-0001.wav","size":42,"object_sha256":"12b4aed38faf783aa6075a3cb37882e502aebd0c967221de7fb327a1c3ef5bd9","dedup":"cd4f6796536aefe40590e343c4f2242b6c8cb827d84d1415ca3043ddf6681133","imported_by":"{SIGNER}","imported_at":"2025-01-06T10:00:00.000Z"}},{{"t":"request","request":"5c0e8a2f4b6d1e3c9a7f0b2d4e6c8a1f","by":"{SIGNER}","at":"2025-01-06T10:00:00.000Z","event":{{"kind":"raised","purpose":"sar","reason":"copy","call_time":"2025-01-06","staff":null,"number":"01632 960123","parties":[],"info":null,"received":"2025-01-06","identity":"passport"}}}},{{"t":"request","request":"5c0e8a2f4b6d1e3c9a7f0b2d4e6c8a1f","by":"{SIGNER}","at":"2025-01-06T10:05:00.000Z","event":{{"kind":"approved","recordings":["{RECORDING}"],"expires_at":"2025-01-13T10:05:00Z","allow":["listen"],"note":null}}}}]"#
    );
    let journal = sealed_envelope(
        journal::MAGIC,
        format!("callvault/v1/journal/{DEVICE}/0"),
        journal::SIG_DOMAIN,
        serde_json::json!({"v": 1, "device": DEVICE, "seq": 0}),
        entries.as_bytes(),
        &Key32::from_bytes([9; 32]),
        true,
    );
    let audit_entries = format!(
        r#"[{{"at":"2025-01-06T09:00:00.123Z","device":"{DEVICE}","actor":"{SIGNER}","action":"archive.init","outcome":"allowed","targets":["{RECORDING}"],"detail":null,"witness":[{{"device":"{RECORDING}","files":2,"last":"00"}}]}}]"#
    );
    let audit = sealed_envelope(
        callvault_core::audit::MAGIC,
        format!("callvault/v1/audit/{DEVICE}/0"),
        callvault_core::audit::SIG_DOMAIN,
        serde_json::json!({"v": 1, "device": DEVICE, "seq": 0, "prev": ""}),
        audit_entries.as_bytes(),
        &Key32::from_bytes([10; 32]),
        true,
    );
    let wav = crate::demo::wav_pcm16(8000, &crate::demo::speechlike(8000, 1, 1)[..400]);
    // An audio object under the test data key, wrapped to the test custodian key.
    let (seg, plain, prefix) = (64u32, &wav[..200], [3u8; 7]);
    let header = audio::AudioHeader {
        v: 1,
        id: RECORDING.into(),
        seg,
        len: plain.len() as u64,
        nonce: hex::encode(prefix),
        wraps: vec![audio::KeyWrap {
            to: "custodian".into(),
            wrapped: crypto::wrap(
                &crypto::x25519_public(&k.custodian),
                &audio::wrap_info(RECORDING),
                k.dek.expose(),
            )
            .expect("wrap"),
        }],
    };
    let aad = audio::segment_aad(RECORDING, header.len, seg);
    let body = crypto::stream::encrypt_all(&k.dek, &prefix, &aad, seg, plain);
    let object = archive::join_envelope(
        audio::MAGIC,
        &serde_json::to_vec(&header).expect("serialisable"),
        &body,
    );
    let peaks = audio::seal_peaks(RECORDING, &k.dek, 10, &[(-300, 400), (-20000, 32767)]);
    vec![
        ("journal_segment", "signed-segment.cvj", journal),
        ("journal_entries", "entries.json", entries.into_bytes()),
        ("audit_file", "signed-audit.cvl", audit),
        ("audio_object", "object.cva", object),
        ("peaks_object", "peaks.cvp", peaks),
        (
            "archive_files",
            "archive.json",
            k.archive.config_bytes.clone(),
        ),
    ]
}
