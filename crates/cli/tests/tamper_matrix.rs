//! The tamper matrix: for every kind of file in an archive, every kind of tampering — a flipped bit
//! (in the header, the middle, the trailer), truncation, extension, two files of the kind swapped,
//! and an old version replayed (a file deleted or rewritten by a normal operation put back) — on a
//! fresh copy of the same small archive each time. `verify` (and `audit verify` for audit files)
//! must fail naming the file or the recording; `play` and `export sar` must refuse tampered audio,
//! playing and exporting nothing of it; nothing may panic. The kinds are found by listing the
//! archive, so a new kind of file fails this test until it is added here.
//!
//! A few replays are not detected by design (a write-once file restored after the operation that
//! removed it: still authentic, and never used again); they are listed in `KNOWN_UNDETECTED` with
//! the reason, and the test fails if anything else goes undetected.

mod common;

use callvault_testkit::demo::wav_pcm16;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every kind of file an archive holds, by where it lives.
fn kind_of(rel: &str) -> &'static str {
    let p: Vec<&str> = rel.split('/').collect();
    match p.as_slice() {
        ["archive.json"] => "archive.json",
        ["recovery.json"] => "recovery key",
        ["users", _, n] if n.ends_with(".cvu") => "user record (key bag, profile, escrow)",
        ["journal", _, n] if n.ends_with(".cvj") && n.contains('-') => {
            "journal segment, compacted generation"
        }
        ["journal", _, n] if n.ends_with(".cvj") => "journal segment (entries, tombstones)",
        ["audit", _, n] if n.ends_with(".cvl") => "audit file (entries, witnesses)",
        ["rec", _, n] if n.ends_with(".cva") => "audio object",
        ["rec", _, n] if n.ends_with(".cvp") => "peaks object",
        ["auth", _, _] => "logon marker",
        _ => panic!("{rel}: a kind of archive file the tamper matrix does not know: add it"),
    }
}

/// Kinds the archive built here must hold (the maintenance lock exists only during a deletion run,
/// and deletion certificates are written outside the archive).
const KINDS: &[&str] = &[
    "archive.json",
    "recovery key",
    "user record (key bag, profile, escrow)",
    "journal segment (entries, tombstones)",
    "journal segment, compacted generation",
    "audit file (entries, witnesses)",
    "audio object",
    "peaks object",
    "logon marker",
];

/// Cases that are not detected, by design, with the reason.
const KNOWN_UNDETECTED: &[(&str, &str, &str)] = &[
    (
        "user record (key bag, profile, escrow)",
        "replay",
        "the version a password reset deleted, put back: validly signed, same revision, and never \
         used (logon takes the newest version); it holds the secret sealed under the old password, \
         which whoever kept the file could attack anyway",
    ),
    (
        "journal segment, compacted generation",
        "replay",
        "the generation-0 segment an erasure compacted, put back: authentic and superseded by the \
         newer generation, so never read; verify lists it as superseded (not a failure) and the \
         next deletion run removes it",
    ),
    (
        "audio object",
        "replay",
        "a deleted recording's audio object put back: authentic, named by no journal entry (its \
         recording has a tombstone), so never opened; verify lists it as unreferenced",
    ),
    (
        "peaks object",
        "replay",
        "a deleted recording's peaks object put back: as for its audio object, listed as unreferenced",
    ),
    (
        "audio object",
        "flip a bit in a wrap the reader does not use",
        "verify names the object (its hash no longer matches), but play and export check only what \
         they decrypt (the STREAM segments, authenticated, and the wrap they open), not the whole \
         object's hash, so the authentic audio still plays: a hash check at open would also refuse \
         a recording with one damaged segment, which by design stays playable around the damage",
    ),
    (
        "logon marker",
        "swap",
        "markers are empty files: the information is in the name, swapping contents changes nothing",
    ),
];

