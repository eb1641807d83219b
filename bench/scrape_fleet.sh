#!/usr/bin/env bash
# How long the fleet view takes to answer GET /metrics: N prefork instances (default 8) of 16
# workers that store 200 values each share one Redis, and `prefork metrics` with
# scope = "fleet" serves all of them, each labelled instance. One scrape at a time, as
# Prometheus does, first with the apps idle and then with light HTTP load on one instance; the
# same for that instance's own master (instance scope) for comparison. Writes a markdown report
# to OUT/scrape-fleet-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Light load on one app port while scraping: its workers are busy, not saturated.
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-8}
# Starting 8 × 16 workers is slow; the rounds share one fleet, started once.
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"
# shellcheck source=bench/scrape_lib.sh
source "$ROOT/bench/scrape_lib.sh"

SCRAPE_FLEET_INSTANCES=${SCRAPE_FLEET_INSTANCES:-8}
SCRAPE_WORKERS=${SCRAPE_WORKERS:-16}
SCRAPE_START_TIMEOUT=${SCRAPE_START_TIMEOUT:-300}
# What every worker stores with bench/scrape/scrape_app.cpp (see bench/scrape.sh).
SCRAPE_VALUES_PER_WORKER=201
GOAL_P99_MS=100

usage() {
  echo "usage: bench/scrape_fleet.sh $(options_synopsis)"
  cat <<EOF

  --duration S      seconds of each measured scrape run (default $BENCH_DURATION)
  --connections N   wrk connections of the load on the first instance's app port (default $BENCH_CONNECTIONS)
  --rounds R        interleaved rounds over one fleet; the table shows medians (default $BENCH_ROUNDS)
  --prefork BIN     prefork binary (default build-release/prefork); the app is taken from
                    the same build directory: bench/scrape/libscrape_bench.so
  --out DIR         where the report goes (default bench/results)

Scrapes run with wrk -t1 -c1 (one scrape at a time). Environment: SCRAPE_FLEET_INSTANCES
(default 8), SCRAPE_WORKERS (workers per instance, default 16), SCRAPE_APP (the app's .so),
PREFORK_ARGS (extra arguments for each instance), SCRAPE_START_TIMEOUT (seconds until the
fleet view must show every worker, default 300). Needs redis-server and redis-cli.
EOF
}

PREFORK="$ROOT/build-release/prefork"
OUT="$ROOT/bench/results"
parse_options bench/scrape_fleet.sh "$@"
APP=${SCRAPE_APP:-$(dirname "$PREFORK")/bench/scrape/libscrape_bench.so}
TAKEN_PORTS=()
INSTANCE_PIDS=()
APP_PORTS=()
WORKERS_IN_FLEET=$((SCRAPE_FLEET_INSTANCES * SCRAPE_WORKERS))

# Sets the variable NAME to a free loopback port that no other server of this run was given.
take_port() {
  local candidate
  candidate=$(free_port)
  while [[ " ${TAKEN_PORTS[*]} " == *" $candidate "* ]]; do candidate=$(free_port); done
  TAKEN_PORTS+=("$candidate")
  printf -v "$1" %s "$candidate"
}

# Writes DIR/prefork.toml: metrics in the script's Redis as instance NAME, served on
# 127.0.0.1:METRICS_PORT, with more [metrics] lines in EXTRA.
write_config() {
  local dir=$1 name=$2 metrics_port=$3 extra=${4:-}
  mkdir -p "$dir"
  cat >"$dir/prefork.toml" <<EOF
[redis]
enabled = true
host = "127.0.0.1"
port = $REDIS_PORT

[metrics]
instance = "$name"
bind_address = "127.0.0.1"
port = $metrics_port
$extra
EOF
}

# Runs in an instance's own subshell (see start_server): prefork with the scrape app.
instance_command() {
  # PREFORK_ARGS is split into words on purpose.
  # shellcheck disable=SC2086
  exec "$PREFORK" -c "$WORKDIR/prefork.toml" -w "$SCRAPE_WORKERS" -b "127.0.0.1:$PORT" \
    --app "$APP:scrape_bench" ${PREFORK_ARGS:-}
}

# Starts the instances fleet1..fleetN with the scrape app and the fleet view (FLEET_PID,
# FLEET_URL); INSTANCE_URL is the first instance's own /metrics.
start_fleet() {
  local k port metrics_port
  for ((k = 1; k <= SCRAPE_FLEET_INSTANCES; k++)); do
    take_port port
    take_port metrics_port
    write_config "$BENCH_TMP/fleet$k" "fleet$k" "$metrics_port"
    [ "$k" -gt 1 ] || INSTANCE_URL="http://127.0.0.1:$metrics_port/metrics"
    start_server instance_command "$port" "$BENCH_TMP/fleet$k"
    INSTANCE_PIDS+=("$STARTED_PID")
    APP_PORTS+=("$port")
  done
  take_port metrics_port
  write_config "$BENCH_TMP/viewer" viewer "$metrics_port" 'scope = "fleet"'
  # shellcheck disable=SC2016
  start_server 'exec "$PREFORK" metrics -c "$WORKDIR/prefork.toml"' "" "$BENCH_TMP/viewer"
  FLEET_PID=$STARTED_PID
  FLEET_URL="http://127.0.0.1:$metrics_port/metrics"
  log "$SCRAPE_FLEET_INSTANCES instances × $SCRAPE_WORKERS workers started, fleet view on $FLEET_URL"
}

# Prints how many distinct (instance, LABEL) pairs the samples of METRIC in FILE have.
distinct_pairs() {
  awk -v mark="$2{" -v label="$3" '
    index($0, mark) == 1 && match($0, label "=\"[^\"]*\"") {
      value = substr($0, RSTART, RLENGTH)
      seen[(match($0, /instance="[^"]*"/) ? substr($0, RSTART, RLENGTH) : "") value] = 1
    }
    END { print length(seen) }' "$1"
}

# Succeeds when the exposition at URL (saved to FILE) shows WANTED workers: the built-in uptime
# gauge of each (instance, worker_id) and the app's per-pid gauge of each worker, so both the
# built-in and the app's values of every worker are in Redis.
shows_workers() {
  local url=$1 file=$2 wanted=$3
  curl -s --fail --max-time 10 -o "$file" "$url" || return 1
  [ "$(distinct_pairs "$file" gunicorn_worker_uptime_seconds worker_id)" -eq "$wanted" ] &&
    [ "$(distinct_pairs "$file" scrape_bench_queue_depth pid)" -eq "$wanted" ]
}

# Prints "processes values min max": the value keys ({prefix}:{type}:{instance}-{pid}:metric:…)
# of worker processes in Redis; the masters and the archives are left out.
worker_values() {
  redis_cli --scan --pattern '*:metric:*' | awk -F: -v masters=" ${INSTANCE_PIDS[*]} " '
    { owner = $(NF - 2); gsub(/[{}]/, "", owner); pid = owner; sub(/.*-/, "", pid) }
    pid ~ /^[0-9]+$/ && !index(masters, " " pid " ") { count[owner]++ }
    END {
      for (owner in count) {
        processes++; total += count[owner]
        if (min == "" || count[owner] < min) min = count[owner]
        if (count[owner] > max) max = count[owner]
      }
      printf "%d %d %d %d\n", processes, total, min, max
    }'
}

# Succeeds when every worker of the fleet, and no other, stores the same number of values, at
# least SCRAPE_VALUES_PER_WORKER (the built-in metrics may grow).
stores_expected_values() {
  local processes min max
  read -r processes _ min max < <(worker_values)
  [ "$processes" = "$WORKERS_IN_FLEET" ] && [ "$min" = "$max" ] && [ "$min" -ge "$SCRAPE_VALUES_PER_WORKER" ]
}

# Appends "view bytes gzip_bytes samples" of the exposition at URL to BENCH_TMP/bodies.
record_exposition() {
  local view=$1 url=$2 file="$BENCH_TMP/$1-metrics.txt"
  curl -s --fail -o "$file" "$url" || die "GET $url failed"
  echo "$view $(wc -c <"$file") $(curl -s --fail --compressed -o /dev/null -w '%{size_download}' "$url")" \
    "$(grep -vc '^#' "$file")" >>"$BENCH_TMP/bodies"
}

render_results() {
  local index view load
  echo "| row | scrapes/s | p50 | p99 | errors | body | gzip body | sample lines | app req/s (load) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for index in "${!BENCH_NAMES[@]}"; do
    view=fleet
    ((index < 2)) || view=instance
    load=—
    ((index % 2 == 0)) || load=$(median_where "$BENCH_TMP/load" 2 "$index" 3 | awk '{ printf "%.0f", $1 }')
    awk -v name="${BENCH_NAMES[$index]}" -v rps="$(median_of "$index" 3)" -v p50="$(median_of "$index" 4)" \
      -v p99="$(median_of "$index" 5)" -v errors="$(median_of "$index" 6)" \
      -v body="$(median_where "$BENCH_TMP/bodies" 1 "$view" 2)" -v gzip="$(median_where "$BENCH_TMP/bodies" 1 "$view" 3)" \
      -v samples="$(median_where "$BENCH_TMP/bodies" 1 "$view" 4)" \
      -v load="$load" \
      'BEGIN { printf "| %s | %.0f | %.2f ms | %.2f ms | %d | %d B | %d B | %d | %s |\n",
        name, rps, p50, p99, errors, body, gzip, samples, load }'
  done
}

goal_verdicts() {
  local index
  for index in 0 1; do
    awk -v position="$index" -v name="${BENCH_NAMES[$index]}" -v p99="$(median_of "$index" 5)" -v goal="$GOAL_P99_MS" \
      'BEGIN { printf "%s%s: %s (%.2f ms)", position ? "; " : "", name, (p99 < goal) ? "met" : "NOT met", p99 }'
  done
}

bench_init
[ -x "$PREFORK" ] || die "binary $PREFORK not found (build it: ninja -C build-release prefork)"
[ -f "$APP" ] || die "app $APP not found (ninja -C $(dirname "$PREFORK") bench/scrape/libscrape_bench.so)"
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install redis-server)"
done
start_redis
TAKEN_PORTS+=("$REDIS_PORT")
start_fleet

load_note="while \`wrk -t1 -c$BENCH_CONNECTIONS\` loads fleet1's app port"
instance_command="\`$PREFORK -c fleetK.toml -w $SCRAPE_WORKERS -b 127.0.0.1:PORT --app $APP:scrape_bench${PREFORK_ARGS:+ $PREFORK_ARGS}\`"
add_server "fleet view, apps idle" "" "\`$PREFORK metrics -c fleet.toml\` (\`scope = \"fleet\"\`), its /metrics
  serving $SCRAPE_FLEET_INSTANCES instances fleet1…fleet$SCRAPE_FLEET_INSTANCES, each $instance_command with
  \`[redis] enabled = true, host = \"127.0.0.1\", port = R\` and \`[metrics] instance = \"fleetK\",
  bind_address = \"127.0.0.1\", port = METRICS_PORT\`"
add_server "fleet view, app under load" "" "the same $load_note"
add_server "fleet1's master, apps idle" "" "fleet1's own /metrics (instance scope, $SCRAPE_WORKERS workers)"
add_server "fleet1's master, app under load" "" "the same $load_note"

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path scrape-fleet)
begun=$(now_seconds)
if ! wait_until "$SCRAPE_START_TIMEOUT" "$FLEET_PID" "all $WORKERS_IN_FLEET workers in $FLEET_URL" \
  shows_workers "$FLEET_URL" "$BENCH_TMP/ready.txt" "$WORKERS_IN_FLEET"; then
  tail -n 5 "$BENCH_TMP"/*/server.log >&2
  die "the fleet view did not show every worker"
fi
ready_seconds=$(awk -v begun="$begun" -v now="$(now_seconds)" 'BEGIN { printf "%.0f", now - begun }')
wait_until 30 "${INSTANCE_PIDS[0]}" "all $SCRAPE_WORKERS workers in $INSTANCE_URL" \
  shows_workers "$INSTANCE_URL" "$BENCH_TMP/ready.txt" "$SCRAPE_WORKERS" ||
  die "fleet1's master did not show its workers"
values_check=ok
wait_until 10 "$FLEET_PID" "every worker stored its values" stores_expected_values ||
  values_check="NOT as expected"
read -r processes values min max < <(worker_values)
record_exposition fleet "$FLEET_URL"
record_exposition instance "$INSTANCE_URL"

: >"$BENCH_TMP/results"
: >"$BENCH_TMP/load"
LOAD_URL="http://127.0.0.1:${APP_PORTS[0]}/"
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  measure_scrapes "$round" 0 "$FLEET_URL" "$BENCH_TMP/round$round-fleet-idle"
  measure_scrapes_under_load "$round" 1 "$FLEET_URL" "$BENCH_TMP/round$round-fleet" "$LOAD_URL"
  measure_scrapes "$round" 2 "$INSTANCE_URL" "$BENCH_TMP/round$round-instance-idle"
  measure_scrapes_under_load "$round" 3 "$INSTANCE_URL" "$BENCH_TMP/round$round-instance" "$LOAD_URL"
done
for pid in "$FLEET_PID" "${INSTANCE_PIDS[@]}" "$REDIS_PID"; do
  stop_by_pid "$pid"
done

versions="$(version_of redis-server --version | awk '{ print $1, $2, $3 }'),"
versions+=" $(version_of wrk -v | awk '{ print $1, $2 }'), $(version_of curl --version | awk '{ print $1, $2 }'),"
versions+=" prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
mkdir -p "$OUT"
{
  echo "# Fleet /metrics scrape benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  echo "$SCRAPE_FLEET_INSTANCES instances × $SCRAPE_WORKERS workers × $SCRAPE_VALUES_PER_WORKER stored values on one"
  echo "redis-server, read by one \`prefork metrics\` with \`scope = \"fleet\"\`; one scrape at a time."
  echo
  render_results
  echo
  echo "Issue 12's goal for the fleet view, p99 < $GOAL_P99_MS ms: $(goal_verdicts)."
  echo "The fleet1 rows are one instance's master in the same run (instance scope), for comparison."
  echo "\"errors\" counts socket errors plus non-2xx/3xx responses; body, gzip body and sample lines"
  echo "are those of one scrape taken before wrk started; \"app req/s\" is the load on fleet1's app."
  echo
  echo "- Stored in Redis: $processes worker processes, $values values (per process: min $min, max $max);"
  echo "  expected $WORKERS_IN_FLEET processes of the same count, at least $SCRAPE_VALUES_PER_WORKER each: $values_check."
  echo "  The fleet view reads all of them per scrape and merges each instance apart; it showed every"
  echo "  worker ${ready_seconds} s after the instances were started."
  echo "- What \"$SCRAPE_VALUES_PER_WORKER series per worker\" means: see bench/README.md (bench/scrape.sh); here each"
  echo "  worker stores the app's 155 values and $((min - 155)) of the built-in worker metrics."
  echo "- Machine: $(machine_description)."
  echo "- Scrapes: \`wrk -t1 -c1 -d${BENCH_DURATION}s --latency URL\` after a ${BENCH_WARMUP} s warm-up; load:" \
    "\`wrk -t1 -c$BENCH_CONNECTIONS --latency http://127.0.0.1:PORT/\` on fleet1 for the warm-up and the" \
    "measured run; one fleet started once, measured when its /metrics showed all $WORKERS_IN_FLEET workers;" \
    "rounds: $BENCH_ROUNDS; tables show medians of the rounds."
  echo "- Versions: $versions."
  echo
  echo "Rows (PORT, METRICS_PORT and R are free loopback ports the script picks):"
  echo
  render_server_list
  echo
  echo "Scrapes per second in each round:"
  echo
  render_rounds
} >"$report"

cat "$report"
log "report written to $report"
