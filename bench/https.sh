#!/usr/bin/env bash
# HTTPS throughput and latency of prefork's hello example against nginx (static `return 200`),
# both over TLS 1.3 only with the same EC P-256 certificate and the same pinned suite, measured
# with wrk in one interleaved run on 127.0.0.1: keep-alive, and a new connection per request
# (which wrk makes by resuming its last session), plus full handshakes per second with
# `openssl s_time -new`. Writes a markdown table of medians and ratios to OUT/https-DATE.md
# and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

usage() {
  echo "usage: bench/https.sh $(options_synopsis)"
  echo
  options_help
  echo
  echo "The handshake row runs $BENCH_THREADS \`openssl s_time -new\` clients for --duration seconds."
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
parse_options bench/https.sh "$@"

bench_init
command -v openssl >/dev/null || die "openssl is not installed"
make_certificates
BENCH_SCHEME=https
BENCH_CAFILE="$BENCH_TMP/tls/ca.pem"

# The servers by name, each measured under both wrk loads; their entries are "NAME,
# keep-alive" and "NAME, close". SERVER_COMMANDS feeds the negotiation and handshake passes.
SERVERS=()
SERVER_COMMANDS=()

add_tls_server() {
  local name=$1 server=$2 description=$3
  SERVERS+=("$name")
  SERVER_COMMANDS+=("$server")
  add_server "$name, keep-alive" "$server" "$description"
  add_server "$name, close" "$server" "the same, wrk with \`-H 'Connection: close'\`"
  wrk_args_last_server -H 'Connection: close'
}

# Command strings are single-quoted: they expand later, in each server's own subshell.
# shellcheck disable=SC2016
if [ -x "$PREFORK" ]; then
  add_tls_server "prefork" 'prefork_tls_command ${PREFORK_ARGS:-}' \
    "\`$PREFORK -w $BENCH_WORKERS -b https://127.0.0.1:PORT $PREFORK_TLS_ARGS_NOTE${PREFORK_ARGS:+ $PREFORK_ARGS}\` (TLS = the run's certificates) $PREFORK_ENV_NOTE"
else
  skip_server "prefork" "binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)"
fi
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "baseline binary $BASELINE not found" >&2; exit 2; }
  # shellcheck disable=SC2016
  add_tls_server "prefork (baseline)" 'PREFORK=$BASELINE prefork_tls_command ${PREFORK_ARGS:-}' \
    "\`$BASELINE\` with the arguments of prefork"
fi
if command -v nginx >/dev/null; then
  add_tls_server "nginx" 'nginx_tls_command' "$NGINX_NOTE, $NGINX_TLS_NOTE"
else
  skip_server "nginx" "not installed (apt-get install nginx-light)"
fi
[ "${#SERVERS[@]}" -gt 0 ] || die "no servers to measure"

# Starts server INDEX of SERVERS on a free port in BENCH_TMP/NAME and waits until it answers
# over https; sets STARTED_PID and STARTED_PORT.
start_tls_server() {
  local index=$1 dir
  STARTED_PORT=$(free_port)
  dir="$BENCH_TMP/$2-server$index"
  mkdir -p "$dir"
  start_server "${SERVER_COMMANDS[$index]}" "$STARTED_PORT" "$dir"
  wait_for_http "https://127.0.0.1:$STARTED_PORT/" "$STARTED_PID" && return 0
  tail -n 20 "$dir/server.log" >&2
  stop_by_pid "$STARTED_PID"
  die "${SERVERS[$index]} did not start"
}

# What a fresh connection to PORT negotiates (s_client -brief: protocol, suite, the peer's
# signature type, key exchange, verification), then whether a second connection resumes
# the session ticket of a first one that read a response (TLS 1.3 tickets come after the
# handshake, so the first connection must read for it to have one).
negotiation_of() {
  local port=$1 session="$BENCH_TMP/session-$1" reused
  openssl s_client -connect "127.0.0.1:$port" -CAfile "$BENCH_CAFILE" -brief </dev/null 2>&1 |
    awk -F': ' '/^(Protocol version|Ciphersuite|Signature type|Hash used|Server Temp Key|Verification)/ {
      printf "%s%s: %s", sep, $1, $2; sep = "; " }'
  printf 'GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n' |
    openssl s_client -connect "127.0.0.1:$port" -CAfile "$BENCH_CAFILE" -ign_eof -quiet \
      -sess_out "$session" >/dev/null 2>&1 || true
  reused=$(openssl s_client -connect "127.0.0.1:$port" -CAfile "$BENCH_CAFILE" \
    -sess_in "$session" </dev/null 2>/dev/null | awk -F, '/^(Reused|New),/ { print $1; exit }' || true)
  echo "; second connection with the first's ticket: ${reused:-no answer}"
}

# Appends "NAME<TAB>negotiation" to BENCH_TMP/negotiated for every server, each started once
# before the rounds: the rows compare like with like only if these agree.
record_negotiation() {
  local index line
  : >"$BENCH_TMP/negotiated"
  for index in "${!SERVERS[@]}"; do
    start_tls_server "$index" negotiation
    line=$(negotiation_of "$STARTED_PORT")
    stop_by_pid "$STARTED_PID"
    log "${SERVERS[$index]} negotiates: $line"
    printf '%s\t%s\n' "${SERVERS[$index]}" "$line" >>"$BENCH_TMP/negotiated"
  done
}

