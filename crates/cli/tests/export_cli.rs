//! The one-click SAR export over the real binary: µ-law, GSM (WAV49) and MP3 calls come out as WAV
//! files whose audio is the archive's audio, with a cover letter that renders, manifests, checksums
//! that check out, an encrypted ZIP that opens only with its passphrase, and redaction.

mod common;

use callvault_core::audio::decode;
use callvault_testkit::demo::wav_pcm16;
use common::*;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

struct Case {
    env: Env,
    d: Device,
    ids: Vec<String>,
    sources: Vec<std::path::PathBuf>,
    rid: String,
}

/// Three calls in three codecs, a SAR received 3 Sept 2025, approved by the data controller.
fn case() -> Case {
    let env = Env::new();
    let d = env.device("pc");
    let mut f = Fixture::new(env.path("in"));
    let src = env.path("src.wav");
    std::fs::write(&src, wav_pcm16(8000, &pcm(4, 11))).unwrap();
    let s = src.to_str().unwrap();
    tool(
        "sox",
        &[
            s,
            "-e",
            "mu-law",
            "-b",
            "8",
            f.dir.join("a-ulaw.wav").to_str().unwrap(),
        ],
    );
    tool(
        "sox",
        &[
            s,
            "-e",
            "gsm-full-rate",
            f.dir.join("b-gsm.wav").to_str().unwrap(),
        ],
    );
    tool(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-y",
            "-i",
            s,
            "-b:a",
            "32k",
            f.dir.join("c.mp3").to_str().unwrap(),
        ],
    );
    f.rows
        .push("a-ulaw.wav,2025-08-01T09:15:00,inbound,,201,07700 900901,Pat Example,".into());
    f.rows
        .push("b-gsm.wav,2025-08-02T10:30:00,outbound,,201,07700 900901,Pat Example,".into());
    f.rows
        .push("c.mp3,2025-08-03T11:45:00,inbound,,202,07700 900901,Pat Example,".into());
    f.write_manifest();
    let rep = d
        .cmd(ADMIN, &["import", f.dir.to_str().unwrap(), "--json"])
        .ok()
        .json();
    let ids: Vec<String> = rep["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{rep}");
    d.cmd(
        ADMIN,
        &["settings", "set", "practice-name", "Made-up Street Surgery"],
    )
    .ok();
    d.cmd(
        ADMIN,
        &[
            "settings",
            "set",
            "practice-address",
            "1 Example Road, Dudley DY1 1AA",
        ],
    )
    .ok();
    let rid = d
        .cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "sar",
                "--reason",
                "Letter asking for copies of calls",
                "--number",
                "07700900901",
                "--party",
                "Pat Example",
                "--received",
                "2025-09-03",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut approve = vec!["request", "approve", rid.as_str(), "--allow", "export"];
    for id in &ids {
        approve.push("--recording");
        approve.push(id);
    }
    d.cmd(ADMIN, &approve).ok();
    let sources = ["a-ulaw.wav", "b-gsm.wav", "c.mp3"]
        .iter()
        .map(|n| f.dir.join(n))
        .collect();
    Case {
        env,
        d,
        ids,
        sources,
        rid,
    }
}

fn wav_samples(bytes: &[u8]) -> (u32, Vec<i16>) {
    assert_eq!(&bytes[..4], b"RIFF");
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    assert_eq!(
        u16::from_le_bytes(bytes[20..22].try_into().unwrap()),
        1,
        "PCM"
    );
    assert_eq!(
        u16::from_le_bytes(bytes[34..36].try_into().unwrap()),
        16,
        "16-bit"
    );
    (
        rate,
        bytes[44..]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect(),
    )
}

/// The archive's audio for a source file, decoded the same way the archive decodes it.
fn decoded(src: &Path) -> Vec<i16> {
    let bytes = std::fs::read(src).unwrap();
    let ext = src.extension().unwrap().to_str().unwrap().to_string();
    let (s, _, _) = decode::decode_all(Cursor::new(bytes), Some(&ext), "src").unwrap();
    callvault_core::export::to_i16(&s)
}

