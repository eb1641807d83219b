#!/usr/bin/env bash
# How long the prefork master takes to answer GET /metrics when 16 workers store 200 values
# each, with the file storage and with Redis: one scrape at a time, as Prometheus does, first
# with the app idle and then with light HTTP load on the app. Writes a markdown report to
# OUT/scrape-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Light load on the app port while scraping: prefork's workers are busy, not saturated.
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-8}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"
# shellcheck source=bench/scrape_lib.sh
source "$ROOT/bench/scrape_lib.sh"

SCRAPE_WORKERS=${SCRAPE_WORKERS:-16}
# What every worker stores with bench/scrape/scrape_app.cpp: 46 built-in values and 155 of
# the app's (see the comment at the top of that file).
SCRAPE_VALUES_PER_WORKER=201
SCRAPE_START_TIMEOUT=${SCRAPE_START_TIMEOUT:-60}
SCRAPE_SINGLE_SAMPLES=20
GOAL_P99_MS=20

usage() {
  echo "usage: bench/scrape.sh $(options_synopsis)"
  cat <<EOF

  --duration S      seconds of each measured scrape run (default $BENCH_DURATION)
  --connections N   wrk connections of the load on the app port (default $BENCH_CONNECTIONS)
  --rounds R        interleaved rounds; the table shows medians (default $BENCH_ROUNDS)
  --prefork BIN     prefork binary (default build-release/prefork); the app is taken from
                    the same build directory: bench/scrape/libscrape_bench.so
  --out DIR         where the report goes (default bench/results)

Scrapes run with wrk -t1 -c1 (one scrape at a time). Environment: PREFORK_ARGS (extra
arguments for prefork), SCRAPE_WORKERS (default 16), SCRAPE_APP (the app's .so, overrides
the one next to --prefork). The Redis rows use a redis-server this script starts on a free
loopback port.
EOF
}

PREFORK="$ROOT/build-release/prefork"
OUT="$ROOT/bench/results"
parse_options bench/scrape.sh "$@"
APP=${SCRAPE_APP:-$(dirname "$PREFORK")/bench/scrape/libscrape_bench.so}
REDIS_PORT=""
REDIS_PID=""
# The metrics port of the prefork run under way; read by the server command in its subshell.
METRICS_PORT=""

# prefork with the scrape app on 127.0.0.1:$PORT, its /metrics on 127.0.0.1:$METRICS_PORT and
# its files (file storage) in WORKDIR/multiproc.
prefork_scrape_command() {
  mkdir -p "$WORKDIR/multiproc"
  # PREFORK_ARGS is split into words on purpose.
  # shellcheck disable=SC2086
  PROMETHEUS_BIND_ADDRESS=127.0.0.1 PROMETHEUS_METRICS_PORT=$METRICS_PORT \
    PROMETHEUS_MULTIPROC_DIR="$WORKDIR/multiproc" \
    exec "$PREFORK" -w "$SCRAPE_WORKERS" -b "127.0.0.1:$PORT" --app "$APP:scrape_bench" \
    ${PREFORK_ARGS:-}
}


# Succeeds when the exposition at URL shows every worker: the built-in uptime gauge of each
# worker_id and the app's per-pid gauge of each worker, so both the built-in and the app's
# values of all workers have reached the storage the master reads.
shows_every_worker() {
  local body
  body=$(curl -s --max-time 5 "$1") || return 1
  [ "$(distinct_label_values "$body" '_worker_uptime_seconds{' worker_id)" -eq "$SCRAPE_WORKERS" ] &&
    [ "$(distinct_label_values "$body" 'scrape_bench_queue_depth{' pid)" -eq "$SCRAPE_WORKERS" ]
}

# Prints how many distinct values LABEL takes on the sample lines of BODY that contain MARK.
distinct_label_values() {
  local body=$1 mark=$2 label=$3
  printf '%s\n' "$body" | awk -v mark="$mark" -v label="$label" '
    index($0, mark) && match($0, label "=\"[^\"]*\"") { seen[substr($0, RSTART, RLENGTH)] = 1 }
    END { print length(seen) }'
}

