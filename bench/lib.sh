# Shared helpers of the benchmark scripts in bench/. Source it from a script that runs
# under `set -euo pipefail`:
#
#   source "$(dirname "$0")/lib.sh"
#   bench_init
#   add_server "nginx" 'nginx_command'
#   add_server "prefork" '"$PREFORK" -w 2 -b "127.0.0.1:$PORT"'
#   run_rounds
#   render_report "nginx" > "$out"
#
# A server entry is a name and a shell command string. The command is evaluated in a
# subshell that is the leader of its own process group, with PORT (a free loopback port) and
# WORKDIR (a private temporary directory, also the current directory) set; it must run the
# server in the foreground and serve HTTP on 127.0.0.1:$PORT/. Stopping signals the whole
# group, so servers that fork workers are stopped completely.

BENCH_DURATION=${BENCH_DURATION:-10}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_START_TIMEOUT=${BENCH_START_TIMEOUT:-15}
BENCH_STOP_TIMEOUT=${BENCH_STOP_TIMEOUT:-10}

BENCH_NAMES=()
BENCH_COMMANDS=()
BENCH_DESCRIPTIONS=()
BENCH_SKIPPED=()
BENCH_RUNNING=()
BENCH_TMP=""

log() {
  printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Creates the temporary directory of this run and makes sure every server we started is
# stopped and the directory removed however the script ends.
bench_init() {
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/prefork-bench.XXXXXX")
  chmod 755 "$BENCH_TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local tool
  for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
}

bench_cleanup() {
  local pid
  for pid in "${BENCH_RUNNING[@]}"; do
    stop_by_pid "$pid"
  done
  [ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
}

now_seconds() {
  date +%s.%N
}

# Prints 1 while the current time is before DEADLINE (seconds since the epoch).
before() {
  awk -v now="$(now_seconds)" -v deadline="$1" 'BEGIN { print (now < deadline) ? 1 : 0 }'
}

deadline_in() {
  awk -v now="$(now_seconds)" -v delay="$1" 'BEGIN { printf "%.3f\n", now + delay }'
}

# A TCP port nothing is bound to on 127.0.0.1, chosen below the kernel's ephemeral range so
# that wrk's own client sockets cannot take it between this check and the server's bind.
free_port() {
  python3 - <<'EOF'
import random
import socket
import sys

for _ in range(200):
    port = random.randint(20000, 30999)
    with socket.socket() as candidate:
        try:
            candidate.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    sys.exit(0)
sys.exit("no free port found in 20000-30999")
EOF
}

# Succeeds while the process group PGID still has a member that is not a zombie. Reads /proc
# directly (procps is not in minimal images); cat skips processes that vanish meanwhile (and
# then fails, which must not fail the pipeline). The fields after the command name in
# parentheses are: state, parent pid, process group.
group_alive() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v group="$1" '{ sub(/^.*\) /, "") } $3 == group && $1 != "Z" { found = 1 } END { exit !found }'
}

# Polls URL until it answers 200, for at most TIMEOUT seconds; fails early when the server
# process group PGID has exited.
wait_for_http() {
  local url=$1 pgid=$2 timeout=${3:-$BENCH_START_TIMEOUT}
  local deadline status
  deadline=$(deadline_in "$timeout")
  while [ "$(before "$deadline")" = 1 ]; do
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
    [ "$status" = 200 ] && return 0
    group_alive "$pgid" || { log "server exited before answering $url"; return 1; }
    sleep 0.05
  done
  log "no 200 from $url within ${timeout}s (last status: ${status:-none})"
  return 1
}

# Runs "$@" in the background as the leader of a new process group with its output in
# OUTPUT, and sets SPAWNED_PID. Own groups keep a terminal's Ctrl-C away from servers and wrk
# (wrk would catch it, print results and let the run go on); it reaches only this script,
# whose traps then stop every group it spawned.
spawn_group() {
  local output=$1
  shift
  set -m
  "$@" >"$output" 2>&1 </dev/null &
  SPAWNED_PID=$!
  set +m
  BENCH_RUNNING+=("$SPAWNED_PID")
}

forget_pid() {
  local kept=() running
  for running in "${BENCH_RUNNING[@]}"; do
    [ "$running" = "$1" ] || kept+=("$running")
  done
  BENCH_RUNNING=("${kept[@]+"${kept[@]}"}")
}

# Runs in the server's subshell: PORT and WORKDIR are for the evaluated command.
run_in_workdir() {
  local command=$1
  # shellcheck disable=SC2034
  PORT=$2
  WORKDIR=$3
  cd "$WORKDIR" || exit 1
  eval "$command"
}

# Starts COMMAND (see the top of this file) with its output in DIR/server.log. Sets
# STARTED_PID, the leader of the server's process group.
start_server() {
  local command=$1 port=$2 dir=$3
  spawn_group "$dir/server.log" run_in_workdir "$command" "$port" "$dir"
  STARTED_PID=$SPAWNED_PID
}

# Sends SIGTERM to the process group led by PID, waits up to TIMEOUT seconds for every member
# to exit, then sends SIGKILL; reaps the leader.
stop_by_pid() {
  local pid=$1 timeout=${2:-$BENCH_STOP_TIMEOUT}
  local deadline
  kill -TERM -- "-$pid" 2>/dev/null || true
  deadline=$(deadline_in "$timeout")
  while group_alive "$pid" && [ "$(before "$deadline")" = 1 ]; do
    sleep 0.05
  done
  if group_alive "$pid"; then
    log "process group $pid still running ${timeout}s after SIGTERM: sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# Runs wrk against URL for SECONDS with the configured threads and connections; the raw
# output goes to OUTFILE.
run_wrk() {
  local url=$1 seconds=$2 outfile=$3 status=0
  spawn_group "$outfile" wrk "-t$BENCH_THREADS" "-c$BENCH_CONNECTIONS" "-d${seconds}s" --latency "$url"
  wait "$SPAWNED_PID" || status=$?
  forget_pid "$SPAWNED_PID"
  [ "$status" = 0 ] || { cat "$outfile" >&2; die "wrk failed against $url (exit status $status)"; }
}

# Reads wrk --latency output and prints "requests_per_second p50_ms p99_ms errors", where
# errors counts socket errors plus non-2xx/3xx responses.
parse_wrk() {
  awk '
    function to_ms(text,    value, unit) {
      value = text + 0
      unit = text
      sub(/^[0-9.]+/, "", unit)
      if (unit == "us") return value / 1000
      if (unit == "ms") return value
      if (unit == "s") return value * 1000
      if (unit == "m") return value * 60000
      return -1
    }
    $1 == "50%" { p50 = to_ms($2) }
    $1 == "99%" { p99 = to_ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    $1 == "Socket" && $2 == "errors:" {
      for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) errors += $i + 0
    }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    END {
      if (rps == "" || p50 == "" || p99 == "") exit 1
      printf "%s %.3f %.3f %d\n", rps, p50, p99, errors
    }
  ' "$1"
}

# Registers a server entry: NAME COMMAND [DESCRIPTION]. The report shows DESCRIPTION (what
# the command really runs) or else COMMAND. Entries are measured in registration order in
# every round.
add_server() {
  BENCH_NAMES+=("$1")
  BENCH_COMMANDS+=("$2")
  local description=${3:-}
  [ -n "$description" ] || description="\`$2\`"
  BENCH_DESCRIPTIONS+=("$description")
}

# Records that NAME was left out and why; the report lists it.
skip_server() {
  log "skipping $1: $2"
  BENCH_SKIPPED+=("$1: $2")
}

# Starts entry INDEX on a free port, warms it up, measures it once and stops it. Appends
# "round index rps p50 p99 errors" to $BENCH_TMP/results.
measure_once() {
  local round=$1 index=$2
  local name=${BENCH_NAMES[$index]} port dir pid url
  port=$(free_port)
  dir="$BENCH_TMP/round$round-server$index"
  mkdir -p "$dir"
  chmod 755 "$dir"
  start_server "${BENCH_COMMANDS[$index]}" "$port" "$dir"
  pid=$STARTED_PID
  url="http://127.0.0.1:$port/"
  if ! wait_for_http "$url" "$pid"; then
    tail -n 20 "$dir/server.log" >&2
    stop_by_pid "$pid"
    die "$name did not start"
  fi
  run_wrk "$url" "$BENCH_WARMUP" "$dir/warmup.txt"
  run_wrk "$url" "$BENCH_DURATION" "$dir/wrk.txt"
  stop_by_pid "$pid"
  local parsed
  parsed=$(parse_wrk "$dir/wrk.txt") || { cat "$dir/wrk.txt" >&2; die "cannot parse wrk output for $name"; }
  log "round $round: $name: $parsed (req/s p50_ms p99_ms errors)"
  echo "$round $index $parsed" >>"$BENCH_TMP/results"
}

# Measures every entry once per round, interleaved (A B C A B C ...), so that slow drifts of
# the machine's load spread over all servers instead of favouring whichever ran first.
run_rounds() {
  [ "${#BENCH_NAMES[@]}" -gt 0 ] || die "no servers to measure"
  : >"$BENCH_TMP/results"
  local round index
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    for index in "${!BENCH_NAMES[@]}"; do
      measure_once "$round" "$index"
    done
  done
}

# Prints the median of column COLUMN (3 = req/s, 4 = p50, 5 = p99, 6 = errors) over the
# rounds of entry INDEX.
median_of() {
  local index=$1 column=$2
  awk -v index_wanted="$index" -v column="$column" '$2 == index_wanted { print $column }' \
    "$BENCH_TMP/results" | sort -g |
    awk '{ values[NR] = $1 } END {
      if (NR == 0) exit 1
      if (NR % 2) print values[(NR + 1) / 2]
      else print (values[NR / 2] + values[NR / 2 + 1]) / 2
    }'
}

index_of() {
  local name=$1 index
  for index in "${!BENCH_NAMES[@]}"; do
    [ "${BENCH_NAMES[$index]}" = "$name" ] && { echo "$index"; return 0; }
  done
  return 1
}

ratio() {
  awk -v value="$1" -v reference="$2" 'BEGIN { printf "%.2f×\n", value / reference }'
}

# Prints the markdown table of medians: server | req/s | p50 | p99 | ratio to REFERENCE... |
# errors. A reference that was not measured gets "—" in its column.
render_table() {
  local references=("$@") header="| server | req/s | p50 | p99 |" rule="|---|---:|---:|---:|"
  local reference index
  for reference in "${references[@]}"; do
    header+=" ratio to $reference |"
    rule+="---:|"
  done
  echo "$header errors |"
  echo "$rule---:|"
  for index in "${!BENCH_NAMES[@]}"; do
    local rps p50 p99 errors line reference_index
    rps=$(median_of "$index" 3)
    p50=$(median_of "$index" 4)
    p99=$(median_of "$index" 5)
    errors=$(median_of "$index" 6)
    line=$(awk -v name="${BENCH_NAMES[$index]}" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
      'BEGIN { printf "| %s | %.0f | %.2f ms | %.2f ms |", name, rps, p50, p99 }')
    for reference in "${references[@]}"; do
      if reference_index=$(index_of "$reference"); then
        line+=" $(ratio "$rps" "$(median_of "$reference_index" 3)") |"
      else
        line+=" — |"
      fi
    done
    echo "$line $(printf '%.0f' "$errors") |"
  done
}

# Prints the per-round req/s of every entry, to show how noisy the run was.
render_rounds() {
  local header="| server |" rule="|---|" round index
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    header+=" round $round |"
    rule+="---:|"
  done
  echo "$header"
  echo "$rule"
  for index in "${!BENCH_NAMES[@]}"; do
    local line="| ${BENCH_NAMES[$index]} |"
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
      line+=" $(awk -v r="$round" -v i="$index" '$1 == r && $2 == i { printf "%.0f", $3 }' "$BENCH_TMP/results") |"
    done
    echo "$line"
  done
}

machine_description() {
  local model
  model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  echo "$(nproc) CPUs (${model:-unknown model}), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; wrk and the servers share the CPUs"
}

# Prints the markdown sections shared by every report: setup, versions, servers, skips and
# the per-round numbers. VERSIONS is one preformatted line.
render_details() {
  local versions=$1 index entry
  echo "- Machine: $(machine_description)."
  echo "- Load: \`wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_DURATION}s --latency http://127.0.0.1:PORT/\`" \
    "after a ${BENCH_WARMUP} s warm-up, each server started fresh on a free port per round;" \
    "rounds: $BENCH_ROUNDS, interleaved; the table shows medians of the rounds."
  echo "- Versions: $versions."
  echo
  echo "Servers (PORT and WORKDIR are set by the script):"
  echo
  for index in "${!BENCH_NAMES[@]}"; do
    echo "- ${BENCH_NAMES[$index]}: ${BENCH_DESCRIPTIONS[$index]}"
  done
  for entry in "${BENCH_SKIPPED[@]+"${BENCH_SKIPPED[@]}"}"; do
    echo "- skipped: $entry"
  done
  echo
  echo "Requests per second in each round:"
  echo
  render_rounds
}

# The first line of OUTPUT of a version command, whatever stream it printed on.
version_of() {
  "$@" 2>&1 | head -n 1 || true
}
