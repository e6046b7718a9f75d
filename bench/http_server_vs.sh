#!/usr/bin/env bash
# Side by side, one run: wrk -t1 -c100 against concur's bench_http_server (one loop), the
# floor (bench/peers/epoll_floor_server.cpp: one epoll thread that only finds the end of each
# request and sends a fixed answer of the same size), a Boost.Beast server on one thread (bench/peers/beast_http_server.cpp, built beside it when
# Boost is installed), nginx with one worker, and a Python aiohttp server, all answering
# GET /posts/1 with {"id":1,"title":"hello"}. Prints req/s for each and concur's ratios.
#   bench/http_server_vs.sh [path/to/bench_http_server] [duration, default 5s] [rounds, default 1]
# With several rounds the servers take turns and each one's best round is kept.
#
# On two cores, wrk -t1 itself saturates its core (the script prints wrk's CPU): then every
# fast server shows the same req/s, the load generator's ceiling. So the script also reads each
# server's CPU time from /proc during the run and prints requests per server CPU-second, the
# rate the server would reach with a core to itself; the ratios are given for both.
set -euo pipefail
BIN=${1:-build/default/bench/bench_http_server}
DUR=${2:-5s}
ROUNDS=${3:-1}
BEAST=$(dirname "$BIN")/beast_http_server
FLOOR=$(dirname "$BIN")/epoll_floor_server
CONNS=${CONNS:-100}
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no bench_http_server at $BIN (build with -DCONCUR_BUILD_BENCH=ON)" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/posts/1"; then return 0; fi
    sleep 0.05
  done
  echo "server on port $1 did not come up" >&2; return 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
# measure PORT PID: one wrk run; prints "req_per_s req_per_server_cpu_s wrk_cpu_share".
measure() {
  local t0 t1 out
  t0=$(ticks "$2")
  out=$( { TIMEFORMAT='wrk_cpu %U %S %R'; time wrk -t1 -c"$CONNS" -d"$DUR" \
           "http://127.0.0.1:$1/posts/1"; } 2>&1 )
  t1=$(ticks "$2")
  echo "$out" | awk -v d=$((t1 - t0)) -v hz="$HZ" '
    /Requests\/sec/ { rps = $2 }
    / requests in / { n = $1 }
    /^wrk_cpu/ { share = ($2 + $3) / $4 }
    END { printf "%s %.0f %.2f\n", rps, (d > 0 ? n / (d / hz) : 0), share }'
}

P_CONCUR=$(free_port)
"$BIN" --port "$P_CONCUR" --threads 1 >/dev/null &
PIDS+=($!)

# start_peer NAME PROGRAM: runs PROGRAM --port P_NAME when it was built; sets P_NAME,
# PID_NAME and HAVE_NAME (1, or 0 when the program is missing).
start_peer() {
  local port_var="P_$1"
  printf -v "$port_var" %s "$(free_port)"
  printf -v "HAVE_$1" 0
  [ -x "$2" ] || return 0
  "$2" --port "${!port_var}" >/dev/null &
  PIDS+=($!)
  printf -v "PID_$1" %s "$!"
  printf -v "HAVE_$1" 1
}
start_peer FLOOR "$FLOOR"
start_peer BEAST "$BEAST"

P_NGINX=$(free_port)
NGINX_MASTER=
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx;
  scgi_temp_path $WORK/nginx;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$P_NGINX;
    location /posts/ { default_type application/json; return 200 '{"id":1,"title":"hello"}'; }
  }
}
CONF
HAVE_NGINX=0
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>/dev/null &
  PIDS+=($!)
  NGINX_MASTER=$!
  HAVE_NGINX=1
fi

P_AIOHTTP=$(free_port)
HAVE_AIOHTTP=0
if /usr/bin/python3 -c 'import aiohttp' 2>/dev/null; then
  cat > "$WORK/aio.py" <<PY
from aiohttp import web
async def post(request):
    return web.json_response({"id": int(request.match_info["id"]), "title": "hello"})
app = web.Application()
app.router.add_get("/posts/{id}", post)
web.run_app(app, host="127.0.0.1", port=$P_AIOHTTP, access_log=None, print=None)
PY
  /usr/bin/python3 "$WORK/aio.py" &
  PIDS+=($!)
  HAVE_AIOHTTP=1
