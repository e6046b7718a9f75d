#!/usr/bin/env bash
# concur::aio beside Python asyncio and uvloop on the same machine, same run:
#   bench/aio_vs_python.sh [build-dir]     (default build/default; needs bench_aio_* built)
# Uses Debian's /usr/bin/python3 (python3-uvloop is installed for it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
py=/usr/bin/python3
spawn=$(find "$build" -name bench_aio_spawn -type f -perm -u+x | head -1)
sleepers=$(find "$build" -name bench_aio_sleepers -type f -perm -u+x | head -1)
if [ -z "$spawn" ] || [ -z "$sleepers" ]; then
  echo "bench_aio_spawn / bench_aio_sleepers not found under $build (build them first)" >&2
  exit 1
fi

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }

echo "== spawn: 200000 coroutines, one suspension each, gathered (higher is better)"
c=$("$spawn" --rounds 5); echo "$c"
p=$("$py" bench/aio_python.py spawn --rounds 3); echo "$p"
if u=$("$py" bench/aio_python.py spawn --rounds 3 --uvloop 2>/dev/null); then echo "$u"; else u=""; fi
echo "concur/asyncio: $(ratio "$(field "$c" tasks_per_s)" "$(field "$p" tasks_per_s)")x" \
     " concur/uvloop: $(ratio "$(field "$c" tasks_per_s)" "$(field "$u" tasks_per_s)")x" \
     " (targets: >= 50x asyncio, >= 4.7M tasks/s)"

echo
echo "== sleepers: 100000 coroutines sleeping 1 s together (lower is better)"
c=$("$sleepers"); echo "$c"
p=$("$py" bench/aio_python.py sleepers); echo "$p"
if u=$("$py" bench/aio_python.py sleepers --uvloop 2>/dev/null); then echo "$u"; else u=""; fi
echo "memory per task asyncio/concur: $(ratio "$(field "$p" kib_per_task)" "$(field "$c" kib_per_task)")x" \
     " uvloop/concur: $(ratio "$(field "$u" kib_per_task)" "$(field "$c" kib_per_task)")x" \
     " (targets: <= 0.35 KiB per task, <= 1.15 s wall)"