struct Built {
    env: Env,
    d: Device,
    ids: Vec<String>,
    rid: String,
    /// Files removed or rewritten by normal operations after they were written: rel -> bytes.
    removed: BTreeMap<String, Vec<u8>>,
    /// Audit files written after the snapshot `before` (for a chain cut back).
    audit_after: Vec<String>,
    clin2_uid: String,
    admin_uid: String,
    pristine: PathBuf,
    pristine_data: PathBuf,
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for p in files_under(from) {
        let dest = to.join(p.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&p, &dest).unwrap();
    }
}

fn build() -> Built {
    let env = Env::new();
    let d = env.device("pc1");
    let mut f = Fixture::new(env.path("in"));
    for i in 0..4u32 {
        f.add(
            &format!("c{i}.wav"),
            &wav_pcm16(8000, &pcm(2, 40 + i)),
            &format!(
                "2025-05-0{}T10:00:00,inbound,,20{},07700 90030{i},Party {i},",
                i + 1,
                1 + i % 2
            ),
        );
    }
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
    assert_eq!(ids.len(), 4);
    let rid = d
        .cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "sar",
                "--reason",
                "copies of my calls",
                "--number",
                "07700900300",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut approve = vec![
        "request",
        "approve",
        rid.as_str(),
        "--allow",
        "listen,export",
    ];
    for id in &ids[..3] {
        approve.push("--recording");
        approve.push(id);
    }
    d.cmd(ADMIN, &approve).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
    let before = snapshot(&env.archive);
    // A password reset (removes the older record version), then a deletion (tombstone; audio and
    // peaks shredded; the import's journal segment compacted to generation 1).
    d.cmd_new(
        Some(ADMIN),
        "new-pass-456",
        &["user", "reset-password", CLIN2.0],
    )
    .ok();
    let certs = env.path("certs");
    std::fs::create_dir_all(&certs).unwrap();
    d.cmd(
        ADMIN,
        &[
            "delete",
            &ids[3],
            "--reason",
            "made in error",
            "--certificate-dir",
            certs.to_str().unwrap(),
        ],
    )
    .ok();
    // A clean verification: this device now remembers every audit chain's head.
    d.cmd(ADMIN, &["verify"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
    let after = snapshot(&env.archive);
    let removed: BTreeMap<String, Vec<u8>> = before
        .iter()
        .filter(|(k, _)| !after.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let audit_after: Vec<String> = after
        .keys()
        .filter(|k| k.starts_with("audit/") && !before.contains_key(*k))
        .cloned()
        .collect();
    let archive = callvault_core::archive::Archive::open(&env.archive).unwrap();
    let uid = |n: &str| callvault_core::users::uid_for(&archive, n).unwrap();
    let (clin2_uid, admin_uid) = (uid(CLIN2.0), uid(ADMIN.0));
    let pristine = env.path("pristine-archive");
    let pristine_data = env.path("pristine-device");
    copy_tree(&env.archive, &pristine);
    copy_tree(&d.data, &pristine_data);
    Built {
        env,
        d,
        ids,
        rid,
        removed,
        audit_after,
        clin2_uid,
        admin_uid,
        pristine,
        pristine_data,
    }
}

impl Built {
    fn restore(&self) {
        copy_tree(&self.pristine, &self.env.archive);
        copy_tree(&self.pristine_data, &self.d.data);
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.env.archive.join(rel)
    }
    fn files(&self) -> Vec<String> {
        snapshot(&self.pristine).into_keys().collect()
    }
}

#[derive(Default)]
struct Tally {
    tried: BTreeMap<&'static str, usize>,
    detected: BTreeMap<&'static str, usize>,
    missed: Vec<String>,
    known: Vec<String>,
}

fn no_panic(out: &Out, what: &str) {
    assert!(
        !out.stderr.contains("panicked at"),
        "{what}: panicked\n{}",
        out.stderr
    );
}

/// Run the checks after one tampering. `names`: paths or ids, any of which the report must name.
fn check(b: &Built, kind: &'static str, how: &str, names: &[String], t: &mut Tally) {
    check_with(b, kind, how, names, Some(&b.ids[0]), t)
}

/// As `check`; `audio`: the recording whose audio must not play or export (audio objects).
fn check_with(
    b: &Built,
    kind: &'static str,
    how: &str,
    names: &[String],
    audio: Option<&str>,
    t: &mut Tally,
) {
    let case = format!("{kind} / {how}");
    t.tried.entry(kind).and_modify(|n| *n += 1).or_insert(1);
    let v = b.d.cmd(ADMIN, &["verify"]);
    no_panic(&v, &case);
    let named = |o: &Out| names.iter().any(|n| o.stderr.contains(n.as_str()));
    // A chain cut back is `audit verify`'s to find (from witnesses and this device's memory).
    let cut_back = how.contains("chain as it was");
    let mut ok = cut_back || (v.code != 0 && named(&v));
    if kind.starts_with("audit file") {
        let a = b.d.cmd(ADMIN, &["audit", "verify"]);
        no_panic(&a, &case);
        ok &= a.code != 0 && named(&a);
        if cut_back {
            eprintln!(
                "{case}: verify exit {} ({}); audit verify exit {}: {}",
                v.code,
                v.stderr.trim(),
                a.code,
                a.stderr.trim()
            );
        }
    }
    if let (Some(id), "audio object") = (audio, kind) {
        // Playing: refused, nothing reaches the (file-backed) sound device.
        let capture = b.env.path("capture.raw");
        let _ = std::fs::remove_file(&capture);
        std::fs::write(
            b.d.data.join(".asoundrc"),
            format!(
                "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
                capture.display()
            ),
        )
        .unwrap();
        let p = b.d.cmd(ADMIN, &["play", id, "--request", &b.rid]);
        no_panic(&p, &case);
        let played = std::fs::metadata(&capture).map(|m| m.len()).unwrap_or(0);
        ok &= p.code != 0 && played == 0;
        if p.code == 0 || played > 0 {
            eprintln!("{case}: play was not refused ({played} bytes played)");
        }
        // Exporting: no audio of the tampered call in the export.
        let out = b.env.path("export");
        let _ = std::fs::remove_dir_all(&out);
        let e = b.d.cmd(
            ADMIN,
            &[
                "export",
                "sar",
                "--request",
                &b.rid,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        no_panic(&e, &case);
        let exported = exported_audio_of(&out, id);
        ok &= !exported;
        if exported {
            eprintln!("{case}: export sar holds audio of the tampered call");
        }
    }
    if ok {
        t.detected.entry(kind).and_modify(|n| *n += 1).or_insert(1);
    } else if let Some((_, _, why)) = KNOWN_UNDETECTED
        .iter()
        .find(|(k, h, _)| *k == kind && how.starts_with(h))
    {
        t.known.push(format!("{case}: {why}"));
    } else {
        t.missed.push(format!(
            "{case}: verify exit {}, stderr: {}",
            v.code,
            v.stderr.trim()
        ));
    }
    b.restore();
}

/// Does an export folder hold audio of recording `id`? (manifest.json names each call's files.)
fn exported_audio_of(out: &Path, id: &str) -> bool {
    if !out.exists() {
        return false;
    }
    let Ok(m) = std::fs::read(out.join("manifest.json")) else {
        // No manifest: the export stopped; any audio file at all would be suspect.
        return files_under(out).iter().any(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("wav" | "WAV" | "gsm" | "mp3")
            )
        });
    };
    let m: serde_json::Value = serde_json::from_slice(&m).unwrap();
    m["calls"].as_array().unwrap().iter().any(|c| {
        c["recording"]["id"] == id
            && ["file", "original_file"]
                .iter()
                .any(|f| c[f].as_str().is_some_and(|f| out.join(f).exists()))
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn flip(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    let at = at.min(b.len() - 1);
    b[at] ^= 0x10;
    std::fs::write(p, b).unwrap();
}

#[test]
fn every_kind_of_tampering_with_every_kind_of_file_is_detected() {
    let t0 = std::time::Instant::now();
    let b = build();
    let files = b.files();
    let kinds: BTreeSet<&str> = files.iter().map(|f| kind_of(f)).collect();
    for k in KINDS {
        assert!(kinds.contains(k), "the archive built here has no {k}");
    }
    let first = |k: &str, filter: &dyn Fn(&str) -> bool| -> String {
        files
            .iter()
            .find(|f| kind_of(f) == k && filter(f))
            .unwrap_or_else(|| panic!("no {k}"))
            .clone()
    };
    let all =
        |k: &str| -> Vec<String> { files.iter().filter(|f| kind_of(f) == k).cloned().collect() };
    let id0 = b.ids[0].clone();
    let audio0 = first("audio object", &|f| f.contains(&id0));
    let audio1 = first("audio object", &|f| f.contains(&b.ids[1]));
    let peaks0 = first("peaks object", &|f| f.contains(&id0));
    let peaks1 = first("peaks object", &|f| f.contains(&b.ids[1]));
    let clin2 = first("user record (key bag, profile, escrow)", &|f| {
        f.contains(&b.clin2_uid)
    });
    let clin1 = first("user record (key bag, profile, escrow)", &|f| {
        !f.contains(&b.clin2_uid) && !f.contains(&b.admin_uid)
    });
    let segments = all("journal segment (entries, tombstones)");
    let compacted = first("journal segment, compacted generation", &|_| true);
    let audits = all("audit file (entries, witnesses)");
    let markers = all("logon marker");
    // Per kind: the file tampered with, and a second one of the kind to swap it with.
    let targets: Vec<(&'static str, String, Option<String>)> = vec![
        ("archive.json", "archive.json".into(), None),
        ("recovery key", "recovery.json".into(), None),
        (
            "user record (key bag, profile, escrow)",
            clin2.clone(),
            Some(clin1),
        ),
        (
            "journal segment (entries, tombstones)",
            segments[segments.len() - 1].clone(),
            Some(segments[segments.len() - 2].clone()),
        ),
        (
            "journal segment, compacted generation",
            compacted.clone(),
            Some(segments[segments.len() - 1].clone()),
        ),
        (
            "audit file (entries, witnesses)",
            audits[1].clone(),
            Some(audits[2].clone()),
        ),
        ("audio object", audio0.clone(), Some(audio1)),
        ("peaks object", peaks0.clone(), Some(peaks1)),
        ("logon marker", markers[0].clone(), Some(markers[1].clone())),
    ];
    let mut t = Tally::default();
    b.restore();
    for (kind, rel, other) in &targets {
        let kind: &'static str = kind;
        let p = b.path(rel);
        let len = std::fs::metadata(&p).unwrap().len() as usize;
        let names: Vec<String> = {
            let mut n = vec![rel.clone()];
            if rel.starts_with("rec/") {
                n.push(id0.clone());
            }
            n
        };
        if len > 0 {
            for (how, at) in [
                ("flip a bit in the header", 13.min(len - 1)),
                ("flip a bit in the middle", len / 2),
                ("flip a bit in the trailer", len - 1),
            ] {
                flip(&p, at);
                check(&b, kind, how, &names, &mut t);
            }
            for (how, keep) in [
                ("truncate by one byte", len - 1),
                ("truncate to half", len / 2),
            ] {
                let data = std::fs::read(&p).unwrap();
                std::fs::write(&p, &data[..keep]).unwrap();
                check(&b, kind, how, &names, &mut t);
            }
        }
        for (how, extra) in [
            ("extend by one byte", vec![0u8]),
            ("extend by 100 bytes", vec![0x41u8; 100]),
        ] {
            let mut data = std::fs::read(&p).unwrap();
            data.extend_from_slice(&extra);
            std::fs::write(&p, data).unwrap();
            check(&b, kind, how, &names, &mut t);
        }
        if let Some(o) = other {
            let (x, y) = (
                std::fs::read(&p).unwrap(),
                std::fs::read(b.path(o)).unwrap(),
            );
            std::fs::write(&p, &y).unwrap();
            std::fs::write(b.path(o), &x).unwrap();
            let mut n = names.clone();
            n.push(o.clone());
            check(&b, kind, &format!("swap with {o}"), &n, &mut t);
        }
    }
    // An audio object's header altered only in a wrap its reader does not use (the clinician's):
    // verify names it (the object's hash); play and export do not check the hash.
    {
        let p = b.path(&audio0);
        let data = std::fs::read(&p).unwrap();
        let at = find(&data, b"\"to\":\"user:").expect("a user wrap") + 120;
        flip(&p, at);
        check(
            &b,
            "audio object",
            "flip a bit in a wrap the reader does not use",
            &[audio0.clone(), id0.clone()],
            &mut t,
        );
    }
    // Replays: an old version put back.
    let removed_of = |k: &str| -> Vec<(String, Vec<u8>)> {
        b.removed
            .iter()
            .filter(|(r, _)| {
                kind_of(r) == k
                    || (k.starts_with("journal segment, compacted") && r.starts_with("journal/"))
            })
            .map(|(r, v)| (r.clone(), v.clone()))
            .collect()
    };
    // archive.json is written once and never changes: an older archive.json is another archive's.
    for (kind, what) in [
        (
            "user record (key bag, profile, escrow)",
            "user record version a password reset deleted",
        ),
        (
            "journal segment, compacted generation",
            "segment an erasure compacted",
        ),
        ("audio object", "audio object a deletion shredded"),
        ("peaks object", "peaks object a deletion removed"),
    ] {
        let old = removed_of(kind);
        assert!(!old.is_empty(), "nothing to replay for {kind}");
        for (rel, bytes) in old {
            let p = b.path(&rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &bytes).unwrap();
            let mut names = vec![rel.clone()];
            if rel.starts_with("rec/") {
                names.push(b.ids[3].clone());
            }
            let how = format!("replay: {what}, put back");
            check_with(&b, kind, &how, &names, Some(&b.ids[3]), &mut t);
        }
    }
    // The audit trail replayed as it was before the last actions: the chain cut back.
    for rel in &b.audit_after {
        std::fs::remove_file(b.path(rel)).unwrap();
    }
    let dev = b.audit_after[0].rsplit_once('/').unwrap().0.to_string();
    check(
        &b,
        "audit file (entries, witnesses)",
        "replay: the chain as it was before the last actions",
        &[dev],
        &mut t,
    );
    // An audit file replaced by the previous file of its chain.
    let (a1, a2) = (audits[1].clone(), audits[2].clone());
    std::fs::write(b.path(&a2), std::fs::read(b.path(&a1)).unwrap()).unwrap();
    check(
        &b,
        "audit file (entries, witnesses)",
        "replay: a file replaced by an older one",
        &[a2],
        &mut t,
    );
    // A journal segment replaced by an older segment of the same device.
    let (s1, s2) = (
        segments[segments.len() - 2].clone(),
        segments[segments.len() - 1].clone(),
    );
    std::fs::write(b.path(&s2), std::fs::read(b.path(&s1)).unwrap()).unwrap();
    check(
        &b,
        "journal segment (entries, tombstones)",
        "replay: a segment replaced by an older one",
        &[s2],
        &mut t,
    );
    // The admin's own record tampered: logon itself refuses, naming the file.
    let admin_rec = first("user record (key bag, profile, escrow)", &|f| {
        f.contains(&b.admin_uid)
    });
    flip(&b.path(&admin_rec), 40);
    let out = b.d.cmd(ADMIN, &["verify"]);
    no_panic(&out, "admin record");
    assert!(
        out.code != 0 && out.stderr.contains(&admin_rec),
        "admin record flipped: {}",
        out.stderr
    );
    b.restore();
    // Untouched, the archive still verifies (the restore is faithful).
    b.d.cmd(ADMIN, &["verify"]).ok();

    let tried: usize = t.tried.values().sum();
    let detected: usize = t.detected.values().sum();
    for (k, n) in &t.tried {
        eprintln!(
            "tamper matrix: {k}: {} of {n} detected",
            t.detected.get(k).unwrap_or(&0)
        );
    }
    for k in &t.known {
        eprintln!("tamper matrix: known, not detected: {k}");
    }
    eprintln!(
        "tamper matrix: {tried} cases tried, {detected} detected, {} known limits, {} missed ({:.0} s)",
        t.known.len(),
        t.missed.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        t.missed.is_empty(),
        "tampering not detected:\n{}",
        t.missed.join("\n")
    );
}
