#!/usr/bin/env bash
# What a client sees during a deploy: prefork hello, nginx and gunicorn sync each under wrk for
# S seconds, once with keep-alive and once with `Connection: close`, and 3 s in a reload (HUP)
# or a binary upgrade (USR2, then the old master told to stop once the new one serves). Counts
# the requests completed, wrk's socket errors by kind and the non-2xx/3xx responses of each run.
# Writes a markdown report to OUT/upgrade-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

DEPLOY_AFTER=${DEPLOY_AFTER:-3}
DEPLOY_TIMEOUT=${DEPLOY_TIMEOUT:-30}
CLIENT_MODES=("keep-alive" "close")

usage() {
  echo "usage: bench/upgrade.sh [--duration S] [--connections N] [--prefork BIN] [--out DIR]"
  cat <<EOF

  --duration S      seconds of each wrk run, more than $DEPLOY_AFTER (default $BENCH_DURATION); the
                    deploy begins $DEPLOY_AFTER s in (DEPLOY_AFTER)
  --connections N   wrk connections (default $BENCH_CONNECTIONS; wrk uses $BENCH_THREADS threads)
  --prefork BIN     prefork hello binary (default build-release/examples/hello/hello)
  --out DIR         where the report goes (default bench/results)

Environment: PREFORK_ARGS (extra arguments for prefork), BENCH_WORKERS (worker processes of
every server, default $BENCH_WORKERS), DEPLOY_TIMEOUT (seconds a deploy step may take, default
$DEPLOY_TIMEOUT).
EOF
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
parse_options bench/upgrade.sh "$@"
[ "$BENCH_DURATION" -gt "$DEPLOY_AFTER" ] || die "--duration must be more than $DEPLOY_AFTER"

# The entries: name, command, pid file (in WORKDIR), deploys (HUP, USR2) and the functions that
# perform them.
ENTRY_NAMES=()
ENTRY_COMMANDS=()
ENTRY_PIDFILES=()
ENTRY_DEPLOYS=()
ENTRY_NOTES=()
SKIPPED=()

add_entry() {
  ENTRY_NAMES+=("$1")
  ENTRY_COMMANDS+=("$2")
  ENTRY_PIDFILES+=("$3")
  ENTRY_DEPLOYS+=("$4")
  ENTRY_NOTES+=("$5")
}

# nginx refuses USR2 while the process that started it runs (ngx_signal_handler: "ignoring"
# when getppid() is still ngx_parent), which is the case with daemon off under a supervisor.
# Its upgrade works once that parent is gone, as it is for a daemon: this runs nginx in the
# background, waits for its pid file and exits, so nginx is reparented.
nginx_parent_exits_command() {
  nginx_command &
  local deadline
  deadline=$(deadline_in "$BENCH_START_TIMEOUT")
  while [ ! -s "$WORKDIR/nginx.pid" ] && [ "$(before "$deadline")" = 1 ]; do
    sleep 0.05
  done
}

# Command strings are single-quoted: they expand later, in each server's own subshell.
# shellcheck disable=SC2016
if [ -x "$PREFORK" ]; then
  add_entry "prefork" 'prefork_command -p "$WORKDIR/prefork.pid" ${PREFORK_ARGS:-}' prefork.pid \
    "hup:deploy_hup usr2:deploy_prefork_usr2" \
    "\`$PREFORK -w $BENCH_WORKERS -b 127.0.0.1:PORT -p WORKDIR/prefork.pid${PREFORK_ARGS:+ $PREFORK_ARGS}\` $PREFORK_ENV_NOTE"
else
  SKIPPED+=("prefork: binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)")
fi
if command -v nginx >/dev/null; then
  add_entry "nginx" 'nginx_command' nginx.pid "hup:deploy_hup usr2:deploy_nginx_usr2" \
    "$NGINX_NOTE, pid file WORKDIR/nginx.pid"
  add_entry "nginx, parent exited" 'nginx_parent_exits_command' nginx.pid "usr2:deploy_nginx_usr2" \
    "the same nginx started in the background by a shell that exits once nginx.pid exists (as a daemon's parent does), so that nginx accepts USR2"
else
  SKIPPED+=("nginx: not installed (apt-get install nginx-light)")
fi
# shellcheck disable=SC2016
if command -v gunicorn >/dev/null; then
  add_entry "gunicorn sync" 'gunicorn_sync_command -p "$WORKDIR/gunicorn.pid"' gunicorn.pid \
    "hup:deploy_hup usr2:deploy_gunicorn_usr2" "$GUNICORN_SYNC_NOTE, with \`-p WORKDIR/gunicorn.pid\`"
else
  SKIPPED+=("gunicorn sync: not installed (apt-get install gunicorn)")
fi
[ "${#ENTRY_NAMES[@]}" -gt 0 ] || die "no servers to measure"
for skipped in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do
  log "skipping $skipped"
done

# The live (not zombie) children of PID.
children_of() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v parent="$1" '{ pid = $1; sub(/^.*\) /, "") } $2 == parent && $1 != "Z" { print pid }'
}

