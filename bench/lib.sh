# shellcheck shell=bash
# Shared helpers of the benchmark scripts in bench/. Source it from a script that runs
# under `set -euo pipefail`:
#
#   source "$ROOT/bench/lib.sh"
#   parse_options bench/NAME.sh "$@"     # the caller defines usage()
#   bench_init
#   add_server "nginx" 'nginx_command'
#   add_server "prefork" '"$PREFORK" -w 2 -b "127.0.0.1:$PORT"'
#   run_rounds
#   { render_table "nginx"; render_details "$versions"; } >"$report"
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
BENCH_PIPELINE=${BENCH_PIPELINE:-1}
# https for servers that serve TLS on $PORT; BENCH_CAFILE is then the CA that curl trusts.
BENCH_SCHEME=${BENCH_SCHEME:-http}
BENCH_CAFILE=${BENCH_CAFILE:-}

BENCH_NAMES=()
BENCH_COMMANDS=()
BENCH_DESCRIPTIONS=()
BENCH_CHECKS=()
BENCH_WRK_ARGS=()
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

# Checks that the tools named (default: wrk curl python3) are installed, creates the temporary
# directory of this run and makes sure every server we started is stopped and the directory
# removed however the script ends.
bench_init() {
  local tool tools=("$@")
  [ "$#" -gt 0 ] || tools=(wrk curl python3)
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/prefork-bench.XXXXXX")
  chmod 755 "$BENCH_TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local pid
  for pid in "${BENCH_RUNNING[@]}"; do
    stop_by_pid "$pid"
  done
  if [ -n "$BENCH_TMP" ]; then
    rm -rf "$BENCH_TMP"
  fi
}

# OUT/NAME-DATE.md for this run's report; NAME-DATE-2.md and so on when a run of the same
# minute already wrote one, so that no result is overwritten.
report_path() {
  local base
  base="$OUT/$1-$(date -u +%Y-%m-%d-%H%M)"
  local path="$base.md" n=2
  while [ -e "$path" ]; do
    path="$base-$n.md"
    n=$((n + 1))
  done
  printf '%s\n' "$path"
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

# Polls COMMAND... until it succeeds, for at most TIMEOUT seconds; fails early when the
# process group PGID has exited. WHAT names the condition in messages.
wait_until() {
  local timeout=$1 pgid=$2 what=$3
  shift 3
  local deadline
  deadline=$(deadline_in "$timeout")
  while [ "$(before "$deadline")" = 1 ]; do
    "$@" && return 0
    group_alive "$pgid" || { log "process group $pgid exited before $what"; return 1; }
    sleep 0.05
  done
  log "not $what within ${timeout}s"
  return 1
}

# Over https the certificate is verified against BENCH_CAFILE: a server that answers with the
# wrong one is not ready.
answers_200() {
  local tls=()
  [ -n "$BENCH_CAFILE" ] && tls=(--cacert "$BENCH_CAFILE")
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${tls[@]+"${tls[@]}"}" "$1" || true)" = 200 ]
}

