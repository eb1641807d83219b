# shellcheck shell=bash
# Commands that run each benchmarked server in the foreground on 127.0.0.1:$PORT, for
# add_server entries (see lib.sh). They use PORT and WORKDIR, set by start_server, and
# BENCH_WORKERS for the number of worker processes. Everything they write stays in WORKDIR.

# The *_NOTE variables are read by the scripts that source this file.
# shellcheck disable=SC2034

BENCH_WORKERS=${BENCH_WORKERS:-2}

# What each command runs, for the reports.
NGINX_NOTE="\`nginx -p WORKDIR -e stderr -c WORKDIR/nginx.conf\` with worker_processes $BENCH_WORKERS,
daemon off, master_process on, access_log off, keepalive_requests 100000 and
\`return 200 \"Hello, World!\"\`"
GUNICORN_SYNC_NOTE="\`gunicorn -w $BENCH_WORKERS -k sync -b 127.0.0.1:PORT --chdir WORKDIR hello_app:app\`,
a WSGI app answering \"Hello, World!\" with a Content-Length"
GUNICORN_PROMETHEUS_NOTE="\`gunicorn -c WORKDIR/gunicorn_conf.py -w $BENCH_WORKERS -k sync -b 127.0.0.1:PORT --chdir WORKDIR metrics_app:app\`
with PROMETHEUS_MULTIPROC_DIR=WORKDIR/multiproc: a WSGI app that increments a labelled counter
and observes a histogram per request (prometheus_client multiprocess mode, \`mark_process_dead\`
in \`child_exit\`)"
# The TLS peers of bench/https.sh and bench/idle_memory.sh --tls: one certificate (EC P-256,
# signed by a CA of the run's own) and one pinned suite, TLS 1.3 only, on both servers.
TLS_SUITE=TLS_AES_128_GCM_SHA256
NGINX_TLS_NOTE="over TLS: \`listen 127.0.0.1:PORT ssl\`, ssl_certificate and
ssl_certificate_key the run's TLS/server.pem and TLS/server.key, \`ssl_protocols TLSv1.3\`,
\`ssl_conf_command Ciphersuites $TLS_SUITE\` and session tickets on (the default; the ticket
keys are made before the workers fork, so every worker resumes every ticket)"
PREFORK_TLS_ARGS_NOTE="--certfile TLS/server.pem --keyfile TLS/server.key --ssl-min-version TLSv1.3
--ciphersuites $TLS_SUITE"
PREFORK_ENV_NOTE="with PROMETHEUS_BIND_ADDRESS=127.0.0.1, a free PROMETHEUS_METRICS_PORT and
PROMETHEUS_MULTIPROC_DIR=WORKDIR/multiproc"

# nginx answering every request from its config, as a static-response baseline. The prefix,
# pid file, logs and temp paths all point into WORKDIR so that it runs as root without
# touching /etc or /var. Run by its full path: a binary upgrade (USR2) execve()s argv[0]
# without a PATH search.
nginx_command() {
  write_nginx_conf "listen 127.0.0.1:$PORT;"
  exec "$(command -v nginx)" -p "$WORKDIR" -e stderr -c "$WORKDIR/nginx.conf"
}

# The same over TLS 1.3 only, with the certificate of make_certificates and the suite pinned
# (ssl_conf_command needs nginx >= 1.19.4 built with OpenSSL >= 1.0.2).
nginx_tls_command() {
  local tls="$BENCH_TMP/tls"
  write_nginx_conf "listen 127.0.0.1:$PORT ssl;
    ssl_certificate $tls/server.pem;
    ssl_certificate_key $tls/server.key;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites $TLS_SUITE;
    ssl_session_tickets on;"
  exec nginx -p "$WORKDIR" -e stderr -c "$WORKDIR/nginx.conf"
}

# WORKDIR/nginx.conf with the server block's LISTEN lines. NGINX_WORKER_CONNECTIONS and
# NGINX_KEEPALIVE_TIMEOUT are for bench/idle_memory.sh, which holds thousands of idle
# connections for a while; NGINX_HTTP_EXTRA (directives of the http block, such as log_format)
# and NGINX_ACCESS_LOG (default off) for bench/access_log.sh; NGINX_LOCATION (the directives of
# `location /`, default the "Hello, World!" answer) for bench/streaming.sh's files.
write_nginx_conf() {
  local listen=$1 connections=${NGINX_WORKER_CONNECTIONS:-1024}
  local location=${NGINX_LOCATION:-'default_type text/plain; return 200 "Hello, World!";'}
  mkdir -p "$WORKDIR/nginx-temp"
  cat >"$WORKDIR/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $BENCH_WORKERS;
worker_rlimit_nofile $((connections + 100));
error_log stderr;
pid $WORKDIR/nginx.pid;
events {
  worker_connections $connections;
}
http {
  ${NGINX_HTTP_EXTRA:-}
  access_log ${NGINX_ACCESS_LOG:-off};
  keepalive_requests 100000;
  keepalive_timeout ${NGINX_KEEPALIVE_TIMEOUT:-75s};
  client_body_temp_path $WORKDIR/nginx-temp/body;
  proxy_temp_path $WORKDIR/nginx-temp/proxy;
  fastcgi_temp_path $WORKDIR/nginx-temp/fastcgi;
  uwsgi_temp_path $WORKDIR/nginx-temp/uwsgi;
  scgi_temp_path $WORKDIR/nginx-temp/scgi;
  server {
    $listen
    location / {
      $location
    }
  }
}
EOF
}

write_hello_wsgi_app() {
  cat >"$WORKDIR/hello_app.py" <<'EOF'
BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
EOF
}

# gunicorn's sync workers with a WSGI app that does as little as prefork's hello, with more
# ARGS (e.g. -p PIDFILE).
gunicorn_sync_command() {
  write_hello_wsgi_app
  exec gunicorn -w "$BENCH_WORKERS" -k sync -b "127.0.0.1:$PORT" --chdir "$WORKDIR" "$@" hello_app:app
}

# The prefork binary $PREFORK with extra ARGS. The metrics endpoint and its files are kept on
# loopback and in WORKDIR so that runs never collide with each other or with a real server;
# METRICS_PORT, when set, is the endpoint's port (else a free one). PREFORK_SCHEME=https
# makes the bind an https one.
prefork_command() {
  mkdir -p "$WORKDIR/multiproc"
  PROMETHEUS_BIND_ADDRESS=127.0.0.1 PROMETHEUS_METRICS_PORT=${METRICS_PORT:-$(free_port)} \
    PROMETHEUS_MULTIPROC_DIR="$WORKDIR/multiproc" \
    exec "$PREFORK" -w "$BENCH_WORKERS" -b "${PREFORK_SCHEME:+$PREFORK_SCHEME://}127.0.0.1:$PORT" "$@"
}

# prefork over TLS as nginx_tls_command: the same certificate, TLS 1.3 only, the same suite.
prefork_tls_command() {
  local tls="$BENCH_TMP/tls"
  PREFORK_SCHEME=https prefork_command --certfile "$tls/server.pem" --keyfile "$tls/server.key" \
    --ssl-min-version TLSv1.3 --ciphersuites "$TLS_SUITE" "$@"
}

# gunicorn's sync workers with prometheus_client in multiprocess mode: every request
# increments a labelled counter and observes a histogram, written to mmap'ed .db files in
# PROMETHEUS_MULTIPROC_DIR as gunicorn-prometheus setups do; dead workers are marked so that
# their live gauges go away, as prometheus_client's documentation asks.
gunicorn_prometheus_command() {
  mkdir -p "$WORKDIR/multiproc"
  cat >"$WORKDIR/metrics_app.py" <<'EOF'
import time

from prometheus_client import Counter, Histogram

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
REQUESTS = Counter("app_requests_total", "Total number of requests", ["method", "status"])
DURATION = Histogram("app_request_duration_seconds", "Request duration in seconds")


def app(environ, start_response):
    started = time.perf_counter()
    start_response("200 OK", HEADERS)
    REQUESTS.labels(environ["REQUEST_METHOD"], "200").inc()
    DURATION.observe(time.perf_counter() - started)
    return [BODY]
EOF
  cat >"$WORKDIR/gunicorn_conf.py" <<'EOF'
from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
EOF
  PROMETHEUS_MULTIPROC_DIR="$WORKDIR/multiproc" exec gunicorn -c "$WORKDIR/gunicorn_conf.py" \
    -w "$BENCH_WORKERS" -k sync -b "127.0.0.1:$PORT" --chdir "$WORKDIR" metrics_app:app
}

# The interpreter gunicorn runs with, to check which modules it can import.
gunicorn_python() {
  sed -n '1s/^#! *//p' "$(command -v gunicorn)"
}

# A throwaway redis-server on 127.0.0.1:$PORT that persists nothing, with more ARGS; a first
# argument that is not an option is a config file (a sentinel's), which redis-server wants first.
redis_node_command() {
  local config=()
  if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    config=("$1")
    shift
  fi
  exec redis-server "${config[@]}" --bind 127.0.0.1 --port "$PORT" --dir "$WORKDIR" --save "" \
    --appendonly no --daemonize no "$@"
}

# A CA and a certificate for 127.0.0.1 it signs, in BENCH_TMP/tls (ca.pem, server.pem,
# server.key): EC P-256 as in tests/support/certificates.hpp, for Redis' TLS port and the
# https servers. Made once per run.
make_certificates() {
  [ -s "$BENCH_TMP/tls/server.pem" ] && return 0
  local dir="$BENCH_TMP/tls"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$dir"
  openssl req -x509 "${ec[@]}" -days 2 -subj /CN=bench-ca -keyout "$dir/ca.key" \
    -out "$dir/ca.pem" 2>/dev/null
  openssl req "${ec[@]}" -subj /CN=127.0.0.1 -keyout "$dir/server.key" -out "$dir/server.csr" \
    2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/server.ext"
  openssl x509 -req -days 2 -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

redis_answers_ping_on() {
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# Starts a redis-server of the script's own on 127.0.0.1:PORT with more ARGS (see
# redis_node_command), in BENCH_TMP/redis-PORT, and waits until it answers PING; sets
# SPAWNED_PID. Stopped at exit like every server (bench_cleanup), or by stop_by_pid.
start_redis_node() {
  local node=$1 dir="$BENCH_TMP/redis-$1"
  shift
  mkdir -p "$dir"
  spawn_group "$dir/server.log" run_in_workdir "redis_node_command$(printf ' %q' "$@")" "$node" \
    "$dir"
  wait_until "$BENCH_START_TIMEOUT" "$SPAWNED_PID" "redis-server on port $node answered PING" \
    redis_answers_ping_on "$node" ||
    { tail -n 20 "$dir/server.log" >&2; die "redis-server on port $node did not start"; }
}

# A redis-server of the script's own on a free loopback port (REDIS_PORT, REDIS_PID), for the
# benchmarks that store metrics in Redis.
redis_cli() {
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# With REDIS_TLS=1, a TLS port too (REDIS_TLS_PORT), its CA in BENCH_TMP/tls/ca.pem.
start_redis() {
  local tls=()
  REDIS_PORT=$(free_port)
  REDIS_TLS_PORT=""
  if [ "${REDIS_TLS:-}" = 1 ]; then
    make_certificates
    REDIS_TLS_PORT=$(free_port)
    tls=(--tls-port "$REDIS_TLS_PORT" --tls-cert-file "$BENCH_TMP/tls/server.pem"
      --tls-key-file "$BENCH_TMP/tls/server.key" --tls-auth-clients no)
  fi
  start_redis_node "$REDIS_PORT" "${tls[@]}"
  REDIS_PID=$SPAWNED_PID
  log "redis-server on 127.0.0.1:$REDIS_PORT"
}

# "field:value" of INFO SECTION (or of CLUSTER INFO with SECTION cluster-info) of the
# redis-server on PORT; empty when it does not answer.
redis_field() {
  local node=$1 section=$2 field=$3
  local command=(info "$section")
  [ "$section" = cluster-info ] && command=(cluster info)
  redis-cli -h 127.0.0.1 -p "$node" "${command[@]}" 2>/dev/null |
    awk -F: -v field="$field" '{ sub(/\r$/, "") } $1 == field { print $2 }' || true
}

redis_cluster_ok() {
  local node
  for node in "${REDIS_CLUSTER_PORTS[@]}"; do
    [ "$(redis_field "$node" cluster-info cluster_state)" = ok ] || return 1
    [ "$(redis_field "$node" cluster-info cluster_known_nodes)" = "${#REDIS_CLUSTER_PORTS[@]}" ] ||
      return 1
  done
}

# A Redis Cluster of three masters without replicas on free loopback ports (REDIS_CLUSTER_PORTS,
# REDIS_CLUSTER_PIDS, REDIS_CLUSTER_NODES as prefork takes it), made by `redis-cli --cluster
# create`, ready once every node says cluster_state:ok and knows the three.
start_redis_cluster() {
  local node bus
  REDIS_CLUSTER_PORTS=()
  REDIS_CLUSTER_PIDS=()
  for _ in 1 2 3; do
    node=$(free_port)
    # The bus port is PORT + 10000 unless given, which may be taken or above 65535.
    bus=$(free_port)
    [ "$bus" != "$node" ] || bus=$(free_port)
    start_redis_node "$node" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-port "$bus" --cluster-node-timeout 1000
    REDIS_CLUSTER_PORTS+=("$node")
    REDIS_CLUSTER_PIDS+=("$SPAWNED_PID")
  done
  REDIS_CLUSTER_NODES=$(printf '127.0.0.1:%s,' "${REDIS_CLUSTER_PORTS[@]}")
  REDIS_CLUSTER_NODES=${REDIS_CLUSTER_NODES%,}
  # shellcheck disable=SC2046
  timeout 60 redis-cli --cluster create $(printf '127.0.0.1:%s ' "${REDIS_CLUSTER_PORTS[@]}") \
    --cluster-yes >"$BENCH_TMP/cluster-create.log" 2>&1 ||
    { tail -n 20 "$BENCH_TMP/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_until 30 "${REDIS_CLUSTER_PIDS[0]}" "the cluster was ok on every node" redis_cluster_ok ||
    die "the Redis Cluster did not become ok"
  log "Redis Cluster on 127.0.0.1 ports ${REDIS_CLUSTER_PORTS[*]}"
}


# The versions of the peers, wrk and (when built) prefork, for a report's details.
peer_versions() {
  local versions
  versions="$(version_of nginx -v | sed 's/^nginx version: //'), $(version_of gunicorn --version),"
  versions+=" $(version_of wrk -v | awk '{ print $1, $2 }')"
  if [ -x "$PREFORK" ]; then
    versions+=", prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  fi
  echo "$versions"
}
