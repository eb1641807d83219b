#!/usr/bin/env bash
# Memory of idle keep-alive connections: starts prefork's hello example with one worker on a
# free 127.0.0.1 port, opens N connections that each send one request and then stay idle,
# and prints the worker's RSS before, with the idle connections (and per connection), and a
# few seconds after they closed. Optionally nginx (one worker) for comparison.
#
#   bench/idle_memory.sh [N] [BINARY]     N defaults to 10000, BINARY to build-release's hello
#
# Needs `ulimit -n` above N (it raises the soft limit to the hard one).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

COUNT=${1:-10000}
PREFORK=${2:-$ROOT/build-release/examples/hello/hello}
[ -x "$PREFORK" ] || die "binary $PREFORK not found (meson setup build-release --buildtype=release && ninja -C build-release)"
ulimit -n "$(ulimit -H -n)"
[ "$(ulimit -n)" -gt $((COUNT + 100)) ] || die "ulimit -n $(ulimit -n) is too low for $COUNT connections"

# bench_init's set-up without its wrk requirement: a private directory, and every server we
# started stopped however the script ends.
for tool in curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/prefork-bench.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The one child of the master, once it answers.
worker_pid() {
  local master=$1 child
  child=$(cat "/proc/$master/task/$master/children" 2>/dev/null || true)
  echo "${child%% *}"
}

# The python client: connects COUNT sockets, one request each, reports the server's RSS at
# each stage (read from /proc by pid), then closes them all.
measure() {
  local port=$1 pid=$2
  python3 - "$port" "$pid" "$COUNT" <<'PY'
import socket, sys, time

port, pid, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS")

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
    return sock

warm = connect()
request(warm)
warm.close()
time.sleep(1)
before = rss_kib()
held = []
for _ in range(count):
    sock = connect()
    request(sock)
    held.append(sock)
time.sleep(1)
idle = rss_kib()
for sock in held:
    sock.close()
held.clear()
# The worker notices the closes in its next loop turns; memory handed back is trimmed on
# its heartbeat (at most a second).
time.sleep(3)
after = rss_kib()
per = (idle - before) * 1024 / count
print(f"connections {count}: RSS before {before / 1024:.1f} MiB, idle {idle / 1024:.1f} MiB "
      f"({per:.0f} B = {per / 1024:.2f} KiB per idle connection), after close {after / 1024:.1f} MiB")
PY
}

port=$(free_port)
dir="$BENCH_TMP/prefork"
mkdir -p "$dir"
# keepalive must outlast the run; -w 1 puts every connection on one worker.
start_server "BENCH_WORKERS=1 prefork_command --keep-alive 300 --worker-connections $((COUNT + 100))" "$port" "$dir"
master=$STARTED_PID
wait_for_http "http://127.0.0.1:$port/" "$master" || { tail -n 20 "$dir/server.log" >&2; die "prefork did not start"; }
worker=$(worker_pid "$master")
[ -n "$worker" ] || die "no worker process under $master"
log "prefork $(basename "$PREFORK") master $master worker $worker on 127.0.0.1:$port"
printf 'prefork (%s): ' "$PREFORK"
measure "$port" "$worker"
stop_by_pid "$master"
