//! Retention over the real binary: a dry run lists what goes and why; two sweeps started at once
//! on two devices delete each recording once, leave no error, and the audit trail agrees.

mod common;

use callvault_testkit::demo::wav_g711;
use common::*;

#[test]
fn two_sweeps_at_once_delete_each_recording_once() {
    let env = Env::new();
    let (pc, mac) = (env.device("pc"), env.device("mac"));
    let mut f = Fixture::new(env.path("old"));
    for i in 0..8 {
        f.add(
            &format!("o{i}.wav"),
            &wav_g711(8000, &pcm(1, 200 + i), true),
            &format!(
                "2021-0{}-1{}T10:00:00,inbound,,201,07700 90080{i},Old {i},",
                1 + i % 9,
                i
            ),
        );
    }
    f.add(
        "new.wav",
        &wav_g711(8000, &pcm(1, 299), true),
        "2026-01-05T10:00:00,inbound,,201,07700 900899,New,",
    );
    f.write_manifest();
    pc.cmd(ADMIN, &["import", f.dir.to_str().unwrap()]).ok();
    mac.cmd(SUPER, &["search"]).ok();
    let due = pc
        .cmd(SUPER, &["retention", "run", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(due.as_array().unwrap().len(), 8);
    assert!(due[0]["rule"].as_str().unwrap().contains("36-month"));
    let certs = env.path("certs");
    let spawn = |d: &Device| {
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
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (spawn(&pc), spawn(&mac));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let count = |o: &std::process::Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["tombstones"].as_array().map_or(0, |t| t.len())
    };
    assert_eq!(
        count(&a) + count(&b),
        8,
        "each recording deleted once, by one of the two"
    );
    for d in [&pc, &mac] {
        let left = d.cmd(SUPER, &["search", "--json"]).ok().json();
        assert_eq!(left.as_array().unwrap().len(), 1);
        assert_eq!(left[0]["external_number"], "07700 900899");
    }
    let audit = pc.cmd(ADMIN, &["audit", "list", "--json"]).ok().json();
    let deletes = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "recording.delete")
        .count();
    assert_eq!(deletes, 8);
    pc.cmd(ADMIN, &["verify"]).ok();
    pc.cmd(ADMIN, &["audit", "verify"]).ok();
    assert!(
        !env.archive.join("locks/maintenance.lock").exists(),
        "the lock was released"
    );
    // Certificates were written, one per run that deleted something.
    let n = std::fs::read_dir(&certs)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "html")
        })
        .count();
    assert!((1..=2).contains(&n));
}

