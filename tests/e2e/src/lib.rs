//! The harness of the end-to-end tests: a display (Xvfb when there is none), `tauri-driver` (which
//! starts WebKitWebDriver, which starts the app), and a temp world per run — a demo archive, a
//! home folder whose `.asoundrc` sends the default ALSA device to a file (or, for real-time
//! journeys, to a private PulseAudio server's null sink), and app-data folders.
//!
//! Missing tools or a missing app build skip the tests on a developer's machine (with a message
//! saying what to install), but fail them in CI (`CI=true`).

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The debug build of the app (built with the UI embedded: `cargo build -p callvault-app`), or the
/// build named by `CALLVAULT_APP` (e.g. the release build, for benchmarks).
pub fn app_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CALLVAULT_APP") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let target = if target.is_relative() {
        root().join(target)
    } else {
        target
    };
    target.join("debug").join("callvault-app")
}

fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true" | "1"))
}

/// Where a tool is: on PATH, or in the tools folder scripts/deps.sh installs into.
pub fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(t) = std::env::var_os("CALLVAULT_TOOLS") {
        dirs.push(PathBuf::from(t).join("bin"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(&h).join(".cache/callvault-tools/bin"));
        dirs.push(PathBuf::from(h).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Everything the tests need, or why not. In CI a missing piece is a failure.
pub fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let mut missing = Vec::new();
    let driver = tool("tauri-driver");
    if driver.is_none() {
        missing.push("tauri-driver (cargo install tauri-driver --locked)".to_string());
    }
    if tool("WebKitWebDriver").is_none() {
        missing.push("WebKitWebDriver (apt install webkit2gtk-driver)".into());
    }
    if tool("pulseaudio").is_none() {
        missing.push("pulseaudio (apt install pulseaudio libasound2-plugins)".into());
    }
    if std::env::var_os("DISPLAY").is_none() && tool("Xvfb").is_none() {
        missing.push("a display or Xvfb (apt install xvfb)".into());
    }
    let app = app_binary();
    if !app.is_file() {
        missing.push(format!(
            "the app build {} (cd ui && npm ci && npm run build; cargo build -p callvault-app)",
            app.display()
        ));
    }
    if missing.is_empty() {
        Ok((driver.expect("checked"), app))
    } else {
        let msg = format!("end-to-end tests need: {}", missing.join("; "));
        if in_ci() {
            panic!("{msg}");
        }
        Err(msg)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process that is ended (SIGTERM, then SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One test world: temp folders, a demo archive, a display, tauri-driver and a WebDriver session.
pub struct World {
    pub tmp: tempfile::TempDir,
    pub archive: PathBuf,
    /// Where the ALSA `file` device writes what the app played.
    pub played: PathBuf,
    pub client: Client,
    /// When the WebDriver session (and so the app) was asked for.
    pub started: Instant,
    _driver: Proc,
    _xvfb: Option<Proc>,
    _pulse: Option<Proc>,
}

/// The journeys run one at a time (each starts its own app, driver and X server).
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many made-up calls the e2e demo archive holds.
pub const DEMO_CALLS: usize = 24;

impl World {
    pub async fn start(driver: &Path, app: &Path) -> World {
        Self::start_with(driver, app, DEMO_CALLS).await
    }

    /// As `start`, over a demo archive of `calls` made-up calls.
    pub async fn start_with(driver: &Path, app: &Path, calls: usize) -> World {
        Self::start_env(driver, app, calls, &[], false).await
    }

    /// Over an existing archive (e.g. a large benchmark archive made once and reused).
    pub async fn start_over(driver: &Path, app: &Path, archive: &Path) -> World {
        Self::start_full(driver, app, Some(archive), 0, &[], false).await
    }

    /// As `start_with`, with extra environment variables for the app (e.g. a short idle lock).
    /// With `realtime`, sound goes to a PulseAudio null sink, which plays at the speed of a real
    /// sound card (the ALSA file device used otherwise takes audio as fast as it comes).
    pub async fn start_env(
        driver: &Path,
        app: &Path,
        calls: usize,
        env: &[(&str, &str)],
        realtime: bool,
    ) -> World {
        Self::start_full(driver, app, None, calls, env, realtime).await
    }

    async fn start_full(
        driver: &Path,
        app: &Path,
        existing: Option<&Path>,
        calls: usize,
        env: &[(&str, &str)],
        realtime: bool,
    ) -> World {
        let tmp = tempfile::tempdir().expect("temp dir");
        let home = tmp.path().join("home");
        let archive = existing.map_or_else(|| tmp.path().join("archive"), Path::to_path_buf);
        let played = tmp.path().join("played.raw");
        for d in [
            &home,
            &home.join(".local/share"),
            &home.join(".config"),
            &home.join(".cache"),
        ] {
            std::fs::create_dir_all(d).expect("temp folders");
        }
        let runtime = tmp.path().join("run");
        std::fs::create_dir_all(&runtime).expect("runtime folder");
        let mut pulse = None;
        if realtime {
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
                .expect("runtime folder mode");
            std::fs::write(
                home.join(".asoundrc"),
                "pcm.!default { type pulse }\nctl.!default { type pulse }\n",
            )
            .expect(".asoundrc");
            pulse = Some(start_pulse(&home, &runtime));
        } else {
            std::fs::write(
                home.join(".asoundrc"),
                format!(
                    "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
                    played.display()
                ),
            )
            .expect(".asoundrc");
        }

        // The demo archive, made through the core with this process's own app-data folder.
        if existing.is_none() {
            std::env::set_var("CALLVAULT_DATA_DIR", tmp.path().join("maker-data"));
            callvault_testkit::demo::create(
                &archive,
                calls,
                callvault_core::session::KdfChoice::Fast,
            )
            .await
            .expect("demo archive");
            std::env::remove_var("CALLVAULT_DATA_DIR");
        }

        let (display, xvfb) = match std::env::var("DISPLAY") {
            Ok(d) if !d.is_empty() => (d, None),
            _ => start_xvfb(),
        };

        let port = free_port();
        let native = free_port();
        let log = std::fs::File::create(tmp.path().join("tauri-driver.log")).expect("log");
        let child = Command::new(driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env_remove("CALLVAULT_DATA_DIR")
            .env_remove("CALLVAULT_ARCHIVE")
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("CALLVAULT_DEMO", "1")
            .env("NO_AT_BRIDGE", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start tauri-driver");
        let driver = Proc(child);

        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "browserName": "wry",
                "tauri:options": { "application": app.display().to_string() }
            }))
            .expect("capabilities");
        let url = format!("http://127.0.0.1:{port}");
        // tauri-driver answers once it listens; the session request then starts the app.
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "tauri-driver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let started = Instant::now();
        let t0 = Instant::now();
        let client = loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if t0.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!(
                    "no WebDriver session from tauri-driver at {url}: {e}\n{}",
                    std::fs::read_to_string(tmp.path().join("tauri-driver.log"))
                        .unwrap_or_default()
                ),
            }
        };
        World {
            tmp,
            archive,
            played,
            client,
            started,
            _driver: driver,
            _xvfb: xvfb,
            _pulse: pulse,
        }
    }

    /// Wait for an element (CSS selector), up to 20 s.
    pub async fn el(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Type into a field (clearing it first). Empty text clears it, and the page is told, as
    /// typing would tell it (an `input` event).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.el(css).await;
        e.clear().await.expect("clear");
        if text.is_empty() {
            let arg = serde_json::to_value(&e).expect("element reference");
            self.client
                .execute(
                    "arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
                    vec![arg],
                )
                .await
                .expect("input event");
        } else {
            e.send_keys(text).await.expect("type");
        }
    }

    pub async fn click(&self, css: &str) {
        self.el(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// How many elements match `css` now (0 if the page cannot say).
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |v| v.len())
    }

    pub async fn text(&self, css: &str) -> String {
        self.el(css).await.text().await.expect("text")
    }

    /// Wait until `f` holds (polling every 100 ms), up to 20 s.
    pub async fn until<F, Fut>(&self, what: &str, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let t0 = Instant::now();
        while !f().await {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Scroll an element into the window (for a screenshot of what it shows).
    pub async fn scroll_to(&self, css: &str) {
        self.el(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); return null;",
                vec![serde_json::Value::String(css.into())],
            )
            .await
            .expect("scroll");
    }

    /// Save a screenshot of the window under docs/screenshots/.
    pub async fn screenshot(&self, name: &str) {
        // Let WebKit paint what the DOM now holds.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = root().join("docs/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshots folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// A new device's first screen: choose the archive folder (typed, as the system dialog cannot
    /// be driven), then the logon screen.
    pub async fn open_archive(&self) {
        self.el("#archive-path").await;
        self.fill("#archive-path", &self.archive.display().to_string())
            .await;
        self.click("#open-archive").await;
        self.el("#user").await;
    }

    /// Log on through the logon screen and go to Search.
    pub async fn logon(&self, user: &str, password: &str) {
        self.logon_to_overview(user, password).await;
        self.goto("#/search", "#search-title").await;
    }

    /// Log on through the logon screen; the app opens on the overview.
    pub async fn logon_to_overview(&self, user: &str, password: &str) {
        self.fill("#user", user).await;
        self.fill("#password", password).await;
        self.click("#logon").await;
        self.el("#overview-title").await;
    }

    /// Follow an in-app link (`#/requests`, ...) and wait for `css` on the screen it opens.
    pub async fn goto(&self, hash: &str, css: &str) {
        self.client
            .execute(
                "location.hash = arguments[0]; return null;",
                vec![serde_json::Value::String(hash.into())],
            )
            .await
            .expect("navigate");
        self.el(css).await;
    }

    pub async fn logout(&self) {
        self.client
            .find(Locator::XPath("//button[normalize-space()='Log out']"))
            .await
            .expect("log out button")
            .click()
            .await
            .expect("log out");
        self.el("#user").await;
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A private PulseAudio server with one null sink (real-time, no sound card), for `realtime` worlds.
fn start_pulse(home: &Path, runtime: &Path) -> Proc {
    let pa = tool("pulseaudio").expect("pulseaudio (apt install pulseaudio libasound2-plugins)");
    let log = std::fs::File::create(runtime.join("pulse.log")).expect("log");
    let child = Command::new(pa)
        .args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "-L",
            "module-null-sink sink_name=nul rate=48000 format=s16le channels=2",
            "-L",
            "module-native-protocol-unix",
        ])
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", runtime)
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start pulseaudio");
    let proc = Proc(child);
    let socket = runtime.join("pulse/native");
    let t0 = Instant::now();
    while !socket.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "pulseaudio did not start: {}",
            std::fs::read_to_string(runtime.join("pulse.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    proc
}

fn start_xvfb() -> (String, Option<Proc>) {
    let xvfb = tool("Xvfb").expect("checked in prerequisites");
    for n in 90..120 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let child = Command::new(&xvfb)
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let p = Proc(child);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (format!(":{n}"), Some(p));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("Xvfb did not start on any display :90-:119");
}
