#!/usr/bin/env bash
# Spawning and awaiting /bin/true 2000 times, 16 at once: concur beside asyncio (and uvloop
# when Debian's python3-uvloop is there), same run.
#   bench/aio_subprocess_vs.sh [build-dir] [rounds]     (default build/default, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
rounds=${2:-3}
py=/usr/bin/python3
bin=$(find "$build" -name bench_aio_subprocess -type f -perm -u+x | head -1)
[ -n "$bin" ] || { echo "bench_aio_subprocess not found under $build (build it first)" >&2; exit 1; }
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
c=$("$bin" --rounds "$rounds"); echo "concur:  $c"
p=$("$py" bench/aio_subprocess_python.py --rounds "$rounds"); echo "asyncio: $p"
if u=$("$py" bench/aio_subprocess_python.py --rounds "$rounds" --uvloop 2>/dev/null); then
  echo "uvloop:  $u"
else
  u=""
fi
echo "ratio aio_subprocess per_s concur/asyncio=$(ratio "$(field "$c" per_s)" "$(field "$p" per_s)")" \
     "concur/uvloop=$(ratio "$(field "$c" per_s)" "$(field "$u" per_s)") (target >= 3 asyncio)"
