#!/usr/bin/env bash
# Install Debian's Chromium when it is missing, for the browser test of the web page
# (tests/server/push/test_page_browser.py drives it over the DevTools protocol). Set
# ILMS_SKIP_BROWSER=1 to skip; without root or apt the test is skipped, loudly.
set -euo pipefail

if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
if [ -n "${ILMS_SKIP_BROWSER:-}" ]; then
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
echo "installing chromium from Debian's packages (for the web page's browser test)" >&2
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >&2
command -v chromium >/dev/null
