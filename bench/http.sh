#!/usr/bin/env bash
# Plain HTTP throughput and latency of prefork's hello example against nginx (static
# `return 200`) and gunicorn sync, measured with wrk in one interleaved run on 127.0.0.1.
# Writes a markdown table of medians and ratios to OUT/http-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

usage() {
  cat <<EOF
usage: bench/http.sh [--duration S] [--connections N] [--rounds R] [--prefork BIN] [--out DIR]

  --duration S      seconds of each measured wrk run (default $BENCH_DURATION)
  --connections N   wrk connections (default $BENCH_CONNECTIONS; wrk uses $BENCH_THREADS threads)
  --rounds R        interleaved rounds; the table shows medians (default $BENCH_ROUNDS)
  --prefork BIN     prefork hello binary (default build-release/examples/hello/hello)
  --out DIR         where the report goes (default bench/results)

Environment: PREFORK_ARGS (extra arguments for prefork), BENCH_WORKERS (worker processes of
every server, default $BENCH_WORKERS).
EOF
}

require_positive_integer() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$1 needs a positive integer, got '$2'" >&2; exit 2; }
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
COMMAND_LINE="bench/http.sh"
[ $# -gt 0 ] && COMMAND_LINE+=$(printf ' %q' "$@")
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || [ "$1" = --help ] || [ "$1" = -h ] || { usage >&2; exit 2; }
  case $1 in
    --duration) require_positive_integer "$1" "$2"; BENCH_DURATION=$2 ;;
    --connections) require_positive_integer "$1" "$2"; BENCH_CONNECTIONS=$2 ;;
    --rounds) require_positive_integer "$1" "$2"; BENCH_ROUNDS=$2 ;;
    --prefork) PREFORK=$(realpath -m -- "$2") ;;
    --out) OUT=$(realpath -m -- "$2") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "${PREFORK_ARGS:-}" ] && COMMAND_LINE="PREFORK_ARGS=$(printf '%q' "$PREFORK_ARGS") $COMMAND_LINE"

bench_init

# Command strings are single-quoted: they expand later, in each server's own subshell.
# shellcheck disable=SC2016
if [ -x "$PREFORK" ]; then
  add_server "prefork" 'prefork_command ${PREFORK_ARGS:-}' \
    "\`$PREFORK -w $BENCH_WORKERS -b 127.0.0.1:PORT ${PREFORK_ARGS:-}\` $PREFORK_ENV_NOTE"
else
  skip_server "prefork" "binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)"
fi
if command -v nginx >/dev/null; then
  add_server "nginx" 'nginx_command' "$NGINX_NOTE"
else
  skip_server "nginx" "not installed (apt-get install nginx-light)"
fi
if command -v gunicorn >/dev/null; then
  add_server "gunicorn sync" 'gunicorn_sync_command' "$GUNICORN_SYNC_NOTE"
else
  skip_server "gunicorn sync" "not installed (apt-get install gunicorn)"
fi

versions="$(version_of nginx -v | sed 's/^nginx version: //'), $(version_of gunicorn --version),"
versions+=" $(version_of wrk -v | awk '{ print $1, $2 }')"
if [ -x "$PREFORK" ]; then
  versions+=", prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report="$OUT/http-$(date -u +%Y-%m-%d-%H%M).md"
run_rounds

mkdir -p "$OUT"
{
  echo "# HTTP benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  render_table "nginx" "gunicorn sync"
  echo
  echo "Ratios are of median req/s. Compare ratios, not absolute numbers: the machine is shared and noisy."
  echo "\"errors\" is the median count of socket errors plus non-2xx/3xx responses per run."
  echo
  render_details "$versions"
} >"$report"

cat "$report"
log "report written to $report"
