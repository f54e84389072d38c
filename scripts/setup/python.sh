#!/usr/bin/env bash
# Prepares Python for Pilot's bindings: Debian's python3, python3-venv and
# python3-dev, and a virtual environment with maturin, pytest and numpy.
#
#   scripts/setup/python.sh     create or update the venv
#
# The venv is $PILOT_PY_VENV (default ./target/python-venv, relative to the
# repository root); the interpreter that creates it is $PILOT_PYTHON (default
# python3). Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

python="${PILOT_PYTHON:-python3}"
venv="${PILOT_PY_VENV:-target/python-venv}"

missing=()
for package in python3 python3-venv python3-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "python.sh: installing ${missing[*]} needs root; run it as root or install them yourself" >&2
    exit 1
  fi
  # Test runs may call this script from several processes at once.
  exec 9>"${TMPDIR:-/tmp}/pilot-setup-python.lock"
  flock 9
  echo "python.sh: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v "$python" >/dev/null 2>&1; then
  echo "python.sh: $python is not on PATH; set PILOT_PYTHON to a Python 3.9 or newer" >&2
  exit 1
fi

ready() {
  [ -x "$venv/bin/python" ] && [ -x "$venv/bin/maturin" ] &&
    "$venv/bin/python" -c 'import pytest, numpy' >/dev/null 2>&1
}

if ! ready; then
  mkdir -p "$(dirname "$venv")"
  exec 8>"$venv.lock"
  flock 8
  if ! ready; then
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      'maturin>=1.7,<2' pytest numpy
  fi
  if ! ready; then
    echo "python.sh: $venv still lacks maturin, pytest or numpy after pip install" >&2
    exit 1
  fi
fi
