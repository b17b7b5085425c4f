//! Test scaffolding: each test gets its own temp archive folder and app-data folder ("device"), and
//! drives the real `callvault` binary as a user would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_callvault");

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub archive: PathBuf,
}

/// One device: an app-data folder (XDG_DATA_HOME) over the shared archive.
#[derive(Clone)]
pub struct Device {
    pub archive: PathBuf,
    pub data: PathBuf,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl From<Output> for Out {
    fn from(o: Output) -> Self {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub const ADMIN: (&str, &str) = ("ada.admin", "admin-pass-123");
pub const SUPER: (&str, &str) = ("sam.super", "super-pass-123");
pub const CLIN: (&str, &str) = ("dr.cleo.finch", "clin-pass-123");
pub const CLIN2: (&str, &str) = ("dr.otto.brandt", "clin2-pass-123");

impl Env {
    /// A new archive with an admin (admin + data-controller), a supervisor, and two clinicians on
    /// extensions 201 and 202. Cheap password hashing (`--kdf fast`).
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("share").join("archive");
        let env = Env { tmp, archive };
        let d = env.device("pc1");
        d.cmd_new(
            None,
            ADMIN.1,
            &["init", "--admin", ADMIN.0, "--kdf", "fast"],
        )
        .ok();
        d.cmd_new(
            Some(ADMIN),
            SUPER.1,
            &["user", "add", SUPER.0, "--role", "supervisor,approver"],
        )
        .ok();
        d.cmd_new(
            Some(ADMIN),
            CLIN.1,
            &[
                "user",
                "add",
                CLIN.0,
                "--role",
                "clinician",
                "--telephony-id",
                "201",
            ],
        )
        .ok();
        d.cmd_new(
            Some(ADMIN),
            CLIN2.1,
            &[
                "user",
                "add",
                CLIN2.0,
                "--role",
                "clinician",
                "--telephony-id",
                "202",
            ],
        )
        .ok();
        env
    }

    pub fn device(&self, name: &str) -> Device {
        Device {
            archive: self.archive.clone(),
            data: self.tmp.path().join("devices").join(name),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
}

impl Device {
    pub fn command(&self, user: Option<(&str, &str)>, args: &[&str]) -> Command {
        // Run inside the device's temp folder, so anything written to the working directory (a
        // certificate without --certificate-dir) stays out of the source tree.
        std::fs::create_dir_all(&self.data).unwrap();
        let mut c = Command::new(BIN);
        c.current_dir(&self.data)
            .args(args)
            .env_remove("CALLVAULT_DATA_DIR")
            .env_remove("CALLVAULT_NEW_PASSWORD")
            .env_remove("CALLVAULT_RECOVERY_CODE")
            .env("XDG_DATA_HOME", &self.data)
            .env("HOME", &self.data)
            .env("CALLVAULT_ARCHIVE", &self.archive)
            .stdin(std::process::Stdio::null());
        match user {
            Some((u, p)) => {
                c.env("CALLVAULT_USER", u).env("CALLVAULT_PASSWORD", p);
            }
            None => {
                c.env_remove("CALLVAULT_USER")
                    .env_remove("CALLVAULT_PASSWORD");
            }
        }
        c
    }

    pub fn cmd(&self, user: (&str, &str), args: &[&str]) -> Out {
        self.command(Some(user), args).output().unwrap().into()
    }

    pub fn cmd_new(&self, user: Option<(&str, &str)>, new_password: &str, args: &[&str]) -> Out {
        self.command(user, args)
            .env("CALLVAULT_NEW_PASSWORD", new_password)
            .output()
            .unwrap()
            .into()
    }
}

/// Made-up audio: speech-like, 8 kHz mono, `secs` long, varied by `seed`.
pub fn pcm(secs: usize, seed: u32) -> Vec<i16> {
    callvault_testkit::demo::speechlike(8000, secs, seed)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Run a tool that test fixtures need (installed by scripts/test); panics with a clear message.
pub fn tool(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("{cmd} is needed for this test's fixtures (scripts/test installs it): {e}")
        });
    assert!(st.success(), "{cmd} {args:?} failed");
}

/// A recordings folder: (file name, bytes, manifest row fields after `file`).
pub struct Fixture {
    pub dir: PathBuf,
    pub rows: Vec<String>,
}

impl Fixture {
    pub fn new(dir: PathBuf) -> Fixture {
        std::fs::create_dir_all(&dir).unwrap();
        Fixture { dir, rows: vec![] }
    }
    pub fn add(&mut self, name: &str, bytes: &[u8], row: &str) {
        std::fs::write(self.dir.join(name), bytes).unwrap();
        self.rows.push(format!("{name},{row}"));
    }
    pub fn write_manifest(&self) -> PathBuf {
        let p = self.dir.join("manifest.csv");
        let mut s = String::from(
            "file,started_at,direction,staff,extension,external_number,parties,notes\n",
        );
        for r in &self.rows {
            s.push_str(r);
            s.push('\n');
        }
        std::fs::write(&p, s).unwrap();
        p
    }
}
