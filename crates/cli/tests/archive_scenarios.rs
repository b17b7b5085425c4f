//! End-to-end scenarios over the real `callvault` binary: import, search, visibility, duplicates,
//! bad input, verification, tampering, two devices at once, lockout, and no plaintext on disk.

mod common;

use callvault_testkit::demo::{wav_g711, wav_ima_adpcm, wav_pcm16};
use common::*;
use std::collections::BTreeSet;

/// A folder with calls in several codecs plus bad rows, as a practice would hand it over.
fn practice_folder(env: &Env) -> Fixture {
    let mut f = Fixture::new(env.path("incoming"));
    f.add(
        "a-pcm.wav",
        &wav_pcm16(8000, &pcm(3, 1)),
        "2025-03-27T09:25:17,inbound,,201,07700 900123,Harriet Vale,prescription query",
    );
    f.add(
        "b-ulaw.wav",
        &wav_g711(8000, &pcm(4, 2), true),
        "2025-06-02 10:00,outbound,dr.otto.brandt,,+44 1632 960001,Owen Pritchard;Maisie Thorne,results",
    );
    f.add(
        "c-alaw.wav",
        &wav_g711(8000, &pcm(5, 3), false),
        "2025-06-03T11:30:00+01:00,inbound,,999,01632 960002,Rafael Quint,",
    );
    f.add(
        "d-ima.wav",
        &wav_ima_adpcm(8000, &pcm(6, 4)),
        "2025-10-26T01:30:00,inbound,201,,07700900124,Bea Lockwood;dr.otto.brandt,clocks went back",
    );
    // FLAC and MP3 made from a PCM source with sox and ffmpeg.
    let src = env.path("src.wav");
    std::fs::write(&src, wav_pcm16(8000, &pcm(7, 5))).unwrap();
    let flac = f.dir.join("e.flac");
    tool("sox", &[src.to_str().unwrap(), flac.to_str().unwrap()]);
    f.rows
        .push("e.flac,2025-07-01T14:00:00,inbound,dr.cleo.finch,,07700 900125,Idris Fenn,".into());
    let mp3 = f.dir.join("f.mp3");
    tool(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-y",
            "-i",
            src.to_str().unwrap(),
            "-b:a",
            "32k",
            mp3.to_str().unwrap(),
        ],
    );
    f.rows
        .push("f.mp3,2025-07-02T15:00:00,outbound,,202,07700 900126,Nora Ashdown,".into());
    // Bad input: each must be rejected by name, the rest must still import.
    f.add(
        "notaudio.wav",
        b"this is not audio at all",
        "2025-07-03T09:00:00,inbound,,,07700 900127,,",
    );
    f.add(
        "baddate.wav",
        &wav_pcm16(8000, &pcm(1, 6)),
        "27/03/2025,inbound,,,,,",
    );
    f.add(
        "gap.wav",
        &wav_pcm16(8000, &pcm(1, 7)),
        "2025-03-30T01:30:00,inbound,,,,,",
    );
    f.add(
        "baddir.wav",
        &wav_pcm16(8000, &pcm(1, 8)),
        "2025-03-30T09:30:00,sideways,,,,,",
    );
    f.rows
        .push("missing.wav,2025-03-30T09:30:00,inbound,,,,,".into());
    f.rows
        .push("../escape.wav,2025-03-30T09:30:00,inbound,,,,,".into());
    std::fs::write(f.dir.join("unlisted.mp3"), b"x").unwrap();
    f.write_manifest();
    f
}