# Prints "pid count" per process: the values stored in the .db files of WORKDIR/multiproc.
# The layout is prometheus_client's: a used-bytes header, then entries of a key length, the
# key padded to 8 bytes, a value and a timestamp.
file_values_per_process() {
  python3 - "$WORKDIR/multiproc" <<'EOF'
import collections
import pathlib
import struct
import sys

counts = collections.Counter()
for path in pathlib.Path(sys.argv[1]).glob("*.db"):
    data = path.read_bytes()
    used = struct.unpack_from("i", data, 0)[0]
    position = 8
    while position < used:
        length = struct.unpack_from("i", data, position)[0]
        position += 4 + length + (8 - (length + 4) % 8) + 16
        counts[path.stem.rsplit("_", 1)[1]] += 1
for pid, count in sorted(counts.items()):
    print(pid, count)
EOF
}

# Prints "pid count" per process: the value keys ({prefix}:{type}:{pid}:metric:{hash}) in Redis.
redis_values_per_process() {
  redis_cli --scan --pattern '*:metric:*' | awk -F: '{ count[$(NF - 2)]++ }
    END { for (pid in count) print pid, count[pid] }'
}

# The "pid count" lines of STORAGE (file or redis) without the master's own values (its
# workers gauge): the master is SERVER_PID, since the server command execs prefork.
worker_values_per_process() {
  "$1_values_per_process" | awk -v master="$SERVER_PID" '$1 != master'
}

# Succeeds when STORAGE holds SCRAPE_VALUES_PER_WORKER values for each of SCRAPE_WORKERS
# worker processes, and for no other worker.
stores_expected_values() {
  worker_values_per_process "$1" | awk -v workers="$SCRAPE_WORKERS" -v wanted="$SCRAPE_VALUES_PER_WORKER" '
    { processes++; if ($2 != wanted) wrong++ }
    END { exit !(processes == workers && !wrong) }'
}

