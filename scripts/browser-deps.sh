#!/usr/bin/env bash
# Headless Chromium and a CJK font for the browser test (Debian packages).
# Skips quietly when they are present; says why when it cannot install them.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "wqy"; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "browser-deps: not root and no sudo; install chromium and fonts-wqy-zenhei yourself" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || true
$SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
