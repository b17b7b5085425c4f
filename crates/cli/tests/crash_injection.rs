//! Crash injection over the real binary: `callvault` is killed with SIGKILL at random moments of
//! an import (CSV manifest), a watch-folder ingest with `--move`, a request approval, a retention
//! sweep, an erasure, and a key rotation (call, metadata, audit and admin keys in turn) with the re-wrap of
//! every call; then the operation is run again, and the archive must hold every call
//! reported stored, once, readable and verified, nothing half-visible, no watched source deleted
//! before its archived copy, and an audit trail that verifies.
//!
//! The kill moment is uniform over the operation's observed run time (an uncrashed run of the same
//! size is timed first), from a seeded RNG. The seed is printed; replay with
//! `CALLVAULT_CRASH_SEED=N`. CI runs 3 kills per operation (21 in all: rotation and re-wrap count
//! as two); `CALLVAULT_LONG=1` runs 25 per operation (175):
//!
//! ```sh
//! CALLVAULT_LONG=1 nice -n 10 cargo test -p callvault-cli --test crash_injection -- --nocapture
//! ```

mod common;

use callvault_testkit::demo::{wav_g711, Lcg};
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kills_per_op() -> usize {
    if std::env::var_os("CALLVAULT_LONG").is_some() {
        25
    } else {
        3
    }
}

fn seed(op: &str) -> u64 {
    let s = std::env::var("CALLVAULT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000_007
        });
    eprintln!("crash injection ({op}): seed {s} (replay with CALLVAULT_CRASH_SEED={s})");
    s
}