fi

wait_port "$P_CONCUR"
[ $HAVE_FLOOR = 1 ] && wait_port "$P_FLOOR"
[ $HAVE_BEAST = 1 ] && wait_port "$P_BEAST"
[ $HAVE_NGINX = 1 ] && wait_port "$P_NGINX"
[ $HAVE_AIOHTTP = 1 ] && wait_port "$P_AIOHTTP"

echo "body: $(curl -s "http://127.0.0.1:$P_CONCUR/posts/1")  (wrk -t1 -c$CONNS -d$DUR, best of $ROUNDS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0 ? a : b) }'; }
declare -A RPS EFF PID
PID[concur]=${PIDS[0]}
[ $HAVE_FLOOR = 1 ] && PID[floor]=$PID_FLOOR
[ $HAVE_BEAST = 1 ] && PID[beast]=$PID_BEAST
if [ $HAVE_NGINX = 1 ]; then
  PID[nginx]=$(pgrep -P "$NGINX_MASTER" | head -1)
fi
[ $HAVE_AIOHTTP = 1 ] && PID[aiohttp]=${PIDS[-1]}
declare -A PORT=([concur]=$P_CONCUR [floor]=$P_FLOOR [beast]=$P_BEAST [nginx]=$P_NGINX [aiohttp]=$P_AIOHTTP)
NAMES=(concur)
[ $HAVE_FLOOR = 1 ] && NAMES+=(floor)
[ $HAVE_BEAST = 1 ] && NAMES+=(beast)
[ $HAVE_NGINX = 1 ] && NAMES+=(nginx)
[ $HAVE_AIOHTTP = 1 ] && NAMES+=(aiohttp)
WRK_SHARE=0
for _ in $(seq 1 "$ROUNDS"); do
  for n in "${NAMES[@]}"; do
    read -r r e w < <(measure "${PORT[$n]}" "${PID[$n]}")
    RPS[$n]=$(best "${RPS[$n]:-0}" "$r")
    EFF[$n]=$(best "${EFF[$n]:-0}" "$e")
    WRK_SHARE=$(best "$WRK_SHARE" "$w")
  done
done
printf "%-8s %12s %22s\n" server "req/s" "req per server CPU-s"
for n in "${NAMES[@]}"; do printf "%-8s %12.0f %22.0f\n" "$n" "${RPS[$n]}" "${EFF[$n]}"; done
echo "wrk used up to $(awk -v w="$WRK_SHARE" 'BEGIN { printf "%.0f", w * 100 }')% of a core (near 100%: req/s is wrk's ceiling; compare the CPU column)"
ratio() {  # ratio NAME LABEL
  awk -v c1="${RPS[concur]}" -v o1="${RPS[$1]:-0}" -v c2="${EFF[concur]}" -v o2="${EFF[$1]:-0}" \
      -v label="$2" 'BEGIN { if (o1 > 0 && o2 > 0)
        printf "concur/%-8s req/s %.2fx, per server CPU-second %.2fx%s\n", label, c1 / o1, c2 / o2,
               (label == "beast" ? "  (target >= 1.1x)" : (label == "floor" ? "  (target >= 0.8x)" : "")) }'
}
# The same as key=value lines, and the CPU microseconds per request.
keyvals() {
  for n in "${NAMES[@]}"; do
    awk -v n="$n" -v r="${RPS[$n]}" -v e="${EFF[$n]}" 'BEGIN {
      printf "http_server server=%s req_per_s=%.0f req_per_cpu_s=%.0f cpu_us_per_req=%.2f\n",
             n, r, e, (e > 0 ? 1e6 / e : 0) }'
  done
}
if [ $HAVE_FLOOR = 1 ]; then ratio floor floor
else echo "concur/floor: not measured (no epoll_floor_server beside $BIN)"; fi
if [ $HAVE_BEAST = 1 ]; then ratio beast beast
else echo "concur/beast: not measured (no beast_http_server: install Boost headers and rebuild)"; fi
[ $HAVE_NGINX = 1 ] && ratio nginx nginx
[ $HAVE_AIOHTTP = 1 ] && ratio aiohttp aiohttp
keyvals
exit 0
