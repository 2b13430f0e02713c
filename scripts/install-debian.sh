#!/usr/bin/env bash
# Usage: install-debian.sh PACKAGE PROGRAM
# Install Debian's PACKAGE (a test needs it: chromium for the browser tests, redis-server for the
# shared cache) unless PROGRAM is already there. Idempotent: a second run does nothing. Prints one
# line saying what it did; exits non-zero with a reason when it cannot install.
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: install-debian.sh PACKAGE PROGRAM" >&2
    exit 2
fi
PACKAGE=$1
PROGRAM=$2  # the program the package provides

if [ -x "$PROGRAM" ]; then
    echo "install-debian: $PROGRAM already installed, nothing to do"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-debian: $PROGRAM is missing and apt-get is not available (not Debian?);" \
         "install the '$PACKAGE' package by hand" >&2
    exit 1
fi

# Root runs apt-get directly; anyone else goes through sudo, without prompting (make test is unattended).
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install-debian: $PROGRAM is missing and installing needs root (or password-less sudo);" \
         "run: sudo apt-get install $PACKAGE" >&2
    exit 1
fi

LOG=$(mktemp "${TMPDIR:-/tmp}/install-debian.XXXXXX")
trap 'rm -f "$LOG"' EXIT

apt_install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$PACKAGE" >>"$LOG" 2>&1
}

# Refresh the package lists only when they do not know the package yet (a fresh container has none):
# an update is slow and needs the network.
updated=""
if ! apt-cache show "$PACKAGE" >/dev/null 2>&1; then
    $SUDO apt-get update >>"$LOG" 2>&1 || { cat "$LOG" >&2; echo "install-debian: apt-get update failed" >&2; exit 1; }
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
        echo "install-debian: apt-get install $PACKAGE failed (see above)" >&2
        exit 1
    fi
fi

if [ ! -x "$PROGRAM" ]; then
    echo "install-debian: $PACKAGE installed but $PROGRAM is missing" >&2
    exit 1
fi

echo "install-debian: installed Debian $PACKAGE$updated: $("$PROGRAM" --version 2>/dev/null | tail -n 1)"