fn ids(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn search(d: &Device, user: (&str, &str), args: &[&str]) -> serde_json::Value {
    let mut a = vec!["search", "--json"];
    a.extend_from_slice(args);
    d.cmd(user, &a).ok().json()
}

#[test]
fn import_search_visibility_duplicates_and_bad_input() {
    let env = Env::new();
    let d = env.device("pc1");
    let f = practice_folder(&env);
    let out = d.cmd(ADMIN, &["import", f.dir.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.code, 3,
        "rejections make the exit non-zero: {}",
        out.stderr
    );
    let rep = out.json();
    assert_eq!(
        rep["imported"].as_array().unwrap().len(),
        6,
        "{}",
        out.stdout
    );
    let rejected: Vec<(String, String)> = rep["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let names: BTreeSet<&str> = rejected.iter().map(|r| r.0.as_str()).collect();
    for want in [
        "notaudio.wav",
        "baddate.wav",
        "gap.wav",
        "baddir.wav",
        "missing.wav",
        "../escape.wav",
        "unlisted.mp3",
    ] {
        assert!(names.contains(want), "{want} not rejected: {rejected:?}");
    }
    let reason = |f: &str| rejected.iter().find(|r| r.0 == f).unwrap().1.clone();
    assert!(
        reason("baddate.wav").contains("started_at"),
        "{}",
        reason("baddate.wav")
    );
    assert!(
        reason("gap.wav").contains("does not exist"),
        "{}",
        reason("gap.wav")
    );
    assert!(reason("baddir.wav").contains("direction"));
    assert!(reason("notaudio.wav").contains("audio"));
    assert!(out.stderr.contains("rejected: notaudio.wav"));

    // Every imported call is found; JSON has the contract's fields.
    let all = search(&d, SUPER, &[]);
    assert_eq!(all.as_array().unwrap().len(), 6);
    let first = &all.as_array().unwrap()[0];
    for k in [
        "id",
        "started_at",
        "direction",
        "staff",
        "extension",
        "external_number",
        "parties",
        "duration_s",
    ] {
        assert!(first.get(k).is_some(), "missing {k}");
    }
    // A number matches whatever its formatting.
    for q in [
        "07700 900123",
        "+447700900123",
        "0044 7700-900123",
        "07700900123",
    ] {
        let r = search(&d, SUPER, &["--number", q]);
        assert_eq!(r.as_array().unwrap().len(), 1, "{q}");
        assert_eq!(r[0]["started_at"], "2025-03-27T09:25:17Z", "GMT in March");
        assert_eq!(
            r[0]["staff"], "dr.cleo.finch",
            "extension 201 maps to the clinician"
        );
        assert_eq!(r[0]["codec"], "pcm_s16le");
        assert!((r[0]["duration_s"].as_f64().unwrap() - 3.0).abs() < 0.01);
    }
    let r = search(&d, SUPER, &["--number", "01632 960001"]);
    assert_eq!(r[0]["started_at"], "2025-06-02T09:00:00Z", "BST in June");
    assert_eq!(r[0]["staff"], "dr.otto.brandt");
    let r = search(&d, SUPER, &["--number", "01632960002"]);
    assert_eq!(
        r[0]["staff"],
        serde_json::Value::Null,
        "extension 999 is unassigned"
    );
    assert_eq!(r[0]["started_at"], "2025-06-03T10:30:00Z");
    // Autumn's repeated hour takes the earlier instant.
    let r = search(&d, SUPER, &["--number", "07700900124"]);
    assert_eq!(r[0]["started_at"], "2025-10-26T00:30:00Z");
    assert_eq!(r[0]["codec"], "adpcm_ima_wav");
    // Who searched for that number, written another way: the supervisor's search, found by its
    // keyed criteria (the trail holds no digit of it).
    let who = d
        .cmd(
            ADMIN,
            &[
                "audit",
                "list",
                "--searched-for",
                "+44 7700 900124",
                "--json",
            ],
        )
        .ok()
        .json();
    let who = who.as_array().unwrap();
    assert_eq!(who.len(), 1, "{who:?}");
    assert_eq!(who[0]["action"], "search");
    assert!(!who[0]["detail"].as_str().unwrap().contains("900124"));
    // Other criteria.
    assert_eq!(
        search(&d, SUPER, &["--party", "pritch"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        search(&d, SUPER, &["--staff", "dr.cleo.finch"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        search(&d, SUPER, &["--staff", "202"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        search(&d, SUPER, &["--direction", "outbound"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        search(&d, SUPER, &["--from", "2025-06-01", "--to", "2025-06-30"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        search(
            &d,
            SUPER,
            &["--from", "2025-06-02T10:00", "--to", "2025-06-02T10:00"]
        )
        .as_array()
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        search(&d, SUPER, &["--min-duration", "5.5"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        search(&d, SUPER, &["--text", "clocks"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let combined = search(
        &d,
        SUPER,
        &[
            "--from",
            "2025-06-01",
            "--to",
            "2025-09-30",
            "--direction",
            "inbound",
            "--staff",
            "dr.cleo.finch",
        ],
    );
    assert_eq!(combined.as_array().unwrap().len(), 1);
    assert_eq!(combined[0]["external_number"], "07700 900125");
    let flac = search(&d, SUPER, &["--number", "07700900125"]);
    assert_eq!(flac[0]["codec"], "flac");
    assert!((flac[0]["duration_s"].as_f64().unwrap() - 7.0).abs() < 0.01);
    let mp3 = search(&d, SUPER, &["--number", "07700900126"]);
    assert_eq!(mp3[0]["codec"], "mp3");
    assert!(
        (mp3[0]["duration_s"].as_f64().unwrap() - 7.0).abs() < 0.1,
        "gapless: {}",
        mp3[0]["duration_s"]
    );

    // Clinicians see only calls they were a party to; admin alone sees none.
    let cleo = search(&d, CLIN, &[]);
    assert_eq!(cleo.as_array().unwrap().len(), 3);
    let otto = search(&d, CLIN2, &[]);
    assert_eq!(
        otto.as_array().unwrap().len(),
        3,
        "staff on 2 calls and named party on the ADPCM call"
    );
    let other = ids(&otto).difference(&ids(&cleo)).next().unwrap().clone();
    let shown = d.cmd(CLIN, &["show", &other]);
    assert_ne!(shown.code, 0);
    assert!(
        shown.stderr.contains("not one you may see"),
        "{}",
        shown.stderr
    );
    assert!(d.cmd(CLIN2, &["show", &other, "--json"]).ok().json()["id"] == other.as_str());
    d.cmd_new(
        Some(ADMIN),
        "it-pass-12345",
        &["user", "add", "it.only", "--role", "admin"],
    )
    .ok();
    let admin = d.cmd(("it.only", "it-pass-12345"), &["search"]);
    assert_eq!(
        admin.code, 5,
        "admin alone reaches no call: {}",
        admin.stderr
    );
    assert!(admin.stderr.contains("not permitted"));
    let imp = d.cmd(CLIN, &["import", f.dir.to_str().unwrap()]);
    assert_eq!(imp.code, 5, "clinicians may not import");

    // Re-importing is a no-op reported as duplicates.
    let again = d.cmd(ADMIN, &["import", f.dir.to_str().unwrap(), "--json"]);
    let rep = again.json();
    assert_eq!(rep["imported"].as_array().unwrap().len(), 0);
    assert_eq!(rep["duplicates"].as_array().unwrap().len(), 6);
    assert_eq!(search(&d, SUPER, &[]).as_array().unwrap().len(), 6);

    // The index rebuilt from the archive alone gives the same answers.
    let before = search(&d, SUPER, &[]);
    d.cmd(SUPER, &["index", "rebuild"]).ok();
    assert_eq!(search(&d, SUPER, &[]), before);
    d.cmd(ADMIN, &["verify"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();

    // A malformed manifest as a whole is refused with its name, and nothing changes.
    let bad = env.path("badmanifest");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("manifest.csv"), "file,when\nx.wav,2025\n").unwrap();
    let out = d.cmd(ADMIN, &["import", bad.to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("manifest.csv") && out.stderr.contains("when"),
        "{}",
        out.stderr
    );
    assert_eq!(search(&d, SUPER, &[]).as_array().unwrap().len(), 6);
}

#[test]
fn no_plaintext_under_the_archive_or_app_data() {
    let env = Env::new();
    let d = env.device("pc1");
    let f = practice_folder(&env);
    d.cmd(ADMIN, &["import", f.dir.to_str().unwrap()]);
    search(&d, SUPER, &["--party", "Vale"]);
    let first = search(&d, SUPER, &[]);
    d.cmd(SUPER, &["show", first[0]["id"].as_str().unwrap()])
        .ok();
    let mut needles: Vec<Vec<u8>> = [
        "07700 900123",
        "07700900123",
        "7700900123",
        "1632960001",
        "1632 960001",
        "960002",
        "900125",
        "Harriet",
        "Pritchard",
        "Maisie",
        "Rafael Quint",
        "Lockwood",
        "Idris",
        "Nora Ashdown",
        "prescription",
        "clocks went back",
        "ada.admin",
        "sam.super",
        "dr.cleo.finch",
        "dr.otto.brandt",
        "a-pcm.wav",
        "b-ulaw",
        "d-ima",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // 48-byte runs of each source file's audio data, from the middle of the file.
    for name in [
        "a-pcm.wav",
        "b-ulaw.wav",
        "c-alaw.wav",
        "d-ima.wav",
        "e.flac",
        "f.mp3",
    ] {
        let b = std::fs::read(f.dir.join(name)).unwrap();
        let mid = b.len() / 2;
        needles.push(b[mid..mid + 48].to_vec());
    }
    let mut scanned = 0;
    for root in [&env.archive, &d.data] {
        for p in files_under(root) {
            let hay = std::fs::read(&p).unwrap();
            scanned += 1;
            for n in &needles {
                assert!(
                    !hay.windows(n.len()).any(|w| w == n.as_slice()),
                    "{} holds plaintext {:?}",
                    p.display(),
                    String::from_utf8_lossy(n)
                );
            }
            assert!(
                !hay.starts_with(b"SQLite format 3"),
                "{} is an unencrypted SQLite file",
                p.display()
            );
        }
    }
    assert!(scanned > 20, "scanned {scanned} files");
}

#[test]
fn a_flipped_byte_in_any_archive_file_is_named_by_verify() {
    let env = Env::new();
    let d = env.device("pc1");
    let mut f = Fixture::new(env.path("in"));
    for i in 0..4 {
        f.add(
            &format!("c{i}.wav"),
            &wav_g711(8000, &pcm(2 + i, 10 + i as u32), true),
            &format!(
                "2025-05-0{}T10:00:00,inbound,,201,07700 90020{i},Party {i},",
                i + 1
            ),
        );
    }
    f.write_manifest();
    d.cmd(ADMIN, &["import", f.dir.to_str().unwrap()]).ok();
    d.cmd(ADMIN, &["verify"]).ok();
    let files: Vec<_> = files_under(&env.archive)
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    let admin_record = {
        // The admin's own record: flipping it must stop the admin's logon, naming the file.
        let v = d.cmd(ADMIN, &["user", "list", "--json"]).ok();
        assert!(v.stdout.contains(ADMIN.0));
        None::<std::path::PathBuf>
    };
    let _ = admin_record;
    let mut checked = 0;
    for p in &files {
        let rel = p
            .strip_prefix(&env.archive)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let orig = std::fs::read(p).unwrap();
        let mut bad = orig.clone();
        let at = bad.len() * 2 / 3;
        bad[at] ^= 0x04;
        std::fs::write(p, &bad).unwrap();
        let out = d.cmd(ADMIN, &["verify"]);
        assert_ne!(out.code, 0, "flip in {rel} not detected: {}", out.stdout);
        assert!(
            out.stderr.contains(&rel),
            "flip in {rel}: verify did not name it: {}",
            out.stderr
        );
        // The other recordings still search (as long as the searching user's own record is intact).
        let s = d.cmd(SUPER, &["search", "--json"]);
        if s.code == 0 {
            assert!(
                s.json().as_array().unwrap().len() >= 3,
                "flip in {rel} hid other recordings"
            );
        } else {
            assert!(s.stderr.contains(&rel), "flip in {rel}: {}", s.stderr);
        }
        std::fs::write(p, &orig).unwrap();
        checked += 1;
    }
    assert!(checked >= 15, "checked {checked}");
    // Truncating an audio object is detected too.
    let rec = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".cva"))
        .unwrap();
    let orig = std::fs::read(rec).unwrap();
    std::fs::write(rec, &orig[..orig.len() - 10]).unwrap();
    let out = d.cmd(ADMIN, &["verify"]);
    assert_ne!(out.code, 0);
    std::fs::write(rec, &orig).unwrap();
    // Removing an audit file breaks the chain, named.
    let audit_dir = std::fs::read_dir(env.archive.join("audit"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let victim = audit_dir.join("0000000000000002.cvl");
    std::fs::remove_file(&victim).unwrap();
    let out = d.cmd(ADMIN, &["audit", "verify"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("missing") || out.stderr.contains("chain"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_devices_import_at_once_and_converge() {
    let env = Env::new();
    let (d1, d2) = (env.device("pc1"), env.device("mac1"));
    let mut folders = Vec::new();
    for (k, name) in ["win", "mac"].iter().enumerate() {
        let mut f = Fixture::new(env.path(name));
        for i in 0..12 {
            f.add(
                &format!("{name}{i}.wav"),
                &wav_g711(8000, &pcm(1 + i % 3, 100 * k as u32 + i as u32), k == 0),
                &format!(
                    "2025-04-{:02}T09:{:02}:00,inbound,,20{},07700 90{k}{i:03},Caller {name} {i},",
                    1 + i,
                    i,
                    1 + k
                ),
            );
        }
        f.write_manifest();
        folders.push(f.dir.clone());
    }
    let piped = |d: &Device, dir: &std::path::Path| {
        d.command(Some(ADMIN), &["import", dir.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (c1, c2) = (piped(&d1, &folders[0]), piped(&d2, &folders[1]));
    let (o1, o2) = (
        c1.wait_with_output().unwrap(),
        c2.wait_with_output().unwrap(),
    );
    assert!(o1.status.success() && o2.status.success());
    let a = search(&d1, SUPER, &["--limit", "1000"]);
    let b = search(&d2, SUPER, &["--limit", "1000"]);
    assert_eq!(a.as_array().unwrap().len(), 24);
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(
        search(&d2, SUPER, &["--party", "Caller win 7"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        search(&d1, SUPER, &["--party", "Caller mac 11"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Each device wrote its own journal.
    assert_eq!(
        std::fs::read_dir(env.archive.join("journal"))
            .unwrap()
            .count(),
        2
    );
    d1.cmd(ADMIN, &["verify"]).ok();
    d2.cmd(ADMIN, &["audit", "verify"]).ok();
}

#[test]
fn wrong_password_lockout_across_devices_and_reset() {
    let env = Env::new();
    let (d1, d2) = (env.device("pc1"), env.device("mac1"));
    for who in [(CLIN.0, "wrong-password"), ("no.such.user", CLIN.1)] {
        let out = d1.cmd(who, &["search"]);
        assert_eq!(out.code, 4);
        assert!(
            out.stderr.contains("wrong user name or password"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains(CLIN.1) && !out.stderr.contains("wrong-password"));
    }
    for i in 0..4 {
        let d = if i % 2 == 0 { &d1 } else { &d2 };
        assert_eq!(d.cmd((CLIN.0, "wrong-password"), &["search"]).code, 4);
    }
    // Five failures in all, from two devices: locked, even with the right password.
    let out = d2.cmd(CLIN, &["search"]);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("locked"), "{}", out.stderr);
    assert!(d1.cmd(CLIN, &["search"]).stderr.contains("locked"));
    // An admin resets the password without knowing the old one; that also unlocks.
    d1.cmd_new(
        Some(ADMIN),
        "fresh-pass-456",
        &["user", "reset-password", CLIN.0],
    )
    .ok();
    d2.cmd((CLIN.0, "fresh-pass-456"), &["search"]).ok();
    assert_eq!(
        d2.cmd(CLIN, &["search"]).code,
        4,
        "old password no longer works"
    );
    // Only an admin may reset; the refusal is audited.
    let out = d1.cmd_new(
        Some(SUPER),
        "x-pass-7890",
        &["user", "reset-password", ADMIN.0],
    );
    assert_eq!(out.code, 5);
    let audit = d1.cmd(ADMIN, &["audit", "list", "--json"]).ok().json();
    let actions: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("logon", "failed"),
        ("account.lock", "locked"),
        ("logon", "refused"),
        ("user.reset_password", "allowed"),
        ("user.reset_password", "refused"),
        ("logon", "allowed"),
    ] {
        assert!(
            actions.contains(&(want.0.into(), want.1.into())),
            "no audit entry {want:?}"
        );
    }
    // An admin cannot grant keys it does not hold: a lone admin can't create an approver (who
    // holds the call keys). A supervisor holds none, so it can.
    d1.cmd_new(
        Some(ADMIN),
        "it-pass-12345",
        &["user", "add", "it.only", "--role", "admin"],
    )
    .ok();
    let out = d1.cmd_new(
        Some(("it.only", "it-pass-12345")),
        "p-pass-12345",
        &["user", "add", "new.gp", "--role", "approver"],
    );
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("custodian"), "{}", out.stderr);
}

#[test]
fn a_newer_archive_format_is_refused_clearly() {
    let env = Env::new();
    let d = env.device("fresh-device");
    let p = env.archive.join("archive.json");
    let s = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"v\": 1", "\"v\": 2");
    std::fs::write(&p, s).unwrap();
    let out = d.cmd(ADMIN, &["search"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("version 2") && out.stderr.contains("archive.json"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_demo_archive_works_for_each_made_up_user() {
    let env = Env::new();
    let d = Device {
        archive: env.path("demo"),
        data: env.path("demo-device"),
    };
    let out = d
        .command(None, &["demo", "--calls", "24", "--kdf", "fast", "--json"])
        .output()
        .unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["imported"], 24);
    let pw = |name: &str| {
        rep["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()["password"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let pbm = pw("jordan.reid");
    assert_eq!(
        search(&d, ("jordan.reid", &pbm), &["--limit", "100"])
            .as_array()
            .unwrap()
            .len(),
        24 + 3,
        "the 24 calls and the three legs of the demo's transferred call"
    );
    let tom = pw("dr.tom.okafor");
    let own = search(&d, ("dr.tom.okafor", &tom), &[]);
    let n = own.as_array().unwrap().len();
    assert!(n > 0 && n < 27, "a clinician sees only his calls: {n}");
    for r in own.as_array().unwrap() {
        assert!(
            r["staff"] == "dr.tom.okafor"
                || r["parties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p == "dr.tom.okafor")
        );
    }
    let alex = pw("alex.morgan");
    let v = d
        .cmd(("alex.morgan", &alex), &["verify", "--json"])
        .ok()
        .json();
    assert_eq!(
        v["recordings_decrypted"], 27,
        "the data controller's custodian key opens every call"
    );
}

#[test]
fn a_removed_journal_segment_is_reported_and_its_number_never_reused() {
    let env = Env::new();
    let d = env.device("pc1");
    for batch in 0..2 {
        let mut f = Fixture::new(env.path(&format!("in{batch}")));
        f.add(
            "x.wav",
            &wav_g711(8000, &pcm(2, 50 + batch), true),
            &format!(
                "2025-05-0{}T10:00:00,inbound,,201,07700 90030{batch},P {batch},",
                batch + 1
            ),
        );
        f.write_manifest();
        d.cmd(ADMIN, &["import", f.dir.to_str().unwrap()]).ok();
    }
    let jdir = std::fs::read_dir(env.archive.join("journal"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(jdir.join("0000000000000001.cvj")).unwrap();
    // The next import must not take the removed segment's number (readers would skip it).
    let mut f = Fixture::new(env.path("in2"));
    f.add(
        "y.wav",
        &wav_g711(8000, &pcm(2, 60), true),
        "2025-05-09T10:00:00,inbound,,201,07700 900399,P 9,",
    );
    f.write_manifest();
    d.cmd(ADMIN, &["import", f.dir.to_str().unwrap()]).ok();
    assert!(jdir.join("0000000000000002.cvj").exists());
    let other = env.device("pc2");
    assert_eq!(
        search(&other, SUPER, &["--number", "07700900399"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let out = d.cmd(ADMIN, &["verify"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("0000000000000001.cvj"),
        "{}",
        out.stderr
    );
}

#[test]
fn forged_journal_segments_and_audit_entries_are_refused() {
    use callvault_core::archive::journal::{self, Direction, JournalEntry, RecordingMeta};
    use callvault_core::archive::{Archive, Signer};
    use callvault_core::audit::{self, AuditEntry};
    use callvault_core::secret::Key32;
    let env = Env::new();
    let d = env.device("pc1");
    let archive = Archive::open(&env.archive).unwrap();
    // Someone with write access to the share, but no user's keys, plants a recording that claims
    // to be the clinician's, "signed" as the clinician with a key of their own.
    let clin_uid = callvault_core::users::uid_for(&archive, CLIN.0).unwrap();
    let fake = RecordingMeta {
        id: "0123456789abcdef0123456789abcdef".into(),
        started_at: "2025-01-01T10:00:00Z".into(),
        direction: Direction::Inbound,
        staff_uid: Some(clin_uid.clone()),
        staff_label: None,
        extension: None,
        external_number: Some("07700 900666".into()),
        parties: vec!["Planted Party".into()],
        party_uids: vec![clin_uid.clone()],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
        duration_ms: 1000,
        codec: "pcm_s16le".into(),
        sample_rate: 8000,
        channels: 1,
        source_name: "x.wav".into(),
        size: 1,
        object_sha256: String::new(),
        peaks_sha256: None,
        dedup: String::new(),
        imported_by: clin_uid.clone(),
        imported_at: "2025-01-01T10:00:00Z".into(),
        nonce: None,
    };
    let forger = Key32::random();
    let device = "fedcba9876543210fedcba9876543210";
    let signer = Signer {
        uid: &clin_uid,
        seed: &forger,
    };
    journal::append(
        &archive,
        device,
        &[JournalEntry::Recording(Box::new(fake))],
        &signer,
    )
    .unwrap();
    let mine = search(&d, CLIN, &["--number", "07700900666"]);
    assert_eq!(
        mine.as_array().unwrap().len(),
        0,
        "a forged recording must never be shown"
    );
    let out = d.cmd(ADMIN, &["verify"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains(&format!("journal/{device}/0000000000000000.cvj"))
            && out.stderr.contains("signature"),
        "{}",
        out.stderr
    );
    // An unsigned audit file may only record a failed logon; a planted "show" is refused.
    let planted = AuditEntry {
        at: "2025-01-01T10:00:00.000Z".into(),
        device: device.into(),
        actor: Some(clin_uid.clone()),
        action: "recording.show".into(),
        outcome: "allowed".into(),
        targets: vec![],
        detail: None,
        request: None,
        witness: vec![],
    };
    audit::append(&archive, device, &[planted], None).unwrap();
    let out = d.cmd(ADMIN, &["audit", "verify"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("needs a logged-on user"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unassigned_call_assigned_later_is_reached_by_its_staff_member() {
    let env = Env::new();
    let d = env.device("pc1");
    let mut f = Fixture::new(env.path("in"));
    f.add(
        "u.wav",
        &wav_g711(8000, &pcm(2, 77), true),
        "2025-05-01T10:00:00,inbound,,299,07700 900299,Una,",
    );
    f.write_manifest();
    let id = d
        .cmd(ADMIN, &["import", f.dir.to_str().unwrap(), "--json"])
        .ok()
        .json()["imported"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        search(&d, CLIN, &[]).as_array().unwrap().len(),
        0,
        "extension 299 maps to no one"
    );
    assert_eq!(
        search(&d, SUPER, &["--number", "07700900299"])[0]["staff"],
        serde_json::Value::Null
    );
    // Only a supervisor assigns.
    assert_eq!(d.cmd(CLIN, &["assign", &id, "--staff", CLIN.0]).code, 5);
    d.cmd(SUPER, &["assign", &id, "--staff", "201"]).ok();
    let mine = search(&d, CLIN, &[]);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["staff"], CLIN.0);
    // The clinician's own key now opens it (the waveform is sealed under the call's key).
    d.cmd(CLIN, &["waveform", &id]).ok();
    d.cmd(CLIN, &["authorize", &id, "--reason", "my call"]).ok();
    assert_ne!(
        d.cmd(SUPER, &["assign", &id, "--staff", CLIN2.0]).code,
        0,
        "already assigned"
    );
    // The supervisor is also an approver, so the key went with the assignment: nothing waits for
    // the data controller to deliver; a clinician may not deliver keys.
    let waiting = d.cmd(ADMIN, &["deliver-key", "--json"]).ok().json();
    assert_eq!(waiting.as_array().unwrap().len(), 0);
    assert_eq!(d.cmd(CLIN, &["deliver-key"]).code, 5);
    assert_ne!(
        d.cmd(ADMIN, &["deliver-key", &id]).code,
        0,
        "nothing to deliver"
    );
    // Another device sees the assignment too, and the archive verifies.
    let other = env.device("mac");
    assert_eq!(search(&other, CLIN, &[]).as_array().unwrap().len(), 1);
    d.cmd(ADMIN, &["verify"]).ok();
}

#[test]
fn keys_rotate_by_hand_names_the_key_and_who_may() {
    let env = Env::new();
    let d = env.device("pc1");
    // The data controller (an admin too) rotates the audit key by hand.
    let o = d.cmd(ADMIN, &["keys", "rotate", "--key", "audit"]).ok();
    assert!(
        o.stdout.contains("audit key's epoch 1 made"),
        "{}",
        o.stdout
    );
    assert!(env.archive.join("keys/audit/00000001.json").exists());
    // A clinician holds the metadata key, not the audit key: refused, saying who may.
    let o = d.cmd(CLIN, &["keys", "rotate", "--key", "audit"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("rotated by those who hold it"),
        "{}",
        o.stderr
    );
    assert!(!env.archive.join("keys/audit/00000002.json").exists());
    // An unknown key is refused, naming those that rotate.
    let o = d.cmd(ADMIN, &["keys", "rotate", "--key", "signing"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("not one of the keys that rotate"),
        "{}",
        o.stderr
    );
    // The trail, read with the new key's chain, holds both decisions.
    d.cmd(ADMIN, &["audit", "verify"]).ok();
    let v = d.cmd(ADMIN, &["audit", "list", "--json"]).ok().json();
    let rows = v.as_array().expect("an array of entries");
    let rotations: Vec<&str> = rows
        .iter()
        .filter(|e| e["action"] == "keys.rotate")
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        rotations.contains(&"allowed") && rotations.contains(&"refused"),
        "{rotations:?}"
    );
    let o = d.cmd(ADMIN, &["verify"]).ok();
    assert!(!o.stdout.contains("keys/audit"), "{}", o.stdout);
}
