//! Unattended ingest over the real binary: an ingest machine with only a profile imports a FreePBX
//! folder, can decrypt nothing it holds, quarantines bad files, and — killed at random moments and
//! restarted — imports every file exactly once, deleting each source only after its archived copy
//! read back intact; after a leaver, it writes under the newest call and metadata keys.

mod common;

use callvault_core::archive::audio::DecryptingReader;
use callvault_core::archive::Archive;
use callvault_core::secret::Key32;
use callvault_testkit::demo::wav_g711;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn freepbx_folder(root: &Path, n: usize) -> Vec<PathBuf> {
    let day = root.join("2025/03/27");
    std::fs::create_dir_all(&day).unwrap();
    (0..n)
        .map(|i| {
            let name = format!(
                "in-01632960000-07700900{i:03}-20250327-09{:02}17-1743067517.{}.wav",
                10 + i,
                12200 + i
            );
            let p = day.join(name);
            std::fs::write(&p, wav_g711(8000, &pcm(1, 500 + i as u32), true)).unwrap();
            p
        })
        .collect()
}

fn export_profile(d: &Device, path: &Path) {
    d.cmd(
        ADMIN,
        &[
            "ingest-profile",
            "export",
            path.to_str().unwrap(),
            "--name",
            "ingest.pbx",
        ],
    )
    .ok();
}

fn ingest(d: &Device, profile: &Path, watch: &Path, state: &Path, extra: &[&str]) -> Command {
    let mut c = d.command(None, &[]);
    c.args([
        "ingest",
        "--watch",
        watch.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--settle-seconds",
        "0",
        "--json",
    ]);
    c.args(extra);
    c
}