/// The do-not-record list over the real binary: the data controller adds a number (as a phone
/// system might not write it) and an extension; `import` then keeps nothing of their calls and
/// says how many; `dnr list` shows labels, never a number; a supervisor is refused; taken off the
/// list, the number's next call is kept.
#[test]
fn the_do_not_record_list_keeps_listed_calls_out_of_an_import() {
    let env = Env::new();
    let pc = env.device("pc");
    let out = pc
        .cmd(
            ADMIN,
            &[
                "dnr",
                "add",
                "+44 7700 900871",
                "--label",
                "union representative",
            ],
        )
        .ok();
    assert!(
        out.stdout.contains("added number as entry"),
        "{}",
        out.stdout
    );
    pc.cmd(
        ADMIN,
        &[
            "dnr",
            "add",
            "250",
            "--extension",
            "--label",
            "staff room phone",
        ],
    )
    .ok();
    let refused = pc.cmd(SUPER, &["dnr", "list"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("kept by the data controller"),
        "{}",
        refused.stderr
    );
    let list = pc.cmd(ADMIN, &["dnr", "list", "--json"]).ok().json();
    let entries = list["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["label"], "union representative");
    assert!(!list.to_string().contains("900871"));
    let mut f = Fixture::new(env.path("calls"));
    for (i, (ext, number)) in [
        ("201", "07700 900871"),
        ("250", "01632 960871"),
        ("201", "01632 960872"),
    ]
    .into_iter()
    .enumerate()
    {
        f.add(
            &format!("c{i}.wav"),
            &wav_g711(8000, &pcm(1, 400 + i as u32), true),
            &format!(
                "2026-02-0{}T10:00:00,inbound,,{ext},{number},Caller {i},",
                i + 1
            ),
        );
    }
    f.write_manifest();
    let dry = pc
        .cmd(SUPER, &["import", f.dir.to_str().unwrap(), "--dry-run"])
        .ok();
    assert!(
        dry.stdout.contains("not kept (do-not-record list) 2"),
        "{}",
        dry.stdout
    );
    // Counted, not shown: a listed call's row would tell which numbers are listed.
    for hidden in ["c0.wav", "c1.wav", "900871", "960871"] {
        assert!(!dry.stdout.contains(hidden), "{hidden}: {}", dry.stdout);
    }
    let out = pc.cmd(SUPER, &["import", f.dir.to_str().unwrap()]).ok();
    assert!(out.stdout.contains("imported 1,"), "{}", out.stdout);
    assert!(out.stdout.contains("not kept: 2 call(s)"), "{}", out.stdout);
    assert!(!out.stdout.contains("c0.wav") && !out.stdout.contains("c1.wav"));
    let found = pc.cmd(SUPER, &["search", "--json"]).ok().json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    // Off the list, the number's next call is kept.
    pc.cmd(ADMIN, &["dnr", "remove", "07700900871"]).ok();
    let mut g = Fixture::new(env.path("later"));
    g.add(
        "d.wav",
        &wav_g711(8000, &pcm(1, 410), true),
        "2026-02-09T10:00:00,inbound,,201,07700 900871,Caller,",
    );
    g.write_manifest();
    let out = pc.cmd(SUPER, &["import", g.dir.to_str().unwrap()]).ok();
    assert!(out.stdout.contains("imported 1,"), "{}", out.stdout);
    assert!(!out.stdout.contains("not kept"), "{}", out.stdout);
}

/// Breach reports over the real binary: a clinician reports one; the supervisor and the data
/// controller list it, the other clinician does not; a bad `--reportable` is a usage error; the
/// data controller assesses and closes it and the clinician sees it closed.
#[test]
fn a_breach_report_goes_from_the_reporter_to_the_data_controller() {
    let env = Env::new();
    let pc = env.device("pc");
    let out = pc
        .cmd(
            CLIN,
            &[
                "breach",
                "report",
                "--what",
                "I left a recording playing on the ward speaker",
                "--when",
                "2026-03-02T14:30",
            ],
        )
        .ok();
    let id = out
        .stdout
        .split_whitespace()
        .nth(2)
        .expect("the report's id")
        .to_string();
    assert_eq!(id.len(), 32, "{}", out.stdout);
    let count = |who| {
        pc.cmd(who, &["breach", "list", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        (count(CLIN), count(SUPER), count(ADMIN), count(CLIN2)),
        (1, 1, 1, 0)
    );
    let bad = pc.cmd(
        ADMIN,
        &[
            "breach",
            "assess",
            &id,
            "--reportable",
            "maybe",
            "--reason",
            "x",
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let refused = pc.cmd(
        SUPER,
        &[
            "breach",
            "assess",
            &id,
            "--reportable",
            "no",
            "--reason",
            "x",
        ],
    );
    assert_ne!(refused.code, 0);
    pc.cmd(
        ADMIN,
        &[
            "breach",
            "assess",
            &id,
            "--reportable",
            "no",
            "--reason",
            "no patient was identifiable",
        ],
    )
    .ok();
    pc.cmd(
        ADMIN,
        &["breach", "close", &id, "--note", "speaker removed"],
    )
    .ok();
    let shown = pc.cmd(CLIN, &["breach", "show", &id]).ok();
    assert!(shown.stdout.contains("state: closed"), "{}", shown.stdout);
    assert!(
        shown.stdout.contains("not reportable to the ICO"),
        "{}",
        shown.stdout
    );
}
