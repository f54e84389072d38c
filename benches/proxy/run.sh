#!/usr/bin/env bash
# Side-by-side benchmark of pilot-proxy against nginx as a reverse proxy, and
# a run that switches pilot-proxy's route under load.
#
#   benches/proxy/run.sh            # DURATION=10s CONNECTIONS=64 THREADS=2 by default
#
# Everything it starts lives in a temp dir and is stopped on exit. Traffic
# stays on 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-2s}"
SWITCH_EVERY="${SWITCH_EVERY:-0.2}"
WORK="$(mktemp -d -t pilot-proxy-bench.XXXXXX)"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log() { printf '== %s\n' "$*" >&2; }

install_tools() {
    if command -v wrk >/dev/null && command -v nginx >/dev/null; then
        return
    fi
    log "installing wrk and nginx"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null
}

# Prints a free TCP port on 127.0.0.1, starting the search at $1.
free_port() {
    local port=$1
    while ss -Htan "sport = :$port" | grep -q .; do
        port=$((port + 1))
    done
    echo "$port"
}

wait_for_port() {
    local port=$1 tries=100
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        tries=$((tries - 1))
        if [ "$tries" -le 0 ]; then
            echo "nothing listens on 127.0.0.1:$port; see the logs in $WORK" >&2
            exit 1
        fi
        sleep 0.05
    done
}

# Starts an nginx named $1 whose http block holds $2, as a background job.
start_nginx() {
    local name=$1 http_block=$2
    mkdir -p "$WORK/$name"
    cat >"$WORK/$name/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/$name/nginx.pid;
error_log $WORK/$name/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/$name/body;
    proxy_temp_path $WORK/$name/proxy;
    fastcgi_temp_path $WORK/$name/fastcgi;
    uwsgi_temp_path $WORK/$name/uwsgi;
    scgi_temp_path $WORK/$name/scgi;
$http_block
}
CONF
    nginx -e "$WORK/$name/error.log" -p "$WORK/$name" -c "$WORK/$name/nginx.conf" -g 'daemon off;' &
    PIDS+=($!)
    NGINX_MASTER=$!
}

# Runs wrk against port $1 with extra arguments; the report goes to $WORK/$2.wrk.
bench() {
    local port=$1 name=$2
    shift 2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "http://127.0.0.1:$port/" >"$WORK/$name.wrk"
}