#[test]
fn an_ingest_machine_imports_and_can_decrypt_nothing_it_holds() {
    let env = Env::new();
    let d = env.device("pc");
    let profile = env.path("ingest-profile.json");
    export_profile(&d, &profile);
    let pbx = env.path("pbx");
    let files = freepbx_folder(&pbx, 3);
    std::fs::write(
        pbx.join("2025/03/27/in-01632960000-07700900999-20250327-101000-1743067517.9.wav"),
        b"",
    )
    .unwrap();
    let q = env.path("quarantine");
    let ingest_machine = env.device("pbx-server");
    let out = ingest(
        &ingest_machine,
        &profile,
        &pbx,
        &env.path("state"),
        &["--once", "--quarantine", q.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["result"]["outcome"] == "imported")
            .count(),
        3,
        "{lines:?}"
    );
    // The empty file is quarantined with its reason; the copies' sources stay (no --move).
    let reasons: Vec<_> = std::fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        reasons.iter().any(|r| r.ends_with(".reason.txt")),
        "{reasons:?}"
    );
    assert!(files.iter().all(|f| f.exists()));
    // The practice sees the calls, verified and attributed to the ingest identity.
    let found = d
        .cmd(SUPER, &["search", "--number", "07700900001", "--json"])
        .ok()
        .json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["direction"], "inbound");
    assert_eq!(found[0]["started_at"], "2025-03-27T09:11:17Z");
    d.cmd(ADMIN, &["verify"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
    // Everything the ingest machine holds opens nothing: not the audio, not the journals.
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    let secret = Key32::from_slice(
        &callvault_core::crypto::unb64(p["ingest_secret"].as_str().unwrap(), "p").unwrap(),
    )
    .unwrap();
    let uid = p["ingest_user"].as_str().unwrap().to_string();
    let archive = Archive::open(&env.archive).unwrap();
    let rec = callvault_core::users::load_latest(&archive, &uid)
        .unwrap()
        .unwrap();
    let bag = callvault_core::users::open_keybag(&rec, &secret).unwrap();
    assert!(bag.get("dedup").is_some());
    for k in ["metadata", "custodian", "audit", "admin", "signing"] {
        assert!(
            bag.get(k).is_none(),
            "an ingest identity must not hold the {k} key"
        );
    }
    let id = found[0]["id"].as_str().unwrap();
    let obj = std::fs::read(
        env.archive
            .join(callvault_core::archive::audio::object_path(id)),
    )
    .unwrap();
    let dedup = bag.get("dedup").unwrap().clone();
    for key in [&secret, &dedup] {
        let keys = vec![("custodian".to_string(), key), (format!("user:{uid}"), key)];
        assert!(DecryptingReader::new(std::io::Cursor::new(obj.clone()), &keys, "t").is_err());
    }
    let jdir = std::fs::read_dir(env.archive.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    for dir in jdir {
        for seg in std::fs::read_dir(&dir).unwrap() {
            let seg = seg.unwrap().path();
            let dev = dir.file_name().unwrap().to_str().unwrap();
            let seq = callvault_core::archive::journal::parse_segment_name(
                seg.file_name().unwrap().to_str().unwrap(),
            )
            .unwrap();
            let keys = Default::default();
            for key in [&secret, &dedup] {
                assert!(callvault_core::archive::journal::open_segment(
                    &std::fs::read(&seg).unwrap(),
                    &callvault_core::users::callkey::KeyRing::one(key),
                    dev,
                    seq,
                    &keys,
                    "t"
                )
                .is_err());
            }
        }
    }
    // Logging on as the ingest identity is not possible either (it has no password anyone knows,
    // and its roles hold no metadata key).
    assert_ne!(
        d.cmd(("ingest.pbx", "anything-at-all"), &["search"]).code,
        0
    );
}

#[test]
fn killed_at_random_moments_it_imports_every_file_exactly_once() {
    let env = Env::new();
    let d = env.device("pc");
    let profile = env.path("ingest-profile.json");
    export_profile(&d, &profile);
    let pbx = env.path("pbx");
    let n = 16;
    freepbx_folder(&pbx, n);
    let ingest_machine = env.device("pbx-server");
    let state = env.path("state");
    let mut rng = callvault_testkit::demo::Lcg(0x1eed);
    for round in 0..10 {
        let mut child = ingest(&ingest_machine, &profile, &pbx, &state, &["--move"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let ms = 40 + rng.next_u64() % 260;
        std::thread::sleep(std::time::Duration::from_millis(ms));
        child.kill().unwrap(); // SIGKILL: no chance to tidy up
        child.wait().unwrap();
        let _ = round;
    }
    // A final run drains whatever is left.
    let out = ingest(
        &ingest_machine,
        &profile,
        &pbx,
        &state,
        &["--move", "--once"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every source is gone (moved) and every call is in the archive exactly once.
    let left: Vec<_> = files_under(&pbx);
    assert!(left.is_empty(), "sources left: {left:?}");
    let all = d
        .cmd(SUPER, &["search", "--limit", "1000", "--json"])
        .ok()
        .json();
    let mut numbers: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    let before = numbers.len();
    numbers.dedup();
    assert_eq!(before, n, "each file imported once: {numbers:?}");
    assert_eq!(numbers.len(), n);
    // Nothing half-visible: the archive verifies (unreferenced objects from a kill are allowed).
    d.cmd(ADMIN, &["verify"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
}

/// Every journal segment of `dev` on the share: (path, seq).
fn segments_of(archive: &Path, dev: &str) -> Vec<(PathBuf, u64)> {
    std::fs::read_dir(archive.join("journal").join(dev))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let seq =
                callvault_core::archive::journal::parse_segment_name(p.file_name()?.to_str()?)?;
            Some((p, seq))
        })
        .collect()
}

#[test]
fn an_ingest_machine_writes_under_the_newest_keys_after_a_leaver() {
    let env = Env::new();
    let d = env.device("pc");
    let profile = env.path("ingest-profile.json");
    export_profile(&d, &profile);
    let pbx = env.path("pbx");
    let state = env.path("state");
    let machine = env.device("pbx-server");
    freepbx_folder(&pbx, 2);
    let journals = || -> Vec<String> {
        std::fs::read_dir(env.archive.join("journal"))
            .map(|r| {
                r.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let others = journals();
    let run = || {
        let out = ingest(&machine, &profile, &pbx, &state, &["--once"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run();
    let dev = journals()
        .into_iter()
        .find(|j| !others.contains(j))
        .expect("the ingest machine's journal");
    // A supervisor keeps a copy of her key bag, then leaves (clinicians hold no metadata key);
    // the admin who disables her rotates the metadata key first, and the data controller rotates
    // the call key by hand.
    let archive = Archive::open(&env.archive).unwrap();
    let uid = callvault_core::users::uid_for(&archive, SUPER.0).unwrap();
    let rec = callvault_core::users::load_latest(&archive, &uid)
        .unwrap()
        .unwrap();
    let secret =
        callvault_core::users::open_secret(&rec, &callvault_core::secret::Password::new(SUPER.1))
            .unwrap();
    let kept = callvault_core::users::open_keybag(&rec, &secret)
        .unwrap()
        .get("metadata")
        .unwrap()
        .clone();
    let o = d.cmd(ADMIN, &["user", "disable", SUPER.0]).ok();
    assert!(
        o.stderr.contains("metadata key was rotated"),
        "{}",
        o.stderr
    );
    d.cmd(ADMIN, &["keys", "rotate"]).ok();
    // The ingest machine, which knows no user's signing key, follows both by their proofs.
    let before = segments_of(&env.archive, &dev);
    freepbx_folder(&pbx, 4);
    run();
    let after: Vec<_> = segments_of(&env.archive, &dev)
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    assert!(!after.is_empty());
    // Its new segments do not open with the leaver's copy (their signature checks; the key fails).
    let signers = {
        let mut k = callvault_core::archive::SignerKeys::new();
        let ingest_uid =
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(&profile).unwrap()).unwrap()
                ["ingest_user"]
                .as_str()
                .unwrap()
                .to_string();
        let irec = callvault_core::users::load_latest(&archive, &ingest_uid)
            .unwrap()
            .unwrap();
        k.insert(
            ingest_uid,
            callvault_core::crypto::unb64(&irec.signed.signing_key, "k")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        k
    };
    let open_new = |key: &Key32, s: &(PathBuf, u64)| {
        callvault_core::archive::journal::open_segment(
            &std::fs::read(&s.0).unwrap(),
            &callvault_core::users::callkey::KeyRing::one(key),
            &dev,
            s.1,
            &signers,
            "t",
        )
    };
    let old_seg = before.iter().max_by_key(|s| s.1).unwrap();
    assert!(callvault_core::archive::journal::open_segment(
        &std::fs::read(&old_seg.0).unwrap(),
        &callvault_core::users::callkey::KeyRing::one(&kept),
        &dev,
        old_seg.1,
        &signers,
        "t",
    )
    .is_ok());
    for s in &after {
        let e = open_new(&kept, s).unwrap_err();
        assert!(!e.to_string().contains("signature"), "{e}");
    }
    // Its new audio is wrapped to the newest call key only; the practice finds the new calls.
    let found = d
        .cmd(ADMIN, &["search", "--number", "07700900003", "--json"])
        .ok()
        .json();
    let id = found[0]["id"].as_str().unwrap();
    let head = std::fs::read(
        env.archive
            .join(callvault_core::archive::audio::object_path(id)),
    )
    .unwrap();
    let (h, _) = callvault_core::archive::audio::parse_header(&head, "t").unwrap();
    let labels: Vec<&str> = h.wraps.iter().map(|w| w.to.as_str()).collect();
    assert!(
        // (Her disablement rotated the call key, she being an approver; the data controller
        // rotated it again by hand.)
        labels == ["custodian:2"],
        "{labels:?}"
    );
    let pinned = files_under(&state)
        .into_iter()
        .find(|f| f.ends_with("metadata-key.json"))
        .expect("the ingest machine's record of the metadata key");
    let seen: (u32, String) = serde_json::from_slice(&std::fs::read(pinned).unwrap()).unwrap();
    assert_eq!(
        seen.0, 1,
        "the ingest machine remembers the newest metadata epoch"
    );
    // The leaver removes epoch 1 from the share: the ingest machine stores nothing (its metadata
    // would go to a key she holds) and says why; restored, it goes on.
    let epoch1 = env.archive.join("keys/metadata/00000001.json");
    let kept_file = std::fs::read(&epoch1).unwrap();
    std::fs::remove_file(&epoch1).unwrap();
    freepbx_folder(&pbx, 5);
    let before = segments_of(&env.archive, &dev);
    let out = ingest(&machine, &profile, &pbx, &state, &["--once"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("metadata key was rolled back"), "{text}");
    assert_eq!(
        segments_of(&env.archive, &dev).len(),
        before.len(),
        "{text}"
    );
    std::fs::write(&epoch1, kept_file).unwrap();
    run();
    let found = d
        .cmd(ADMIN, &["search", "--number", "07700900004", "--json"])
        .ok()
        .json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    d.cmd(ADMIN, &["verify"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
}
