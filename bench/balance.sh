#!/usr/bin/env bash
# How evenly the workers share one listening socket: runs wrk against prefork's hello example
# (2 workers, release build) with keep-alive connections and with a new connection per request
# (`Connection: close`, where every request is an accept), then reads each worker's
# gunicorn_worker_requests_total from /metrics and prints the shares and the max/min ratio.
#
#   bench/balance.sh [BINARY]     BINARY defaults to build-release's hello
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

PREFORK=${1:-$ROOT/build-release/examples/hello/hello}
[ -x "$PREFORK" ] || die "binary $PREFORK not found (meson setup build-release --buildtype=release && ninja -C build-release)"
BENCH_WORKERS=${BENCH_WORKERS:-2}
bench_init

# Prints "count count …" of gunicorn_worker_requests_total per worker_id, then the ratio.
shares() {
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk '
    /^gunicorn_worker_requests_total\{/ { counts[++n] = $2 + 0 }
    END {
      if (n == 0) { print "no per-worker counts"; exit 1 }
      low = high = counts[1]
      for (i = 1; i <= n; i++) {
        printf "%d ", counts[i]; total += counts[i]
        if (counts[i] < low) low = counts[i]
        if (counts[i] > high) high = counts[i]
      }
      printf "(total %d, max/min %.2f)\n", total, (low > 0 ? high / low : 0)
    }'
}

# MODE: keep-alive or close. Starts a fresh server, measures, prints one line.
measure() {
  local mode=$1 connections=$2 port metrics dir header=()
  port=$(free_port)
  metrics=$(free_port)
  dir="$BENCH_TMP/$mode-$RANDOM"
  mkdir -p "$dir"
  [ "$mode" = close ] && header=(-H "Connection: close")
  start_server "METRICS_PORT=$metrics prefork_command" "$port" "$dir"
  local master=$STARTED_PID
  wait_for_http "http://127.0.0.1:$port/" "$master" || { tail -n 20 "$dir/server.log" >&2; die "prefork did not start"; }
  spawn_group "$dir/wrk.txt" wrk -t2 "-c$connections" "-d${BENCH_DURATION}s" "${header[@]}" \
    "http://127.0.0.1:$port/"
  wait "$SPAWNED_PID" || die "wrk failed: $(cat "$dir/wrk.txt")"
  forget_pid "$SPAWNED_PID"
  # File storage: the counts are in the workers' .db files as soon as wrk has its answers.
  printf '%-10s -c%-3s %8s req/s  requests per worker: %s\n' "$mode" "$connections" \
    "$(awk '$1 == "Requests/sec:" { print $2 }' "$dir/wrk.txt")" "$(shares "$metrics")"
  stop_by_pid "$master"
}

echo "# Accept balance, $(date -u '+%Y-%m-%d %H:%M UTC'), prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $BENCH_WORKERS workers, $(nproc) CPUs"
for round in $(seq "$BENCH_ROUNDS"); do
  measure keep-alive 64
  measure close 16
done
