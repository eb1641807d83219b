#!/usr/bin/env bash
# What a Redis Sentinel failover costs prefork under load: prefork hello with its metrics in a
# Redis behind Sentinel (one master, one replica, three sentinels, all started by this script
# on free loopback ports), wrk in back-to-back 1-second slices, and SENTINEL FAILOVER halfway.
# Compares requests/s in the 5 s before the command with the failover window (from the command
# until the new master serves: every sentinel names it and it says ROLE master), checks that no
# request failed and that the metrics read back from the new master count every answered
# request. Writes a markdown report to OUT/failover-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DURATION=${BENCH_DURATION:-20}
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

BEFORE_SLICES=5
GOAL_RATIO=0.9
MASTER_NAME=mymaster

usage() {
  echo "usage: bench/failover.sh $(options_synopsis)"
  cat <<EOF

  --duration S      1-second wrk slices per round, at least 10 (default $BENCH_DURATION); the
                    failover is asked after slice S/2, and slices go on until the new master
                    has served for 3 of them
  --connections N   wrk connections (default $BENCH_CONNECTIONS; wrk uses $BENCH_THREADS threads)
  --rounds R        failovers, each with a fresh prefork; the master alternates (default $BENCH_ROUNDS)
  --prefork BIN     prefork hello binary (default build-release/examples/hello/hello)
  --out DIR         where the report goes (default bench/results)

Environment: PREFORK_ARGS (extra arguments for prefork), BENCH_WORKERS (worker processes,
default $BENCH_WORKERS). Needs redis-server and redis-cli.
EOF
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
parse_options bench/failover.sh "$@"
[ "$BENCH_DURATION" -ge 10 ] || die "--duration must be at least 10 (5 slices before the failover)"
[ -x "$PREFORK" ] || die "binary $PREFORK not found (meson setup build-release --buildtype=release && ninja -C build-release)"
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  die "redis-server or redis-cli not installed (apt-get install redis-server)"
fi

FAILOVER_AFTER=$((BENCH_DURATION / 2))
REDIS_PORTS=()    # [MASTER] is the master, [1 - MASTER] the replica
REDIS_PIDS=()
MASTER=0
SENTINEL_PORTS=()
SENTINEL_PIDS=()
SENTINELS=""      # as REDIS_SENTINELS takes them
METRICS_PORT=""   # the metrics port of the prefork run under way

redis_at() {
  local node=$1
  shift
  redis-cli -h 127.0.0.1 -p "$node" "$@" 2>/dev/null
}

# The value after FIELD in SENTINEL MASTER's flat list, from the sentinel on PORT.
sentinel_master_field() {
  redis_at "$1" sentinel master "$MASTER_NAME" | awk -v field="$2" 'previous == field { print; exit } { previous = $0 }'
}

# Ready for a failover: the replica is in sync and every sentinel knows it and the two others.
group_ready() {
  local sentinel replicas others
  [ "$(redis_field "${REDIS_PORTS[1 - MASTER]}" replication master_link_status)" = up ] || return 1
  for sentinel in "${SENTINEL_PORTS[@]}"; do
    replicas=$(sentinel_master_field "$sentinel" num-slaves)
    others=$(sentinel_master_field "$sentinel" num-other-sentinels)
    [ "${replicas:-0}" -ge 1 ] && [ "${others:-0}" -ge 2 ] || return 1
  done
}

# The replica (REDIS_PORTS[1 - MASTER]) serves as the master: every sentinel names it and it
# says ROLE master.
replica_promoted() {
  local sentinel promoted=${REDIS_PORTS[1 - MASTER]}
  for sentinel in "${SENTINEL_PORTS[@]}"; do
    [ "$(redis_at "$sentinel" sentinel get-master-addr-by-name "$MASTER_NAME" | sed -n 2p)" = "$promoted" ] ||
      return 1
  done
  [ "$(redis_at "$promoted" role | head -n 1)" = master ]
}

# SENTINEL FAILOVER succeeds once the sentinel has a replica it calls good (NOGOODSLAVE before).
failover_accepted() {
  [ "$(redis_at "${SENTINEL_PORTS[0]}" sentinel failover "$MASTER_NAME")" = OK ]
}

start_sentinel_group() {
  local node sentinel config
  local sync=(--repl-diskless-sync-delay 0)  # a master waits 5 s by default before a full sync
  for _ in 1 2; do
    node=$(free_port)
    if [ "${#REDIS_PORTS[@]}" -eq 0 ]; then
      start_redis_node "$node" "${sync[@]}"
    else
      start_redis_node "$node" "${sync[@]}" --replicaof 127.0.0.1 "${REDIS_PORTS[0]}"
    fi
    REDIS_PORTS+=("$node")
    REDIS_PIDS+=("$SPAWNED_PID")
  done
  for _ in 1 2 3; do
    sentinel=$(free_port)
    # A sentinel rewrites its config file: one of its own, in its directory.
    config="$BENCH_TMP/redis-$sentinel/sentinel.conf"
    mkdir -p "$(dirname "$config")"
    printf 'sentinel monitor %s 127.0.0.1 %s 2\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 10000\n' \
      "$MASTER_NAME" "${REDIS_PORTS[0]}" "$MASTER_NAME" "$MASTER_NAME" >"$config"
    start_redis_node "$sentinel" "$config" --sentinel
    SENTINEL_PORTS+=("$sentinel")
    SENTINEL_PIDS+=("$SPAWNED_PID")
  done
  SENTINELS=$(printf '127.0.0.1:%s,' "${SENTINEL_PORTS[@]}")
  SENTINELS=${SENTINELS%,}
  log "Redis master 127.0.0.1:${REDIS_PORTS[0]}, replica ${REDIS_PORTS[1]}, sentinels ${SENTINEL_PORTS[*]}"
}

# Runs 1-second wrk slices against URL back to back, at least SLICES of them and until the
# file DIR/stop exists; appends "slice start end requests seconds errors" to DIR/slices (start
# and end: wall clock around the wrk process; seconds: wrk's own measure).
run_slices() {
  local url=$1 slices=$2 dir=$3 slice=0 start end
  while [ "$slice" -lt "$slices" ] || [ ! -e "$dir/stop" ]; do
    slice=$((slice + 1))
    start=$(now_seconds)
    wrk "-t$BENCH_THREADS" "-c$BENCH_CONNECTIONS" -d1s "$url" >"$dir/slice$slice.txt" 2>&1 ||
      { echo "wrk failed in slice $slice" >&2; cat "$dir/slice$slice.txt" >&2; exit 1; }
    end=$(now_seconds)
    awk -v slice="$slice" -v start="$start" -v end="$end" '
      / requests in / { requests = $1; seconds = $4 + 0 }
      $1 == "Socket" && $2 == "errors:" {
        for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) errors += $i + 0
      }
      /Non-2xx or 3xx responses:/ { errors += $NF }
      END {
        if (requests == "") exit 1
        printf "%s %s %s %s %s %d\n", slice, start, end, requests, seconds, errors
      }' "$dir/slice$slice.txt" >>"$dir/slices" ||
      { echo "cannot parse slice $slice" >&2; cat "$dir/slice$slice.txt" >&2; exit 1; }
  done
}

