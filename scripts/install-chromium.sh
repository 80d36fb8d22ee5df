#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (tests/integration/browser.test.mjs), which
# drives it with playwright-core. Playwright's own browser download needs hosts this project's
# machines cannot reach, so the browser comes from apt. Does nothing when it is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

printf '\033[1m[install-chromium]\033[0m %s\n' "apt-get install chromium"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "install-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
