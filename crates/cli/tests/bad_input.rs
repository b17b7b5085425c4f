//! Hostile and broken input, through the real `callvault` binary: damaged, truncated, empty and
//! fake audio; huge metadata fields; invalid UTF-8 in manifests and file names; names that leave the
//! import folder or name a device; clocks set to 1900 or 2200; a folder that is no archive; an
//! archive of a newer format version. Each must be refused with a message naming the file, line,
//! field or folder, exit non-zero, panic nowhere, and change nothing already stored (the archive's
//! files are compared before and after, and `verify` still passes).

mod common;

use callvault_testkit::demo::wav_pcm16;
use common::*;
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Nothing stored before changed or went; nothing was added but audit files and logon markers.
fn unchanged(case: &str, before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    for (k, v) in before {
        assert_eq!(after.get(k), Some(v), "{case}: {k} changed or went");
    }
    for k in after.keys().filter(|k| !before.contains_key(*k)) {
        assert!(
            k.starts_with("audit/") || k.starts_with("auth/"),
            "{case}: {k} was added"
        );
    }
}

fn no_panic(case: &str, o: &Out) {
    assert!(
        !o.stderr.contains("panicked at") && !o.stdout.contains("panicked at"),
        "{case}: panicked\n{}",
        o.stderr
    );
}

const HEADER: &str = "file,started_at,direction,staff,extension,external_number,parties,notes\n";

struct Case {
    name: &'static str,
    /// Files in the import folder: (name as bytes, contents).
    files: Vec<(Vec<u8>, Vec<u8>)>,
    /// Arguments after `import DIR`.
    args: Vec<String>,
    /// What the error must say (every one of them).
    expect: Vec<String>,
}

fn wav() -> Vec<u8> {
    wav_pcm16(8000, &pcm(1, 77))
}

fn manifest(rows: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (b"manifest.csv".to_vec(), [HEADER.as_bytes(), rows].concat())
}

fn file(name: &str, bytes: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    (name.as_bytes().to_vec(), bytes)
}