# The check of each row (see check_last_server): waits a little for the last values to be
# flushed, then prints how many values each process stores and fails unless every worker
# stores the expected number.
expect_values_per_worker() {
  local storage=$1 outcome=0
  wait_until 5 "$SERVER_PID" "every worker stored $SCRAPE_VALUES_PER_WORKER values" \
    stores_expected_values "$storage" 2>/dev/null || outcome=1
  worker_values_per_process "$storage" | awk '
    { processes++; total += $2; if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
    END { printf "%d workers store %d values (per worker: min %d, max %d)\n", processes, total, min, max }'
  if [ "$storage" = redis ]; then
    local files
    files=$(find "$WORKDIR/multiproc" -name '*.db' | wc -l)
    echo "$files .db files"
    [ "$files" -eq 0 ] || outcome=1
  fi
  return "$outcome"
}

# Fetches the exposition once to record its size (plain and gzip), its sample lines and
# families, then times SCRAPE_SINGLE_SAMPLES lone scrapes with curl. Appends "round storage
# bytes gzip_bytes samples families median_ms max_ms" to $BENCH_TMP/bodies.
record_exposition() {
  local round=$1 storage=$2 url=$3 dir=$4
  curl -s --fail -o "$dir/metrics.txt" "$url" || die "GET $url failed"
  local bytes gzip_bytes samples families times
  bytes=$(wc -c <"$dir/metrics.txt")
  gzip_bytes=$(curl -s --fail --compressed -o /dev/null -w '%{size_download}' "$url")
  samples=$(grep -vc '^#' "$dir/metrics.txt")
  families=$(grep -c '^# TYPE' "$dir/metrics.txt")
  times=$(for ((i = 0; i < SCRAPE_SINGLE_SAMPLES; i++)); do
    curl -s --fail -o /dev/null -w '%{time_total}\n' "$url"
  done | sort -g | awk '{ value[NR] = $1 * 1000 } END { printf "%.2f %.2f", value[int((NR + 1) / 2)], value[NR] }')
  echo "$round $storage $bytes $gzip_bytes $samples $families $times" >>"$BENCH_TMP/bodies"
}

# Starts prefork with STORAGE (entry IDLE_INDEX, whose twin under load is IDLE_INDEX + 1),
# waits until /metrics shows every worker, measures and stops it.
measure_storage() {
  local round=$1 storage=$2 idle_index=$3
  local port dir url
  port=$(free_port)
  METRICS_PORT=$(free_port)
  [ "$METRICS_PORT" != "$port" ] || METRICS_PORT=$(free_port)
  dir="$BENCH_TMP/round$round-$storage"
  mkdir -p "$dir"
  chmod 755 "$dir"
  start_server "${BENCH_COMMANDS[$idle_index]}" "$port" "$dir"
  SERVER_PID=$STARTED_PID
  url="http://127.0.0.1:$METRICS_PORT/metrics"
  if ! wait_until "$SCRAPE_START_TIMEOUT" "$SERVER_PID" "all $SCRAPE_WORKERS workers in $url" \
    shows_every_worker "$url"; then
    tail -n 20 "$dir/server.log" >&2
    stop_by_pid "$SERVER_PID"
    die "prefork with $storage storage did not show every worker"
  fi
  run_check "$round" "$idle_index" "$port" "$dir"
  record_exposition "$round" "$storage" "$url" "$dir"
  measure_scrapes "$round" "$idle_index" "$url" "$dir/scrape-idle"
  measure_scrapes_under_load "$round" "$((idle_index + 1))" "$url" "$dir/scrape-under-load" \
    "http://127.0.0.1:$port/"
  run_check "$round" "$((idle_index + 1))" "$port" "$dir"
  stop_by_pid "$SERVER_PID"
}

prefork_description() {
  echo "\`$1$PREFORK -w $SCRAPE_WORKERS -b 127.0.0.1:PORT --app $APP:scrape_bench${PREFORK_ARGS:+ $PREFORK_ARGS}\`" \
    "$2, with PROMETHEUS_BIND_ADDRESS=127.0.0.1, a free PROMETHEUS_METRICS_PORT and" \
    "PROMETHEUS_MULTIPROC_DIR=WORKDIR/multiproc"
}

# Registers two entries per storage: scrapes with the app idle, then under load. Only the
# first command of each pair runs; the second names the same server.
add_storages() {
  local file_description redis_description load="the same server while \`wrk -t1 -c$BENCH_CONNECTIONS\` loads the app port"
  file_description=$(prefork_description "" "(file storage, the default)")
  # Command strings are single-quoted: they expand later, in each server's own subshell.
  # shellcheck disable=SC2016
  {
    add_server "file, app idle" 'prefork_scrape_command' "$file_description"
    check_last_server 'expect_values_per_worker file'
    add_server "file, app under load" 'prefork_scrape_command' "$load"
    check_last_server 'expect_values_per_worker file'
    STORAGES=(file)
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
      skip_server "redis rows" "redis-server or redis-cli not installed (apt-get install redis-server)"
      return 0
    fi
    start_redis
    redis_description=$(prefork_description "REDIS_ENABLED=true REDIS_HOST=127.0.0.1 REDIS_PORT=R " \
      "against the script's redis-server on port R, emptied with FLUSHALL before each start")
    add_server "redis, app idle" \
      'redis_cli flushall >/dev/null && REDIS_ENABLED=true REDIS_HOST=127.0.0.1 REDIS_PORT=$REDIS_PORT prefork_scrape_command' \
      "$redis_description"
    check_last_server 'expect_values_per_worker redis'
    add_server "redis, app under load" 'prefork_scrape_command' "$load"
    check_last_server 'expect_values_per_worker redis'
    STORAGES+=(redis)
  }
}

# Measures every storage once per round, interleaved (file redis file redis ...).
run_scrape_rounds() {
  : >"$BENCH_TMP/results"
  : >"$BENCH_TMP/checks"
  : >"$BENCH_TMP/bodies"
  : >"$BENCH_TMP/load"
  local round position
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    for position in "${!STORAGES[@]}"; do
      measure_storage "$round" "${STORAGES[$position]}" "$((position * 2))"
    done
  done
}

render_expositions() {
  local storage
  echo "| storage | body | gzip body | sample lines | families | one scrape alone, median | one scrape alone, max |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for storage in "${STORAGES[@]}"; do
    local bytes gzip samples families median max
    bytes=$(median_where "$BENCH_TMP/bodies" 2 "$storage" 3)
    gzip=$(median_where "$BENCH_TMP/bodies" 2 "$storage" 4)
    samples=$(median_where "$BENCH_TMP/bodies" 2 "$storage" 5)
    families=$(median_where "$BENCH_TMP/bodies" 2 "$storage" 6)
    median=$(median_where "$BENCH_TMP/bodies" 2 "$storage" 7)
    max=$(median_where "$BENCH_TMP/bodies" 2 "$storage" 8)
    printf '| %s | %.0f B | %.0f B | %.0f | %.0f | %.2f ms | %.2f ms |\n' \
      "$storage" "$bytes" "$gzip" "$samples" "$families" "$median" "$max"
  done
}

render_load() {
  local index
  echo "| row | app req/s (median) | app errors |"
  echo "|---|---:|---:|"
  for index in "${!BENCH_NAMES[@]}"; do
    ((index % 2)) || continue
    printf '| %s | %.0f | %.0f |\n' "${BENCH_NAMES[$index]}" \
      "$(median_where "$BENCH_TMP/load" 2 "$index" 3)" "$(median_where "$BENCH_TMP/load" 2 "$index" 4)"
  done
}

# Prints, for each storage, whether the median p99 of its idle row meets issue 5's goal.
# The verdict on GOAL_P99_MS of each storage's idle rows (LOAD 0) or under-load rows (LOAD 1).
goal_verdicts() {
  local load=$1 position p99 verdicts=""
  for position in "${!STORAGES[@]}"; do
    p99=$(median_of "$((position * 2 + load))" 5)
    verdicts+=$(awk -v storage="${STORAGES[$position]}" -v p99="$p99" -v goal="$GOAL_P99_MS" \
      -v separator="${verdicts:+; }" \
      'BEGIN { printf "%s%s %s (%.2f ms)", separator, storage, (p99 < goal) ? "met" : "NOT met", p99 }')
  done
  echo "$verdicts"
}

bench_init
[ -x "$PREFORK" ] || die "binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)"
[ -f "$APP" ] || die "app $APP not found (built with prefork: ninja -C $(dirname "$PREFORK"))"
add_storages

versions="$(version_of redis-server --version | awk '{ print $1, $2, $3 }'),"
versions+=" $(version_of wrk -v | awk '{ print $1, $2 }'), $(version_of curl --version | awk '{ print $1, $2 }'),"
versions+=" prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path scrape)
run_scrape_rounds
[ -z "$REDIS_PID" ] || stop_by_pid "$REDIS_PID"

mkdir -p "$OUT"
{
  echo "# /metrics scrape benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  echo "$SCRAPE_WORKERS workers × $SCRAPE_VALUES_PER_WORKER stored values each; one scrape at a time."
  echo
  # No reference rows: the ratios between scrape rows mean nothing.
  # shellcheck disable=SC2119
  render_table
  echo
  echo "req/s here is scrapes per second with one connection. \"errors\" is the median count of socket"
  echo "errors plus non-2xx/3xx responses per run."
  echo "Issue 5's goal, p99 < $GOAL_P99_MS ms with the app idle: $(goal_verdicts 0)."
  echo "Issue 12's goal, p99 < $GOAL_P99_MS ms with the app under load: $(goal_verdicts 1)."
  echo
  echo "The exposition (medians of the rounds; \"one scrape alone\" is curl's time_total over"
  echo "$SCRAPE_SINGLE_SAMPLES sequential scrapes before wrk starts):"
  echo
  render_expositions
  echo
  echo "The app under load during the \"under load\" rows:"
  echo
  render_load
  echo
  echo "- What \"$SCRAPE_VALUES_PER_WORKER series per worker\" means: each worker stores $SCRAPE_VALUES_PER_WORKER values"
  echo "  (stored samples in prometheus_client's sense: a counter child is one value, a histogram child"
  echo "  its buckets and its sum). 46 are the built-in worker metrics (two counters, three"
  echo "  histograms, four gauges); 155 come from bench/scrape/scrape_app.cpp: a counter with 100"
  echo "  routes, a gauge (mode all, so one exported series per pid) with 23 queues, and a histogram"
  echo "  with 2 jobs × (15 buckets + sum). The master reads $((SCRAPE_WORKERS * SCRAPE_VALUES_PER_WORKER)) values per scrape;"
  echo "  counters and histograms are summed over workers, so the exposition has fewer lines."
  echo "- Machine: $(machine_description)."
  echo "- Scrapes: \`wrk -t1 -c1 -d${BENCH_DURATION}s --latency http://127.0.0.1:METRICS_PORT/metrics\` after a" \
    "${BENCH_WARMUP} s warm-up; load: \`wrk -t1 -c$BENCH_CONNECTIONS --latency http://127.0.0.1:PORT/\` for the" \
    "warm-up and the measured run; prefork started fresh per storage and round once /metrics showed" \
    "all $SCRAPE_WORKERS workers; rounds: $BENCH_ROUNDS, interleaved; tables show medians of the rounds."
  echo "- Versions: $versions."
  echo
  echo "Rows (PORT, METRICS_PORT and WORKDIR are set by the script):"
  echo
  render_server_list
  echo
  render_checks
  echo
  echo "Scrapes per second in each round:"
  echo
  render_rounds
} >"$report"

cat "$report"
log "report written to $report"
if any_check_failed; then
  exit 1
fi
