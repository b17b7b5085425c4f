//! `callvault import DIR --layout ...` over folders laid out exactly as each phone system writes
//! them (FreePBX/Asterisk MixMonitor with a CDR export, 3CX, Oreka with and without metadata,
//! sidecars), with real audio made here (PCM, µ-law and A-law in memory, GSM-in-WAV with sox, MP3
//! with ffmpeg): every field a name means is checked in what the archive stores, the clocks'
//! changes, `.wav` beside `.WAV`, dry runs, and each kind of bad file refused by name while the
//! rest of the folder imports. All names and numbers are invented (Ofcom drama ranges).

mod common;

use callvault_testkit::demo::{wav_g711, wav_pcm16};
use chrono::{TimeZone, Utc};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn put(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// GSM 06.10 in a WAV header (WAV49), as FreePBX writes `.WAV`, made with sox.
fn gsm_wav(env: &Env, secs: usize, seed: u32) -> Vec<u8> {
    let src = env.path(&format!("gsm-src-{seed}.wav"));
    let out = env.path(&format!("gsm-{seed}.wav"));
    std::fs::write(&src, wav_pcm16(8000, &pcm(secs, seed))).unwrap();
    tool(
        "sox",
        &[
            src.to_str().unwrap(),
            "-e",
            "gsm-full-rate",
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(out).unwrap()
}

/// MP3 made with ffmpeg.
fn mp3(env: &Env, secs: usize, seed: u32) -> Vec<u8> {
    let src = env.path(&format!("mp3-src-{seed}.wav"));
    let out = env.path(&format!("mp3-{seed}.mp3"));
    std::fs::write(&src, wav_pcm16(8000, &pcm(secs, seed))).unwrap();
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
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(out).unwrap()
}

fn ulaw(secs: usize, seed: u32) -> Vec<u8> {
    wav_g711(8000, &pcm(secs, seed), true)
}

fn alaw(secs: usize, seed: u32) -> Vec<u8> {
    wav_g711(8000, &pcm(secs, seed), false)
}

/// Epoch seconds of a UTC time, for FreePBX uniqueids.
fn epoch(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .unwrap()
        .timestamp()
}

/// Every recording the supervisor can find, by source name.
fn stored(d: &Device) -> BTreeMap<String, Value> {
    let v = d
        .cmd(SUPER, &["search", "--json", "--limit", "1000"])
        .ok()
        .json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["source_name"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn rejected(rep: &Value) -> BTreeMap<String, String> {
    rep["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn imported_files(rep: &Value) -> Vec<String> {
    let mut v: Vec<String> = rep["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn assert_reason(rej: &BTreeMap<String, String>, file: &str, want: &str) {
    let r = rej
        .get(file)
        .unwrap_or_else(|| panic!("{file} not rejected: {rej:#?}"));
    assert!(r.contains(want), "{file}: reason '{r}' lacks '{want}'");
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Run an import as the practice's own user would be: when the tests run as root, without the
/// capabilities that let root read any file (so a file with mode 000 is unreadable here too).
fn imp(d: &Device, args: &[&str]) -> Out {
    let c = d.command(Some(ADMIN), args);
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        let mut c = c;
        return c.output().unwrap().into();
    }
    let mut w = std::process::Command::new("setpriv");
    w.args(["--bounding-set", "-dac_override,-dac_read_search"])
        .arg(c.get_program())
        .args(c.get_args())
        .stdin(std::process::Stdio::null());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    w.output()
        .unwrap_or_else(|e| panic!("setpriv (util-linux) is needed when tests run as root: {e}"))
        .into()
}

// ---- FreePBX ----

const IN_A: &str = "2025/03/27/in-01632960000-07700900123-20250327-092517-1743067517.12206.wav";
const OUT_B: &str = "2025/03/27/out-07700900456-201-20250327-101500-1743070500.12210.wav";

/// A FreePBX monitor folder (`/var/spool/asterisk/monitor`) and its CDR export.
struct FreePbx {
    dir: PathBuf,
    cdr: PathBuf,
    names: BTreeMap<&'static str, String>,
}

fn freepbx_folder(env: &Env) -> FreePbx {
    let dir = env.path("monitor");
    let mut names = BTreeMap::new();
    let mut add = |key: &'static str, rel: String, bytes: &[u8]| {
        put(&dir, &rel, bytes);
        names.insert(key, rel);
    };
    // The issue's two examples (GMT: 27 March 2025 is before the clocks go forward).
    add("in_a", IN_A.into(), &ulaw(3, 1));
    add("out_b", OUT_B.into(), &wav_pcm16(8000, &pcm(3, 2)));
    // BST, WAV49 (upper-case .WAV) and a .wav of the very same name beside it (A-law).
    let uid = format!("{}.12300", epoch(2025, 6, 2, 9, 0, 0));
    let stem = format!("2025/06/02/in-01632960000-07700900789-20250602-100000-{uid}");
    add("gsm", format!("{stem}.WAV"), &gsm_wav(env, 4, 3));
    add("alaw", format!("{stem}.wav"), &alaw(4, 4));
    // An outside call to extension 203, which no user has: unassigned.
    add(
        "ext203",
        format!(
            "2025/06/02/external-203-01632960111-20250602-143000-{}.5.wav",
            epoch(2025, 6, 2, 13, 29, 58)
        ),
        &ulaw(2, 5),
    );
    // Extension 201 called extension 202.
    add(
        "internal",
        format!(
            "2025/06/02/internal-202-201-20250602-150000-{}.7.wav",
            epoch(2025, 6, 2, 13, 59, 59)
        ),
        &ulaw(2, 6),
    );
    // Through queue 400, answered (says the CDR) by 202; MP3 after the practice's conversion script.
    add(
        "queue",
        format!(
            "2025/06/02/q-400-07700900124-20250602-160000-{}.9.mp3",
            epoch(2025, 6, 2, 14, 59, 30)
        ),
        &mp3(env, 3, 7),
    );
    // 999 is three digits but never an extension.
    add(
        "emergency",
        format!(
            "2025/06/02/out-999-202-20250602-170000-{}.11.wav",
            epoch(2025, 6, 2, 16, 0, 0)
        ),
        &ulaw(2, 8),
    );
    // Autumn: 01:30 happened twice on 26 October 2025. The uniqueid (channel created 00:29:50Z)
    // allows the earlier instant, which is taken; the second call's uniqueid (01:29:50Z) rules
    // the earlier instant out.
    add(
        "autumn_earlier",
        format!(
            "2025/10/26/in-01632960000-07700900125-20251026-013000-{}.20.wav",
            epoch(2025, 10, 26, 0, 29, 50)
        ),
        &ulaw(2, 9),
    );
    add(
        "autumn_later",
        format!(
            "2025/10/26/in-01632960000-07700900126-20251026-013000-{}.21.wav",
            epoch(2025, 10, 26, 1, 29, 50)
        ),
        &ulaw(2, 10),
    );
    // Bad files: each refused by name, the rest imports.
    add(
        "spring_gap",
        "2025/03/30/in-01632960000-07700900127-20250330-013000-1743298200.22.wav".into(),
        &ulaw(1, 11),
    );
    add(
        "bad_time",
        "2025/03/27/in-01632960000-07700900128-20250327-0925-1743067500.23.wav".into(),
        &ulaw(1, 12),
    );
    add(
        "bad_date",
        "2025/03/27/in-01632960000-07700900129-20250332-092517-1743067517.24.wav".into(),
        &ulaw(1, 13),
    );
    add(
        "wrong_folder",
        "2025/03/28/in-01632960000-07700900130-20250327-120000-1743076800.25.wav".into(),
        &ulaw(1, 14),
    );
    add(
        "not_audio",
        "2025/03/27/in-01632960000-07700900131-20250327-130000-1743080400.26.wav".into(),
        b"RIFF this is a text file, not audio",
    );
    add(
        "empty",
        "2025/03/27/in-01632960000-07700900132-20250327-140000-1743084000.27.wav".into(),
        b"",
    );
    add("no_layout", "2025/03/27/call.wav".into(), &ulaw(1, 15));
    add(
        "bad_type",
        "2025/03/27/inbound-01632960000-07700900133-20250327-150000-1743087600.28.wav".into(),
        &ulaw(1, 16),
    );
    add("text", "README.txt".into(), b"recordings from the PBX");
    // Unreadable (permission denied; as root the file stays readable, and imports).
    add(
        "unreadable",
        "2025/03/27/in-01632960000-07700900135-20250327-160000-1743091200.29.wav".into(),
        &ulaw(1, 18),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(&names["unreadable"]);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    // A symbolic link (not followed), a pipe, a name that is not UTF-8.
    let link = dir.join("2025/03/27/link.wav");
    std::os::unix::fs::symlink(dir.join(IN_A), &link).unwrap();
    names.insert("link", "2025/03/27/link.wav".into());
    tool(
        "mkfifo",
        &[dir.join("2025/03/27/pipe.wav").to_str().unwrap()],
    );
    names.insert("pipe", "2025/03/27/pipe.wav".into());
    {
        use std::os::unix::ffi::OsStrExt;
        let raw = std::ffi::OsStr::from_bytes(b"in-\xff\xfe-07700900134.wav");
        std::fs::write(dir.join("2025/03/27").join(raw), ulaw(1, 17)).unwrap();
        names.insert(
            "not_utf8",
            "2025/03/27/in-\u{fffd}\u{fffd}-07700900134.wav".into(),
        );
    }
    // The CDR export (FreePBX Reports > CDR > CSV), with its real columns. The WAV49 call's row
    // has no recordingfile: it is joined by uniqueid.
    let cdr = env.path("cdr-export.csv");
    let rows = [
        format!(
            "2025-03-27 09:25:10,\"\"\"Harriet Vale\"\" <07700900123>\",07700900123,01632960000,from-trunk,PJSIP/bt-trunk-00000029,PJSIP/201-0000002a,Dial,,75,63,ANSWERED,3,,1743067517.12206,,01632960000,{},07700900123,Harriet Vale",
            IN_A.rsplit('/').next().unwrap()
        ),
        format!(
            "2025-06-02 09:59:50,\"\"\"Jane Doe\"\" <07700900789>\",07700900789,01632960000,from-trunk,PJSIP/bt-trunk-00000030,PJSIP/202-00000031,Dial,,41,33,ANSWERED,3,,{uid},,01632960000,,07700900789,Jane Doe"
        ),
        // Queue: a no-answer leg to 201, then the answered leg to 202 (the one taken).
        format!(
            "2025-06-02 15:59:30,\"\"\"Bea Lockwood\"\" <07700900124>\",07700900124,400,ext-queues,PJSIP/bt-trunk-00000040,Local/201@from-queue-00000012;1,Queue,,20,0,NO ANSWER,3,,{}.9,,01632960000,,07700900124,Bea Lockwood",
            epoch(2025, 6, 2, 14, 59, 30)
        ),
        format!(
            "2025-06-02 15:59:30,\"\"\"Bea Lockwood\"\" <07700900124>\",07700900124,400,ext-queues,PJSIP/bt-trunk-00000040,Local/202@from-queue-00000013;1,Queue,,95,80,ANSWERED,3,,{}.9,,01632960000,{},07700900124,Bea Lockwood",
            epoch(2025, 6, 2, 14, 59, 30),
            names["queue"].rsplit('/').next().unwrap()
        ),
    ];
    std::fs::write(
        &cdr,
        format!(
            "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,billsec,disposition,amaflags,accountcode,uniqueid,userfield,did,recordingfile,cnum,cnam\n{}\n",
            rows.join("\n")
        ),
    )
    .unwrap();
    FreePbx { dir, cdr, names }
}

#[test]
fn freepbx_folder_with_cdr_imports_every_field_the_names_mean() {
    let env = Env::new();
    let d = env.device("pc1");
    let f = freepbx_folder(&env);
    let n = |k: &str| f.names[k].clone();
    let out = imp(
        &d,
        &[
            "import",
            f.dir.to_str().unwrap(),
            "--layout",
            "freepbx",
            "--cdr",
            f.cdr.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.code, 3, "rejections exit 3: {}", out.stderr);
    let rep = out.json();
    let mut want: Vec<String> = [
        "in_a",
        "out_b",
        "gsm",
        "alaw",
        "ext203",
        "internal",
        "queue",
        "emergency",
        "autumn_earlier",
        "autumn_later",
    ]
    .iter()
    .map(|k| n(k))
    .collect();
    want.sort();
    assert_eq!(imported_files(&rep), want, "{}", out.stdout);
    let rej = rejected(&rep);
    assert_reason(&rej, &n("spring_gap"), "does not exist in Europe/London");
    assert_reason(&rej, &n("bad_time"), "not a FreePBX recording name");
    assert_reason(&rej, &n("bad_time"), "'0925' is not a time HHMMSS");
    assert_reason(&rej, &n("bad_date"), "not a real date");
    assert_reason(
        &rej,
        &n("wrong_folder"),
        "in folder 2025/03/28 but its name says 2025/03/27",
    );
    assert_reason(&rej, &n("not_audio"), "audio");
    assert_reason(&rej, &n("empty"), "empty file");
    assert_reason(&rej, &n("no_layout"), "not a FreePBX recording name");
    assert_reason(&rej, &n("bad_type"), "'inbound' is not a recording type");
    assert_reason(&rej, "README.txt", "not an audio file (.txt)");
    assert_reason(&rej, &n("link"), "symbolic link");
    assert_reason(&rej, &n("pipe"), "not a regular file");
    assert_reason(&rej, &n("not_utf8"), "not valid UTF-8");
    assert_reason(
        &rej,
        &n("unreadable"),
        "cannot read the file (permission denied)",
    );
    assert_eq!(rej.len(), 13, "{rej:#?}");
    assert!(out.stderr.contains(&format!("rejected: {}", n("empty"))));
    // Unassigned: extension 203 (no user), and the two autumn calls (no CDR row, so no extension).
    assert_eq!(rep["unassigned"], 3);
    let mut un = strs(&rep["unassigned_files"]);
    un.sort();
    let mut want_un = vec![n("ext203"), n("autumn_earlier"), n("autumn_later")];
    want_un.sort();
    assert_eq!(un, want_un);

    let s = stored(&d);
    assert_eq!(s.len(), 10);
    // Inbound on the practice's number from 07700 900123, answered by 201 (CDR dstchannel).
    let a = &s[&n("in_a")];
    assert_eq!(a["started_at"], "2025-03-27T09:25:17Z", "GMT in March");
    assert_eq!(a["direction"], "inbound");
    assert_eq!(a["external_number"], "07700900123");
    assert_eq!(a["extension"], "201");
    assert_eq!(a["staff"], "dr.cleo.finch");
    assert_eq!(strs(&a["parties"]), ["Harriet Vale"], "CDR clid name");
    assert_eq!(
        a["notes"],
        "dialled 01632960000; CDR: ANSWERED, duration 75 s, billed 63 s"
    );
    assert_eq!(a["codec"], "pcm_mulaw");
    assert!((a["duration_s"].as_f64().unwrap() - 3.0).abs() < 0.01);
    // Extension 201 dialled 07700 900456.
    let b = &s[&n("out_b")];
    assert_eq!(b["started_at"], "2025-03-27T10:15:00Z");
    assert_eq!(b["direction"], "outbound");
    assert_eq!(b["external_number"], "07700900456");
    assert_eq!(b["extension"], "201");
    assert_eq!(b["staff"], "dr.cleo.finch");
    assert_eq!(b["parties"], serde_json::json!([]));
    assert_eq!(b["notes"], Value::Null);
    assert_eq!(b["codec"], "pcm_s16le");
    // BST in June; WAV49 .WAV and the .wav of the same name are two recordings.
    for (k, codec) in [("gsm", "gsm_ms"), ("alaw", "pcm_alaw")] {
        let r = &s[&n(k)];
        assert_eq!(r["started_at"], "2025-06-02T09:00:00Z", "{k}: BST in June");
        assert_eq!(r["direction"], "inbound");
        assert_eq!(r["external_number"], "07700900789");
        assert_eq!(r["extension"], "202", "{k}: joined by uniqueid");
        assert_eq!(r["staff"], "dr.otto.brandt");
        assert_eq!(strs(&r["parties"]), ["Jane Doe"]);
        assert_eq!(
            r["notes"],
            "dialled 01632960000; CDR: ANSWERED, duration 41 s, billed 33 s"
        );
        assert_eq!(r["codec"], codec);
        assert!(
            (r["duration_s"].as_f64().unwrap() - 4.0).abs() < 0.05,
            "{k}"
        );
    }
    assert_ne!(s[&n("gsm")]["id"], s[&n("alaw")]["id"]);
    // Outside call to extension 203: nobody has it.
    let e = &s[&n("ext203")];
    assert_eq!(e["started_at"], "2025-06-02T13:30:00Z");
    assert_eq!(e["direction"], "inbound");
    assert_eq!(e["extension"], "203");
    assert_eq!(e["external_number"], "01632960111");
    assert_eq!(e["staff"], Value::Null, "unassigned");
    // Internal 201 -> 202: both clinicians are party to it.
    let i = &s[&n("internal")];
    assert_eq!(i["started_at"], "2025-06-02T14:00:00Z");
    assert_eq!(i["direction"], "internal");
    assert_eq!(i["extension"], "201");
    assert_eq!(i["staff"], "dr.cleo.finch");
    assert_eq!(strs(&i["parties"]), ["202"]);
    assert_eq!(i["external_number"], Value::Null);
    // Queue 400, answered by 202 according to the CDR (the answered leg, not the missed one).
    let q = &s[&n("queue")];
    assert_eq!(q["started_at"], "2025-06-02T15:00:00Z");
    assert_eq!(q["direction"], "inbound");
    assert_eq!(q["external_number"], "07700900124");
    assert_eq!(q["extension"], "202");
    assert_eq!(q["staff"], "dr.otto.brandt");
    assert_eq!(strs(&q["parties"]), ["Bea Lockwood"]);
    assert_eq!(
        q["notes"],
        "via queue 400; CDR: ANSWERED, duration 95 s, billed 80 s"
    );
    assert_eq!(q["codec"], "mp3");
    // 999 from extension 202.
    let em = &s[&n("emergency")];
    assert_eq!(em["direction"], "outbound");
    assert_eq!(em["external_number"], "999");
    assert_eq!(em["extension"], "202");
    assert_eq!(em["staff"], "dr.otto.brandt");
    assert_eq!(em["started_at"], "2025-06-02T16:00:00Z");
    // The autumn overlap: the choice is in the notes.
    let ae = &s[&n("autumn_earlier")];
    assert_eq!(ae["started_at"], "2025-10-26T00:30:00Z");
    let notes = ae["notes"].as_str().unwrap();
    assert!(
        notes.starts_with("time ambiguous (clocks went back): earlier instant taken"),
        "{notes}"
    );
    let al = &s[&n("autumn_later")];
    assert_eq!(al["started_at"], "2025-10-26T01:30:00Z");
    let notes = al["notes"].as_str().unwrap();
    assert!(
        notes.starts_with("time ambiguous (clocks went back): later instant taken"),
        "{notes}"
    );
    assert!(notes.contains("uniqueid"), "{notes}");

    // Visibility follows the mapping: 202 sees its calls and the internal one it was party to.
    let otto: Vec<String> = d
        .cmd(CLIN2, &["search", "--json"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source_name"].as_str().unwrap().to_string())
        .collect();
    for k in ["gsm", "alaw", "internal", "queue", "emergency"] {
        assert!(
            otto.contains(&n(k)),
            "dr.otto.brandt should see {k}: {otto:?}"
        );
    }
    assert_eq!(otto.len(), 5, "{otto:?}");

    // Again: everything that imported is now a duplicate; nothing new.
    let again = imp(
        &d,
        &[
            "import",
            f.dir.to_str().unwrap(),
            "--cdr",
            f.cdr.to_str().unwrap(),
            "--json",
        ],
    );
    let again = again.json();
    assert_eq!(again["imported"].as_array().unwrap().len(), 0);
    assert_eq!(again["duplicates"].as_array().unwrap().len(), 10);
    d.cmd(ADMIN, &["verify"]).ok();
    d.cmd(ADMIN, &["audit", "verify"]).ok();
}

#[test]
fn dry_run_shows_how_each_file_is_understood_and_writes_nothing() {
    let env = Env::new();
    let d = env.device("pc1");
    let f = freepbx_folder(&env);
    let n = |k: &str| f.names[k].clone();
    let out = imp(
        &d,
        &[
            "import",
            f.dir.to_str().unwrap(),
            "--cdr",
            f.cdr.to_str().unwrap(),
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let rep = out.json();
    assert_eq!(rep["dry_run"], true);
    assert_eq!(rep["imported"].as_array().unwrap().len(), 0);
    let u: BTreeMap<String, Value> = rep["understood"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["file"].as_str().unwrap().to_string(), r.clone()))
        .collect();
    // Every file the import would take is described, including the one that is not audio.
    assert_eq!(u.len(), 11, "{:#?}", u.keys());
    let a = &u[&n("in_a")];
    assert_eq!(a["layout"], "freepbx");
    assert_eq!(a["local_time"], "2025-03-27 09:25:17");
    assert_eq!(a["tz"], "Europe/London");
    assert_eq!(a["started_at"], "2025-03-27T09:25:17Z");
    assert_eq!(a["dst"], "GMT (UTC+00:00)");
    assert_eq!(a["direction"], "inbound");
    assert_eq!(a["direction_assumed"], false);
    assert_eq!(a["from"], "07700900123");
    assert_eq!(a["to"], "01632960000");
    assert_eq!(a["external_number"], "07700900123");
    assert_eq!(a["extension"], "201");
    assert_eq!(a["mapped_user"], "dr.cleo.finch");
    assert_eq!(a["metadata"]["matched_by"], "recordingfile");
    assert_eq!(a["metadata"]["fields"]["dstchannel"], "PJSIP/201-0000002a");
    assert_eq!(a["outcome"], "import");
    assert!(a["audio"]
        .as_str()
        .unwrap()
        .starts_with("pcm_mulaw 8000 Hz 1 ch 3.0 s"));
    let g = &u[&n("gsm")];
    assert_eq!(g["dst"], "BST (UTC+01:00)");
    assert_eq!(g["started_at"], "2025-06-02T09:00:00Z");
    assert_eq!(g["metadata"]["matched_by"], "uniqueid");
    assert!(g["format_hint"].as_str().unwrap().contains("WAV49"));
    assert!(g["audio"].as_str().unwrap().starts_with("gsm_ms"));
    assert_eq!(g["mapped_user"], "dr.otto.brandt");
    let e = &u[&n("ext203")];
    assert_eq!(e["mapped_user"], Value::Null);
    let i = &u[&n("internal")];
    assert_eq!(strs(&i["party_users"]), ["dr.otto.brandt"]);
    let ae = &u[&n("autumn_earlier")];
    assert_eq!(ae["local_time"], "2025-10-26 01:30:00");
    assert!(ae["dst"]
        .as_str()
        .unwrap()
        .starts_with("ambiguous (clocks went back): earlier instant taken, BST (UTC+01:00)"));
    assert!(ae["remarks"][0].as_str().unwrap().starts_with("no row in"));
    let al = &u[&n("autumn_later")];
    assert!(al["dst"]
        .as_str()
        .unwrap()
        .starts_with("ambiguous (clocks went back): later instant taken, GMT (UTC+00:00)"));
    assert!(u[&n("not_audio")]["outcome"]
        .as_str()
        .unwrap()
        .starts_with("reject: "));
    assert_eq!(rep["unassigned"], 3);
    // Nothing stored.
    assert_eq!(stored(&d).len(), 0);
    // The human form says the same.
    let text = imp(
        &d,
        &[
            "import",
            f.dir.to_str().unwrap(),
            "--cdr",
            f.cdr.to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(text.stdout.contains(&n("in_a")), "{}", text.stdout);
    assert!(text.stdout.contains(
        "freepbx: 2025-03-27 09:25:17 Europe/London = 2025-03-27T09:25:17Z (GMT (UTC+00:00))"
    ));
    assert!(text.stdout.contains("-> dr.cleo.finch"));
    assert!(text.stdout.contains("-> unassigned"));
    assert!(
        text.stdout.contains(
            "dry run: would import 10 (3 unassigned), duplicates 0, rejected 13; nothing written"
        ),
        "{}",
        text.stdout
    );
    assert_eq!(stored(&d).len(), 0);
    // After a real import, the dry run names the duplicates.
    imp(
        &d,
        &[
            "import",
            f.dir.to_str().unwrap(),
            "--cdr",
            f.cdr.to_str().unwrap(),
        ],
    );
    let rep = imp(
        &d,
        &["import", f.dir.to_str().unwrap(), "--dry-run", "--json"],
    )
    .json();
    let a = rep["understood"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == n("in_a"))
        .unwrap()
        .clone();
    assert!(a["outcome"].as_str().unwrap().starts_with("duplicate of "));
    assert_eq!(a["mapped_user"], Value::Null, "without the CDR, unassigned");
}

// ---- 3CX ----

#[test]
fn threecx_folder() {
    let env = Env::new();
    let d = env.device("pc1");
    let dir = env.path("3CX/Data/Recordings");
    // The issue's examples (extension 100: nobody's), then calls of 201 and 202 in summer.
    let files = [
        ("100/[]_100-0836826436_20190211124709(2).wav", ulaw(2, 21)),
        (
            "100/[Jane Doe]_07700900123-100_20190211124743(3).wav",
            alaw(2, 22),
        ),
        (
            "201/[Owen Pritchard]_07700900200-201_20190611093000(4).wav",
            ulaw(2, 23),
        ),
        (
            "201/[]_201-07700900201_20190211150000(5).wav",
            wav_pcm16(8000, &pcm(2, 24)),
        ),
        (
            "202/[Dr Cleo Finch]_201-202_20190612111500(6).wav",
            ulaw(2, 25),
        ),
        ("202/[]_202-999_20190612120000(7).wav", ulaw(2, 26)),
        // Bad: no ']', no sequence, a time that is not one.
        (
            "100/[Jane Doe_07700900123-100_20190211124743(3).wav",
            ulaw(1, 27),
        ),
        (
            "100/[Jane Doe]_07700900123-100_20190211124743.wav",
            ulaw(1, 28),
        ),
        (
            "100/[Jane Doe]_07700900123-100_2019021112474(9).wav",
            ulaw(1, 29),
        ),
        // Spring gap: 31 March 2019 01:30 did not happen in London.
        ("100/[]_07700900202-100_20190331013000(10).wav", ulaw(1, 30)),
    ];
    for (rel, bytes) in &files {
        put(&dir, rel, bytes);
    }
    let out = d.cmd(
        ADMIN,
        &["import", dir.to_str().unwrap(), "--layout", "3cx", "--json"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let rep = out.json();
    assert_eq!(imported_files(&rep).len(), 6, "{}", out.stdout);
    let rej = rejected(&rep);
    assert_reason(&rej, files[6].0, "no ]_ after the name");
    assert_reason(&rej, files[7].0, "no (<n>) before the extension");
    assert_reason(&rej, files[8].0, "not a time YYYYMMDDHHMMSS");
    assert_reason(&rej, files[9].0, "does not exist");
    assert_eq!(rej.len(), 4);
    assert_eq!(rep["unassigned"], 2, "extension 100 is nobody's");
    let s = stored(&d);
    let r = &s[files[0].0];
    assert_eq!(r["started_at"], "2019-02-11T12:47:09Z");
    assert_eq!(r["direction"], "outbound");
    assert_eq!(r["extension"], "100");
    assert_eq!(r["external_number"], "0836826436");
    assert_eq!(r["staff"], Value::Null);
    assert_eq!(r["parties"], serde_json::json!([]));
    let r = &s[files[1].0];
    assert_eq!(r["started_at"], "2019-02-11T12:47:43Z");
    assert_eq!(r["direction"], "inbound");
    assert_eq!(r["extension"], "100");
    assert_eq!(r["external_number"], "07700900123");
    assert_eq!(strs(&r["parties"]), ["Jane Doe"]);
    assert_eq!(r["staff"], Value::Null);
    let r = &s[files[2].0];
    assert_eq!(r["started_at"], "2019-06-11T08:30:00Z", "BST");
    assert_eq!(r["direction"], "inbound");
    assert_eq!(r["external_number"], "07700900200");
    assert_eq!(r["staff"], "dr.cleo.finch");
    assert_eq!(strs(&r["parties"]), ["Owen Pritchard"]);
    let r = &s[files[3].0];
    assert_eq!(r["started_at"], "2019-02-11T15:00:00Z", "GMT");
    assert_eq!(r["direction"], "outbound");
    assert_eq!(r["external_number"], "07700900201");
    assert_eq!(r["staff"], "dr.cleo.finch");
    let r = &s[files[4].0];
    assert_eq!(r["started_at"], "2019-06-12T10:15:00Z");
    assert_eq!(r["direction"], "internal");
    assert_eq!(r["staff"], "dr.cleo.finch");
    assert_eq!(strs(&r["parties"]), ["202", "Dr Cleo Finch"]);
    let r = &s[files[5].0];
    assert_eq!(r["direction"], "outbound");
    assert_eq!(r["external_number"], "999");
    assert_eq!(r["staff"], "dr.otto.brandt");

    // --tz: the same names read as UTC give other instants (in a fresh archive).
    let env2 = Env::new();
    let d2 = env2.device("pc1");
    let out = d2.cmd(
        ADMIN,
        &["import", dir.to_str().unwrap(), "--tz", "UTC", "--json"],
    );
    assert_eq!(out.code, 3);
    let s2 = stored(&d2);
    assert_eq!(s2[files[2].0]["started_at"], "2019-06-11T09:30:00Z");
    assert_eq!(
        s2[files[9].0]["started_at"], "2019-03-31T01:30:00Z",
        "no gap in UTC"
    );
    let bad = d2.cmd(
        ADMIN,
        &["import", dir.to_str().unwrap(), "--tz", "Mars/Olympus"],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--tz Mars/Olympus"));
}

// ---- Oreka ----

#[test]
fn oreka_folder_with_and_without_metadata() {
    let env = Env::new();
    let d = env.device("pc1");
    let dir = env.path("oreka/audio");
    let a = "2025/03/27/09/20250327_092517_0A1B.wav";
    let b = "2025/06/02/10/20250602_101500_0A1C.wav";
    let c = "2025/06/02/11/20250602_113000_0A1D.wav";
    let wrong_hour = "2025/06/02/12/20250602_130000_0A1E.wav";
    put(&dir, a, &alaw(2, 31));
    put(&dir, b, &wav_pcm16(8000, &pcm(2, 32)));
    put(&dir, c, &gsm_wav(&env, 2, 33));
    put(&dir, wrong_hour, &ulaw(1, 34));
    put(
        &dir,
        "2025/06/02/13/20250602_130000_0A 1E.wav",
        &ulaw(1, 35),
    );
    let meta = env.path("oreka-tapes.csv");
    std::fs::write(
        &meta,
        format!(
            "id,timestamp,duration,filename,localparty,localentrypoint,remoteparty,direction\n\
             7,2025-06-02 10:15:00,12,{b},202,01632960000,07700900300,OUT\n\
             8,2025-06-02 11:30:00,30,{},201,01632960000,07700900301,in\n\
             9,2025-06-02 11:31:00,30,../../etc/passwd,201,,07700900302,in\n",
            c.rsplit('/').next().unwrap()
        ),
    )
    .unwrap();
    // Without metadata: time only, inbound assumed and said.
    let out = d.cmd(
        ADMIN,
        &["import", dir.to_str().unwrap(), "--dry-run", "--json"],
    );
    let rep = out.json();
    let u = rep["understood"].as_array().unwrap();
    assert_eq!(u.len(), 3, "{}", out.stdout);
    assert!(u
        .iter()
        .all(|r| r["layout"] == "oreka" && r["direction_assumed"] == true));
    // With it.
    let out = d.cmd(
        ADMIN,
        &[
            "import",
            dir.to_str().unwrap(),
            "--layout",
            "oreka",
            "--cdr",
            meta.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let rep = out.json();
    assert_eq!(imported_files(&rep), [a, b, c]);
    let rej = rejected(&rep);
    assert_reason(
        &rej,
        wrong_hour,
        "in folder 2025/06/02/12 but its name says 2025/06/02/13",
    );
    assert_reason(
        &rej,
        "2025/06/02/13/20250602_130000_0A 1E.wav",
        "not a capture port",
    );
    let line = format!("{} line 4", meta.display());
    assert_reason(&rej, &line, "must be a path inside the import folder");
    assert_eq!(rej.len(), 3, "{rej:#?}");
    let s = stored(&d);
    let r = &s[a];
    assert_eq!(r["started_at"], "2025-03-27T09:25:17Z");
    assert_eq!(r["direction"], "inbound");
    assert_eq!(r["staff"], Value::Null);
    assert_eq!(r["external_number"], Value::Null);
    assert!(r["notes"]
        .as_str()
        .unwrap()
        .starts_with("direction unknown (an Oreka file name holds only the time and capture port): recorded as inbound"));
    assert_eq!(r["codec"], "pcm_alaw");
    let r = &s[b];
    assert_eq!(r["started_at"], "2025-06-02T09:15:00Z");
    assert_eq!(r["direction"], "outbound");
    assert_eq!(r["extension"], "202");
    assert_eq!(r["staff"], "dr.otto.brandt");
    assert_eq!(r["external_number"], "07700900300");
    assert_eq!(r["notes"], "dialled 01632960000; Oreka: duration 12 s");
    let r = &s[c];
    assert_eq!(r["started_at"], "2025-06-02T10:30:00Z");
    assert_eq!(r["direction"], "inbound");
    assert_eq!(r["staff"], "dr.cleo.finch", "matched by bare file name");
    assert_eq!(r["codec"], "gsm_ms");
}

// ---- Sidecars ----

#[test]
fn sidecar_folder() {
    let env = Env::new();
    let d = env.device("pc1");
    let dir = env.path("exported");
    put(&dir, "2025-05/call-0001.mp3", &mp3(&env, 3, 41));
    put(
        &dir,
        "2025-05/call-0001.mp3.json",
        br#"{"started_at": "2025-05-01T09:05:00", "direction": "inbound", "extension": 202,
            "external_number": "+44 7700 900401", "parties": ["Idris Fenn"], "notes": "repeat prescription"}"#,
    );
    put(&dir, "2025-05/call-0002.wav", &ulaw(2, 42));
    put(
        &dir,
        "2025-05/call-0002.wav.json",
        br#"{"file": "call-0002.wav", "started_at": "2025-10-26 01:15", "direction": "outbound",
            "staff": "dr.cleo.finch", "external_number": "01632 960402", "parties": "Nora Ashdown; Maisie Thorne"}"#,
    );
    put(&dir, "2025-05/call-0003.wav", &ulaw(2, 43));
    put(
        &dir,
        "2025-05/call-0003.wav.json",
        br#"{"started_at": "2025-05-03T10:00:00+01:00", "direction": "inbound", "extention": "201"}"#,
    );
    put(
        &dir,
        "2025-05/ghost.wav.json",
        br#"{"started_at": "2025-05-04T10:00:00", "direction": "inbound"}"#,
    );
    put(&dir, "2025-05/call-0005.wav", &ulaw(2, 45));
    put(&dir, "2025-05/call-0005.wav.json", br#"{"file": "../call-0005.wav", "started_at": "2025-05-05T10:00:00", "direction": "inbound"}"#);
    put(&dir, "2025-05/call-0006.wav", &ulaw(2, 46));
    put(&dir, "2025-05/call-0006.wav.json", b"{not json");
    put(&dir, "2025-05/call-0007.wav", &ulaw(2, 47));
    put(
        &dir,
        "2025-05/call-0007.wav.json",
        br#"{"started_at": "2025-05-07T10:00:00", "direction": "sideways"}"#,
    );
    let out = d.cmd(ADMIN, &["import", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let rep = out.json();
    assert_eq!(
        imported_files(&rep),
        ["2025-05/call-0001.mp3", "2025-05/call-0002.wav"]
    );
    let rej = rejected(&rep);
    assert_reason(&rej, "2025-05/call-0003.wav", "unknown field `extention`");
    assert_reason(
        &rej,
        "2025-05/ghost.wav.json",
        "whose audio file 2025-05/ghost.wav is not in the folder",
    );
    assert_reason(
        &rej,
        "2025-05/call-0005.wav",
        "field 'file' names '../call-0005.wav'",
    );
    assert_reason(
        &rej,
        "2025-05/call-0006.wav",
        "sidecar call-0006.wav.json: not valid",
    );
    assert_reason(&rej, "2025-05/call-0007.wav", "field 'direction'");
    assert_eq!(rej.len(), 5, "{rej:#?}");
    let s = stored(&d);
    let r = &s["2025-05/call-0001.mp3"];
    assert_eq!(r["started_at"], "2025-05-01T08:05:00Z");
    assert_eq!(r["direction"], "inbound");
    assert_eq!(r["staff"], "dr.otto.brandt");
    assert_eq!(r["external_number"], "+44 7700 900401");
    assert_eq!(strs(&r["parties"]), ["Idris Fenn"]);
    assert_eq!(r["notes"], "repeat prescription");
    assert_eq!(r["codec"], "mp3");
    let r = &s["2025-05/call-0002.wav"];
    assert_eq!(r["started_at"], "2025-10-26T00:15:00Z", "earlier instant");
    assert!(r["notes"]
        .as_str()
        .unwrap()
        .starts_with("time ambiguous (clocks went back): earlier instant taken"));
    assert_eq!(r["direction"], "outbound");
    assert_eq!(r["staff"], "dr.cleo.finch");
    assert_eq!(strs(&r["parties"]), ["Nora Ashdown", "Maisie Thorne"]);
    // The number matches however it is written.
    let found = d
        .cmd(SUPER, &["search", "--number", "07700900401", "--json"])
        .ok()
        .json();
    assert_eq!(found.as_array().unwrap().len(), 1);
}

// ---- auto-detection, csv, usage ----

#[test]
fn auto_detects_each_file_and_csv_stays_as_it_was() {
    let env = Env::new();
    let d = env.device("pc1");
    let dir = env.path("mixed");
    put(&dir, IN_A, &ulaw(2, 51));
    put(
        &dir,
        "3cx/[]_201-07700900501_20250327110000(1).wav",
        &ulaw(2, 52),
    );
    put(
        &dir,
        "oreka/2025/03/27/12/20250327_120000_P1.wav",
        &ulaw(2, 53),
    );
    put(&dir, "side/x.wav", &ulaw(2, 54));
    put(
        &dir,
        "side/x.wav.json",
        br#"{"started_at": "2025-03-27T13:00:00", "direction": "internal", "extension": "202"}"#,
    );
    let rep = d
        .cmd(
            ADMIN,
            &["import", dir.to_str().unwrap(), "--dry-run", "--json"],
        )
        .ok()
        .json();
    let layouts: BTreeMap<String, String> = rep["understood"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["layout"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(layouts[IN_A], "freepbx");
    assert_eq!(
        layouts["3cx/[]_201-07700900501_20250327110000(1).wav"],
        "3cx"
    );
    assert_eq!(
        layouts["oreka/2025/03/27/12/20250327_120000_P1.wav"],
        "oreka"
    );
    assert_eq!(layouts["side/x.wav"], "sidecar");
    // Forcing a layout reads every file that way.
    let out = d.cmd(
        ADMIN,
        &[
            "import",
            dir.to_str().unwrap(),
            "--layout",
            "3cx",
            "--dry-run",
            "--json",
        ],
    );
    let rej = rejected(&out.json());
    assert_reason(&rej, IN_A, "not a 3CX recording name");
    assert_reason(&rej, "side/x.wav.json", "the 3cx layout was forced");
    // Usage errors.
    let bad = d.cmd(
        ADMIN,
        &["import", dir.to_str().unwrap(), "--layout", "avaya"],
    );
    assert_eq!(bad.code, 2);
    assert!(bad
        .stderr
        .contains("use auto, freepbx, 3cx, oreka, sidecar or csv"));
    let bad = d.cmd(
        ADMIN,
        &[
            "import",
            dir.to_str().unwrap(),
            "--layout",
            "3cx",
            "--cdr",
            "/nonexistent.csv",
        ],
    );
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("--cdr is not used by the 3cx layout"),
        "{}",
        bad.stderr
    );
    // A manifest in the folder: today's CSV import, whatever else is there.
    let mut fx = Fixture::new(env.path("csvdir"));
    fx.add(
        "a.wav",
        &ulaw(2, 55),
        "2025-03-27T09:25:17,inbound,,201,07700 900123,Harriet Vale,",
    );
    fx.write_manifest();
    let rep = d
        .cmd(ADMIN, &["import", fx.dir.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(imported_files(&rep), ["a.wav"]);
    let s = stored(&d);
    assert_eq!(s["a.wav"]["staff"], "dr.cleo.finch");
    assert_eq!(s["a.wav"]["started_at"], "2025-03-27T09:25:17Z");
    let rep = d
        .cmd(
            ADMIN,
            &[
                "import",
                fx.dir.to_str().unwrap(),
                "--layout",
                "csv",
                "--json",
            ],
        )
        .json();
    assert_eq!(rep["duplicates"].as_array().unwrap().len(), 1);
    // The real import of the mixed folder, then the text summary.
    let out = d.cmd(ADMIN, &["import", dir.to_str().unwrap()]).ok();
    assert!(
        out.stdout
            .starts_with("imported 4, duplicates 0, rejected 0, unassigned 2"),
        "{}",
        out.stdout
    );
}
