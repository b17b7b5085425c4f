//! Concurrency over the real binary: four devices (separate app-data folders) work on ONE archive
//! folder at the same moment — imports of different folders, a user change, approvals of different
//! requests, a deletion and two retention sweeps (which the maintenance lock serialises) — and then
//! every device converges to the same state: the same recordings (ids), the same requests in the
//! same states, `verify` and `audit verify` clean on each, and nothing lost (every imported call is
//! there unless deliberately deleted or due for retention).
//!
//! CI runs 2 rounds; `CALLVAULT_LONG=1` runs 8:
//!
//! ```sh
//! CALLVAULT_LONG=1 nice -n 10 cargo test -p callvault-cli --test concurrency -- --nocapture
//! ```

mod common;

use callvault_testkit::demo::wav_g711;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};

fn rounds() -> usize {
    if std::env::var_os("CALLVAULT_LONG").is_some() {
        8
    } else {
        2
    }
}

fn spawn(d: &Device, user: (&str, &str), args: &[&str]) -> Child {
    d.command(Some(user), args)
        .env("CALLVAULT_NEW_PASSWORD", "extra-pass-1234")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(children: Vec<(&str, Child)>) -> BTreeMap<String, Out> {
    children
        .into_iter()
        .map(|(name, c)| {
            let o: Out = c.wait_with_output().unwrap().into();
            assert_eq!(o.code, 0, "{name} failed: {}\n{}", o.stderr, o.stdout);
            (name.to_string(), o)
        })
        .collect()
}

fn folder(env: &Env, name: &str, base: usize, ext: &str, old: usize, n: usize) -> String {
    let mut f = Fixture::new(env.path(name));
    for i in 0..n {
        let k = base + i;
        let year = if i < old { 2021 } else { 2025 };
        f.add(
            &format!("c{k}.wav"),
            &wav_g711(8000, &pcm(1, 5000 + k as u32), true),
            &format!(
                "{year}-0{}-1{}T09:{:02}:00,inbound,,{ext},07700 900{k:03},Caller {k},",
                1 + k % 9,
                k % 10,
                k % 60
            ),
        );
    }
    f.write_manifest();
    f.dir.to_str().unwrap().to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn raise(d: &Device, who: (&str, &str), number: &str) -> String {
    d.cmd(
        who,
        &[
            "request",
            "new",
            "--purpose",
            "complaint",
            "--reason",
            "complaint",
            "--number",
            number,
            "--json",
        ],
    )
    .ok()
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What a device sees: recording ids, and (request id, state) pairs, both sorted.
type Converged = (Vec<String>, Vec<(String, String)>);

#[test]
fn four_devices_at_once_converge_and_lose_nothing() {
    let env = Env::new();
    let devs: Vec<Device> = (0..4).map(|i| env.device(&format!("dev{i}"))).collect();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut states: BTreeMap<String, &str> = BTreeMap::new();
    let mut users = 4;
    for r in 0..rounds() {
        // Phase 1, all at once: two imports of different folders (two calls of the first are old
        // enough for retention), a user added, and a retention sweep.
        let a = folder(&env, &format!("a{r}"), r * 100, "201", 2, 5);
        let b = folder(&env, &format!("b{r}"), r * 100 + 50, "202", 0, 5);
        let extra = format!("extra.user{r}");
        let out = finish(vec![
            (
                "import a",
                spawn(&devs[0], ADMIN, &["import", &a, "--json"]),
            ),
            (
                "import b",
                spawn(&devs[1], SUPER, &["import", &b, "--json"]),
            ),
            (
                "user add",
                spawn(&devs[2], ADMIN, &["user", "add", &extra, "--role", "staff"]),
            ),
            (
                "sweep",
                spawn(&devs[3], SUPER, &["retention", "run", "--json"]),
            ),
        ]);
        users += 1;
        let ia = ids(&out["import a"].json());
        let ib = ids(&out["import b"].json());
        assert_eq!((ia.len(), ib.len()), (5, 5));
        let old: Vec<String> = ia[..2].to_vec();
        expected.extend(ia.iter().cloned());
        expected.extend(ib.iter().cloned());
        // Two requests to decide, raised on different devices.
        let r1 = raise(&devs[0], CLIN, &format!("07700 900{:03}", r * 100 + 2));
        let r2 = raise(&devs[1], CLIN2, &format!("07700 900{:03}", r * 100 + 50));
        // Phase 2, all at once: approvals of different requests on two devices, a deletion, and
        // two retention sweeps (the maintenance lock lets one run at a time).
        let certs = env.path("certs");
        std::fs::create_dir_all(&certs).unwrap();
        let deleted = ib[4].clone();
        finish(vec![
            (
                "approve 1",
                spawn(
                    &devs[2],
                    SUPER,
                    &[
                        "request",
                        "approve",
                        &r1,
                        "--recording",
                        &ia[2],
                        "--allow",
                        "listen",
                    ],
                ),
            ),
            (
                "approve 2",
                spawn(
                    &devs[3],
                    SUPER,
                    &[
                        "request",
                        "approve",
                        &r2,
                        "--recording",
                        &ib[0],
                        "--allow",
                        "listen",
                    ],
                ),
            ),
            (
                "delete",
                spawn(
                    &devs[0],
                    SUPER,
                    &[
                        "delete",
                        &deleted,
                        "--reason",
                        "entered twice",
                        "--certificate-dir",
                        certs.to_str().unwrap(),
                    ],
                ),
            ),
            (
                "sweep 1",
                spawn(
                    &devs[1],
                    ADMIN,
                    &[
                        "retention",
                        "run",
                        "--certificate-dir",
                        certs.to_str().unwrap(),
                    ],
                ),
            ),
        ]);
        expected.remove(&deleted);
        for o in &old {
            expected.remove(o);
        }
        states.insert(r1, "approved");
        states.insert(r2, "approved");
        // Every device converges to the same state.
        let mut seen: Option<Converged> = None;
        for (i, d) in devs.iter().enumerate() {
            let found: Vec<String> = d
                .cmd(SUPER, &["search", "--limit", "100000", "--json"])
                .ok()
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_string())
                .collect();
            let mut found_sorted = found.clone();
            found_sorted.sort();
            let mut dedup = found_sorted.clone();
            dedup.dedup();
            assert_eq!(dedup.len(), found_sorted.len(), "device {i}: doubled ids");
            assert_eq!(
                found_sorted.iter().cloned().collect::<BTreeSet<_>>(),
                expected,
                "device {i}, round {r}: not the expected recordings"
            );
            let reqs: Vec<(String, String)> = d
                .cmd(SUPER, &["request", "list", "--json"])
                .ok()
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["id"].as_str().unwrap().to_string(),
                        v["state"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            for (id, st) in &states {
                assert!(
                    reqs.contains(&(id.clone(), st.to_string())),
                    "device {i}: request {id} not {st}: {reqs:?}"
                );
            }
            let listed = d.cmd(ADMIN, &["user", "list", "--json"]).ok().json();
            assert_eq!(listed.as_array().unwrap().len(), users, "device {i}");
            match &seen {
                None => seen = Some((found_sorted, reqs)),
                Some(s) => assert_eq!(s, &(found_sorted, reqs), "device {i} differs"),
            }
            d.cmd(ADMIN, &["verify"]).ok();
            d.cmd(ADMIN, &["audit", "verify"]).ok();
        }
        assert!(!env.archive.join("locks/maintenance.lock").exists());
    }
    eprintln!(
        "concurrency: {} rounds x 4 processes at once (2 phases per round), 4 devices; {} recordings, {} requests converged",
        rounds(),
        expected.len(),
        states.len()
    );
}
