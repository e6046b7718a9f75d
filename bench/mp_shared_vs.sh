#!/usr/bin/env bash
# Runs bench_mp_shared and Python's multiprocessing doing the same work, in one go, and prints
# the ratios.
#   bench/mp_shared_vs.sh [path/to/bench_mp_shared] [repeat]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=${1:-$here/../build/default/bench/bench_mp_shared}
repeat=${2:-3}
if [[ ! -x $bin ]]; then
  echo "mp_shared_vs: $bin not found; build it first (scripts/build, or cmake --build <dir> --target bench_mp_shared)" >&2
  exit 2
fi
cpp=$("$bin" --repeat "$repeat")
py=$(python3 "$here/mp_shared_python.py" "$repeat")
printf '%s\n' "$cpp" | sed 's/^/concur: /'
printf '%s\n' "$py" | sed 's/^/python: /'
field() { printf '%s\n' "$1" | grep "^$2 " | tr ' ' '\n' | grep "^$3=" | cut -d= -f2; }
cpp_map=$(field "$cpp" mp_executor_map items_per_s)
py_map=$(field "$py" mp_executor_map items_per_s)
py_ex=$(field "$py" mp_executor_map_pyexecutor items_per_s)
python3 -c "print(f'ratio mp_executor_map items_per_s concur/Pool.map={$cpp_map/$py_map:.2f} (target >= 3), concur/ProcessPoolExecutor.map={$cpp_map/$py_ex:.2f}')"
