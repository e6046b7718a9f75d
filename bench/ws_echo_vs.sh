#!/usr/bin/env bash
# Side by side, one run: WebSocket echo of 32-byte text messages over 100 connections, each
# waiting for its echo before sending the next, against `concur serve` (its echo endpoint at
# /ws, one loop), Boost.Beast (bench/peers/beast_ws_server.cpp), websocketpp
# (bench/peers/websocketpp_ws_server.cpp) and aiohttp (bench/peers/aiohttp_ws_server.py), all
# on one thread and in turn, all driven by the same load client (bench_ws_echo: plain epoll, not
# concur's loop, so it favours no server). Prints messages/s and messages per server
# CPU-second (the server's utime + stime from /proc over the measured window) for each, and
# concur's ratios. A peer that was not built or installed is skipped, saying so.
#   bench/ws_echo_vs.sh [build-dir] [seconds, default 5]
# CONNS=100 and SIZE=32 in the environment change the connections and the message size.
#
# On two cores the load client fills its own core, so messages/s is mostly its ceiling (the
# script prints the client's CPU share): compare messages per server CPU-second, the rate a
# server would reach with a core to itself. Targets: >= 1.2x Beast, >= 10x aiohttp.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/default}
secs=${2:-5}
conns=${CONNS:-100}
size=${SIZE:-32}
client=$build/bench/bench_ws_echo
ours=$build/bin/concur
[ -x "$client" ] || { echo "missing $client (build with CONCUR_BUILD_BENCH=ON)" >&2; exit 1; }
[ -x "$ours" ] || { echo "missing $ours (build the concur tool first)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM  # so that the EXIT trap stops the server then too

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_port PORT: returns once something accepts on PORT; fails if the server exits first or
# is not up within 5 s.
wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

declare -A RATE EFF SHARE
names=()
failed=()
# run_server NAME PATH COMMAND...: starts COMMAND, each argument @PORT@ replaced by a free
# port, drives it with the load client at PATH, then stops it. Records the figures under NAME.
run_server() {
  local name=$1 path=$2 port line
  shift 2
  port=$(free_port)
  "${@//@PORT@/$port}" >"$work/$name.log" 2>&1 &
  server_pid=$!
  if ! wait_port "$port"; then
    echo "$name: not listening on port $port; its output:" >&2
    sed 's/^/  /' "$work/$name.log" >&2
    failed+=("$name")
    stop_server
    return 0
  fi
  if ! line=$("$client" --port "$port" --pid "$server_pid" --name "$name" --path "$path" \
                --conns "$conns" --seconds "$secs" --size "$size"); then
    failed+=("$name")
  fi
  stop_server
  [ -n "$line" ] || return 0
  echo "$line"
  names+=("$name")
  RATE[$name]=$(sed -n 's/.* msgs_per_s=\([0-9.]*\).*/\1/p' <<<"$line")
  EFF[$name]=$(sed -n 's/.* msgs_per_server_cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")
  SHARE[$name]=$(awk '{ for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
                       printf "%.0f", 100 * v["client_cpu_s"] / v["seconds"] }' <<<"$line")
}

echo "ws_echo: $conns connections, $size-byte text messages, ${secs}s after 1s of warm-up," \
     "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run_server concur /ws "$ours" serve -q --port @PORT@

beast=$build/bench/beast_ws_server
if [ -x "$beast" ]; then
  run_server beast /ws "$beast" @PORT@
else
  echo "beast: skipped (no $beast: install Boost's headers with scripts/install-deps and rebuild)"
fi
wspp=$build/bench/websocketpp_ws_server
if [ -x "$wspp" ]; then
  run_server websocketpp /ws "$wspp" @PORT@
else
  echo "websocketpp: skipped (no $wspp: install libwebsocketpp-dev and rebuild)"
fi
if /usr/bin/python3 -c 'import aiohttp' 2>/dev/null; then
  run_server aiohttp /ws /usr/bin/python3 "$here/peers/aiohttp_ws_server.py" @PORT@
else
  echo "aiohttp: skipped (python3-aiohttp is not installed)"
fi

printf "%-12s %10s %22s %11s\n" server "msgs/s" "msgs per server CPU-s" "client CPU"
for n in "${names[@]}"; do
  printf "%-12s %10.0f %22.0f %10s%%\n" "$n" "${RATE[$n]}" "${EFF[$n]}" "${SHARE[$n]}"
done
# ratio PEER: concur's messages per server CPU-second over PEER's, or n/a if either is missing.
ratio() {
  awk -v a="${EFF[concur]:-0}" -v b="${EFF[$1]:-0}" \
      'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
echo "ratios of messages per server CPU-second (targets: beast >= 1.2x, aiohttp >= 10x):"
echo "ws_echo_ratio ours_vs_beast=$(ratio beast) ours_vs_websocketpp=$(ratio websocketpp)" \
     "ours_vs_aiohttp=$(ratio aiohttp)"
echo "reproduce: bench/ws_echo_vs.sh $build $secs"
if [ ${#failed[@]} -ne 0 ]; then
  echo "failed: ${failed[*]} (see the messages above)" >&2
  exit 1
fi
