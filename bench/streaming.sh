#!/usr/bin/env bash
# Streamed downloads: prefork answering with Responder::stream (tests/e2e/modules/stream_app's
# /bytes, chunked, written in 64 KiB pieces as back-pressure allows) against nginx serving the
# same bytes from a file (sendfile on), both with BENCH_WORKERS workers on free 127.0.0.1 ports
# and running side by side. Each round downloads SIZE MiB over STREAM_CONNECTIONS parallel curl
# connections from nginx, then from prefork (interleaved rounds, same run), and checks every
# download's size; meanwhile every worker's VmRSS is sampled every 50 ms. Reports MiB/s per
# round, the ratio prefork/nginx (issue 17's target: >= 0.8x) and the workers' RSS before and
# at its peak during the downloads (target: flat).
#
#   bench/streaming.sh [SIZE_MIB] [BUILD]    SIZE_MIB defaults to 100, BUILD to build-release
#
# BENCH_ROUNDS (3), STREAM_CONNECTIONS (4), BENCH_WORKERS (2). Writes the table to
# bench/results/streaming-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

SIZE_MIB=${1:-100}
BUILD=${2:-$ROOT/build-release}
PREFORK=$BUILD/prefork
STREAM_MODULE=$BUILD/tests/e2e/modules/libstream.so
STREAM_CONNECTIONS=${STREAM_CONNECTIONS:-4}
OUT="$ROOT/bench/results"
SIZE=$((SIZE_MIB * 1024 * 1024))
[ -x "$PREFORK" ] || die "binary $PREFORK not found (meson setup build-release --buildtype=release && ninja -C build-release)"
[ -f "$STREAM_MODULE" ] || die "$STREAM_MODULE not found (a build with tests, the default)"

bench_init curl python3 nginx

# The body stream_app sends: the letters a..z repeated; index.html answers the readiness polls.
mkdir -p "$BENCH_TMP/files"
echo ok >"$BENCH_TMP/files/index.html"
python3 - "$BENCH_TMP/files/body" "$SIZE" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
block = bytes(ord("a") + i % 26 for i in range(26 * 40330))  # a multiple of 26, about 1 MiB
with open(path, "wb") as out:
    while size > 0:
        out.write(block[: min(size, len(block))])
        size -= len(block)
PY

# The children of a master: its workers.
workers_of() {
  cat "/proc/$1/task/$1/children" 2>/dev/null || true
}

# The largest VmRSS (KiB) of any of PIDS.
max_rss() {
  local pid rss max=0
  for pid in "$@"; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$max" ] && max=$rss
  done
  echo "$max"
}

# Samples max_rss of PIDS every 50 ms into FILE (one number, the peak so far) until killed.
sample_rss() {
  local file=$1 peak=0 now
  shift
  while :; do
    now=$(max_rss "$@")
    if [ "$now" -gt "$peak" ]; then
      peak=$now
      echo "$peak" >"$file"
    fi
    sleep 0.05
  done
}

# Starts a server and waits for it; sets STARTED_PID (its master) and STARTED_PORT.
start_and_wait() {
  local name=$1 server=$2 dir
  STARTED_PORT=$(free_port)
  dir="$BENCH_TMP/$name"
  mkdir -p "$dir"
  start_server "$server" "$STARTED_PORT" "$dir"
  wait_for_http "http://127.0.0.1:$STARTED_PORT/" "$STARTED_PID" ||
    { tail -n 20 "$dir/server.log" >&2; die "$name did not start"; }
}

