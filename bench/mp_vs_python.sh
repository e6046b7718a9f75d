#!/usr/bin/env bash
# Runs bench_mp_pool and Python's multiprocessing doing the same work, in one go, and prints
# the ratios (C++ items/s over Python's, and both primes speed-ups).
#   bench/mp_vs_python.sh [path/to/bench_mp_pool] [repeat]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=${1:-$here/../build/default/bench/bench_mp_pool}
repeat=${2:-3}
if [[ ! -x $bin ]]; then
  echo "mp_vs_python: $bin not found; build it first (scripts/build, or cmake --build <dir> --target bench_mp_pool)" >&2
  exit 2
fi
cpp=$("$bin" --repeat "$repeat")
py=$(python3 "$here/mp_pool_python.py" "$repeat")
printf '%s\n' "$cpp" | sed 's/^/concur: /'
printf '%s\n' "$py" | sed 's/^/python: /'
field() { printf '%s\n' "$1" | grep "^$2 " | tr ' ' '\n' | grep "^$3=" | cut -d= -f2; }
cpp_rate=$(field "$cpp" mp_pool_map items_per_s)
py_rate=$(field "$py" mp_pool_map items_per_s)
cpp_speedup=$(field "$cpp" mp_primes speedup)
py_speedup=$(field "$py" mp_primes speedup)
cpp_median=$(field "$cpp" mp_primes median_speedup)
py_median=$(field "$py" mp_primes median_speedup)
python3 -c "print(f'ratio mp_pool_map items_per_s concur/python={$cpp_rate/$py_rate:.2f} (target >= 3)')"
echo "ratio mp_primes speedup concur=$cpp_speedup python=$py_speedup, of the medians concur=$cpp_median python=$py_median (target concur >= 1.8 on 2 cores)"
