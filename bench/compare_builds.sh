#!/usr/bin/env bash
# Two builds of concur side by side in one run (a change's "before" and "after"): aio spawn and
# sleepers, and the HTTP server's and client's cost per request, each pair run alternately.
#   bench/compare_builds.sh BEFORE_DIR AFTER_DIR [pairs]
# A build dir is a build tree (build/default) or any folder with a bench/ holding
# bench_aio_spawn, bench_aio_sleepers, bench_http_server and bench_http_client (for "before":
# build the old commit, e.g. git worktree add /tmp/before <commit> && (cd /tmp/before &&
# ./scripts/build)). Instructions come from callgrind (they do not move with the machine's
# load); req/s and tasks/s are wall-clock figures, medians of the pairs, and move 5-30% here.
set -euo pipefail
. "$(dirname "$0")/nginx_peer.sh"
before=${1:?usage: bench/compare_builds.sh BEFORE_DIR AFTER_DIR [pairs]}
after=${2:?usage: bench/compare_builds.sh BEFORE_DIR AFTER_DIR [pairs]}
pairs=${3:-6}
for d in "$before" "$after"; do
  for p in bench_aio_spawn bench_aio_sleepers bench_http_server bench_http_client; do
    [ -x "$d/bench/$p" ] || { echo "missing $d/bench/$p" >&2; exit 1; }
  done
done
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers may run as nobody
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'; }
# instructions NAME CMD...: total instructions callgrind counts for one run of CMD.
instructions() {
  local out=$work/cg.$1
  shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1
  awk '/^summary:|^totals:/ { print $2; exit }' "$out"
}

echo "== aio spawn: 200000 coroutines gathered, tasks/s (best of 10 rounds, one CPU), $pairs pairs"
: >"$work/spawn"
for _ in $(seq "$pairs"); do
  b=$(taskset -c 1 "$before/bench/bench_aio_spawn" --rounds 10 | field tasks_per_s)
  a=$(taskset -c 1 "$after/bench/bench_aio_spawn" --rounds 10 | field tasks_per_s)
  echo "$b $a $(ratio "$b" "$a")" >>"$work/spawn"
done
sb=$(cut -d' ' -f1 "$work/spawn" | median)
sa=$(cut -d' ' -f2 "$work/spawn" | median)
echo "before_tasks_per_s=$sb after_tasks_per_s=$sa median_pair_ratio=$(cut -d' ' -f3 "$work/spawn" | median)"
ib=$(instructions spawn_b "$before/bench/bench_aio_spawn" --tasks 50000 --rounds 3)
ia=$(instructions spawn_a "$after/bench/bench_aio_spawn" --tasks 50000 --rounds 3)
echo "instructions (50000 tasks x 3 rounds): before=$ib after=$ia ratio=$(ratio "$ib" "$ia")"

echo
echo "== aio sleepers: 100000 coroutines sleeping 1 s"
for _ in 1 2; do
  echo "before: $("$before/bench/bench_aio_sleepers")"
  echo "after:  $("$after/bench/bench_aio_sleepers")"
done

echo
echo "== HTTP server: user-space instructions per request (callgrind, 5000 vs 25000 GETs)"
server_instructions() {
  local build=$1 n=$2 port vp
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$work/srv.$n" "$build/bench/bench_http_server" \
    --threads 1 --port "$port" >/dev/null 2>&1 &
  vp=$!
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/posts/1" && break
    sleep 0.2
  done
  "$after/bench/bench_http_client" "http://127.0.0.1:$port/posts/1" "$n" 100 >/dev/null
  kill -INT "$vp"
  wait "$vp" || true
  awk '/^summary:|^totals:/ { print $2; exit }' "$work/srv.$n"
}
declare -A per
for side in before after; do
  build=${!side}
  x=$(server_instructions "$build" 5000)
  y=$(server_instructions "$build" 25000)
  per[$side]=$(( (y - x) / 20000 ))
done
echo "before=${per[before]} after=${per[after]} ratio=$(ratio "${per[before]}" "${per[after]}")"

echo
# wrk -t1 saturates its own core on two cores, so req/s is mostly wrk's ceiling; the server's
# CPU time over the run (utime + stime from /proc) gives requests per server CPU-second too.
echo "== HTTP server under wrk -t1 -c100 (2 s), req/s and req per server CPU-second, $pairs pairs"
: >"$work/wrk"
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for _ in $(seq "$pairs"); do
  row=""
  for side in before after; do
    build=${!side}
    port=$(free_port)
    "$build/bench/bench_http_server" --threads 1 --port "$port" >/dev/null 2>&1 &
    sp=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/posts/1" && break; sleep 0.1; done
    t0=$(cpu_ticks "$sp")
    out=$(wrk -t1 -c100 -d2s "http://127.0.0.1:$port/posts/1")
    t1=$(cpu_ticks "$sp")
    row="$row $(echo "$out" | awk -v d=$((t1 - t0)) -v hz="$hz" '
      /Requests\/sec/ { r = $2 } / requests in / { n = $1 }
      END { printf "%s %.0f", r, (d > 0 ? n / (d / hz) : 0) }')"
    kill -INT "$sp"
    wait "$sp" || true
  done
  echo "$row" >>"$work/wrk"
done
wb=$(awk '{print $1}' "$work/wrk" | median)
wa=$(awk '{print $3}' "$work/wrk" | median)
echo "before_req_per_s=$wb after_req_per_s=$wa median_pair_ratio=$(awk '{print $3/$1}' "$work/wrk" | median)"
cb=$(awk '{print $2}' "$work/wrk" | median)
ca=$(awk '{print $4}' "$work/wrk" | median)
echo "before_req_per_cpu_s=$cb after_req_per_cpu_s=$ca median_pair_ratio=$(awk '{print $4/$2}' "$work/wrk" | median)"

echo
echo "== HTTP client: keep-alive GETs over 100 connections against nginx"
port=$(free_port)
echo -n '{"id":1,"title":"hello"}' >"$work/post.json"
start_nginx "$work" "$work" "$port" /post.json "default_type application/json;"
url="http://127.0.0.1:$port/post.json"
declare -A cper
for side in before after; do
  build=${!side}
  x=$(instructions "cl5" "$build/bench/bench_http_client" "$url" 5000 100)
  y=$(instructions "cl25" "$build/bench/bench_http_client" "$url" 25000 100)
  cper[$side]=$(( (y - x) / 20000 ))
done
echo "instructions per request: before=${cper[before]} after=${cper[after]} ratio=$(ratio "${cper[before]}" "${cper[after]}")"
: >"$work/cl"
for _ in $(seq "$pairs"); do
  b=$("$before/bench/bench_http_client" "$url" 100000 100 | field req_per_s)
  a=$("$after/bench/bench_http_client" "$url" 100000 100 | field req_per_s)
  echo "$b $a" >>"$work/cl"
done
echo "before_req_per_s=$(awk '{print $1}' "$work/cl" | median) after_req_per_s=$(awk '{print $2}' "$work/cl" | median)" \
  "median_pair_ratio=$(awk '{print $2/$1}' "$work/cl" | median)"
