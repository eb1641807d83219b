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
  echo "usage: bench/http.sh $(options_synopsis)"
  echo
  options_help
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
parse_options bench/http.sh "$@"

bench_init

# Command strings are single-quoted: they expand later, in each server's own subshell.
# shellcheck disable=SC2016
if [ -x "$PREFORK" ]; then
  add_server "prefork" 'prefork_command ${PREFORK_ARGS:-}' \
    "\`$PREFORK -w $BENCH_WORKERS -b 127.0.0.1:PORT${PREFORK_ARGS:+ $PREFORK_ARGS}\` $PREFORK_ENV_NOTE"
else
  skip_server "prefork" "binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)"
fi
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "baseline binary $BASELINE not found" >&2; exit 2; }
  add_server "prefork (baseline)" 'PREFORK=$BASELINE prefork_command ${PREFORK_ARGS:-}' \
    "\`$BASELINE -w $BENCH_WORKERS -b 127.0.0.1:PORT${PREFORK_ARGS:+ $PREFORK_ARGS}\` $PREFORK_ENV_NOTE"
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

versions=$(peer_versions)

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path http)
run_rounds

mkdir -p "$OUT"
{
  echo "# HTTP benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  render_table "nginx" "gunicorn sync" ${BASELINE:+"prefork (baseline)"}
  echo
  echo "Ratios are of median req/s. Compare ratios, not absolute numbers: the machine is shared and noisy."
  echo "\"errors\" is the median count of socket errors plus non-2xx/3xx responses per run."
  echo
  render_details "$versions"
} >"$report"

cat "$report"
log "report written to $report"
