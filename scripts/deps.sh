# Sourced by scripts/run, scripts/test and .ci/run: installs what is missing on Debian/Ubuntu.
# System packages: a C toolchain and OpenSSL headers (SQLCipher is built from source by
# libsqlite3-sys), and sox + ffmpeg, which the tests use to make FLAC and MP3 fixtures; ALSA's
# headers for cpal (playback) and alsa-utils; espeak-ng (speech for the audio fixtures) and
# libgsm-tools (toast/untoast, the GSM 06.10 reference decoder the tests compare against).
# The desktop app (Tauri 2): WebKitGTK 4.1 and GTK 3 headers; and for its end-to-end tests Xvfb,
# xauth, WebKitWebDriver (webkit2gtk-driver), ImageMagick (screenshots of the whole screen) and
# tauri-driver (a cargo install, kept in $CALLVAULT_TOOLS, ~/.cache/callvault-tools by default).
# poppler-utils (pdftotext) and p7zip-full (7z) open the SAR packages the export tests make. The OS
# keychain for network-share credentials: libdbus-1-dev to build the Secret Service client, and
# dbus + gnome-keyring, which scripts/test runs in a private D-Bus session for the keychain test.
# pulseaudio + libasound2-plugins: a null sink that plays in real time, for the player's e2e journey.
# The benchmarks (scripts/bench, whose smoke size scripts/test runs): bc, openssl (the peer of the
# STREAM AES-256-GCM figures), ffmpeg (the decode peer, and MP3/FLAC/GSM encoders), eatmydata (the
# import with fsync turned off) and procps (free, for the machine's RAM).
# The web UI's packages come from the npm registry through `npm ci` (ui/package-lock.json).

need_pkgs=(build-essential pkg-config libssl-dev sox libsox-fmt-all ffmpeg libasound2-dev alsa-utils libgsm-tools espeak-ng
    libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev xvfb xauth webkit2gtk-driver imagemagick file
    poppler-utils p7zip-full libdbus-1-dev dbus gnome-keyring pulseaudio libasound2-plugins
    bc openssl eatmydata procps)

export CALLVAULT_TOOLS="${CALLVAULT_TOOLS:-$HOME/.cache/callvault-tools}"

install_deps() {
    local missing=()
    for p in "${need_pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
    if ((${#missing[@]})); then
        echo "Installing system packages: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
        exit 1
    fi
}

# The web UI's packages (exactly those in ui/package-lock.json), when missing or out of date.
install_ui_deps() {
    if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
        (cd ui && npm ci --no-audit --no-fund)
    fi
}

# tauri-driver, the WebDriver server the end-to-end tests talk to (~2 min to build, once).
install_e2e_tools() {
    export PATH="$CALLVAULT_TOOLS/bin:$PATH"
    if ! command -v tauri-driver >/dev/null 2>&1; then
        cargo install tauri-driver --version 2.1.0 --locked --root "$CALLVAULT_TOOLS"
    fi
}

# The features of every workspace build these scripts make (build_app, scripts/test's two test runs
# and its keychain test, scripts/bench): the slow tests (crash injection, concurrency, the fuzz
# corpus, the logon timing, the WebDriver journeys) are opt-in through the feature slow-tests, which
# plain `cargo test` leaves off. A feature changes what its crate is compiled with (the core's
# included), so the scripts all use the same one: after build_app nothing is compiled again.
workspace_features=(--features slow-tests)

# The app as tests and `scripts/run` use it: one debug build with the built UI embedded
# (default feature custom-protocol). It is built with the whole workspace's targets, as
# `cargo test --workspace --all-targets` builds it, and the same features as scripts/test, so the
# features of shared dependencies (tokio) are the same and nothing is rebuilt between building,
# testing and running.
build_app() {
    install_ui_deps
    (cd ui && npm run build --silent)
    cargo build --locked --workspace --all-targets "${workspace_features[@]}"
}

# The workspace's test targets (integration tests), one per line: the fast ones (`fast`), or those
# whose [[test]] entry requires the feature slow-tests (`slow`). Fails if one name is both.
test_targets() {
    cargo metadata --locked --no-deps --format-version 1 | node -e '
        const want = process.argv[1] === "slow";
        const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const slow = new Map();
        for (const p of m.packages)
            for (const t of p.targets) {
                if (!t.kind.includes("test")) continue;
                const s = (t["required-features"] || []).includes("slow-tests");
                if (slow.has(t.name) && slow.get(t.name) !== s) {
                    console.error(`test target ${t.name} is both slow and fast: rename one`);
                    process.exit(1);
                }
                slow.set(t.name, s);
            }
        for (const [name, s] of slow) if (s === want) console.log(name);
    ' "$1"
}