slices_done() {
  [ "$(wc -l <"$1/slices")" -ge "$2" ]
}

# Succeeds once COUNT slices of DIR started at or after TIME.
slices_since() {
  awk -v t="$2" '$2 >= t { n++ } END { exit !(n >= count) }' count="$3" "$1/slices"
}

# Sum of gunicorn_worker_requests_total over the workers, as /metrics serves it from Redis.
counted_requests() {
  { curl -s --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" || true; } |
    awk '/^gunicorn_worker_requests_total\{/ { total += $2 } END { printf "%.0f\n", total }'
}

counted_at_least() {
  [ "$(counted_requests)" -ge "$1" ]
}

# One round: a fresh prefork on the current master's data set (emptied), the slices, the
# failover after slice FAILOVER_AFTER. Appends "round t_command t_promoted" to
# BENCH_TMP/failovers and "round outcome text" to BENCH_TMP/checks.
measure_round() {
  local round=$1 dir="$BENCH_TMP/round$1" port pid url loop answered counted errors
  local t_command t_promoted
  mkdir -p "$dir"
  : >"$dir/slices"
  wait_until 30 "${REDIS_PIDS[0]}" "the replica was in sync and the sentinels knew it" group_ready ||
    die "the Sentinel group is not ready for a failover"
  redis_at "${REDIS_PORTS[MASTER]}" flushall >/dev/null
  port=$(free_port)
  METRICS_PORT=$(free_port)
  # shellcheck disable=SC2016
  start_server 'REDIS_ENABLED=true REDIS_SENTINELS=$SENTINELS REDIS_SENTINEL_MASTER=$MASTER_NAME prefork_command ${PREFORK_ARGS:-}' \
    "$port" "$dir"
  pid=$STARTED_PID
  url="http://127.0.0.1:$port/"
  wait_for_http "$url" "$pid" || { tail -n 20 "$dir/server.log" >&2; die "prefork did not start"; }
  run_wrk "$url" "$BENCH_WARMUP" "$dir/warmup.txt"
  spawn_group "$dir/slices.log" run_slices "$url" "$BENCH_DURATION" "$dir"
  loop=$SPAWNED_PID
  wait_until $((FAILOVER_AFTER + 30)) "$loop" "slice $FAILOVER_AFTER was done" \
    slices_done "$dir" "$FAILOVER_AFTER" || { cat "$dir/slices.log" >&2; die "the wrk slices stopped"; }
  t_command=$(now_seconds)
  wait_until 10 "${SENTINEL_PIDS[0]}" "SENTINEL FAILOVER was accepted" failover_accepted ||
    die "SENTINEL FAILOVER was refused"
  wait_until 30 "${SENTINEL_PIDS[0]}" "the replica was promoted" replica_promoted ||
    die "the replica was not promoted"
  t_promoted=$(now_seconds)
  MASTER=$((1 - MASTER))
  log "round $round: failover done in $(awk -v a="$t_command" -v b="$t_promoted" 'BEGIN { printf "%.2f", b - a }') s"
  # Three slices that start after the promotion, then the loop may end.
  wait_until 60 "$loop" "3 slices ran after the promotion" slices_since "$dir" "$t_promoted" 3 ||
    { cat "$dir/slices.log" >&2; die "the wrk slices stopped"; }
  touch "$dir/stop"
  wait "$loop" || { cat "$dir/slices.log" >&2; die "the wrk slices failed"; }
  forget_pid "$loop"
  echo "$round $t_command $t_promoted" >>"$BENCH_TMP/failovers"

  answered=$(awk '{ n += $4 } END { print n + 0 }' "$dir/slices")
  errors=$(awk '{ n += $6 } END { print n + 0 }' "$dir/slices")
  local outcome=ok text
  if wait_until 15 "$pid" "/metrics counted the $answered requests wrk had answered" counted_at_least "$answered"; then
    counted=$(counted_requests)
  else
    counted=$(counted_requests)
    outcome=FAILED
  fi
  text="$errors failed requests (socket errors + non-2xx/3xx) over $answered answered; /metrics from the new master counts $counted requests (≥ $answered expected: wrk's plus warm-up and readiness probes)"
  [ "$errors" -eq 0 ] || outcome=FAILED
  printf '%s %s %s\n' "$round" "$outcome" "$text" >>"$BENCH_TMP/checks"
  [ "$outcome" = ok ] || log "round $round: check FAILED: $text"
  stop_by_pid "$pid"
}

# Prints "before_rps window_rps ratio window_slices" for ROUND: requests over wrk's seconds in
# the BEFORE_SLICES slices that ended before the command, and in the slices that overlap
# [command, promotion].
round_figures() {
  local round=$1 t_command t_promoted
  read -r _ t_command t_promoted < <(awk -v r="$round" '$1 == r' "$BENCH_TMP/failovers")
  awk -v c="$t_command" -v p="$t_promoted" -v keep="$BEFORE_SLICES" '
    $3 <= c { before[++b] = $0 }
    $3 > c && $2 < p { wn += $4; ws += $5; w++ }
    END {
      for (i = b - keep + 1; i <= b; i++) { split(before[i], f, " "); bn += f[4]; bs += f[5] }
      printf "%.0f %.0f %.2f %d\n", bn / bs, wn / ws, (wn / ws) / (bn / bs), w
    }' "$BENCH_TMP/round$round/slices"
}

# The per-second table of ROUND: time relative to the command, requests/s, errors, phase.
render_slices() {
  local round=$1 t_command t_promoted
  read -r _ t_command t_promoted < <(awk -v r="$round" '$1 == r' "$BENCH_TMP/failovers")
  echo "| slice | start (s from the command) | req/s | errors | phase |"
  echo "|---:|---:|---:|---:|---|"
  awk -v c="$t_command" -v p="$t_promoted" -v keep="$BEFORE_SLICES" '
    { line[NR] = $0; if ($3 <= c) last_before = NR }
    END {
      for (i = 1; i <= NR; i++) {
        split(line[i], f, " ")
        phase = ""
        if (i <= last_before && i > last_before - keep) phase = "before"
        if (f[3] > c && f[2] < p) phase = "failover window"
        printf "| %d | %+.2f | %.0f | %d | %s |\n", f[1], f[2] - c, f[4] / f[5], f[6], phase
      }
    }' "$BENCH_TMP/round$round/slices"
}

bench_init
start_sentinel_group
: >"$BENCH_TMP/failovers"
: >"$BENCH_TMP/checks"

started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path failover)
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  measure_round "$round"
done
for pid in "${SENTINEL_PIDS[@]}" "${REDIS_PIDS[@]}"; do
  stop_by_pid "$pid"