# Runs BENCH_THREADS `openssl s_time -new` clients (one each would leave a worker idle) for
# SECONDS against PORT and sets HANDSHAKE_RATE, full handshakes per second summed over them
# (not printed: the clients must be spawned by this shell, not a command substitution, to be
# stopped at exit). s_time's own "real seconds" are whole seconds, so the wall time around
# the clients divides instead.
handshakes_per_second() {
  local port=$1 seconds=$2 dir=$3 client pids=() started ended
  started=$(now_seconds)
  for ((client = 1; client <= BENCH_THREADS; client++)); do
    spawn_group "$dir/s_time$client.txt" openssl s_time -connect "127.0.0.1:$port" -new \
      -time "$seconds" -CAfile "$BENCH_CAFILE"
    pids+=("$SPAWNED_PID")
  done
  for client in "${pids[@]}"; do
    wait "$client" || { cat "$dir"/s_time*.txt >&2; die "openssl s_time failed against port $port"; }
    forget_pid "$client"
  done
  ended=$(now_seconds)
  HANDSHAKE_RATE=$(cat "$dir"/s_time*.txt | awk -v elapsed="$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')" '
    /connections in [0-9.]+s;/ { count += $1; found++ }
    END { if (found == 0) exit 1; printf "%.1f\n", count / elapsed }') ||
    die "cannot parse openssl s_time output in $dir"
}

# The informational row: every server once per round, interleaved like run_rounds. Appends
# "round index handshakes/s" to BENCH_TMP/handshakes.
run_handshake_rounds() {
  local round index dir
  : >"$BENCH_TMP/handshakes"
  for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    for index in "${!SERVERS[@]}"; do
      start_tls_server "$index" "handshakes$round"
      dir="$BENCH_TMP/handshakes$round-server$index"
      handshakes_per_second "$STARTED_PORT" "$BENCH_DURATION" "$dir"
      stop_by_pid "$STARTED_PID"
      log "round $round: ${SERVERS[$index]}: $HANDSHAKE_RATE full handshakes/s"
      echo "$round $index $HANDSHAKE_RATE" >>"$BENCH_TMP/handshakes"
    done
  done
}

handshake_median() {
  awk -v wanted="$1" '$2 == wanted { print $3 }' "$BENCH_TMP/handshakes" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# server | handshakes/s (median) | ratio to nginx | each round.
render_handshakes() {
  local index nginx_index="" reference rounds
  for index in "${!SERVERS[@]}"; do
    [ "${SERVERS[$index]}" = nginx ] && nginx_index=$index
  done
  echo "| server | full handshakes/s | ratio to nginx | rounds |"
  echo "|---|---:|---:|---|"
  for index in "${!SERVERS[@]}"; do
    reference="—"
    [ -n "$nginx_index" ] && reference=$(ratio "$(handshake_median "$index")" "$(handshake_median "$nginx_index")")
    rounds=$(awk -v wanted="$index" '$2 == wanted { printf "%s%.0f", sep, $3; sep = ", " }' "$BENCH_TMP/handshakes")
    printf '| %s | %.0f | %s | %s |\n' "${SERVERS[$index]}" "$(handshake_median "$index")" "$reference" "$rounds"
  done
}

render_negotiation() {
  awk -F '\t' '{ printf "- %s: %s\n", $1, $2 }' "$BENCH_TMP/negotiated"
}

versions="$(version_of nginx -v | sed 's/^nginx version: //'), $(version_of openssl version),"
versions+=" $(version_of wrk -v | awk '{ print $1, $2 }')"
if [ -x "$PREFORK" ]; then
  versions+=", prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path https)
record_negotiation
run_rounds
run_handshake_rounds

mkdir -p "$OUT"
{
  echo "# HTTPS benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  echo "What each server negotiates (\`openssl s_client -brief\`, before the rounds):"
  echo
  render_negotiation
  echo
  echo "## Keep-alive"
  echo
  BENCH_TABLE_ROWS="*, keep-alive" render_table "nginx, keep-alive" ${BASELINE:+"prefork (baseline), keep-alive"}
  echo
  echo "## A new connection per request (\`-H 'Connection: close'\`)"
  echo
  BENCH_TABLE_ROWS="*, close" render_table "nginx, close" ${BASELINE:+"prefork (baseline), close"}
  echo
  echo "wrk closes a connection with SSL_shutdown and SSL_clear on the same SSL object and offers"
  echo "that object's session on reconnect (wg/wrk src/ssl.c), and a TLS 1.3 client replaces it"
  echo "with the ticket it read last: this row measures **PSK-ECDHE resumption with session"
  echo "tickets** (no certificate signature) plus a TCP connection per request, not full handshakes."
  echo "A worker that cannot decrypt another worker's ticket shows up here as full handshakes."
  echo
  echo "## Full handshakes (informational)"
  echo
  echo "\`openssl s_time -connect 127.0.0.1:PORT -new -time $BENCH_DURATION\`, $BENCH_THREADS clients at once (each"
  echo "one connection at a time, no session reuse, no request), connections summed over the clients"
  echo "and divided by the wall time around them; each server started fresh per round, rounds"
  echo "interleaved. The clients' own ECDHE and signature checks share the CPUs with the server."
  echo
  render_handshakes
  echo
  echo "Ratios are of median req/s. Compare ratios, not absolute numbers: the machine is shared and noisy."
  echo "\"errors\" is the median count of socket errors plus non-2xx/3xx responses per run."
  echo "Issue 14's targets: keep-alive ≥ 1.0× nginx, a new connection per request ≥ 0.9× nginx."
  echo
  echo "- Certificates: a CA and a server certificate for IP:127.0.0.1 it signs, both EC P-256,"
  echo "  made with the openssl CLI in the run's temp dir (TLS); both servers send the same one."
  render_details "$versions"
} >"$report"

cat "$report"
log "report written to $report"
