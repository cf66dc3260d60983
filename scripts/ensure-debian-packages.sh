#!/usr/bin/env bash
# The Debian packages the tests drive: Chromium for the browser test (never a downloaded browser)
# with fonts-noto-cjk so it can draw the Japanese page (Debian's Chromium brings no CJK font),
# python3-authlib with python3-requests for the authlib interop test (Debian's, for
# /usr/bin/python3: no pip), redis-server for the shared rate limits and PostgreSQL 15 for the
# PostgreSQL store (the tests start throwaway servers from their binaries; the packages' system
# services and clusters are not used). Installs what is missing, in one apt-get install, when we are allowed
# to; otherwise says what to run. Used by `npm test` (pretest) and by .ci/run.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
PYTHON=/usr/bin/python3
REDIS=/usr/bin/redis-server
POSTGRES=/usr/lib/postgresql/15/bin/postgres
NAME=ensure-debian-packages

# Each check asks for what the tests use, not for a dpkg record: a working setup passes as it is.
missing_packages() {
  [ -x "$CHROMIUM" ] || echo chromium
  # Any font fontconfig offers for Japanese will do (test/pages/branding-browser.test.ts checks the glyphs drawn).
  fc-list ':lang=ja' family 2>/dev/null | grep -q . || echo fonts-noto-cjk
  "$PYTHON" -c 'import authlib' >/dev/null 2>&1 || echo python3-authlib
  "$PYTHON" -c 'import requests' >/dev/null 2>&1 || echo python3-requests
  [ -x "$REDIS" ] || echo redis-server
  { [ -x "$POSTGRES" ] && [ -x "${POSTGRES%/*}/initdb" ] && [ -x "${POSTGRES%/*}/pg_ctl" ]; } || echo postgresql
}
mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$NAME: missing ${missing[*]} (for the browser, authlib interop, Redis and PostgreSQL store tests) and apt-get is unavailable; install Chromium at $CHROMIUM with a Japanese font (fonts-noto-cjk), authlib + requests for $PYTHON, redis-server at $REDIS and PostgreSQL 15 at ${POSTGRES%/*}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "$NAME: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "$NAME: installing Debian's ${missing[*]} for the tests"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Installed is not the same as usable: check again what the tests will use.
mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -ne 0 ]; then
  echo "$NAME: apt-get installed ${missing[*]}, yet ${still[*]} still does not work for the tests" >&2
  exit 1
fi
echo "$NAME: installed ${missing[*]}"
