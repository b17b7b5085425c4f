//! Plaintext scan: a whole scenario over the real binary with planted markers — made-up party
//! names, Ofcom drama-range numbers, notes, and audio whose bytes carry distinctive 64-byte runs
//! (16-bit PCM, and µ-law, whose decoded 16-bit form is a marker too) — imported, searched, shown,
//! requested, approved, played to a null ALSA sink, exported as a SAR to a chosen folder, deleted
//! and erased, with TMPDIR pointed at a per-test folder. Then every byte of the archive folder, of
//! every device's app-data folder, of TMPDIR, of the deletion certificates' folder and of the
//! captured stdout/stderr of every command not meant to show personal data to its authorised user
//! is searched for every marker (raw bytes, UTF-8, UTF-16LE): zero hits. The export folder (the
//! deliberate disclosure) must contain them, so the scan cannot pass vacuously.
//!
//! Commands whose output is personal data shown to an authorised user, and so not scanned:
//! `search`, `show`, `request show`, `request list`.

mod common;

use callvault_core::audio::decode;
use callvault_testkit::demo::{wav_g711, wav_pcm16, Lcg};
use common::*;
use std::io::Cursor;
use std::path::{Path, PathBuf};

const PARTY1: &str = "Zebedee Quuxworth-Marlowe";
const PARTY2: &str = "Philippa Snargleby-Tudworth";
const NUMBER1: &str = "07700 900417";
const NUMBER2: &str = "07700 900583";
const NOTE: &str = "Marker note: kumquat allergy; Flat 9 Wibbleton Mews";
const REASON: &str = "Letter from Zebedee Quuxworth-Marlowe asking for copies";

struct Scenario {
    env: Env,
    tmpdir: PathBuf,
    /// (command, stdout + stderr) of commands whose output must hold no personal data.
    scanned_output: Vec<(String, Vec<u8>)>,
}

impl Scenario {
    fn run(&mut self, d: &Device, user: (&str, &str), args: &[&str], may_show: bool) -> Out {
        let o: Out = d
            .command(Some(user), args)
            .env("TMPDIR", &self.tmpdir)
            .output()
            .unwrap()
            .into();
        if !may_show {
            let mut b = o.stdout.clone().into_bytes();
            b.extend_from_slice(o.stderr.as_bytes());
            self.scanned_output.push((args.join(" "), b));
        }
        o
    }
}