fn cases() -> Vec<Case> {
    let ok_row = |f: &str| format!("{f},2025-05-01T10:00:00,inbound,,201,07700 900111,Pat,\n");
    let one = |name: &'static str, f: &str, bytes: Vec<u8>, expect: &[&str]| Case {
        name,
        files: vec![file(f, bytes), manifest(ok_row(f).as_bytes())],
        args: vec![],
        expect: expect.iter().map(|s| s.to_string()).collect(),
    };
    let row = |name: &'static str, files: Vec<(Vec<u8>, Vec<u8>)>, rows: &[u8], expect: &[&str]| {
        let mut files = files;
        files.push(manifest(rows));
        Case {
            name,
            files,
            args: vec![],
            expect: expect.iter().map(|s| s.to_string()).collect(),
        }
    };
    let auto = |name: &'static str, files: Vec<(Vec<u8>, Vec<u8>)>, expect: &[&str]| Case {
        name,
        files,
        args: vec!["--layout".into(), "auto".into()],
        expect: expect.iter().map(|s| s.to_string()).collect(),
    };
    let w = wav();
    let mut corrupt = w[..44].to_vec();
    corrupt.extend((0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    corrupt[20] = 0x77; // an unknown WAVE format tag
    let future = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let huge = "P".repeat(1 << 20);
    vec![
        one("zero-length file", "empty.wav", vec![], &["empty.wav"]),
        one("truncated WAV (header cut)", "cut.wav", w[..30].to_vec(), &["cut.wav"]),
        one("corrupt WAV (unknown format, noise)", "corrupt.wav", corrupt, &["corrupt.wav"]),
        one("text with a .wav name", "notes.wav", b"Dear practice, ...\n".to_vec(), &["notes.wav"]),
        one("PNG with a .mp3 name", "pic.mp3", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), &["pic.mp3"]),
        one("zeros with a .gsm name", "zeros.gsm", vec![0; 330], &["zeros.gsm"]),
        row(
            "1 MB party name in the manifest",
            vec![file("a.wav", w.clone())],
            format!("a.wav,2025-05-01T10:00:00,inbound,,201,07700 900111,{huge},\n").as_bytes(),
            &["a.wav", "parties", "longer than"],
        ),
        auto(
            "1 MB notes in a sidecar",
            vec![
                file("b.wav", w.clone()),
                file(
                    "b.wav.json",
                    format!(r#"{{"started_at":"2025-05-01T10:00:00","direction":"inbound","notes":"{huge}"}}"#)
                        .into_bytes(),
                ),
            ],
            &["b.wav", "larger than"],
        ),
        row(
            "invalid UTF-8 in a manifest field",
            vec![file("a.wav", w.clone())],
            b"a.wav,2025-05-01T10:00:00,inbound,,201,07700 900111,Pat \xff\xfe,\n",
            &["manifest.csv", "line 2"],
        ),
        auto(
            "invalid UTF-8 in a file name",
            vec![(b"in-01632960000-07700900123-20250327-092517-1743067517.1\xff.wav".to_vec(), w.clone())],
            &["not valid UTF-8"],
        ),
        row(
            "../ in the manifest",
            vec![file("a.wav", w.clone())],
            ok_row("../a.wav").as_bytes(),
            &["../a.wav", "inside the import folder"],
        ),
        row(
            "absolute path in the manifest",
            vec![file("a.wav", w.clone())],
            ok_row("/etc/hostname").as_bytes(),
            &["/etc/hostname", "inside the import folder"],
        ),
        row(
            "NUL in the manifest's file name",
            vec![file("a.wav", w.clone())],
            ok_row("a\0.wav").as_bytes(),
            &["line 2", "control character"],
        ),
        row(
            "CON.wav in the manifest",
            vec![file("CON.wav", w.clone())],
            ok_row("CON.wav").as_bytes(),
            &["CON.wav", "device name"],
        ),
        row(
            "aux.wav in the manifest",
            vec![file("sub/aux.wav", w.clone())],
            ok_row("sub/aux.wav").as_bytes(),
            &["sub/aux.wav", "device name"],
        ),
        row(
            "COM1.wav in the manifest",
            vec![file("COM1.wav", w.clone())],
            ok_row("COM1.wav").as_bytes(),
            &["COM1.wav", "device name"],
        ),
        row(
            "trailing dot in the manifest",
            vec![file("x.wav.", w.clone())],
            ok_row("x.wav.").as_bytes(),
            &["x.wav.", "ends in a dot"],
        ),
        row(
            "trailing space in a folder name",
            vec![file("sub /x.wav", w.clone())],
            ok_row("sub /x.wav").as_bytes(),
            &["sub /x.wav", "ends in a dot or a space"],
        ),
        auto(
            "sidecar naming another file (../)",
            vec![
                file("c.wav", w.clone()),
                file(
                    "c.wav.json",
                    br#"{"file":"../c.wav","started_at":"2025-05-01T10:00:00","direction":"inbound"}"#.to_vec(),
                ),
            ],
            &["c.wav", "field 'file'"],
        ),
        row(
            "year 1900 in the manifest",
            vec![file("a.wav", w.clone())],
            b"a.wav,1900-01-01T10:00:00,inbound,,201,07700 900111,Pat,\n",
            &["a.wav", "started_at", "before 1990"],
        ),
        row(
            "year 2200 in the manifest",
            vec![file("a.wav", w.clone())],
            b"a.wav,2200-01-01T10:00:00Z,inbound,,201,07700 900111,Pat,\n",
            &["a.wav", "started_at", "in the future"],
        ),
        row(
            "a month ahead in the manifest",
            vec![file("a.wav", w.clone())],
            format!("a.wav,{future},inbound,,201,07700 900111,Pat,\n").as_bytes(),
            &["a.wav", "in the future"],
        ),
        auto(
            "year 1900 in a FreePBX name",
            vec![file("in-01632960000-07700900123-19000101-092517-1.2.wav", w.clone())],
            &["19000101", "before 1990"],
        ),
        auto(
            "year 2200 in a 3CX name",
            vec![file("[Jane]_07700900123-201_22000101120000(3).wav", w.clone())],
            &["22000101120000", "in the future"],
        ),
        auto(
            "year 1900 in a sidecar",
            vec![
                file("d.wav", w.clone()),
                file(
                    "d.wav.json",
                    br#"{"started_at":"1900-05-01T10:00:00Z","direction":"inbound"}"#.to_vec(),
                ),
            ],
            &["d.wav", "before 1990"],
        ),
    ]
}

#[test]
fn hostile_input_is_refused_clearly_and_changes_nothing() {
    let t0 = std::time::Instant::now();
    let env = Env::new();
    let d = env.device("pc1");
    // Something already stored.
    let mut f = Fixture::new(env.path("seed"));
    f.add(
        "s.wav",
        &wav_pcm16(8000, &pcm(1, 5)),
        "2025-04-01T10:00:00,inbound,,201,07700 900100,Sam,",
    );
    f.write_manifest();
    d.cmd(ADMIN, &["import", f.dir.to_str().unwrap()]).ok();
    let mut tried = 0;
    for (i, c) in cases().into_iter().enumerate() {
        let dir = env.path(&format!("bad{i}/in"));
        std::fs::create_dir_all(&dir).unwrap();
        // A file beside the folder, for ../ to reach.
        std::fs::write(dir.parent().unwrap().join("a.wav"), wav()).unwrap();
        for (name, bytes) in &c.files {
            let p = dir.join(std::ffi::OsStr::from_bytes(name));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        let before = snapshot(&env.archive);
        let mut args = vec!["import".to_string(), dir.to_string_lossy().into_owned()];
        args.extend(c.args.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = d.cmd(ADMIN, &args);
        no_panic(c.name, &out);
        assert_ne!(out.code, 0, "{}: accepted\n{}", c.name, out.stdout);
        for e in &c.expect {
            assert!(
                out.stderr.contains(e.as_str()),
                "{}: the error does not say '{e}':\n{}",
                c.name,
                out.stderr.chars().take(2000).collect::<String>()
            );
        }
        assert!(
            out.stdout.contains("imported 0,"),
            "{}: {}",
            c.name,
            out.stdout
        );
        unchanged(c.name, &before, &snapshot(&env.archive));
        tried += 1;
    }
    d.cmd(ADMIN, &["verify"]).ok();
    let n = d.cmd(ADMIN, &["search", "--json"]).ok().json();
    assert_eq!(
        n.as_array().unwrap().len(),
        1,
        "only the first call is stored"
    );

    // Folders that are not archives, and an archive of a newer format version.
    let empty = env.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let random = env.path("random");
    std::fs::create_dir_all(random.join("photos")).unwrap();
    std::fs::write(random.join("notes.txt"), "hello").unwrap();
    std::fs::write(random.join("archive.json"), "{\"not\": \"ours\"}").unwrap();
    let a_file = env.path("a-file");
    std::fs::write(&a_file, "not a folder").unwrap();
    let missing = env.path("no-such-folder");
    let wrong: [(&str, &Path, &[&str]); 4] = [
        ("an empty folder", &empty, &["archive.json missing"]),
        (
            "a folder of other files",
            &random,
            &["archive.json", "not a Callvault archive"],
        ),
        ("a file, not a folder", &a_file, &["a-file"]),
        (
            "a folder that does not exist",
            &missing,
            &["no-such-folder"],
        ),
    ];
    for (what, p, expect) in wrong {
        let before = snapshot_any(p);
        let mut dev = env.device("other");
        dev.archive = p.to_path_buf();
        for cmd in [&["verify"][..], &["search"][..]] {
            let out = dev.cmd(ADMIN, cmd);
            no_panic(what, &out);
            assert_ne!(out.code, 0, "{what}: {cmd:?} succeeded");
            for e in expect {
                assert!(
                    out.stderr.contains(e),
                    "{what}: {cmd:?} does not say '{e}': {}",
                    out.stderr
                );
            }
        }
        assert_eq!(before, snapshot_any(p), "{what}: changed");
        tried += 1;
    }
    // A newer format version: a device that never saw the archive refuses it naming the file and
    // both versions; the device that pinned version 1 keeps its pinned copy and verify says so.
    let json = env.archive.join("archive.json");
    let orig = std::fs::read_to_string(&json).unwrap();
    let newer = orig.replacen("\"v\": 1", "\"v\": 2", 1);
    assert_ne!(newer, orig);
    std::fs::write(&json, &newer).unwrap();
    let before = snapshot(&env.archive);
    let out = env.device("new-pc").cmd(ADMIN, &["search"]);
    no_panic("newer version", &out);
    assert_ne!(out.code, 0);
    for e in ["archive.json", "2", "1"] {
        assert!(out.stderr.contains(e), "newer version: {}", out.stderr);
    }
    assert!(out.stderr.contains("version"), "{}", out.stderr);
    let out = d.cmd(ADMIN, &["verify"]);
    no_panic("newer version, pinned", &out);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("archive.json"), "{}", out.stderr);
    unchanged("newer version", &before, &snapshot(&env.archive));
    std::fs::write(&json, &orig).unwrap();
    d.cmd(ADMIN, &["verify"]).ok();
    tried += 2;
    eprintln!(
        "bad input: {tried} cases, all refused clearly ({:.0} s)",
        t0.elapsed().as_secs_f64()
    );
}

fn snapshot_any(p: &Path) -> BTreeMap<String, Vec<u8>> {
    if p.is_dir() {
        snapshot(p)
    } else {
        std::fs::read(p)
            .map(|b| BTreeMap::from([(String::new(), b)]))
            .unwrap_or_default()
    }
}
