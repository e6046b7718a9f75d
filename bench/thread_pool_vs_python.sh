#!/usr/bin/env bash
# bench_thread_pool beside Python's ThreadPoolExecutor doing the same work, in one run, and
# the ratio. Usage: bench/thread_pool_vs_python.sh [build-dir]   (default: build/default)
# Reproduce: cmake -S . -B build/default -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
#            cmake --build build/default --target bench_thread_pool && bench/thread_pool_vs_python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
bin="$build/bench/bench_thread_pool"
if [ ! -x "$bin" ]; then
  echo "thread_pool_vs_python: $bin not found; build the bench_thread_pool target first" >&2
  exit 2
fi
py=/usr/bin/python3
[ -x "$py" ] || py=python3
echo "command: $0 $build   (load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cpus)"
cpp_line=$("$bin" --tasks 200000 --workers 2 --repeat 10)
py_line=$("$py" bench/thread_pool_python.py --tasks 200000 --workers 2 --repeat 3)
echo "$cpp_line"
echo "$py_line"
cpp_rate=${cpp_line##*tasks_per_s=}
py_rate=${py_line##*tasks_per_s=}
awk -v c="$cpp_rate" -v p="$py_rate" 'BEGIN { printf "ratio concur/python = %.1fx\n", c / p }'
