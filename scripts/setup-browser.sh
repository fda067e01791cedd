#!/usr/bin/env bash
# The browser tests' browser: Debian's chromium, driven by the playwright package (installed by setup.sh
# with the test extra). Playwright's own browser download is not used. Installs chromium with apt-get when
# running as root on Debian/Ubuntu; elsewhere it says what is missing, and the browser tests skip (in CI,
# with CI=true, they fail instead).
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "note: chromium is not installed, so the browser tests will skip (as root: apt-get install chromium)" >&2
fi