#[test]
fn a_sar_folder_holds_the_archive_audio_a_letter_manifests_and_checksums() {
    let c = case();
    let out = c.env.path("sar-folder");
    let gsm = &c.ids[1];
    let rep =
        c.d.cmd(
            ADMIN,
            &[
                "export",
                "sar",
                "--request",
                &c.rid,
                "--out",
                out.to_str().unwrap(),
                "--redact",
                &format!("{gsm}:1-2"),
                "--json",
            ],
        )
        .ok()
        .json();
    assert!(rep["passphrase"].is_null());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let calls = manifest["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3);
    for (i, id) in c.ids.iter().enumerate() {
        let m = calls
            .iter()
            .find(|m| m["recording"]["id"] == id.as_str())
            .unwrap();
        assert_eq!(m["recording"]["external_number"], "07700 900901");
        let (rate, got) =
            wav_samples(&std::fs::read(out.join(m["file"].as_str().unwrap())).unwrap());
        assert_eq!(rate, 8000);
        let want = decoded(&c.sources[i]);
        assert_eq!(got.len(), want.len(), "{id}");
        if id == gsm {
            // The redacted second is silent; the rest is identical.
            assert!(got[8000..16000].iter().all(|&s| s == 0));
            assert_eq!(&got[..8000], &want[..8000]);
            assert_eq!(&got[16000..], &want[16000..]);
            assert_eq!(m["redactions"][0]["start_s"], 1.0);
            assert!(
                m["original_file"].is_null(),
                "no unredacted original is exported"
            );
        } else {
            assert_eq!(got, want, "sample-exact for {id}");
            assert!(m["original_file"].is_string());
        }
    }
    // The file names tell the calls apart: date, time, direction.
    assert!(calls.iter().any(|m| m["file"]
        .as_str()
        .unwrap()
        .starts_with("2025-08-02_1030_outbound_")));
    let csv = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    let ok = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // The cover letter renders.
    let png = c.env.path("letter");
    tool(
        "pdftoppm",
        &[
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "50",
            out.join("cover-letter.pdf").to_str().unwrap(),
            png.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_dir(c.env.tmp.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("letter")));
    let text = Command::new("pdftotext")
        .arg(out.join("cover-letter.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Made-up Street Surgery")
            && text.contains("Wycliffe House")
            && text.contains("Dear Pat Example"),
        "{text}"
    );
    // The export is audited with its request, files and hashes.
    let audit =
        c.d.cmd(ADMIN, &["audit", "list", "--request", &c.rid, "--json"])
            .ok()
            .json();
    let e = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "export.sar")
        .unwrap();
    assert!(e["detail"].as_str().unwrap().contains("manifest.json"));
    // Exporting to a folder that is not empty is refused, and nothing is overwritten.
    let again = c.d.cmd(
        ADMIN,
        &[
            "export",
            "sar",
            "--request",
            &c.rid,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_ne!(again.code, 0);
}

#[test]
fn a_sar_zip_opens_only_with_its_passphrase() {
    let c = case();
    let zip = c.env.path("sar.zip");
    let rep =
        c.d.cmd(
            ADMIN,
            &[
                "export",
                "sar",
                "--request",
                &c.rid,
                "--out",
                zip.to_str().unwrap(),
                "--zip",
                "--json",
            ],
        )
        .ok()
        .json();
    let pass = rep["passphrase"].as_str().unwrap().to_string();
    assert!(pass.len() >= 25);
    let with = Command::new("7z")
        .args(["t", &format!("-p{pass}"), zip.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stdout)
    );
    let without = Command::new("7z")
        .args(["t", "-pwrong-passphrase", zip.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!without.status.success());
    let x = c.env.path("unzipped");
    let st = Command::new("7z")
        .args([
            "x",
            &format!("-p{pass}"),
            &format!("-o{}", x.display()),
            zip.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(st.status.success());
    let ok = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&x)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // The passphrase is nowhere in the archive, the app-data folder or the audit trail.
    for root in [&c.env.archive, &c.d.data] {
        for p in files_under(root) {
            let hay = std::fs::read(&p).unwrap();
            assert!(
                !hay.windows(pass.len()).any(|w| w == pass.as_bytes()),
                "{}",
                p.display()
            );
        }
    }
    assert!(!c
        .d
        .cmd(ADMIN, &["audit", "list", "--json"])
        .ok()
        .stdout
        .contains(&pass));
}

#[test]
fn exports_are_refused_without_an_approved_sar_or_outside_it() {
    let c = case();
    // An open SAR: refused and audited.
    let open =
        c.d.cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "sar",
                "--reason",
                "another",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let out = c.d.cmd(
        ADMIN,
        &[
            "export",
            "sar",
            "--request",
            &open,
            "--out",
            c.env.path("x").to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("approved"));
    // A recording outside the approval cannot be redacted into it or exported under it.
    let other_rid =
        c.d.cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "complaint",
                "--reason",
                "x",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let out = c.d.cmd(
        ADMIN,
        &[
            "export",
            "sar",
            "--request",
            &other_rid,
            "--out",
            c.env.path("y").to_str().unwrap(),
        ],
    );
    assert_ne!(out.code, 0);
    let out = c.d.cmd(
        ADMIN,
        &[
            "export",
            "sar",
            "--request",
            &c.rid,
            "--out",
            c.env.path("z").to_str().unwrap(),
            "--redact",
            "0123456789abcdef0123456789abcdef:1-2",
        ],
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("does not cover"), "{}", out.stderr);
    // A supervisor who did not raise it may not export it.
    let out = c.d.cmd(
        SUPER,
        &[
            "export",
            "sar",
            "--request",
            &c.rid,
            "--out",
            c.env.path("w").to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 5, "{}", out.stderr);
    let audit = c.d.cmd(ADMIN, &["audit", "list", "--json"]).ok().json();
    let refusals = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "recording.export" && e["outcome"] == "refused")
        .count();
    assert!(refusals >= 2, "{refusals}");
    assert!(
        !c.env.path("x").exists() && !c.env.path("w").exists(),
        "nothing written when refused"
    );
}

#[test]
fn a_portability_export_has_every_field_and_the_audio() {
    let c = case();
    let rid =
        c.d.cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "portability",
                "--reason",
                "moving practice",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
    c.d.cmd(
        ADMIN,
        &[
            "request",
            "approve",
            &rid,
            "--allow",
            "export",
            "--recording",
            &c.ids[0],
        ],
    )
    .ok();
    let out = c.env.path("port");
    c.d.cmd(
        ADMIN,
        &[
            "export",
            "portability",
            "--request",
            &rid,
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["calls"].as_array().unwrap().len(), 1);
    for k in [
        "id",
        "started_at",
        "direction",
        "external_number",
        "parties",
        "duration_s",
        "codec",
        "sample_rate",
    ] {
        assert!(m["calls"][0]["recording"].get(k).is_some(), "{k}");
    }
    assert!(
        !out.join("cover-letter.pdf").exists(),
        "no letter for a portability export"
    );
    let ok = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(ok.status.success());
    // A SAR request cannot be exported as portability, nor the other way round.
    assert_ne!(
        c.d.cmd(
            ADMIN,
            &[
                "export",
                "portability",
                "--request",
                &c.rid,
                "--out",
                c.env.path("p2").to_str().unwrap()
            ]
        )
        .code,
        0
    );
}

#[test]
fn a_disciplinary_release_waits_for_the_scanned_agreement_and_lands_named_in_the_folder_chosen() {
    let c = case();
    let d = &c.d;
    let rid = d
        .cmd(
            CLIN,
            &[
                "request",
                "new",
                "--purpose",
                "disciplinary",
                "--reason",
                "Conduct on a call, HR case 7 (made up)",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.cmd(
        SUPER,
        &[
            "request",
            "approve",
            &rid,
            "--allow",
            "export",
            "--recording",
            &c.ids[0],
        ],
    )
    .ok();
    let dir = c.env.path("release");
    std::fs::create_dir_all(&dir).unwrap();
    let export = |who| {
        d.cmd(
            who,
            &[
                "export",
                "release",
                "--request",
                &rid,
                "--out",
                dir.to_str().unwrap(),
                "--json",
            ],
        )
    };
    // Approved, but without the data controller's written agreement: refused, nothing written.
    let early = export(CLIN);
    assert_ne!(early.code, 0);
    assert!(
        early.stderr.contains("written agreement"),
        "{}",
        early.stderr
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // The agreement with its scanned letter: only the data controller; the scan's name and
    // SHA-256 are recorded with the text.
    let scan = c.env.path("signed-letter.pdf");
    let letter = b"%PDF-1.4 made-up signed agreement".to_vec();
    std::fs::write(&scan, &letter).unwrap();
    let agree = |who| {
        d.cmd(
            who,
            &[
                "request",
                "agree",
                &rid,
                "--text",
                "I agree to this release. A. Admin",
                "--scan",
                scan.to_str().unwrap(),
            ],
        )
    };
    let refused = agree(SUPER);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("not permitted"),
        "{}",
        refused.stderr
    );
    agree(ADMIN).ok();
    let shown = d
        .cmd(ADMIN, &["request", "show", &rid, "--json"])
        .ok()
        .json();
    let sha: String = callvault_core::crypto::sha256(&letter)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let agreement = shown["agreement"].as_str().unwrap();
    assert!(agreement.starts_with("I agree to this release. A. Admin\n"));
    assert!(
        agreement.ends_with(&format!(
            "Signed agreement scanned: signed-letter.pdf (SHA-256 {sha})"
        )),
        "{agreement}"
    );
    // The release: a new folder named after the request inside the folder given, the archive's
    // audio sample-exact, no subject access letter.
    let rep = export(CLIN).ok().json();
    let made: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let name = made[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("disciplinary-{}-", &rid[..8])),
        "{name}"
    );
    assert_eq!(
        rep["destination"].as_str().unwrap(),
        made[0].to_str().unwrap()
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(made[0].join("manifest.json")).unwrap()).unwrap();
    let calls = manifest["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    let (_, got) =
        wav_samples(&std::fs::read(made[0].join(calls[0]["file"].as_str().unwrap())).unwrap());
    assert_eq!(got, decoded(&c.sources[0]));
    assert!(
        !std::fs::read_dir(&made[0]).unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "pdf")),
        "a release copy has no subject access letter"
    );
}