/// Every form a marker might leak in.
fn forms(markers: &[(&str, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, bytes) in markers {
        out.push((format!("{name} (bytes/UTF-8)"), bytes.clone()));
        if let Ok(s) = std::str::from_utf8(bytes) {
            let utf16: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            out.push((format!("{name} (UTF-16LE)"), utf16));
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    let first = needle[0];
    let n = needle.len();
    hay.len() >= n && (0..=hay.len() - n).any(|i| hay[i] == first && &hay[i..i + n] == needle)
}

/// Hits of any marker under `dirs` and in `extra`; returns (hits, bytes scanned).
fn scan(
    dirs: &[&Path],
    extra: &[(String, Vec<u8>)],
    markers: &[(String, Vec<u8>)],
) -> (Vec<String>, u64) {
    let mut hits = Vec::new();
    let mut scanned = 0u64;
    let mut check = |what: String, bytes: &[u8]| {
        scanned += bytes.len() as u64;
        for (name, m) in markers {
            if find(bytes, m) {
                hits.push(format!("{what}: {name}"));
            }
        }
    };
    for d in dirs {
        if !d.exists() {
            continue;
        }
        for f in files_under(d) {
            let bytes = std::fs::read(&f).unwrap();
            check(f.display().to_string(), &bytes);
        }
    }
    for (what, bytes) in extra {
        check(format!("output of `{what}`"), bytes);
    }
    (hits, scanned)
}

#[test]
fn no_personal_data_in_plaintext_anywhere_but_the_deliberate_export() {
    let env = Env::new();
    let tmpdir = env.path("tmpdir");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let mut sc = Scenario {
        env,
        tmpdir,
        scanned_output: vec![],
    };
    let d = sc.env.device("pc");
    // A null ALSA sink: playback goes nowhere audible and leaves no capture file.
    std::fs::create_dir_all(&d.data).unwrap();
    std::fs::write(
        d.data.join(".asoundrc"),
        "pcm.!default { type null }\nctl.!default { type hw card 0 }\n",
    )
    .unwrap();
    // Audio markers: a 64-byte run repeated through 16-bit PCM, and another through µ-law bytes.
    let mut rng = Lcg(0x5eed_cafe);
    let mut run = || -> Vec<u8> {
        (0..64)
            .map(|_| (rng.next_u64() % 254) as u8)
            .map(|b| if b == 0x7f { 0x7e } else { b })
            .collect()
    };
    let pcm_run = run();
    let ulaw_run = run();
    let samples: Vec<i16> = pcm_run
        .chunks(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .cycle()
        .take(8000 * 2)
        .collect();
    let pcm_wav = wav_pcm16(8000, &samples);
    let n = 8000 * 2;
    let mut ulaw_wav = wav_g711(8000, &vec![0i16; n], true);
    let len = ulaw_wav.len();
    for (i, b) in ulaw_wav[len - n..].iter_mut().enumerate() {
        *b = ulaw_run[i % 64];
    }
    // The µ-law run as 16-bit PCM once decoded (what a leaked decoded copy would hold).
    let (dec, _, _) = decode::decode_all(Cursor::new(ulaw_wav.clone()), Some("wav"), "m").unwrap();
    let dec16: Vec<u8> = callvault_core::export::to_i16(&dec)
        .iter()
        .skip(640)
        .take(32)
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let mut f = Fixture::new(sc.env.path("in"));
    f.add(
        "a.wav",
        &pcm_wav,
        &format!("2025-06-02T10:00:00,inbound,,201,{NUMBER1},{PARTY1},{NOTE}"),
    );
    f.add(
        "b.wav",
        &ulaw_wav,
        &format!("2025-06-03T11:00:00,outbound,,201,{NUMBER1},{PARTY1};{PARTY2},{NOTE}"),
    );
    f.add(
        "c.wav",
        &wav_g711(8000, &pcm(2, 77), true),
        &format!("2025-06-04T12:00:00,inbound,,202,{NUMBER2},{PARTY2},{NOTE}"),
    );
    f.write_manifest();
    let inbox = f.dir.clone();
    let rep = sc
        .run(
            &d,
            ADMIN,
            &["import", inbox.to_str().unwrap(), "--json"],
            false,
        )
        .ok()
        .json();
    let ids: Vec<String> = rep["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    // The source folder is the practice's own input, not ours to scan: remove it.
    std::fs::remove_dir_all(&inbox).unwrap();
    // Search and show (output shown to the authorised user).
    let found = sc
        .run(
            &d,
            SUPER,
            &["search", "--party", "Quuxworth", "--json"],
            true,
        )
        .ok()
        .json();
    assert_eq!(found.as_array().unwrap().len(), 2);
    sc.run(
        &d,
        SUPER,
        &["search", "--number", NUMBER2, "--text", "kumquat"],
        true,
    )
    .ok();
    sc.run(&d, SUPER, &["show", &ids[0]], true).ok();
    // A complaint request with the markers in its details, approved; a SAR, approved.
    let rid = sc
        .run(
            &d,
            CLIN,
            &[
                "request",
                "new",
                "--purpose",
                "complaint",
                "--reason",
                REASON,
                "--number",
                NUMBER1,
                "--party",
                PARTY1,
                "--info",
                NOTE,
                "--json",
            ],
            false,
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sc.run(&d, SUPER, &["request", "show", &rid], true).ok();
    sc.run(
        &d,
        SUPER,
        &[
            "request",
            "approve",
            &rid,
            "--recording",
            &ids[0],
            "--allow",
            "listen",
        ],
        false,
    )
    .ok();
    let sar = sc
        .run(
            &d,
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "sar",
                "--reason",
                REASON,
                "--number",
                NUMBER1,
                "--party",
                PARTY1,
                "--received",
                "2025-09-01",
                "--identity",
                "passport",
                "--json",
            ],
            false,
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sc.run(
        &d,
        ADMIN,
        &[
            "request",
            "approve",
            &sar,
            "--recording",
            &ids[0],
            "--recording",
            &ids[1],
            "--allow",
            "export",
        ],
        false,
    )
    .ok();
    sc.run(&d, ADMIN, &["request", "list"], true).ok();
    // Play: the clinician's own call (null sink), and under the approved request.
    let p = sc.run(
        &d,
        CLIN,
        &["play", &ids[1], "--reason", "what did I advise"],
        false,
    );
    let played = p.code == 0;
    if !played {
        eprintln!(
            "note: playback not available here ({}); the rest still runs",
            p.stderr.trim()
        );
    }
    sc.run(&d, CLIN, &["waveform", &ids[1]], false).ok();
    // The SAR export, to the folder the data controller chose.
    let export = sc.env.path("chosen-export");
    sc.run(
        &d,
        ADMIN,
        &[
            "export",
            "sar",
            "--request",
            &sar,
            "--out",
            export.to_str().unwrap(),
        ],
        false,
    )
    .ok();
    // Delete one call, erase another through an erasure request.
    let certs = sc.env.path("certs");
    std::fs::create_dir_all(&certs).unwrap();
    sc.run(
        &d,
        SUPER,
        &[
            "delete",
            &ids[2],
            "--reason",
            "entered in error",
            "--certificate-dir",
            certs.to_str().unwrap(),
        ],
        false,
    )
    .ok();
    let er = sc
        .run(
            &d,
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "erasure",
                "--reason",
                REASON,
                "--party",
                PARTY1,
                "--json",
            ],
            false,
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sc.run(
        &d,
        ADMIN,
        &[
            "request",
            "approve",
            &er,
            "--recording",
            &ids[1],
            "--allow",
            "export",
        ],
        false,
    )
    .ok();
    sc.run(
        &d,
        ADMIN,
        &["erase", &er, "--certificate-dir", certs.to_str().unwrap()],
        false,
    )
    .ok();
    sc.run(&d, ADMIN, &["verify"], false).ok();
    sc.run(&d, ADMIN, &["audit", "verify"], false).ok();
    sc.run(&d, ADMIN, &["index", "rebuild"], false).ok();
    // A second device catches up too.
    let d2 = sc.env.device("mac");
    sc.run(&d2, ADMIN, &["verify"], false).ok();

    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let markers = forms(&[
        ("party 1", PARTY1.as_bytes().to_vec()),
        ("party 1 surname", b"Quuxworth".to_vec()),
        ("party 2", PARTY2.as_bytes().to_vec()),
        ("party 2 surname", b"Snargleby".to_vec()),
        ("number 1", NUMBER1.as_bytes().to_vec()),
        ("number 1 digits", digits(NUMBER1).into_bytes()),
        (
            "number 1 +44",
            format!("+44{}", &digits(NUMBER1)[1..]).into_bytes(),
        ),
        ("number 2 digits", digits(NUMBER2).into_bytes()),
        ("note", b"kumquat allergy".to_vec()),
        ("address", b"Wibbleton Mews".to_vec()),
        ("16-bit PCM run", pcm_run.clone()),
        ("mu-law run", ulaw_run.clone()),
        ("mu-law run decoded", dec16.clone()),
    ]);
    // The deliberate export holds them (so the scan below is not vacuous).
    let (in_export, export_bytes) = scan(&[&export], &[], &markers);
    for must in [
        "party 1 (bytes/UTF-8)",
        "16-bit PCM run (bytes/UTF-8)",
        "mu-law run decoded (bytes/UTF-8)",
    ] {
        assert!(
            in_export.iter().any(|h| h.ends_with(must)),
            "the export should hold {must}: {in_export:?}"
        );
    }
    // Nowhere else.
    let devices = sc.env.path("devices");
    let (hits, mut bytes) = scan(
        &[&sc.env.archive, &devices, &sc.tmpdir],
        &sc.scanned_output,
        &markers,
    );
    // The deletion certificate names the erasure request by its id, never its free text (which
    // named party 1): nothing of the person in the folder the certificate was written to.
    let (cert_hits, cert_bytes) = scan(&[&certs], &[], &markers);
    bytes += cert_bytes;
    assert!(
        cert_hits.is_empty(),
        "the deletion certificate holds personal data: {cert_hits:?}"
    );
    eprintln!(
        "plaintext scan: {} hits in {bytes} bytes (archive, {} device folders, TMPDIR, certificates, output of {} commands); export folder {export_bytes} bytes with {} marker forms found; playback {}",
        hits.len(),
        std::fs::read_dir(&devices).unwrap().count(),
        sc.scanned_output.len(),
        in_export.len(),
        if played { "ran" } else { "unavailable" }
    );
    assert!(
        hits.is_empty(),
        "personal data in plaintext:\n{}",
        hits.join("\n")
    );
}
