# Sourced by scripts/run, scripts/test and .ci/run: installs what is missing on Debian/Ubuntu.
# System packages: a C toolchain and OpenSSL headers (SQLCipher is built from source by
# libsqlite3-sys), and sox + ffmpeg, which the tests use to make FLAC and MP3 fixtures; ALSA's
# headers for cpal (playback) and alsa-utils; espeak-ng (speech for the audio fixtures) and
# libgsm-tools (toast/untoast, the GSM 06.10 reference decoder the tests compare against).

need_pkgs=(build-essential pkg-config libssl-dev sox libsox-fmt-all ffmpeg libasound2-dev alsa-utils libgsm-tools espeak-ng)

install_deps() {
    local missing=()
    for p in "${need_pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
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