# Polls URL until it answers 200 (see wait_until).
wait_for_http() {
  local url=$1 pgid=$2 timeout=${3:-$BENCH_START_TIMEOUT}
  wait_until "$timeout" "$pgid" "$url answered 200" answers_200 "$url"
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

# Runs wrk against URL for SECONDS with the configured threads and connections and more
# ARGS (e.g. -H 'Connection: close'); the raw output goes to OUTFILE.
run_wrk() {
  local url=$1 seconds=$2 outfile=$3 status=0 script=()
  shift 3
  [ "$BENCH_PIPELINE" -gt 1 ] && script=(-s "$(dirname "${BASH_SOURCE[0]}")/pipeline.lua")
  export BENCH_PIPELINE # read by pipeline.lua
  spawn_group "$outfile" wrk "-t$BENCH_THREADS" \
    "-c$BENCH_CONNECTIONS" "-d${seconds}s" --latency "${script[@]+"${script[@]}"}" "$@" "$url"
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
  BENCH_CHECKS+=("")
  BENCH_WRK_ARGS+=("")
}

# Gives the entry added last more wrk ARGS for its runs (kept quoted, as one string), so that
# one server can be measured under two loads in the same rounds.
wrk_args_last_server() {
  BENCH_WRK_ARGS[${#BENCH_WRK_ARGS[@]} - 1]=$(printf ' %q' "$@")
}

# Gives the entry added last a CHECK: a command evaluated like the server's (PORT, WORKDIR)
# after each measured run, while the server still runs, that shows the variant really did what
# its name says (e.g. wrote metrics to Redis). Its output and outcome go into the report; a
# failing check marks the row instead of aborting the run.
check_last_server() {
  BENCH_CHECKS[${#BENCH_CHECKS[@]} - 1]=$1
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
  local name=${BENCH_NAMES[$index]} port dir pid url wrk_args=()
  eval "wrk_args=(${BENCH_WRK_ARGS[$index]})"
  port=$(free_port)
  dir="$BENCH_TMP/round$round-server$index"
  mkdir -p "$dir"
  chmod 755 "$dir"
  start_server "${BENCH_COMMANDS[$index]}" "$port" "$dir"
  pid=$STARTED_PID
  url="$BENCH_SCHEME://127.0.0.1:$port/"
  if ! wait_for_http "$url" "$pid"; then
    tail -n 20 "$dir/server.log" >&2
    stop_by_pid "$pid"
    die "$name did not start"
  fi
  run_wrk "$url" "$BENCH_WARMUP" "$dir/warmup.txt" "${wrk_args[@]+"${wrk_args[@]}"}"
  run_wrk "$url" "$BENCH_DURATION" "$dir/wrk.txt" "${wrk_args[@]+"${wrk_args[@]}"}"
  run_check "$round" "$index" "$port" "$dir"
  stop_by_pid "$pid"
  local parsed
  parsed=$(parse_wrk "$dir/wrk.txt") || { cat "$dir/wrk.txt" >&2; die "cannot parse wrk output for $name"; }
  log "round $round: $name: $parsed (req/s p50_ms p99_ms errors)"
  echo "$round $index $parsed" >>"$BENCH_TMP/results"
}

# Appends "index<TAB>round<TAB>ok|FAILED<TAB>output" to $BENCH_TMP/checks.
run_check() {
  local round=$1 index=$2 port=$3 dir=$4 output outcome=ok
  [ -n "${BENCH_CHECKS[$index]}" ] || return 0
  output=$(run_in_workdir "${BENCH_CHECKS[$index]}" "$port" "$dir" 2>&1) || outcome=FAILED
  output=$(printf '%s' "$output" | tr '\t\n' '  ')
  [ "$outcome" = ok ] || log "round $round: ${BENCH_NAMES[$index]}: check FAILED: $output"
  printf '%s\t%s\t%s\t%s\n' "$index" "$round" "$outcome" "$output" >>"$BENCH_TMP/checks"
}

# Measures every entry once per round, interleaved (A B C A B C ...), so that slow drifts of
# the machine's load spread over all servers instead of favouring whichever ran first.
run_rounds() {
  [ "${#BENCH_NAMES[@]}" -gt 0 ] || die "no servers to measure"
  : >"$BENCH_TMP/results"
  : >"$BENCH_TMP/checks"
  local round index
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    for index in "${!BENCH_NAMES[@]}"; do
      measure_once "$round" "$index"
    done
  done
}

# Succeeds when a check of the run failed; says so on stderr.
any_check_failed() {
  awk -F '\t' '$3 == "FAILED" { failed = 1 } END { exit !failed }' "$BENCH_TMP/checks" || return 1
  log "some checks failed: the report marks the rows whose numbers do not measure what they say"
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

# The indices of the entries whose name matches the glob BENCH_TABLE_ROWS (default: all).
table_indices() {
  local index
  for index in "${!BENCH_NAMES[@]}"; do
    # shellcheck disable=SC2053 # a glob on purpose
    [[ ${BENCH_NAMES[$index]} == ${BENCH_TABLE_ROWS:-*} ]] && echo "$index"
  done
  return 0
}

# Prints the markdown table of medians: server | req/s | p50 | p99 | ratio to REFERENCE... |
# errors, one row per entry of table_indices. A reference that was not measured gets "—" in
# its column.
render_table() {
  local references=("$@") header="| server | req/s | p50 | p99 |" rule="|---|---:|---:|---:|"
  local reference index
  for reference in "${references[@]}"; do
    header+=" ratio to $reference |"
    rule+="---:|"
  done
  echo "$header errors |"
  echo "$rule---:|"
  for index in $(table_indices); do
    local rps p50 p99 errors line reference_index
    rps=$(median_of "$index" 3)
    p50=$(median_of "$index" 4)
    p99=$(median_of "$index" 5)
    errors=$(median_of "$index" 6)
    local name=${BENCH_NAMES[$index]}
    awk -F '\t' -v wanted="$index" '$1 == wanted && $3 == "FAILED" { failed = 1 } END { exit !failed }' \
      "$BENCH_TMP/checks" && name+=" (check FAILED, see below)"
    line=$(awk -v name="$name" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
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
  local versions=$1
  echo "- Machine: $(machine_description)."
  local pipelining=""
  [ "$BENCH_PIPELINE" -gt 1 ] && pipelining=" -s bench/pipeline.lua"
  echo "- Load: \`wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_DURATION}s --latency$pipelining $BENCH_SCHEME://127.0.0.1:PORT/\`" \
    "${pipelining:+($BENCH_PIPELINE requests per write)}" \
    "after a ${BENCH_WARMUP} s warm-up, each server started fresh on a free port per round;" \
    "rounds: $BENCH_ROUNDS, interleaved; the table shows medians of the rounds."
  echo "- Versions: $versions."
  echo
  echo "Servers (PORT and WORKDIR are set by the script):"
  echo
  render_server_list
  if [ -s "$BENCH_TMP/checks" ]; then
    echo
    render_checks
  fi
  echo
  echo "Requests per second in each round:"
  echo
  render_rounds
}

# Prints the outcome of every check (see check_last_server) as a markdown list.
# One line per server: its name and the command it ran; then the skipped ones.
render_server_list() {
  local index entry
  for index in "${!BENCH_NAMES[@]}"; do
    echo "- ${BENCH_NAMES[$index]}: ${BENCH_DESCRIPTIONS[$index]}"
  done
  for entry in "${BENCH_SKIPPED[@]+"${BENCH_SKIPPED[@]}"}"; do
    echo "- skipped: $entry"
  done
}

render_checks() {
  echo "Checks after each measured run (does the variant do what its name says?):"
  echo
  awk -F '\t' -v names="$(printf '%s\n' "${BENCH_NAMES[@]}")" '
    BEGIN { split(names, name, "\n") }
    { printf "- %s, round %s: %s: %s\n", name[$1 + 1], $2, $3, $4 }
  ' "$BENCH_TMP/checks"
}

options_synopsis() {
  echo "[--duration S] [--connections N] [--rounds R] [--pipeline N] [--prefork BIN]"
  echo "         [--baseline BIN] [--out DIR]"
}

options_help() {
  cat <<EOF
  --duration S      seconds of each measured wrk run (default $BENCH_DURATION)
  --connections N   wrk connections (default $BENCH_CONNECTIONS; wrk uses $BENCH_THREADS threads)
  --rounds R        interleaved rounds; the table shows medians (default $BENCH_ROUNDS)
  --pipeline N      requests per write (wrk with bench/pipeline.lua); default 1, no pipelining
  --prefork BIN     prefork hello binary (default build-release/examples/hello/hello)
  --baseline BIN    another prefork hello binary, measured in the same rounds as
                    "prefork (baseline)": before and after a change, side by side
  --out DIR         where the report goes (default bench/results)

Environment: PREFORK_ARGS (extra arguments for prefork), BENCH_WORKERS (worker processes of
every server, default ${BENCH_WORKERS:-2}).
EOF
}

require_positive_integer() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$1 needs a positive integer, got '$2'" >&2; exit 2; }
}

# Reads the options every benchmark script takes (see bench/README.md) into BENCH_DURATION,
# BENCH_CONNECTIONS, BENCH_ROUNDS, BENCH_PIPELINE, PREFORK, BASELINE and OUT, and records the command line (with
# PREFORK_ARGS when set) in COMMAND_LINE for the report. SCRIPT names the script; the caller
# defines usage().
parse_options() {
  COMMAND_LINE=$1
  shift
  [ $# -gt 0 ] && COMMAND_LINE+=$(printf ' %q' "$@")
  [ -n "${PREFORK_ARGS:-}" ] && COMMAND_LINE="PREFORK_ARGS=$(printf '%q' "$PREFORK_ARGS") $COMMAND_LINE"
  while [ $# -gt 0 ]; do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --duration | --connections | --rounds | --pipeline | --prefork | --baseline | --out)
        [ $# -ge 2 ] || { echo "$1 needs a value" >&2; usage >&2; exit 2; } ;;
      *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    # PREFORK, BASELINE and OUT are read by the calling script.
    # shellcheck disable=SC2034
    case $1 in
      --duration) require_positive_integer "$1" "$2"; BENCH_DURATION=$2 ;;
      --connections) require_positive_integer "$1" "$2"; BENCH_CONNECTIONS=$2 ;;
      --rounds) require_positive_integer "$1" "$2"; BENCH_ROUNDS=$2 ;;
      --pipeline) require_positive_integer "$1" "$2"; BENCH_PIPELINE=$2 ;;
      --prefork) PREFORK=$(realpath -m -- "$2") ;;
      --baseline) BASELINE=$(realpath -m -- "$2") ;;
      --out) OUT=$(realpath -m -- "$2") ;;
    esac
    shift 2
  done
}

# The first line of OUTPUT of a version command, whatever stream it printed on; "NAME not
# installed" for a tool this machine lacks (a server the run skipped).
version_of() {
  if ! command -v "$1" >/dev/null; then
    echo "$1 not installed"
    return
  fi
  "$@" 2>&1 | head -n 1 || true
}
