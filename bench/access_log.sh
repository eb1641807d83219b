#!/usr/bin/env bash
# What an access log costs: prefork's hello without one, with the text log and with
# log_format = "json", beside nginx (combined, and a JSON log_format with escape=json) and
# gunicorn sync (its access log), all writing to a file in WORKDIR, measured with wrk in one
# interleaved run on 127.0.0.1. Writes a markdown table of medians and ratios to
# OUT/access-log-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

usage() {
  echo "usage: bench/access_log.sh $(options_synopsis)"
  echo
  options_help
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
parse_options bench/access_log.sh "$@"

bench_init

# A JSON line per request, nginx's way (escape=json, since 1.11.8), with the fields prefork's
# JSON access log has.
NGINX_JSON_FORMAT="log_format json escape=json '{\"time\":\"\$time_iso8601\",\"remote_addr\":\"\$remote_addr\",\"request\":\"\$request\",\"method\":\"\$request_method\",\"path\":\"\$uri\",\"query\":\"\$args\",\"protocol\":\"\$server_protocol\",\"status\":\$status,\"body_bytes\":\$body_bytes_sent,\"referer\":\"\$http_referer\",\"user_agent\":\"\$http_user_agent\",\"request_time\":\$request_time}';"

# The log holds lines, and (for the JSON variants) its last whole line is one JSON object.
# shellcheck disable=SC2016 # expanded in the server's subshell
last_line_is_json='python3 -c "import json,sys; lines=open(sys.argv[1]).read().splitlines(); json.loads(lines[-1]); print(len(lines), \"lines\")" "$WORKDIR/access.log"'
# shellcheck disable=SC2016
has_lines='echo "$(wc -l <"$WORKDIR/access.log") lines"; test -s "$WORKDIR/access.log"'

# Command strings are single-quoted: they expand later, in each server's own subshell.
# shellcheck disable=SC2016
if [ -x "$PREFORK" ]; then
  add_server "prefork, no access log" 'prefork_command' \
    "\`$PREFORK -w $BENCH_WORKERS -b 127.0.0.1:PORT\` $PREFORK_ENV_NOTE"
  add_server "prefork, text" 'prefork_command --access-logfile "$WORKDIR/access.log"' \
    "the same with \`--access-logfile WORKDIR/access.log\` (gunicorn's default format)"
  check_last_server "$has_lines"
  add_server "prefork, json" \
    'prefork_command --access-logfile "$WORKDIR/access.log" --log-format json' \
    "the same with \`--access-logfile WORKDIR/access.log --log-format json\`"
  check_last_server "$last_line_is_json"
else
  skip_server "prefork" "binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)"
fi
if command -v nginx >/dev/null; then
  add_server "nginx, combined" 'NGINX_ACCESS_LOG="$WORKDIR/access.log combined" nginx_command' \
    "$NGINX_NOTE, but \`access_log WORKDIR/access.log combined\`"
  check_last_server "$has_lines"
  add_server "nginx, json" \
    'NGINX_HTTP_EXTRA=$NGINX_JSON_FORMAT NGINX_ACCESS_LOG="$WORKDIR/access.log json" nginx_command' \
    "$NGINX_NOTE, but \`access_log WORKDIR/access.log json\` with \`$NGINX_JSON_FORMAT\`"
  check_last_server "$last_line_is_json"
else
  skip_server "nginx" "not installed (apt-get install nginx-light)"
fi
if command -v gunicorn >/dev/null; then
  add_server "gunicorn sync, access log" \
    'gunicorn_sync_command --access-logfile "$WORKDIR/access.log"' \
    "$GUNICORN_SYNC_NOTE, with \`--access-logfile WORKDIR/access.log\`"
  check_last_server "$has_lines"
else
  skip_server "gunicorn sync" "not installed (apt-get install gunicorn)"
fi

versions=$(peer_versions)

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path access-log)
run_rounds

mkdir -p "$OUT"
{
  echo "# Access log benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  render_table "prefork, no access log" "prefork, text" "nginx, json"
  echo
  echo "Ratios are of median req/s. Compare ratios, not absolute numbers: the machine is shared and noisy."
  echo "\"errors\" is the median count of socket errors plus non-2xx/3xx responses per run."
  echo
  render_details "$versions"
} >"$report"

cat "$report"
log "report written to $report"
