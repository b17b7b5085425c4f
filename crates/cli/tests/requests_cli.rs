//! The request workflow over the real binary: raised on one device, approved on another, seen by
//! the first; SAR dates in JSON; the audit trail filtered, exported as CSV, and proved intact.

mod common;

use callvault_testkit::demo::wav_g711;
use common::*;

fn import_two(env: &Env, d: &Device) -> Vec<String> {
    let mut f = Fixture::new(env.path("in"));
    f.add(
        "a.wav",
        &wav_g711(8000, &pcm(2, 1), true),
        "2025-05-01T10:00:00,inbound,,201,07700 900601,Ann Example,",
    );
    f.add(
        "b.wav",
        &wav_g711(8000, &pcm(2, 2), true),
        "2025-05-02T11:00:00,inbound,,202,07700 900602,Ben Example,",
    );
    f.write_manifest();
    let rep = d
        .cmd(ADMIN, &["import", f.dir.to_str().unwrap(), "--json"])
        .ok()
        .json();
    rep["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn raised_on_the_pc_approved_on_the_mac_seen_on_the_pc() {
    let env = Env::new();
    let (pc, mac) = (env.device("pc"), env.device("mac"));
    let calls = import_two(&env, &pc);
    // The clinician raises a complaint request on the PC, about a call she took (a colleague's
    // call would not even be in her index: she reads only the journal entries about her).
    let out = pc
        .cmd(
            CLIN,
            &[
                "request",
                "new",
                "--purpose",
                "complaint",
                "--reason",
                "Patient says advice was unclear",
                "--call-time",
                "2025-05-01",
                "--number",
                "07700900601",
                "--party",
                "Ann",
                "--json",
            ],
        )
        .ok();
    let rid = out.json()["id"].as_str().unwrap().to_string();
    assert_eq!(rid.len(), 32);
    // The approver on the Mac sees it with its candidate and approves that recording.
    let show = mac
        .cmd(SUPER, &["request", "show", &rid, "--json"])
        .ok()
        .json();
    assert_eq!(show["state"], "open");
    assert_eq!(show["candidates"][0]["id"], calls[0].as_str());
    let open = mac
        .cmd(SUPER, &["request", "list", "--state", "open", "--json"])
        .ok()
        .json();
    assert_eq!(open.as_array().unwrap().len(), 1);
    mac.cmd(
        SUPER,
        &[
            "request",
            "approve",
            &rid,
            "--recording",
            &calls[0],
            "--expires-days",
            "7",
            "--allow",
            "listen",
        ],
    )
    .ok();
    // Back on the PC, the clinician sees the approval and may listen under it.
    let show = pc
        .cmd(CLIN, &["request", "show", &rid, "--json"])
        .ok()
        .json();
    assert_eq!(show["state"], "approved");
    assert_eq!(show["approved_by"], SUPER.0);
    assert_eq!(show["approved_recordings"][0], calls[0].as_str());
    pc.cmd(CLIN, &["authorize", &calls[0], "--request", &rid])
        .ok();
    let refused = pc.cmd(
        CLIN,
        &["authorize", &calls[0], "--for", "export", "--request", &rid],
    );
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    // The audit trail, filtered by request, shows the whole story; CSV for the DSP Toolkit.
    let entries = pc
        .cmd(ADMIN, &["audit", "list", "--request", &rid, "--json"])
        .ok()
        .json();
    let story: Vec<(String, String)> = entries
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
        ("request.raise", "allowed"),
        ("request.decide", "allowed"),
        ("recording.listen", "allowed"),
        ("recording.export", "refused"),
    ] {
        assert!(
            story.contains(&(want.0.into(), want.1.into())),
            "missing {want:?} in {story:?}"
        );
    }
    let csv = pc
        .cmd(ADMIN, &["audit", "list", "--by", CLIN.0, "--csv"])
        .ok()
        .stdout;
    assert!(csv.starts_with("at,device,user,action,outcome,request,targets,detail"));
    assert!(csv.lines().skip(1).all(|l| l.contains(CLIN.0)), "{csv}");
    assert!(csv.contains("recording.listen"));
    let by_rec = pc
        .cmd(
            ADMIN,
            &["audit", "list", "--recording", &calls[0], "--json"],
        )
        .ok()
        .json();
    assert!(by_rec.as_array().unwrap().iter().all(|e| e["targets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == calls[0].as_str())));
    pc.cmd(ADMIN, &["audit", "verify"]).ok();
    mac.cmd(ADMIN, &["audit", "verify"]).ok();
}

#[test]
fn a_sar_shows_received_and_due_dates_and_consent_marks_show_in_search() {
    let env = Env::new();
    let d = env.device("pc");
    let calls = import_two(&env, &d);
    let rid = d
        .cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "sar",
                "--reason",
                "Letter from patient",
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
    let v = d
        .cmd(ADMIN, &["request", "show", &rid, "--json"])
        .ok()
        .json();
    assert_eq!(v["received"], "2025-09-03");
    assert_eq!(v["due_date"], "2025-10-03");
    let bad = d.cmd(
        ADMIN,
        &["request", "new", "--purpose", "gossip", "--reason", "x"],
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("purpose 'gossip'"), "{}", bad.stderr);
    d.cmd(
        CLIN,
        &[
            "mark",
            &calls[0],
            "--consent-objected",
            "--at",
            "00:01",
            "--note",
            "asked to stop",
        ],
    )
    .ok();
    let s = d.cmd(CLIN, &["search", "--json"]).ok().json();
    assert_eq!(
        s[0]["consent"],
        "caller objected; recording stopped at 00:01"
    );
    let other = d.cmd(CLIN, &["mark", &calls[1], "--consent-objected"]);
    assert_eq!(other.code, 5);
}

#[test]
fn reordering_or_editing_audit_files_is_detected_and_named() {
    let env = Env::new();
    let d = env.device("pc");
    d.cmd(SUPER, &["search"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
    let dir = std::fs::read_dir(env.archive.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::read_dir(p).unwrap().count())
        .unwrap();
    let (a, b) = (
        dir.join("0000000000000003.cvl"),
        dir.join("0000000000000004.cvl"),
    );
    let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::write(&a, &bb).unwrap();
    std::fs::write(&b, &ba).unwrap();
    let out = d.cmd(ADMIN, &["audit", "verify"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("0000000000000003.cvl") && out.stderr.contains("reordered"),
        "{}",
        out.stderr
    );
    std::fs::write(&a, &ba).unwrap();
    std::fs::write(&b, &bb).unwrap();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
    // Cutting the chain back below what this device has seen is detected too.
    let last = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    std::fs::remove_file(&last).unwrap();
    let out = d.cmd(ADMIN, &["audit", "verify"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
}

#[test]
fn another_devices_witness_detects_a_chain_cut_back() {
    let env = Env::new();
    let (pc, mac) = (env.device("pc"), env.device("mac"));
    pc.cmd(SUPER, &["search"]).ok();
    // The Mac logs on: its logon entry witnesses the PC's chain as it is now.
    mac.cmd(SUPER, &["search"]).ok();
    mac.cmd(ADMIN, &["audit", "verify"]).ok();
    // Someone removes the PC's newest audit files; a fresh device, which never saw the PC's chain
    // itself, still detects the cut through the Mac's witness.
    let pc_dev = std::fs::read_to_string(
        pc.data
            .join("callvault/archives")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
            .join("device.json"),
    )
    .unwrap();
    let pc_id = serde_json::from_str::<serde_json::Value>(&pc_dev).unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = env.archive.join("audit").join(&pc_id);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // Only the PC's entries written before the Mac logged on are witnessed; remove the last two of
    // those by truncating the chain from the end.
    let n = files.len();
    for f in &files[n - 2..] {
        std::fs::remove_file(f).unwrap();
    }
    let fresh = env.device("fresh");
    let out = fresh.cmd(ADMIN, &["audit", "verify"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("cut back or rewritten"),
        "{}",
        out.stderr
    );
}

/// Patients over the real binary: a manifest's `nhs_number` column (a wrong one refused, naming
/// its line), a SAR raised by NHS number and a second number, a call linked by the supervisor
/// (a clinician refused), and a search by NHS number.
#[test]
fn a_sar_by_nhs_number_finds_the_patients_calls_and_a_supervisor_links_another() {
    let env = Env::new();
    let pc = env.device("pc");
    let nhs = callvault_testkit::demo::nhs_number(601);
    let wrong = callvault_testkit::demo::mistyped_nhs(&nhs);
    let dir = env.path("in");
    std::fs::create_dir_all(&dir).unwrap();
    let rows = [
        ("a.wav", "07700 900601", nhs.as_str()),
        ("b.wav", "+44 1632 960601", ""),
        ("c.wav", "07700 900699", ""),
        ("d.wav", "07700 900698", wrong.as_str()),
    ];
    let mut manifest = String::from(
        "file,started_at,direction,staff,extension,external_number,parties,notes,nhs_number\n",
    );
    for (i, (f, n, h)) in rows.iter().enumerate() {
        std::fs::write(dir.join(f), wav_g711(8000, &pcm(2, i as u32 + 1), true)).unwrap();
        manifest += &format!(
            "{f},2025-05-0{}T10:00:00,inbound,,201,{n},Caller,,{h}\n",
            i + 1
        );
    }
    std::fs::write(dir.join("manifest.csv"), manifest).unwrap();
    let rep = pc.cmd(ADMIN, &["import", dir.to_str().unwrap(), "--json"]);
    assert_eq!(rep.code, 3, "a row was refused: {}", rep.stderr);
    let rep = rep.json();
    let ids: Vec<String> = rep["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let why = rep["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        why.contains("line 5: field 'nhs_number'") && why.contains("check digit"),
        "{why}"
    );
    assert!(!why.contains(&wrong), "{why}");

    // The data controller's SAR: the NHS number and the landline, written another way.
    let spaced = callvault_core::patient::display(&nhs);
    let rid = pc
        .cmd(
            ADMIN,
            &[
                "request",
                "new",
                "--purpose",
                "sar",
                "--reason",
                "Written request for her calls",
                "--nhs-number",
                &spaced,
                "--number",
                "01632960601",
                "--json",
            ],
        )
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let found = |d: &Device| {
        let v = d
            .cmd(ADMIN, &["request", "show", &rid, "--json"])
            .ok()
            .json();
        let mut c: Vec<String> = v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        c.sort();
        c
    };
    let mut want = vec![ids[0].clone(), ids[1].clone()];
    want.sort();
    assert_eq!(found(&pc), want);
    // A clinician may not link (exit 5); the supervisor links the third call on another computer.
    let mac = env.device("mac");
    let r = mac.cmd(CLIN, &["link-patient", &ids[2], "--nhs-number", &nhs]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    mac.cmd(SUPER, &["link-patient", &ids[2], "--nhs-number", &spaced])
        .ok();
    let r = mac.cmd(SUPER, &["link-patient", &ids[2], "--nhs-number", &wrong]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("check digit"), "{}", r.stderr);
    let mut want = ids.clone();
    want.sort();
    assert_eq!(found(&pc), want);
    let hits = pc
        .cmd(ADMIN, &["search", "--nhs-number", &nhs, "--json"])
        .ok()
        .json();
    assert_eq!(hits.as_array().unwrap().len(), 2);
    let text = pc.cmd(ADMIN, &["request", "show", &rid]).ok().stdout;
    assert!(text.contains(&format!("NHS number:  {spaced}")), "{text}");
}
