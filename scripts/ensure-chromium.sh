#!/usr/bin/env bash
# Installs Debian's chromium when it is missing, for the browser tests (tests/e2e/browser.test.ts drives it with
# puppeteer-core). Idempotent: does nothing when a chromium already runs. Needs root (or sudo) and Debian's archive.
set -euo pipefail

if [ -n "${CHROMIUM_PATH:-}" ] && "$CHROMIUM_PATH" --version >/dev/null 2>&1; then exit 0; fi
if command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; then exit 0; fi

sudo_if_needed=()
if [ "$(id -u)" -ne 0 ]; then sudo_if_needed=(sudo); fi
echo "ensure-chromium: installing Debian's chromium for the browser tests"
"${sudo_if_needed[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo_if_needed[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
chromium --version