# One round against URL: STREAM_CONNECTIONS curls at once; prints MiB/s over the whole round.
download_round() {
  local url=$1 i start end sizes curls=()
  start=$(now_seconds)
  for ((i = 0; i < STREAM_CONNECTIONS; i++)); do
    curl -sS --max-time 300 -o /dev/null -w '%{size_download}\n' "$url" >"$BENCH_TMP/size.$i" &
    curls+=($!)
  done
  wait "${curls[@]}"
  end=$(now_seconds)
  sizes=$(cat "$BENCH_TMP"/size.*)
  for i in $sizes; do
    [ "$i" = "$SIZE" ] || die "a download of $url had $i bytes, not $SIZE"
  done
  awk -v start="$start" -v end="$end" -v bytes=$((SIZE * STREAM_CONNECTIONS)) \
    'BEGIN { printf "%.1f\n", bytes / (end - start) / 1048576 }'
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
NGINX_LOCATION="root $BENCH_TMP/files; sendfile on; tcp_nopush on; default_type application/octet-stream;"
export NGINX_LOCATION
start_and_wait nginx nginx_command
nginx_pid=$STARTED_PID
nginx_url="http://127.0.0.1:$STARTED_PORT/body"
start_and_wait prefork "prefork_command --app '$STREAM_MODULE:stream'"
prefork_pid=$STARTED_PID
prefork_url="http://127.0.0.1:$STARTED_PORT/bytes?n=$SIZE&chunk=65536"
# shellcheck disable=SC2046
max_rss $(workers_of "$nginx_pid") >"$BENCH_TMP/nginx.before"
# shellcheck disable=SC2046
max_rss $(workers_of "$prefork_pid") >"$BENCH_TMP/prefork.before"
log "nginx $nginx_url, prefork $prefork_url; $STREAM_CONNECTIONS x $SIZE_MIB MiB per round"

: >"$BENCH_TMP/rounds"
for name in nginx prefork; do echo 0 >"$BENCH_TMP/$name.peak"; done
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  line="$round"
  for name in nginx prefork; do
    pid_var=${name}_pid url_var=${name}_url
    # shellcheck disable=SC2046
    sample_rss "$BENCH_TMP/$name.peak.$round" $(workers_of "${!pid_var}") &
    sampler=$!
    rate=$(download_round "${!url_var}")
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    peak=$(cat "$BENCH_TMP/$name.peak.$round" 2>/dev/null || echo 0)
    [ "$peak" -gt "$(cat "$BENCH_TMP/$name.peak")" ] && echo "$peak" >"$BENCH_TMP/$name.peak"
    log "round $round $name: $rate MiB/s, worker RSS peak $peak KiB"
    line+=" $rate"
  done
  echo "$line" >>"$BENCH_TMP/rounds"
done
stop_by_pid "$prefork_pid"
stop_by_pid "$nginx_pid"

report=$(report_path streaming)
mkdir -p "$OUT"
{
  echo "# Streamed downloads, $started"
  echo
  echo "Command: \`bench/streaming.sh $SIZE_MIB $BUILD\` (BENCH_ROUNDS=$BENCH_ROUNDS, STREAM_CONNECTIONS=$STREAM_CONNECTIONS, BENCH_WORKERS=$BENCH_WORKERS)"
  echo
  echo "| round | nginx MiB/s | prefork MiB/s | prefork / nginx |"
  echo "|---:|---:|---:|---:|"
  awk '{ printf "| %s | %s | %s | %.2f× |\n", $1, $2, $3, $3 / $2; n += $2; p += $3 }
       END { printf "| all | %.1f | %.1f | %.2f× |\n", n / NR, p / NR, p / n }' "$BENCH_TMP/rounds"
  echo
  echo "| server | worker RSS before | worker RSS peak during the downloads |"
  echo "|---|---:|---:|"
  for name in nginx prefork; do
    awk -v name="$name" -v before="$(cat "$BENCH_TMP/$name.before")" \
      -v peak="$(cat "$BENCH_TMP/$name.peak")" \
      'BEGIN { printf "| %s | %.1f MiB | %.1f MiB |\n", name, before / 1024, peak / 1024 }'
  done
  echo
  echo "Each round: $STREAM_CONNECTIONS parallel \`curl -o /dev/null\` downloads of $SIZE_MIB MiB from"
  echo "nginx, then from prefork; MiB/s is all their bytes over the round's wall time, every"
  echo "download's size checked. nginx: $BENCH_WORKERS workers, \`location / { root …; sendfile on;"
  echo "tcp_nopush on; }\` serving a file of the bytes (Content-Length). prefork: \`-w $BENCH_WORKERS --app"
  echo "…/tests/e2e/modules/libstream.so:stream\`, \`GET /bytes?n=$SIZE&chunk=65536\`: the app writes"
  echo "64 KiB pieces of the same bytes into a \`prefork::Stream\` (chunked) as back-pressure"
  echo "allows. Worker RSS is the largest VmRSS of a server's workers, sampled every 50 ms."
  echo
  echo "- Machine: $(nproc) CPUs, $(uname -sr)."
  echo "- Versions: $(version_of nginx -v | sed 's/^nginx version: //'), $(version_of curl --version | awk '{ print $1, $2 }'), prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)."
} >"$report"
cat "$report"
log "report written to $report"