/// Run `cmd`, SIGKILL it after `delay` if still running. Returns (killed, stdout lines so far).
fn run_and_kill(mut cmd: Command, delay: Duration) -> (bool, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let start = Instant::now();
    let mut killed = false;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() >= delay {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (killed, reader.join().unwrap())
}

fn timed(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let out: Out = cmd.output().unwrap().into();
    out.ok();
    t.elapsed()
}

fn pick(rng: &mut Lcg, window: Duration) -> Duration {
    let ms = (window.as_millis() as u64 * 12 / 10).max(20);
    Duration::from_millis(rng.next_u64() % ms)
}

/// Everything visible, as the supervisor sees it: id -> external number.
fn visible(d: &Device) -> BTreeMap<String, String> {
    let all = d
        .cmd(SUPER, &["search", "--limit", "100000", "--json"])
        .ok()
        .json();
    let mut m = BTreeMap::new();
    let mut numbers = BTreeSet::new();
    for r in all.as_array().unwrap() {
        let n = r["external_number"].as_str().unwrap_or("").to_string();
        assert!(numbers.insert(n.clone()), "a call is doubled: {n}");
        m.insert(r["id"].as_str().unwrap().to_string(), n);
    }
    m
}

/// Nothing half-visible: every indexed call's object decrypts in full, the archive verifies, and
/// the audit trail verifies.
fn check_archive(d: &Device) -> Value {
    let v = d.cmd(ADMIN, &["verify", "--json"]);
    assert_eq!(v.code, 0, "verify failed after a kill: {}", v.stderr);
    let rep = v.json();
    assert_eq!(
        rep["recordings_checked"], rep["recordings_decrypted"],
        "every indexed call decrypts: {rep}"
    );
    let a = d.cmd(ADMIN, &["audit", "verify"]);
    assert_eq!(a.code, 0, "audit verify failed after a kill: {}", a.stderr);
    rep
}

/// A killed deletion may leave its maintenance lock behind. It is left as it is: the rerun on the
/// same device sees that the process that took it is gone and takes it over at once (without
/// waiting for its 15-minute lease). Returns whether a lock was left.
fn lock_left(archive: &Path) -> bool {
    archive.join("locks/maintenance.lock").exists()
}

fn manifest_folder(dir: &Path, n: usize, base: usize, year: i32) -> PathBuf {
    let mut f = Fixture::new(dir.to_path_buf());
    for i in 0..n {
        let k = base + i;
        f.add(
            &format!("c{k}.wav"),
            &wav_g711(8000, &pcm(2, 3000 + k as u32), true),
            &format!(
                "{year}-0{}-1{}T10:{:02}:00,inbound,,201,07700 900{k:03},Caller {k},",
                1 + k % 9,
                k % 10,
                k % 60
            ),
        );
    }
    f.write_manifest();
    f.dir
}

fn ids_of(import_json: &Value) -> Vec<String> {
    import_json["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn object_exists(archive: &Path, id: &str) -> bool {
    archive
        .join(callvault_core::archive::audio::object_path(id))
        .exists()
}

#[test]
fn killed_imports_leave_every_call_once_and_whole() {
    let env = Env::new();
    let d = env.device("pc");
    let mut rng = Lcg(seed("import"));
    let per = 8;
    let cal = manifest_folder(&env.path("in/0"), per, 0, 2025);
    let window = timed(d.command(Some(ADMIN), &["import", cal.to_str().unwrap(), "--json"]));
    let (mut kills, mut round, mut total) = (0, 0, per);
    while kills < kills_per_op() {
        round += 1;
        assert!(round < 200, "could not kill an import in time");
        let dir = manifest_folder(&env.path(&format!("in/{round}")), per, round * per, 2025);
        let (killed, _) = run_and_kill(
            d.command(Some(ADMIN), &["import", dir.to_str().unwrap(), "--json"]),
            pick(&mut rng, window),
        );
        kills += killed as usize;
        // What is visible now is whole, and stays: the rerun stores only the rest, once.
        let before = visible(&d);
        check_archive(&d);
        d.cmd(ADMIN, &["import", dir.to_str().unwrap()]).ok();
        total += per;
        let after = visible(&d);
        assert_eq!(after.len(), total, "each source stored exactly once");
        for (id, n) in &before {
            assert_eq!(after.get(id), Some(n), "a stored call changed or vanished");
        }
    }
    check_archive(&d);
    eprintln!("crash injection: import killed {kills} times over {round} rounds");
}

/// A FreePBX-named recording with a unique number; remembered as file name -> number.
fn add_source(day: &Path, sources: &mut BTreeMap<String, String>, k: usize) {
    let name = format!(
        "in-01632960000-07700900{k:03}-20250327-{:02}{:02}17-1743067517.{}.wav",
        9 + k / 60,
        k % 60,
        12200 + k
    );
    std::fs::write(
        day.join(&name),
        wav_g711(8000, &pcm(1, 700 + k as u32), true),
    )
    .unwrap();
    sources.insert(name, format!("07700900{k:03}"));
}

#[test]
fn killed_watch_folder_ingest_never_loses_or_doubles_a_source() {
    let env = Env::new();
    let d = env.device("pc");
    let profile = env.path("ingest-profile.json");
    d.cmd(
        ADMIN,
        &[
            "ingest-profile",
            "export",
            profile.to_str().unwrap(),
            "--name",
            "ingest.pbx",
        ],
    )
    .ok();
    let pbx = env.path("pbx");
    let day = pbx.join("2025/03/27");
    std::fs::create_dir_all(&day).unwrap();
    let machine = env.device("pbx-server");
    let state = env.path("state");
    let ingest = |extra: &[&str]| {
        let mut c = machine.command(None, &[]);
        c.args([
            "ingest",
            "--watch",
            pbx.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--settle-seconds",
            "0",
            "--json",
            "--move",
        ]);
        c.args(extra);
        c
    };
    // file name -> number
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let per = 6;
    for k in 0..per {
        add_source(&day, &mut sources, k);
    }
    let window = timed(ingest(&["--once"]));
    let mut rng = Lcg(seed("ingest"));
    let (mut kills, mut round, mut next) = (0, 0, per);
    let mut reported: BTreeMap<String, String> = BTreeMap::new(); // id -> file
    while kills < kills_per_op() {
        round += 1;
        assert!(round < 200, "could not kill an ingest in time");
        for _ in 0..per {
            add_source(&day, &mut sources, next);
            next += 1;
        }
        // Watch mode (no --once): it runs until killed.
        let (killed, lines) = run_and_kill(ingest(&[]), pick(&mut rng, window));
        kills += killed as usize;
        for l in lines {
            let v: Value = serde_json::from_str(&l).unwrap();
            if let Some(id) = v["result"]["id"].as_str() {
                reported.insert(id.to_string(), v["file"].as_str().unwrap().to_string());
            }
        }
        let vis = visible(&d);
        let digits = |n: &str| n.chars().filter(char::is_ascii_digit).collect::<String>();
        let numbers: BTreeSet<String> = vis.values().map(|n| digits(n)).collect();
        // Every call reported stored is there.
        for id in reported.keys() {
            assert!(vis.contains_key(id), "reported {id} but it is not stored");
        }
        // No source gone before its archived copy: a missing source is in the archive.
        for (name, number) in &sources {
            if !day.join(name).exists() {
                assert!(
                    numbers.contains(number),
                    "source {name} was deleted but its call is not in the archive"
                );
            }
        }
        check_archive(&d);
    }
    // Restart and drain.
    let out: Out = ingest(&["--once"]).output().unwrap().into();
    out.ok();
    let left = files_under(&pbx);
    assert!(left.is_empty(), "sources left: {left:?}");
    assert_eq!(visible(&d).len(), sources.len(), "each source stored once");
    check_archive(&d);
    eprintln!("crash injection: watch-folder ingest killed {kills} times over {round} rounds");
}

#[test]
fn killed_approvals_leave_a_request_open_or_approved_never_half() {
    let env = Env::new();
    let d = env.device("pc");
    let n = kills_per_op() * 3 + 2;
    let dir = manifest_folder(&env.path("in"), n, 0, 2025);
    let ids = ids_of(
        &d.cmd(ADMIN, &["import", dir.to_str().unwrap(), "--json"])
            .ok()
            .json(),
    );
    let raise = |i: usize| {
        d.cmd(
            CLIN,
            &[
                "request",
                "new",
                "--purpose",
                "complaint",
                "--reason",
                "complaint about a call",
                "--number",
                &format!("07700 900{i:03}"),
                "--json",
            ],
        )
        .ok()
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let approve = |rid: &str, id: &str| {
        d.command(
            Some(SUPER),
            &[
                "request",
                "approve",
                rid,
                "--recording",
                id,
                "--allow",
                "listen",
                "--expires-days",
                "30",
            ],
        )
    };
    let rid = raise(0);
    let window = timed(approve(&rid, &ids[0]));
    let mut rng = Lcg(seed("approve"));
    let (mut kills, mut i) = (0, 0);
    while kills < kills_per_op() {
        i += 1;
        assert!(i < n, "could not kill an approval in time");
        let rid = raise(i);
        let (killed, _) = run_and_kill(approve(&rid, &ids[i]), pick(&mut rng, window));
        kills += killed as usize;
        let st = d
            .cmd(SUPER, &["request", "show", &rid, "--json"])
            .ok()
            .json();
        match st["state"].as_str().unwrap() {
            "open" => assert!(st["approved_recordings"].as_array().unwrap().is_empty()),
            "approved" => assert_eq!(st["approved_recordings"], serde_json::json!([ids[i]])),
            other => panic!("request in state {other} after a killed approval"),
        }
        check_archive(&d);
        // Restart: approve again if it did not happen; either way it ends approved, once.
        if st["state"] == "open" {
            let out: Out = approve(&rid, &ids[i]).output().unwrap().into();
            out.ok();
        }
        let st = d
            .cmd(SUPER, &["request", "show", &rid, "--json"])
            .ok()
            .json();
        assert_eq!(st["state"], "approved");
        assert!(st["ignored"].as_array().unwrap().is_empty(), "{st}");
    }
    check_archive(&d);
    eprintln!("crash injection: approval killed {kills} times over {i} rounds");
}

/// After a deletion (finished by its rerun): none of `gone` is visible, none has an audio object
/// left, and the rest is intact.
fn check_deleted(env: &Env, d: &Device, gone: &[String], kept: usize) {
    let vis = visible(d);
    for id in gone {
        assert!(!vis.contains_key(id), "{id} still visible after deletion");
        assert!(
            !object_exists(&env.archive, id),
            "{id}: audio object left behind by an interrupted deletion"
        );
    }
    assert_eq!(vis.len(), kept);
    let rep = check_archive(d);
    assert!(
        rep["unreferenced"].as_array().unwrap().iter().all(|u| !gone
            .iter()
            .any(|g| u.as_str().unwrap().contains(g.as_str()))),
        "{rep}"
    );
    assert!(!env.archive.join("locks/maintenance.lock").exists());
}

#[test]
fn killed_retention_sweeps_finish_on_rerun_and_leave_nothing_behind() {
    let env = Env::new();
    let d = env.device("pc");
    let certs = env.path("certs");
    let sweep = || {
        d.command(
            Some(SUPER),
            &[
                "retention",
                "run",
                "--json",
                "--certificate-dir",
                certs.to_str().unwrap(),
            ],
        )
    };
    let per = 6;
    let mut rng = Lcg(seed("retention"));
    let (mut kills, mut round, mut locks_left) = (0, 0, 0);
    let mut window = Duration::ZERO;
    let mut kept = 0;
    while kills < kills_per_op() {
        assert!(round < 200, "could not kill a sweep in time");
        // Recordings old enough to be due (2021), and one that is not.
        let dir = manifest_folder(&env.path(&format!("old/{round}")), per, round * per, 2021);
        let old = ids_of(
            &d.cmd(ADMIN, &["import", dir.to_str().unwrap(), "--json"])
                .ok()
                .json(),
        );
        let new = manifest_folder(&env.path(&format!("new/{round}")), 1, 500 + round, 2025);
        d.cmd(ADMIN, &["import", new.to_str().unwrap()]).ok();
        kept += 1;
        if round == 0 {
            window = timed(sweep());
        } else {
            let (killed, _) = run_and_kill(sweep(), pick(&mut rng, window));
            kills += killed as usize;
            if lock_left(&env.archive) {
                locks_left += 1;
            }
            visible(&d);
            check_archive(&d);
            let out: Out = sweep().output().unwrap().into();
            out.ok();
        }
        check_deleted(&env, &d, &old, kept);
        round += 1;
    }
    eprintln!(
        "crash injection: retention sweep killed {kills} times over {} rounds ({locks_left} left the maintenance lock held)",
        round - 1
    );
}

#[test]
fn killed_erasures_finish_on_rerun_and_leave_nothing_behind() {
    let env = Env::new();
    let d = env.device("pc");
    let certs = env.path("certs");
    let per = 4;
    let mut rng = Lcg(seed("erasure"));
    let (mut kills, mut round, mut locks_left) = (0, 0, 0);
    let mut window = Duration::ZERO;
    let mut kept = 0;
    while kills < kills_per_op() {
        assert!(round < 200, "could not kill an erasure in time");
        let dir = manifest_folder(&env.path(&format!("in/{round}")), per + 1, round * 10, 2025);
        let ids = ids_of(
            &d.cmd(ADMIN, &["import", dir.to_str().unwrap(), "--json"])
                .ok()
                .json(),
        );
        let (erase_ids, keep) = ids.split_at(per);
        kept += keep.len();
        let rid = d
            .cmd(
                ADMIN,
                &[
                    "request",
                    "new",
                    "--purpose",
                    "erasure",
                    "--reason",
                    "caller asked to be forgotten",
                    "--json",
                ],
            )
            .ok()
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut approve = vec!["request", "approve", rid.as_str(), "--allow", "export"];
        for id in erase_ids {
            approve.push("--recording");
            approve.push(id);
        }
        d.cmd(ADMIN, &approve).ok();
        let erase = || {
            d.command(
                Some(ADMIN),
                &[
                    "erase",
                    &rid,
                    "--json",
                    "--certificate-dir",
                    certs.to_str().unwrap(),
                ],
            )
        };
        if round == 0 {
            window = timed(erase());
        } else {
            let (killed, _) = run_and_kill(erase(), pick(&mut rng, window));
            kills += killed as usize;
            if lock_left(&env.archive) {
                locks_left += 1;
            }
            visible(&d);
            check_archive(&d);
            // Restart: erase again (if the kill came after every recording was erased, the rerun
            // finishes the leftovers and says they were already deleted).
            let out: Out = erase().output().unwrap().into();
            assert!(
                out.code == 0
                    || out.stderr.contains("already deleted")
                    || out.stderr.contains("completed"),
                "rerun of erase: {}",
                out.stderr
            );
        }
        check_deleted(&env, &d, erase_ids, kept);
        let st = d
            .cmd(ADMIN, &["request", "show", &rid, "--json"])
            .ok()
            .json();
        assert_eq!(st["state"], "completed", "{st}");
        round += 1;
    }
    eprintln!(
        "crash injection: erasure killed {kills} times over {} rounds ({locks_left} left the maintenance lock held)",
        round - 1
    );
}

/// The audio objects of recording `id` on the share (as imported, or re-wrapped).
fn audio_objects(archive: &Path, id: &str) -> Vec<String> {
    use callvault_core::archive::audio::{parse_object_name, ObjectName};
    std::fs::read_dir(archive.join("rec").join(&id[..2]))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            matches!(parse_object_name(n),
                Some((i, ObjectName::Audio | ObjectName::Rewrapped(_))) if i == id)
        })
        .collect()
}

#[test]
fn killed_key_rotations_and_rewraps_leave_every_call_readable_once() {
    let env = Env::new();
    let d = env.device("pc");
    let rotate = |key: &str| d.command(Some(ADMIN), &["keys", "rotate", "--key", key]);
    let rewrap = || d.command(Some(ADMIN), &["keys", "rewrap", "--json"]);
    let per = 6;
    let mut rng = Lcg(seed("rotation"));
    let (mut kills, mut round) = (0, 0);
    let (mut w_rotate, mut w_rewrap) = (Duration::ZERO, Duration::ZERO);
    while kills < 2 * kills_per_op() {
        assert!(round < 200, "could not kill a rotation or re-wrap in time");
        let dir = manifest_folder(&env.path(&format!("in/{round}")), per, round * per, 2025);
        d.cmd(ADMIN, &["import", dir.to_str().unwrap()]).ok();
        // The call, metadata, audit and admin keys in turn: each round's import is written under the
        // epochs the rounds before made.
        let key = ["custodian", "metadata", "audit", "admin"][round % 4];
        if round == 0 {
            w_rotate = timed(rotate(key));
            w_rewrap = timed(rewrap());
        } else {
            let (killed, _) = run_and_kill(rotate(key), pick(&mut rng, w_rotate));
            kills += killed as usize;
            // A killed rotation made its epoch whole or not at all: nothing half-believed.
            check_archive(&d);
            let out: Out = rotate(key).output().unwrap().into();
            out.ok();
            let (killed, _) = run_and_kill(rewrap(), pick(&mut rng, w_rewrap));
            kills += killed as usize;
            // Stopped anywhere, every call still decrypts in full (from its old object or its
            // new one) and the archive verifies.
            check_archive(&d);
            let out: Out = rewrap().output().unwrap().into();
            let rep = out.ok().json();
            assert!(rep["failed"].as_array().unwrap().is_empty(), "{rep}");
        }
        // Finished: every call visible once and decrypting, under the newest call key, one
        // audio object each, nothing left to re-wrap.
        let vis = visible(&d);
        assert_eq!(vis.len(), (round + 1) * per);
        let rep = check_archive(&d);
        assert_eq!(rep["recordings_checked"], (round + 1) * per, "{rep}");
        for id in vis.keys() {
            let objs = audio_objects(&env.archive, id);
            assert_eq!(objs.len(), 1, "{id}: {objs:?}");
        }
        let again = rewrap().output().unwrap();
        let again: Out = again.into();
        assert_eq!(again.ok().json()["rewrapped"], 0);
        round += 1;
    }
    eprintln!(
        "crash injection: key rotation and re-wrap killed {kills} times over {} rounds",
        round - 1
    );
}