alive() {
  local state
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

none_alive() {
  local pid
  for pid in "$@"; do
    alive "$pid" && return 1
  done
  return 0
}

read_pid() {
  local pid
  [ -r "$1" ] || return 1
  pid=$(tr -dc 0-9 <"$1")
  [ -n "$pid" ] && echo "$pid"
}

has_pid_file() {
  read_pid "$1" >/dev/null
}

# PID runs BENCH_WORKERS children or more.
has_workers() {
  [ "$(children_of "$1" | wc -l)" -ge "$BENCH_WORKERS" ]
}

# The HUP is done once the old workers have exited and the master runs new ones.
hup_done() {
  local master=$1
  shift
  none_alive "$@" && has_workers "$master"
}

pid_file_holds() {
  [ "$(read_pid "$1" 2>/dev/null)" = "$2" ]
}

log_has() {
  grep -q -- "$2" "$1" 2>/dev/null
}

# gunicorn logs "Booting worker with pid: N" once a worker runs.
gunicorn_workers_booted() {
  local log=$1 master=$2 worker
  has_workers "$master" || return 1
  for worker in $(children_of "$master"); do
    log_has "$log" "Booting worker with pid: $worker" || return 1
  done
}

# Each deploy function takes the run's directory, the server's process group and its master,
# returns 0 once the old generation is gone (1 when a step failed, 2 when the server refused the
# signal), and sets DEPLOY_TEXT (what happened) and NEW_MASTER (the master to stop at the end
# when it is not MASTER).

deploy_hup() {
  local dir=$1 group=$2 master=$3 old
  old=$(children_of "$master" | xargs)
  kill -HUP "$master"
  # shellcheck disable=SC2086 # the pids, one word each
  if wait_until "$DEPLOY_TIMEOUT" "$group" "the old workers exited and new ones ran" \
    hup_done "$master" $old; then
    DEPLOY_TEXT="HUP to master $master; old workers $old gone"
    return 0
  fi
  DEPLOY_TEXT="HUP to master $master; old workers $old not gone within ${DEPLOY_TIMEOUT}s"
  return 1
}

# USR2, the old master's "new master (pid N) ready", TERM to the old master (PIDFILE.oldbin).
deploy_prefork_usr2() {
  local dir=$1 group=$2 master=$3 old new oldbin
  local line='new master (pid [0-9]*) ready'
  old=$(children_of "$master" | xargs)
  kill -USR2 "$master"
  if ! wait_until "$DEPLOY_TIMEOUT" "$group" "the old master logged \"new master (pid N) ready\"" \
    log_has "$dir/server.log" "$line"; then
    DEPLOY_TEXT="USR2 to master $master; no \"new master (pid N) ready\": $(grep -i 'new master' "$dir/server.log" | tail -n 1)"
    return 1
  fi
  new=$(grep -o "$line" "$dir/server.log" | tail -n 1 | tr -dc 0-9)
  NEW_MASTER=$new
  oldbin=$(read_pid "$dir/prefork.pid.oldbin") || oldbin=""
  [ "$oldbin" = "$master" ] || { DEPLOY_TEXT="prefork.pid.oldbin holds '$oldbin', not $master"; return 1; }
  kill -TERM "$oldbin"
  # shellcheck disable=SC2086
  if wait_until "$DEPLOY_TIMEOUT" "$group" "the old master and its workers exited" \
    none_alive "$master" $old &&
    wait_until "$DEPLOY_TIMEOUT" "$group" "the new master was promoted" \
      log_has "$dir/server.log" "Master has been promoted"; then
    DEPLOY_TEXT="USR2 to $master; new master $new ready; TERM to $oldbin (prefork.pid.oldbin); old master and workers $old gone; new master promoted"
    return 0
  fi
  DEPLOY_TEXT="USR2 to $master; new master $new ready; TERM to $oldbin; the old generation or the promotion took more than ${DEPLOY_TIMEOUT}s"
  return 1
}

# USR2, nginx.pid.oldbin and the new master's workers, QUIT to the old master (graceful).
deploy_nginx_usr2() {
  local dir=$1 group=$2 master=$3 old new
  old=$(children_of "$master" | xargs)
  kill -USR2 "$master"
  if ! wait_until 5 "$group" "nginx.pid.oldbin appeared" has_pid_file "$dir/nginx.pid.oldbin"; then
    DEPLOY_TEXT="USR2 to master $master: no nginx.pid.oldbin within 5 s; nginx logged \`$(grep 'signal is ignored' "$dir/server.log" | tail -n 1 | sed 's/^[0-9/: ]*//')\`"
    return 2
  fi
  if ! wait_until "$DEPLOY_TIMEOUT" "$group" "nginx.pid named a new master" \
    has_pid_file "$dir/nginx.pid" || [ "$(read_pid "$dir/nginx.pid")" = "$master" ]; then
    DEPLOY_TEXT="USR2 to $master: nginx.pid.oldbin, but no new nginx.pid"
    return 1
  fi
  new=$(read_pid "$dir/nginx.pid")
  NEW_MASTER=$new
  wait_until "$DEPLOY_TIMEOUT" "$group" "the new master ran its workers" has_workers "$new" ||
    { DEPLOY_TEXT="USR2 to $master: new master $new without workers"; return 1; }
  kill -QUIT "$master"
  # shellcheck disable=SC2086
  if wait_until "$DEPLOY_TIMEOUT" "$group" "the old master and its workers exited" \
    none_alive "$master" $old; then
    DEPLOY_TEXT="USR2 to $master; new master $new (nginx.pid) with workers $(children_of "$new" | xargs); QUIT to $master (nginx.pid.oldbin); old master and workers $old gone"
    return 0
  fi
  DEPLOY_TEXT="USR2 to $master; new master $new; QUIT to $master: the old generation took more than ${DEPLOY_TIMEOUT}s"
  return 1
}

# USR2 (the new master writes PIDFILE.2; gunicorn 20 leaves PIDFILE to the old master, later
# versions rename it PIDFILE.oldbin), the new workers booted, TERM to the old master (graceful in
# gunicorn); once promoted the new master renames PIDFILE.2 to PIDFILE.
deploy_gunicorn_usr2() {
  local dir=$1 group=$2 master=$3 old new oldfile=gunicorn.pid
  old=$(children_of "$master" | xargs)
  kill -USR2 "$master"
  if ! wait_until "$DEPLOY_TIMEOUT" "$group" "gunicorn.pid.2 appeared" has_pid_file "$dir/gunicorn.pid.2"; then
    DEPLOY_TEXT="USR2 to $master: no gunicorn.pid.2"
    return 1
  fi
  new=$(read_pid "$dir/gunicorn.pid.2")
  NEW_MASTER=$new
  wait_until "$DEPLOY_TIMEOUT" "$group" "the new master's workers booted" \
    gunicorn_workers_booted "$dir/server.log" "$new" ||
    { DEPLOY_TEXT="USR2 to $master: new master $new without booted workers"; return 1; }
  [ -e "$dir/gunicorn.pid.oldbin" ] && oldfile=gunicorn.pid.oldbin
  pid_file_holds "$dir/$oldfile" "$master" ||
    { DEPLOY_TEXT="$oldfile does not hold the old master $master"; return 1; }
  kill -TERM "$master"
  # shellcheck disable=SC2086
  if wait_until "$DEPLOY_TIMEOUT" "$group" "the old master and its workers exited" \
    none_alive "$master" $old &&
    wait_until "$DEPLOY_TIMEOUT" "$group" "the new master was promoted" \
      pid_file_holds "$dir/gunicorn.pid" "$new"; then
    DEPLOY_TEXT="USR2 to $master; new master $new (gunicorn.pid.2) with booted workers; TERM to $master ($oldfile); old master and workers $old gone; gunicorn.pid holds $new"
    return 0
  fi
  DEPLOY_TEXT="USR2 to $master; new master $new; TERM to $master: the old generation or the promotion took more than ${DEPLOY_TIMEOUT}s"
  return 1
}

# Stops the new master of an upgrade by its pid (TERM, KILL after BENCH_STOP_TIMEOUT), then the
# process group the run started with.
stop_run() {
  local group=$1 new=$2 workers deadline
  if [ -n "$new" ] && alive "$new"; then
    workers=$(children_of "$new")
    kill -TERM "$new"
    deadline=$(deadline_in "$BENCH_STOP_TIMEOUT")
    # shellcheck disable=SC2086
    while ! none_alive "$new" $workers && [ "$(before "$deadline")" = 1 ]; do
      sleep 0.05
    done
    # shellcheck disable=SC2086
    none_alive "$new" $workers ||
      { log "new master $new still running: sending SIGKILL"; kill -KILL "$new" $workers 2>/dev/null || true; }
  fi
  stop_by_pid "$group"
}

# Prints "requests connect read write timeout non2xx" from wrk's output.
parse_counts() {
  awk '
    / requests in / { requests = $1 }
    $1 == "Socket" && $2 == "errors:" {
      gsub(/,/, "")
      for (i = 3; i < NF; i += 2) count[$i] = $(i + 1)
    }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    END {
      if (requests == "") exit 1
      printf "%s %d %d %d %d %d\n", requests, count["connect"], count["read"], count["write"],
        count["timeout"], non2xx
    }' "$1"
}

# One run: entry INDEX started fresh, wrk in MODE, DEPLOY (hup or usr2) DEPLOY_AFTER s in.
# Appends "index mode deploy outcome seconds requests connect read write timeout non2xx" to
# BENCH_TMP/results and "index mode deploy text" to BENCH_TMP/deploys.
measure_run() {
  local index=$1 mode=$2 deploy=$3 function=$4
  local name=${ENTRY_NAMES[$index]} port dir group master url wrk_pid status=0
  local outcome=ok code=0 started took wrk_args=()
  [ "$mode" = close ] && wrk_args=(-H "Connection: close")
  port=$(free_port)
  dir="$BENCH_TMP/server$index-$mode-$deploy"
  mkdir -p "$dir"
  chmod 755 "$dir"
  start_server "${ENTRY_COMMANDS[$index]}" "$port" "$dir"
  group=$STARTED_PID
  url="http://127.0.0.1:$port/"
  if ! wait_for_http "$url" "$group" ||
    ! wait_until "$BENCH_START_TIMEOUT" "$group" "${ENTRY_PIDFILES[$index]} was written" \
      has_pid_file "$dir/${ENTRY_PIDFILES[$index]}"; then
    tail -n 20 "$dir/server.log" >&2
    stop_by_pid "$group"
    die "$name did not start"
  fi
  master=$(read_pid "$dir/${ENTRY_PIDFILES[$index]}")
  run_wrk "$url" "$BENCH_WARMUP" "$dir/warmup.txt" "${wrk_args[@]+"${wrk_args[@]}"}"
  spawn_group "$dir/wrk.txt" wrk "-t$BENCH_THREADS" "-c$BENCH_CONNECTIONS" \
    "-d${BENCH_DURATION}s" "${wrk_args[@]+"${wrk_args[@]}"}" "$url"
  wrk_pid=$SPAWNED_PID
  sleep "$DEPLOY_AFTER"
  DEPLOY_TEXT=""
  NEW_MASTER=""
  started=$(now_seconds)
  "$function" "$dir" "$group" "$master" || code=$?
  took=$(awk -v a="$started" -v b="$(now_seconds)" 'BEGIN { printf "%.2f s", b - a }')
  case $code in
    0) ;;
    2) outcome=refused took=— ;;
    *) outcome=FAILED ;;
  esac
  wait "$wrk_pid" || status=$?
  forget_pid "$wrk_pid"
  stop_run "$group" "$NEW_MASTER"
  [ "$status" = 0 ] || { cat "$dir/wrk.txt" >&2; die "wrk failed against $name (exit status $status)"; }
  local counts
  counts=$(parse_counts "$dir/wrk.txt") || { cat "$dir/wrk.txt" >&2; die "cannot parse wrk output for $name"; }
  log "$name, $mode, $deploy: $outcome in ${took}; $counts (requests connect read write timeout non-2xx)"
  echo "$index $mode $deploy $outcome ${took/ /} $counts" >>"$BENCH_TMP/results"
  printf '%s\t%s\t%s\t%s\n' "$index" "$mode" "$deploy" "$DEPLOY_TEXT" >>"$BENCH_TMP/deploys"
}

