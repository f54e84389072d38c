#!/usr/bin/env bash
# Installs Nix (Debian's nix-bin, single-user, no daemon) for Pilot's Nix
# support and its tests. Idempotent and quiet when Nix is already there.
#
# Pilot calls Nix with flakes enabled and fully offline in tests; it needs the
# `nix`, `nix-instantiate` and `nix-store` commands and a writable /nix.
set -euo pipefail

have_nix() {
  command -v nix >/dev/null 2>&1 &&
    command -v nix-instantiate >/dev/null 2>&1 &&
    command -v nix-store >/dev/null 2>&1
}

if ! have_nix; then
  # Tests may call this script from several processes at once: one installs,
  # the others wait for it.
  exec 9>"${TMPDIR:-/tmp}/pilot-setup-nix.lock"
  flock 9
fi

if ! have_nix; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "nix.sh: installing Nix needs root (apt-get); run it as root or install nix-bin yourself" >&2
    exit 1
  fi
  echo "installing nix-bin"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nix-bin >/dev/null
fi

# The store and state directories of a single-user installation.
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p /nix/store /nix/var/nix/gcroots /nix/var/nix/profiles /nix/var/log/nix
fi

if ! have_nix; then
  echo "nix.sh: nix is still missing after installing nix-bin" >&2
  exit 1
fi
