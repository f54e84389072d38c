#!/usr/bin/env bash
# Installs what the dashboard's browser tests (tests/browser/) need:
# Debian's chromium (driven by npm playwright-core; browsers that download
# themselves do not work here), Node.js and npm, and the suite's npm
# packages pinned by tests/browser/package-lock.json (`npm ci`).
# Idempotent and quiet when everything is already there.
#
# PILOT_CHROMIUM names the browser binary (default /usr/bin/chromium); when
# it is set to an existing file, no chromium package is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

suite=tests/browser
chromium="${PILOT_CHROMIUM:-/usr/bin/chromium}"

missing=()
[ -x "$chromium" ] || missing+=(chromium)
# Text in screenshots needs at least one font family with metrics.
if [ ! -x "$chromium" ] && ! dpkg -s fonts-liberation >/dev/null 2>&1; then
  missing+=(fonts-liberation)
fi
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "browser.sh: installing ${missing[*]} needs root (apt-get); run it as root or install them yourself" >&2
    exit 1
  fi
  # Several test runs may call this at once: one installs, the others wait.
  exec 9>"${TMPDIR:-/tmp}/pilot-setup-browser.lock"
  flock 9
  still=()
  for package in "${missing[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || still+=("$package")
  done
  if [ "${#still[@]}" -gt 0 ]; then
    echo "browser.sh: installing ${still[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${still[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "browser.sh: installing ${still[*]} failed (output above)" >&2
      exit 1
    fi
  fi
  exec 9>&-
fi

[ -x "$chromium" ] || { echo "browser.sh: $chromium is still missing after installing chromium" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "browser.sh: node is still missing after installing nodejs" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "browser.sh: npm is still missing after installing npm" >&2; exit 1; }

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "browser.sh: Node.js $(node --version) is too old for the suite (node --test needs 18 or newer)" >&2
  exit 1
fi

# npm ci only when the installed packages are not those of the lock file.
stamp="$suite/node_modules/.pilot-lock.sha256"
want=$(sha256sum "$suite/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  exec 8>"${TMPDIR:-/tmp}/pilot-setup-browser-npm.lock"
  flock 8
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log=$(mktemp)
    if ! (cd "$suite" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "browser.sh: npm ci in $suite failed (output above)" >&2
      exit 1
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
  fi
  exec 8>&-
fi