bench_init
: >"$BENCH_TMP/results"
: >"$BENCH_TMP/deploys"

versions=$(peer_versions)

started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path upgrade)
# Interleaved: every server in turn for each deploy and client mode.
for deploy in hup usr2; do
  for mode in "${CLIENT_MODES[@]}"; do
    for index in "${!ENTRY_NAMES[@]}"; do
      for pair in ${ENTRY_DEPLOYS[$index]}; do
        [ "${pair%%:*}" = "$deploy" ] && measure_run "$index" "$mode" "$deploy" "${pair#*:}"
      done
    done
  done
done

deploy_label() {
  case $1 in
    hup) echo "HUP" ;;
    usr2) echo "USR2 + stop old" ;;
  esac
}

mkdir -p "$OUT"
{
  echo "# Deploy under load, $started_at"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  echo "| server | deploy | client | requests | connect errors | read errors | write errors | timeouts | non-2xx/3xx | deploy took | deploy |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  while read -r index mode deploy outcome took requests connect read write timeout non2xx; do
    echo "| ${ENTRY_NAMES[$index]} | $(deploy_label "$deploy") | $mode | $requests | $connect | $read | $write | $timeout | $non2xx | ${took/s/ s} | $outcome |"
  done <"$BENCH_TMP/results"
  echo
  echo "Each row is one run of \`wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_DURATION}s\` against a server started fresh"
  echo "(after a ${BENCH_WARMUP} s warm-up); the deploy begins ${DEPLOY_AFTER} s into the run. \"client\": keep-alive, or"
  echo "\`-H 'Connection: close'\` (a new connection per request). \"deploy took\": from the first signal until the old"
  echo "generation (master and workers, or the workers for HUP) was gone; \"deploy\": ok when every step below"
  echo "happened, FAILED when one did not, refused when the server ignored the signal (the numbers then show a run"
  echo "without a completed deploy). wrk counts a connection"
  echo "the server closes while wrk waits for a response as a read error, and one it resets on write as a write error."
  echo
  echo "- Machine: $(machine_description)."
  echo "- Versions: $versions."
  echo "- HUP: \`kill -HUP MASTER\`, then wait until the master's old workers have exited and it runs $BENCH_WORKERS or more."
  echo "- USR2 + stop old, prefork: \`kill -USR2 MASTER\`, wait for the old master's log line \"new master (pid N) ready\","
  echo "  then \`kill -TERM \$(cat PIDFILE.oldbin)\`; wait until the old master and workers are gone and the new master"
  echo "  logs \"Master has been promoted\"."
  echo "- USR2 + stop old, nginx: \`kill -USR2 MASTER\`, wait for nginx.pid.oldbin and the new master (nginx.pid) with"
  echo "  its workers, then \`kill -QUIT \$(cat nginx.pid.oldbin)\` (graceful); wait until the old generation is gone."
  echo "  nginx ignores USR2 while the process that started it still runs (\`daemon off\` under a supervisor: its"
  echo "  signal handler compares getppid() with the parent it started with), hence the row \"nginx, parent exited\"."
  echo "- USR2 + stop old, gunicorn: \`kill -USR2 MASTER\` (the new master writes PIDFILE.2; gunicorn 20 leaves PIDFILE to"
  echo "  the old master, later versions rename it PIDFILE.oldbin), wait until the new master's workers logged \"Booting"
  echo "  worker\", then \`kill -TERM\` the old master (graceful in gunicorn); wait until the old generation is gone and the"
  echo "  promoted new master renamed PIDFILE.2 to PIDFILE."
  echo "- At the end the new master is stopped by its pid (TERM), then the run's process group."
  echo
  echo "Servers (PORT and WORKDIR are set by the script):"
  echo
  for index in "${!ENTRY_NAMES[@]}"; do
    echo "- ${ENTRY_NAMES[$index]}: ${ENTRY_NOTES[$index]}"
  done
  for entry in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do
    echo "- skipped: $entry"
  done
  echo
  echo "What each deploy did:"
  echo
  awk -F '\t' -v names="$(printf '%s\n' "${ENTRY_NAMES[@]}")" '
    BEGIN { split(names, name, "\n") }
    { printf "- %s, %s, %s: %s\n", name[$1 + 1], toupper($3), $2, $4 }
  ' "$BENCH_TMP/deploys"
} >"$report"

cat "$report"
log "report written to $report"