done

versions="$(version_of redis-server --version | awk '{ print $1, $2, $3 }'),"
versions+=" $(version_of wrk -v | awk '{ print $1, $2 }'),"
versions+=" prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"

mkdir -p "$OUT"
{
  echo "# Sentinel failover under load, $started_at"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  echo "| round | req/s, $BEFORE_SLICES s before | req/s, failover window | ratio | window | failover took | check |"
  echo "|---:|---:|---:|---:|---:|---:|---|"
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    read -r before_rps window_rps ratio window_slices < <(round_figures "$round")
    read -r _ t_command t_promoted < <(awk -v r="$round" '$1 == r' "$BENCH_TMP/failovers")
    outcome=$(awk -v r="$round" '$1 == r { print $2 }' "$BENCH_TMP/checks")
    echo "| $round | $before_rps | $window_rps | ${ratio}× | $window_slices slices |" \
      "$(awk -v a="$t_command" -v b="$t_promoted" 'BEGIN { printf "%.2f s", b - a }') | $outcome |"
  done
  if [ "$BENCH_ROUNDS" -gt 1 ]; then
    echo
    echo "Median ratio over the $BENCH_ROUNDS rounds: $(for ((round = 1; round <= BENCH_ROUNDS; round++)); do
      round_figures "$round"
    done | awk '{ print $3 }' | sort -g | awk '{ v[NR] = $1 } END {
      printf "%.2f×", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')."
  fi
  echo
  echo "Target (issue 12): requests/s during the failover window ≥ ${GOAL_RATIO}× the $BEFORE_SLICES s before, no failed request."
  echo "The window is every 1-second slice that overlaps the time from \`SENTINEL FAILOVER\` until the"
  echo "new master serves (every sentinel names it and it says ROLE master); req/s are requests over"
  echo "wrk's own seconds, summed over the slices of each window."
  echo
  echo "- Machine: $(machine_description)."
  echo "- Load: \`wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d1s http://127.0.0.1:PORT/\` back to back (each slice opens its connections anew)" \
    "after a ${BENCH_WARMUP} s warm-up; \`redis-cli -p SENTINEL SENTINEL FAILOVER $MASTER_NAME\` after slice $FAILOVER_AFTER."
  echo "- Server: \`REDIS_ENABLED=true REDIS_SENTINELS=127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3 REDIS_SENTINEL_MASTER=$MASTER_NAME" \
    "$PREFORK -w $BENCH_WORKERS -b 127.0.0.1:PORT${PREFORK_ARGS:+ $PREFORK_ARGS}\`, $PREFORK_ENV_NOTE; fresh each round, the master emptied before."
  echo "- Redis: one master and one replica (\`redis-server --port P --replicaof 127.0.0.1 M\`), three sentinels" \
    "(\`redis-server sentinel.conf --sentinel\`, quorum 2, down-after 1000 ms), all on free loopback ports; each round fails over the other way."
  echo "- Versions: $versions."
  echo
  echo "Checks (no failed request; the metrics read back from the new master count every answered request):"
  echo
  awk '{ round = $1; outcome = $2; $1 = $2 = ""; sub(/^  /, ""); printf "- round %s: %s: %s\n", round, outcome, $0 }' "$BENCH_TMP/checks"
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    echo
    echo "Round $round, requests/s per slice:"
    echo
    render_slices "$round"
  done
} >"$report"

cat "$report"
log "report written to $report"
if grep -q '^[0-9]* FAILED' "$BENCH_TMP/checks"; then
  log "some checks failed: see the report"
  exit 1
fi
