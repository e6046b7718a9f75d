#!/usr/bin/env bash
# Side by side, one run: wrk -t1 -c100 against concur's bench_http_server (one loop), a
# Boost.Beast server on one thread (bench/peers/beast_http_server.cpp, built beside it when
# Boost is installed), nginx with one worker, and a Python aiohttp server, all answering
# GET /posts/1 with {"id":1,"title":"hello"}. Prints req/s for each and concur's ratios.
#   bench/http_server_vs.sh [path/to/bench_http_server] [duration, default 5s] [rounds, default 1]
# With several rounds the servers take turns and each one's best round is kept.
set -euo pipefail
BIN=${1:-build/default/bench/bench_http_server}
DUR=${2:-5s}
ROUNDS=${3:-1}
BEAST=$(dirname "$BIN")/beast_http_server
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
run_wrk() {  # prints requests/s
  wrk -t1 -c"$CONNS" -d"$DUR" "http://127.0.0.1:$1/posts/1" | awk '/Requests\/sec/ {print $2}'
}

P_CONCUR=$(free_port)
"$BIN" --port "$P_CONCUR" --threads 1 >/dev/null &
PIDS+=($!)

P_BEAST=$(free_port)
HAVE_BEAST=0
if [ -x "$BEAST" ]; then
  "$BEAST" --port "$P_BEAST" >/dev/null &
  PIDS+=($!)
  HAVE_BEAST=1
fi

P_NGINX=$(free_port)
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
[ $HAVE_BEAST = 1 ] && wait_port "$P_BEAST"
[ $HAVE_NGINX = 1 ] && wait_port "$P_NGINX"
[ $HAVE_AIOHTTP = 1 ] && wait_port "$P_AIOHTTP"

echo "body: $(curl -s "http://127.0.0.1:$P_CONCUR/posts/1")  (wrk -t1 -c$CONNS -d$DUR, best of $ROUNDS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
C=0; B=0; N=0; A=0
for _ in $(seq 1 "$ROUNDS"); do
  C=$(best "$C" "$(run_wrk "$P_CONCUR")")
  if [ $HAVE_BEAST = 1 ]; then B=$(best "$B" "$(run_wrk "$P_BEAST")"); fi
  if [ $HAVE_NGINX = 1 ]; then N=$(best "$N" "$(run_wrk "$P_NGINX")"); fi
  if [ $HAVE_AIOHTTP = 1 ]; then A=$(best "$A" "$(run_wrk "$P_AIOHTTP")"); fi
done
echo "concur   req/s: $C"
[ $HAVE_BEAST = 1 ] && echo "beast    req/s: $B"
[ $HAVE_NGINX = 1 ] && echo "nginx    req/s: $N"
[ $HAVE_AIOHTTP = 1 ] && echo "aiohttp  req/s: $A"
awk -v c="$C" -v b="$B" -v n="$N" -v a="$A" 'BEGIN {
  if (b > 0) printf "concur/beast:   %.2fx (target >= 1.1x)\n", c / b;
  else print "concur/beast:   not measured (no beast_http_server: install Boost headers and rebuild)";
  if (n > 0) printf "concur/nginx:   %.2fx\n", c / n;
  if (a > 0) printf "concur/aiohttp: %.2fx\n", c / a;
}'