# CPU clock ticks (user + system) used so far by every thread of the given processes.
cpu_ticks() {
    local total=0 pid stat
    for pid in "$@"; do
        for stat in /proc/"$pid"/task/*/stat; do
            total=$((total + $(awk '{ print $14 + $15 }' "$stat" 2>/dev/null || echo 0)))
        done
    done
    echo "$total"
}

# Like bench, and also writes the CPU microseconds per request spent by the
# processes $3... (the proxy under test) to $WORK/$2.cpu.
bench_with_cpu() {
    local port=$1 name=$2 before after
    shift 2
    before=$(cpu_ticks "$@")
    bench "$port" "$name"
    after=$(cpu_ticks "$@")
    awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$(requests "$name")" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / r }' >"$WORK/$name.cpu"
}

warm() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$1/" >/dev/null
}

# Extracts fields of a wrk report: rps, p50 and p99 (in ms), errors.
rps() { awk '/^Requests\/sec:/ { print $2 }' "$WORK/$1.wrk"; }
percentile() {
    awk -v p="$2%" '$1 == p {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
        printf "%.3f", v
    }' "$WORK/$1.wrk"
}
socket_errors() {
    local line
    line=$(grep '^  Socket errors:' "$WORK/$1.wrk" || true)
    echo "${line:-  Socket errors: connect 0, read 0, write 0, timeout 0}" | sed 's/^ *Socket errors: //'
}
non_2xx() { awk '/Non-2xx or 3xx responses:/ { print $NF; found = 1 } END { if (!found) print 0 }' "$WORK/$1.wrk"; }
requests() { awk '/requests in/ { print $1 }' "$WORK/$1.wrk"; }

install_tools

log "building pilot-proxy (release)"
cargo build --quiet --release -p pilot-agent --bin pilot-proxy --manifest-path "$ROOT/Cargo.toml"
PILOT_PROXY="${CARGO_TARGET_DIR:-$ROOT/target}/release/pilot-proxy"

UP1=$(free_port 18601)
UP2=$(free_port $((UP1 + 1)))
NGINX=$(free_port $((UP2 + 1)))
PILOT=$(free_port $((NGINX + 1)))
SOCKET="$WORK/proxy.sock"

log "upstreams on $UP1 and $UP2, nginx proxy on $NGINX, pilot-proxy on $PILOT ($(nproc) cores)"
start_nginx upstream "
    server { listen 127.0.0.1:$UP1; location / { return 200 \"ok\"; } }
    server { listen 127.0.0.1:$UP2; location / { return 200 \"ok\"; } }"
UPSTREAM_MASTER=$NGINX_MASTER
start_nginx reverse "
    upstream app { server 127.0.0.1:$UP1; keepalive $CONNECTIONS; }
    server {
        listen 127.0.0.1:$NGINX;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
REVERSE_MASTER=$NGINX_MASTER
"$PILOT_PROXY" serve --socket "$SOCKET" --state "$WORK/routes.json" 2>"$WORK/pilot-proxy.log" &
PIDS+=($!)
PILOT_PID=$!
for port in "$UP1" "$UP2" "$NGINX"; do wait_for_port "$port"; done
until "$PILOT_PROXY" routes --socket "$SOCKET" >/dev/null 2>&1; do sleep 0.05; done
route() { "$PILOT_PROXY" route --socket "$SOCKET" --project bench --public "127.0.0.1:$PILOT" --upstream "127.0.0.1:$1"; }
route "$UP1"
wait_for_port "$PILOT"

for target in "direct:$UP1:$UPSTREAM_MASTER" "nginx:$NGINX:$REVERSE_MASTER" "pilot:$PILOT:$PILOT_PID"; do
    IFS=: read -r name port pid <<<"$target"
    log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION against $name"
    warm "$port"
    if [ "$name" = pilot ]; then
        bench_with_cpu "$port" "$name" "$pid"
    else
        # nginx does the work in the master's children.
        # shellcheck disable=SC2046
        bench_with_cpu "$port" "$name" $(pgrep -P "$pid")
    fi
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $(nproc) cores, upstream: nginx return 200"
echo "cpu_us/req: CPU time per request of the server measured (upstream nginx for direct, the proxy otherwise)"
printf '%-8s %11s %8s %8s %11s  %s\n' target req/s p50_ms p99_ms cpu_us/req errors
for name in direct nginx pilot; do
    printf '%-8s %11s %8s %8s %11s  %s, non-2xx %s\n' "$name" "$(rps "$name")" "$(percentile "$name" 50)" \
        "$(percentile "$name" 99)" "$(cat "$WORK/$name.cpu")" "$(socket_errors "$name")" "$(non_2xx "$name")"
done
awk -v p="$(rps pilot)" -v n="$(rps nginx)" 'BEGIN { printf "throughput pilot/nginx: %.2f\n", p / n }'
for q in 50 99; do
    awk -v q="$q" -v p="$(percentile pilot "$q")" -v d="$(percentile direct "$q")" -v n="$(percentile nginx "$q")" \
        'BEGIN { printf "p%s added vs direct: pilot %+.3f ms, nginx %+.3f ms\n", q, p - d, n - d }'
done

# Switch runs: the route flips between the two upstreams every SWITCH_EVERY s.
switch_run() {
    local name=$1
    shift
    local switches=0 next
    bench "$PILOT" "$name" "$@" &
    local wrk_pid=$!
    PIDS+=("$wrk_pid")
    while kill -0 "$wrk_pid" 2>/dev/null; do
        sleep "$SWITCH_EVERY"
        if [ $((switches % 2)) -eq 0 ]; then next=$UP2; else next=$UP1; fi
        route "$next"
        switches=$((switches + 1))
    done
    wait "$wrk_pid"
    printf '%-28s %10s req/s %9s requests %4s switches  socket errors: %s; non-2xx: %s\n' "$name" \
        "$(rps "$name")" "$(requests "$name")" "$switches" "$(socket_errors "$name")" "$(non_2xx "$name")"
}

echo
echo "switching the route every ${SWITCH_EVERY}s during wrk -d$DURATION through pilot-proxy"
log "switch run, keep-alive connections"
switch_run "switch-keepalive"
log "switch run, one connection per request"
switch_run "switch-conn-per-request" -H "Connection: close"
fails=$(grep -c "did not accept" "$WORK/pilot-proxy.log" || true)
echo "pilot-proxy upstream connect failures logged: $fails"
