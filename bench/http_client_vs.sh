#!/usr/bin/env bash
# Side by side, in one run: wrk, our client (bench_http_client) and Python's aiohttp client,
# each doing keep-alive GETs over 100 connections against the same nginx (one worker) on
# loopback. Prints each figure and the ratios to wrk.
#   bench/http_client_vs.sh [build-dir] [requests] [seconds-for-wrk]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/nginx_peer.sh"
build=${1:-$here/../build/default}
n=${2:-200000}
secs=${3:-5}
conc=100
client=$build/bench/bench_http_client
[ -x "$client" ] || { echo "missing $client (build with CONCUR_BUILD_BENCH=ON)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }

dir=$(mktemp -d)
chmod 755 "$dir"  # nginx workers may run as nobody
trap 'kill $(cat "$dir/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo -n '{"id":1,"title":"hello"}' > "$dir/post.json"
start_nginx "$dir" "$dir" "$port" /post.json "default_type application/json;"
url="http://127.0.0.1:$port/post.json"

wrk_rps=$(wrk -t1 -c$conc -d${secs}s "$url" | awk '/Requests\/sec/ {print $2}')
echo "wrk -t1 -c$conc: req_per_s=$wrk_rps"

ours_line=$("$client" "$url" "$n" "$conc" || true)
echo "$ours_line"
ours_rps=$(echo "$ours_line" | sed -n 's/.*req_per_s=\([0-9.]*\).*/\1/p')

py_n=$(( n / 10 ))
py_rps=$(/usr/bin/python3 - "$url" "$py_n" "$conc" <<'PY'
import asyncio, sys, time
import aiohttp
url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
async def main():
    done = 0
    conn = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(connector=conn) as s:
        async def worker():
            nonlocal done
            while done < n:
                done += 1
                async with s.get(url) as r:
                    await r.read()
        await asyncio.gather(*(worker() for _ in range(c)))  # warm-up pass
        done = 0
        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(c)))
        return n / (time.perf_counter() - t)
print(f"{asyncio.run(main()):.0f}")
PY
)
echo "aiohttp client: requests=$py_n req_per_s=$py_rps"
python3 - "$wrk_rps" "$ours_rps" "$py_rps" <<'PY'
import sys
wrk, ours, py = map(float, sys.argv[1:])
print(f"ratio concur/wrk={ours / wrk:.2f} aiohttp/wrk={py / wrk:.2f} concur/aiohttp={ours / py:.1f}")
PY
