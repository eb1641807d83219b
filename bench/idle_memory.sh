#!/usr/bin/env bash
# Memory of idle keep-alive connections: starts prefork's hello example with one worker on a
# free 127.0.0.1 port, opens N connections that each send one request and then stay idle,
# and reports the worker's RSS and PSS idle (after start plus one request), with the idle
# connections (and per connection), and a few seconds after they closed; then nginx (one
# worker) the same way for comparison. With --tls, the same again over TLS 1.3 (both servers
# with one certificate and suite, as bench/https.sh), the plain rows showing OpenSSL's share.
#
#   bench/idle_memory.sh [--tls] [N] [BINARY]    N defaults to 10000, BINARY to build-release's hello
#
# Needs `ulimit -n` above N (it raises the soft limit to the hard one). Writes the table to
# bench/results/idle-memory-DATE.md and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

SCHEMES=(http)
TLS_OPTION=""
if [ "${1:-}" = --tls ]; then
  SCHEMES+=(https)
  TLS_OPTION=" --tls"
  shift
fi
COUNT=${1:-10000}
PREFORK=${2:-$ROOT/build-release/examples/hello/hello}
OUT="$ROOT/bench/results"
[ -x "$PREFORK" ] || die "binary $PREFORK not found (meson setup build-release --buildtype=release && ninja -C build-release)"
ulimit -n "$(ulimit -H -n)"
[ "$(ulimit -n)" -gt $((COUNT + 100)) ] || die "ulimit -n $(ulimit -n) is too low for $COUNT connections"

bench_init curl python3 openssl
make_certificates
# curl's readiness polls and the python client trust the run's CA.
BENCH_CAFILE="$BENCH_TMP/tls/ca.pem"

# The one child of the master, once it answers.
worker_pid() {
  local master=$1 child
  child=$(cat "/proc/$master/task/$master/children" 2>/dev/null || true)
  echo "${child%% *}"
}

# The python client: connects COUNT sockets (TLS ones trusting CAFILE for https), one request
# each, and prints the server's RSS and PSS in KiB at each stage (read from /proc by pid):
# "idle_rss idle_pss held_rss held_pss after_rss after_pss". PSS shares the pages of the
# libraries (libcrypto's above all) among the processes that map them; RSS counts them whole.
measure() {
  local port=$1 pid=$2 scheme=$3
  python3 - "$port" "$pid" "$COUNT" "$scheme" "$BENCH_CAFILE" <<'PY'
import socket, ssl, sys, time

port, pid, count, scheme, cafile = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=cafile) if scheme == "https" else None

def memory_kib():
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        pss = next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    return rss, pss

def request(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("connection closed before an answer")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit("unexpected answer: " + head.split(b"\r\n")[0].decode())

def connect():
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if context:
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock

warm = connect()
request(warm)
warm.close()
time.sleep(1)
idle = memory_kib()
held = []
for _ in range(count):
    sock = connect()
    request(sock)
    held.append(sock)
time.sleep(1)
holding = memory_kib()
for sock in held:
    sock.close()
held.clear()
# The worker notices the closes in its next loop turns; memory handed back is trimmed on
# its heartbeat (at most a second).
time.sleep(3)
after = memory_kib()
print(*idle, *holding, *after)
PY
}

# Starts COMMAND (a servers.sh command) with one worker on a free port, measures its worker
# over SCHEME and appends "name scheme numbers..." to BENCH_TMP/memory.
measure_server() {
  local name=$1 server=$2 scheme=$3 port dir master worker numbers
  port=$(free_port)
  dir="$BENCH_TMP/$name-$scheme"
  mkdir -p "$dir"
  start_server "$server" "$port" "$dir"
  master=$STARTED_PID
  wait_for_http "$scheme://127.0.0.1:$port/" "$master" ||
    { tail -n 20 "$dir/server.log" >&2; die "$name did not start over $scheme"; }
  worker=$(worker_pid "$master")
  [ -n "$worker" ] || die "no worker process under $name's $master"
  log "$name over $scheme: master $master worker $worker on 127.0.0.1:$port, $COUNT connections"
  numbers=$(measure "$port" "$worker" "$scheme") || die "the client failed against $name over $scheme"
  stop_by_pid "$master"
  echo "$name $scheme $numbers" >>"$BENCH_TMP/memory"
}

# keepalive must outlast the run (TLS handshakes from one python client take a while);
# -w 1 puts every connection on one worker.
prefork_idle_command() {
  local base=prefork_command
  [ "$1" = https ] && base=prefork_tls_command
  echo "BENCH_WORKERS=1 $base --keep-alive 300 --worker-connections $((COUNT + 100))"
}

nginx_idle_command() {
  local base=nginx_command
  [ "$1" = https ] && base=nginx_tls_command
  echo "BENCH_WORKERS=1 NGINX_WORKER_CONNECTIONS=$((COUNT + 100)) NGINX_KEEPALIVE_TIMEOUT=300s $base"
}

render_memory() {
  echo "| server | scheme | idle worker RSS | idle worker PSS | RSS with $COUNT | PSS with $COUNT | per connection RSS | per connection PSS | RSS after close |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -v count="$COUNT" '{
    printf "| %s | %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.2f KiB | %.2f KiB | %.1f MiB |\n",
      $1, $2, $3 / 1024, $4 / 1024, $5 / 1024, $6 / 1024, ($5 - $3) / count, ($6 - $4) / count, $7 / 1024
  }' "$BENCH_TMP/memory"
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
: >"$BENCH_TMP/memory"
for scheme in "${SCHEMES[@]}"; do
  measure_server prefork "$(prefork_idle_command "$scheme")" "$scheme"
done
if command -v nginx >/dev/null; then
  for scheme in "${SCHEMES[@]}"; do
    measure_server nginx "$(nginx_idle_command "$scheme")" "$scheme"
  done
else
  log "skipping nginx: not installed (apt-get install nginx-light)"
fi

report=$(report_path idle-memory)
mkdir -p "$OUT"
{
  echo "# Idle connection memory, $started"
  echo
  echo "Command: \`bench/idle_memory.sh$TLS_OPTION $COUNT $PREFORK\`"
  echo
  render_memory
  echo
  echo "One worker each: prefork \`-w 1 --keep-alive 300 --worker-connections $((COUNT + 100))\`"
  echo "(over https also \`-b https://… $PREFORK_TLS_ARGS_NOTE\`), nginx \`worker_processes 1\`"
  echo "(over https as bench/https.sh's). The idle worker is measured 1 s after start plus one"
  echo "request (issue 14's target over https: RSS < 8 MiB), then with $COUNT keep-alive"
  echo "connections that each sent one request (python, \`ssl.create_default_context\` over https),"
  echo "then 3 s after they all closed. RSS is VmRSS from /proc/PID/status; PSS is from"
  echo "/proc/PID/smaps_rollup and shares the pages of libraries (libcrypto's above all) and of"
  echo "the master's copy-on-write memory among the processes that map them."
  echo
  echo "- Machine: $(nproc) CPUs, $(uname -sr)."
  echo "- Versions: $(version_of nginx -v | sed 's/^nginx version: //'), $(version_of openssl version), prefork $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)."
} >"$report"
cat "$report"
log "report written to $report"
