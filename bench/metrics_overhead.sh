#!/usr/bin/env bash
# What recording metrics costs: prefork hello with metrics off, with the default file storage
# and with Redis storage, against gunicorn sync with and without prometheus_client in
# multiprocess mode, measured with wrk in one interleaved run on 127.0.0.1. Writes a markdown
# table of medians and ratios to OUT/metrics-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

usage() {
  echo "usage: bench/metrics_overhead.sh $(options_synopsis)"
  echo
  options_help
  echo "The Redis variants use a redis-server this script starts on free loopback ports (plain and"
  echo "TLS, with certificates it makes with openssl) and a Redis Cluster of three masters it makes."
}

PREFORK="$ROOT/build-release/examples/hello/hello"
OUT="$ROOT/bench/results"
parse_options bench/metrics_overhead.sh "$@"

BASELINE="prefork, metrics off"
PEER="gunicorn sync + prometheus_client"
REDIS_PORT=""
REDIS_TLS_PORT=""
REDIS_PID=""
REDIS_CLUSTER_PORTS=()
REDIS_CLUSTER_PIDS=()

prefork_metrics_off_command() {
  printf '[metrics]\nenabled = false\n' >"$WORKDIR/metrics-off.toml"
  prefork_command -c "$WORKDIR/metrics-off.toml" "$@"
}


count_metric_files() {
  find "$WORKDIR/multiproc" -name '*.db' 2>/dev/null | wc -l
}

# Checks (see check_last_server): each prints what it saw and fails when the variant did not
# store metrics the way its name says.
expect_no_metric_files() {
  local files
  files=$(count_metric_files)
  echo "$files .db files"
  [ "$files" -eq 0 ]
}

expect_metric_files() {
  local files
  files=$(count_metric_files)
  echo "$files .db files in PROMETHEUS_MULTIPROC_DIR"
  [ "$files" -gt 0 ]
}

expect_redis_keys_only() {
  local keys files
  keys=$(redis_cli dbsize)
  files=$(count_metric_files)
  echo "$keys keys in Redis, $files .db files"
  [ "$keys" -gt 0 ] && [ "$files" -eq 0 ]
}

# Every master's DBSIZE summed; the ports holding keys.
expect_cluster_keys_only() {
  local node keys total=0 holders=() files
  for node in "${REDIS_CLUSTER_PORTS[@]}"; do
    keys=$(redis-cli -h 127.0.0.1 -p "$node" dbsize)
    total=$((total + keys))
    [ "$keys" -eq 0 ] || holders+=("$node")
  done
  files=$(count_metric_files)
  echo "$total keys in the cluster (on the node of port ${holders[*]:-none}), $files .db files"
  [ "$total" -gt 0 ] && [ "$files" -eq 0 ]
}

flush_cluster() {
  local node
  for node in "${REDIS_CLUSTER_PORTS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$node" flushall >/dev/null
  done
}

prefork_description() {
  echo "\`$1$PREFORK $2-w $BENCH_WORKERS -b 127.0.0.1:PORT${PREFORK_ARGS:+ $PREFORK_ARGS}\` $3, $PREFORK_ENV_NOTE"
}

