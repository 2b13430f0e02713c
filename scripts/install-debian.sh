#!/usr/bin/env bash
# Install Debian's chromium (for the browser tests) unless /usr/bin/chromium is already there.
# Idempotent: a second run does nothing. Prints one line saying what it did; exits non-zero with a
# reason when it cannot install.
set -eu

BROWSER=/usr/bin/chromium

if [ -x "$BROWSER" ]; then
    echo "install-chromium: $BROWSER already installed, nothing to do"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: $BROWSER is missing and apt-get is not available (not Debian?);" \
         "install the 'chromium' package by hand" >&2
    exit 1
fi

# Root runs apt-get directly; anyone else goes through sudo, without prompting (make test is unattended).
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install-chromium: $BROWSER is missing and installing needs root (or password-less sudo);" \
         "run: sudo apt-get install chromium" >&2
    exit 1
fi

LOG=$(mktemp "${TMPDIR:-/tmp}/install-chromium.XXXXXX")
trap 'rm -f "$LOG"' EXIT

apt_install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends chromium >>"$LOG" 2>&1
}

# Refresh the package lists only when they do not know the package yet (a fresh container has none):
# an update is slow and needs the network.
updated=""
if ! apt-cache show chromium >/dev/null 2>&1; then
    $SUDO apt-get update >>"$LOG" 2>&1 || { cat "$LOG" >&2; echo "install-chromium: apt-get update failed" >&2; exit 1; }
    updated=" (after apt-get update)"
fi

if ! apt_install; then
    # Stale lists can name package versions the mirror no longer has: refresh once and retry.
    if [ -z "$updated" ]; then
        $SUDO apt-get update >>"$LOG" 2>&1 || true
        updated=" (after apt-get update)"
    fi
    if ! apt_install; then
        cat "$LOG" >&2
        echo "install-chromium: apt-get install chromium failed (see above)" >&2
        exit 1
    fi
fi

if [ ! -x "$BROWSER" ]; then
    echo "install-chromium: chromium installed but $BROWSER is missing" >&2
    exit 1
fi

echo "install-chromium: installed Debian chromium$updated: $("$BROWSER" --version 2>/dev/null | tail -n 1)"
