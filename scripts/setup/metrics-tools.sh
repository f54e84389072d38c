#!/usr/bin/env bash
# Installs what pilot-metrics' tests and comparison harness need:
# promtool (Debian's `prometheus` package) to parse the exposition text and
# prometheus-node-exporter to compare against. Quiet when already installed.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "metrics-tools.sh: installing ${missing[*]} needs root; run it as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || apt-get update -qq
# --no-install-recommends keeps the install small; policy-rc.d keeps the
# packages' own services from starting (these machines may not run an init
# system, and the harness starts its own node_exporter on a free port).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
fi
log=$(mktemp)
cleanup() {
    if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
    rm -f "$log"
}
trap cleanup EXIT
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "metrics-tools.sh: installing ${missing[*]} failed (output above)" >&2
    exit 1
fi

command -v promtool >/dev/null 2>&1 || { echo "metrics-tools.sh: promtool still missing after installing prometheus" >&2; exit 1; }
command -v prometheus-node-exporter >/dev/null 2>&1 || { echo "metrics-tools.sh: prometheus-node-exporter still missing after install" >&2; exit 1; }