add_prefork_variants() {
  # Command strings are single-quoted: they expand later, in each server's own subshell.
  # shellcheck disable=SC2016
  {
    add_server "$BASELINE" 'prefork_metrics_off_command ${PREFORK_ARGS:-}' \
      "$(prefork_description "" "-c WORKDIR/metrics-off.toml " "with \`[metrics] enabled = false\`")"
    check_last_server expect_no_metric_files
    add_server "prefork, file metrics" 'prefork_command ${PREFORK_ARGS:-}' \
      "$(prefork_description "" "" "(file storage, the default)")"
    check_last_server expect_metric_files
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
      skip_server "prefork, redis metrics" "redis-server or redis-cli not installed (apt-get install redis-server)"
      return 0
    fi
    REDIS_TLS=1 start_redis
    add_server "prefork, redis metrics" \
      'redis_cli flushall >/dev/null && REDIS_ENABLED=true REDIS_HOST=127.0.0.1 REDIS_PORT=$REDIS_PORT prefork_command ${PREFORK_ARGS:-}' \
      "$(prefork_description "REDIS_ENABLED=true REDIS_HOST=127.0.0.1 REDIS_PORT=R " "" \
        "against the script's redis-server on port R, emptied with FLUSHALL before each start")"
    check_last_server expect_redis_keys_only
    add_server "prefork, redis metrics over TLS" \
      'redis_cli flushall >/dev/null && REDIS_ENABLED=true PROMETHEUS_REDIS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT/0 REDIS_SSL_CA_CERTS=$BENCH_TMP/tls/ca.pem prefork_command ${PREFORK_ARGS:-}' \
      "$(prefork_description "REDIS_ENABLED=true PROMETHEUS_REDIS_URL=rediss://127.0.0.1:T/0 REDIS_SSL_CA_CERTS=CA " "" \
        "against the same redis-server's TLS port T, its certificate signed by the script's CA")"
    check_last_server expect_redis_keys_only
    start_redis_cluster
    add_server "prefork, redis metrics in a cluster" \
      'flush_cluster && REDIS_ENABLED=true REDIS_CLUSTER_NODES=$REDIS_CLUSTER_NODES prefork_command ${PREFORK_ARGS:-}' \
      "$(prefork_description "REDIS_ENABLED=true REDIS_CLUSTER_NODES=127.0.0.1:C1,127.0.0.1:C2,127.0.0.1:C3 " "" \
        "against the script's Redis Cluster of three masters without replicas (made by
\`redis-cli --cluster create\`), every master emptied with FLUSHALL before each start")"
    check_last_server expect_cluster_keys_only
  }
}

add_gunicorn_variants() {
  if ! command -v gunicorn >/dev/null; then
    skip_server "gunicorn sync and $PEER" "gunicorn not installed (apt-get install gunicorn)"
    return 0
  fi
  add_server "gunicorn sync" 'gunicorn_sync_command' "$GUNICORN_SYNC_NOTE"
  if "$(gunicorn_python)" -c 'import prometheus_client' 2>/dev/null; then
    add_server "$PEER" 'gunicorn_prometheus_command' "$GUNICORN_PROMETHEUS_NOTE"
    check_last_server expect_metric_files
  else
    skip_server "$PEER" "$(gunicorn_python) cannot import prometheus_client (apt-get install python3-prometheus-client)"
  fi
}

bench_init
if [ -x "$PREFORK" ]; then
  add_prefork_variants
else
  skip_server "prefork (all variants)" "binary $PREFORK not found (build it: meson setup build-release --buildtype=release && ninja -C build-release)"
fi
add_gunicorn_variants

versions="$(version_of gunicorn --version), prometheus_client"
versions+=" $(dpkg-query -W -f='${Version}' python3-prometheus-client 2>/dev/null || echo "not installed"),"
versions+=" $(version_of redis-server --version | awk '{ print $1, $2, $3 }'),"
versions+=" $(version_of wrk -v | awk '{ print $1, $2 }')"
if [ -x "$PREFORK" ]; then
  versions+=", prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
report=$(report_path metrics)
run_rounds
[ -z "$REDIS_PID" ] || stop_by_pid "$REDIS_PID"
for pid in "${REDIS_CLUSTER_PIDS[@]+"${REDIS_CLUSTER_PIDS[@]}"}"; do
  stop_by_pid "$pid"
done

mkdir -p "$OUT"
{
  echo "# Metrics overhead benchmark, $started"
  echo
  echo "Command: \`$COMMAND_LINE\`"
  echo
  render_table "$BASELINE" "$PEER"
  echo
  echo "Ratios are of median req/s. Compare ratios, not absolute numbers: the machine is shared and noisy."
  echo "\"errors\" is the median count of socket errors plus non-2xx/3xx responses per run."
  echo "Targets: file and Redis metrics ≥ 0.97× of metrics off (issue 5), Redis over TLS and in a cluster too (issue 12)."
  echo
  render_details "$versions"
} >"$report"

cat "$report"
log "report written to $report"
if any_check_failed; then
  exit 1
fi
