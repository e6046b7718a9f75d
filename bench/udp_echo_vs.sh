#!/usr/bin/env bash
# UDP echo packets per second: concur's server beside asyncio's and uvloop's (Debian's
# python3-uvloop), each driven by the same C++ client (bench_udp_echo --client), same run.
#   bench/udp_echo_vs.sh [build-dir] [seconds] [window]     (default build/default, 3, 16)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
seconds=${2:-3}
window=${3:-16}
py=/usr/bin/python3
bin=$(find "$build" -name bench_udp_echo -type f -perm -u+x | head -1)
[ -n "$bin" ] || { echo "bench_udp_echo not found under $build (build it first)" >&2; exit 1; }
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# measure NAME COMMAND...: starts the server, waits for its port, runs the client against it.
measure() {
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q "^port " "$work/$name.out" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/^port //p' "$work/$name.out")
  [ -n "$port" ] || { echo "$name server did not start" >&2; cat "$work/$name.err" >&2; exit 1; }
  local line
  line=$("$bin" --client "$port" --seconds "$seconds" --window "$window")
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  echo "$line"
}

c=$(measure concur "$bin" --serve); echo "concur:  $c"
p=$(measure asyncio "$py" bench/udp_echo_python.py); echo "asyncio: $p"
if "$py" -c "import uvloop" 2>/dev/null; then
  u=$(measure uvloop "$py" bench/udp_echo_python.py --uvloop); echo "uvloop:  $u"
else
  u=""
fi
echo "ratio udp_echo per_s concur/asyncio=$(ratio "$(field "$c" per_s)" "$(field "$p" per_s)")" \
     "concur/uvloop=$(ratio "$(field "$c" per_s)" "$(field "$u" per_s)") (targets >= 10 asyncio, >= 2 uvloop)"
