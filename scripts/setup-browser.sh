#!/usr/bin/env bash
# The browser tests' browser: Debian's chromium, driven by the playwright package (installed by setup.sh
# with the test extra) through its executable_path; Playwright's own browser download is not needed.
# Installs chromium with apt-get (as root, or with password-less sudo) on Debian/Ubuntu, without the
# recommended packages (printing, sound servers, ...), which halves what is installed. Where it cannot,
# it says why and carries on: the browser tests then skip, or fail in CI (CI=true).
set -euo pipefail
if [ -n "${DCGAN_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "note: chromium is not installed and this user cannot install it: the browser tests will skip" \
        "(as root: apt-get install --no-install-recommends chromium fonts-liberation)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "note: no apt-get here: install chromium and set DCGAN_CHROMIUM to it, or the browser tests skip" >&2
    exit 0
fi
echo "installing Debian's chromium for the browser tests (about 190 MB to download)" >&2
if ! { "${as_root[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
        chromium fonts-liberation >/dev/null; }; then
    echo "note: apt-get could not install chromium: the browser tests will skip" >&2
fi
