#!/usr/bin/env bash
# User-space instructions per request of concur's bench_http_server and of the Boost.Beast
# peer, counted by valgrind's callgrind: a figure that does not move with the machine's load,
# unlike req/s on a shared 2-core machine where wrk -t1 saturates its own core first.
# Each server answers N1 and then N2 GETs (bench_http_client, 100 keep-alive connections) in
# two runs; (Ir(N2) - Ir(N1)) / (N2 - N1) removes start-up and shutdown. The kernel's share
# (one recv and one send per request for both servers, see bench/README.md) is not counted.
#   bench/http_server_instructions.sh [build-dir] [N1] [N2]
set -euo pipefail
build=${1:-build/default}
N1=${2:-5000}
N2=${3:-25000}
B=$build/bench
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
for p in bench_http_server beast_http_server bench_http_client; do
  [ -x "$B/$p" ] || { echo "missing $B/$p (build with the benchmarks; Boost for the Beast peer)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# count NAME N PROGRAM ARGS...: total instructions of one server run that answers N requests.
count() {
  local name=$1 n=$2 port vp
  shift 2
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$WORK/$name.$n" "$@" --port "$port" \
    >/dev/null 2>"$WORK/$name.$n.err" &
  vp=$!
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/posts/1" && break
    sleep 0.2
  done
  "$B/bench_http_client" "http://127.0.0.1:$port/posts/1" "$n" 100 | grep -q "ok=$n " ||
    { echo "$name: not every request succeeded" >&2; exit 1; }
  kill -INT "$vp"
  wait "$vp" || true
  awk '/^summary:|^totals:/ { print $2; exit }' "$WORK/$name.$n"
}

declare -A PER
for s in concur beast; do
  if [ "$s" = concur ]; then prog=("$B/bench_http_server" --threads 1); else prog=("$B/beast_http_server"); fi
  a=$(count "$s" "$N1" "${prog[@]}")
  b=$(count "$s" "$N2" "${prog[@]}")
  PER[$s]=$(( (b - a) / (N2 - N1) ))
  echo "$s: user-space instructions per request = ${PER[$s]}  (Ir $a for $N1, $b for $N2 requests)"
done
awk -v c="${PER[concur]}" -v b="${PER[beast]}" \
  'BEGIN { printf "beast/concur: %.2fx the instructions per request (target: concur >= 1.1x Beast)\n", b / c }'
