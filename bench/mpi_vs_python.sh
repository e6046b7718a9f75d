#!/usr/bin/env bash
# Runs bench_mpi_pool and mpi4py.futures doing the same work, both in static mode under
# `mpiexec -n 3` (rank 0 measures, 2 worker ranks), in one go, with the floor of the map (the
# same messages as bare MPI calls, bench/peers/mpi_floor_map.cpp), and prints the ratios; then
# times `mpiexec -n 3` up to a ready executor (one task done) for each, best of 3.
#   bench/mpi_vs_python.sh [path/to/bench_mpi_pool] [repeat]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=${1:-$here/../build/default/bench/bench_mpi_pool}
repeat=${2:-3}
if [[ ! -x $bin ]]; then
  echo "mpi_vs_python: $bin not found; build it first (scripts/build, or cmake --build <dir> --target bench_mpi_pool)" >&2
  exit 2
fi
# Debian's python3 carries python3-mpi4py (another python3 first on PATH may not).
py=/usr/bin/python3
# As root in a container, with 3 ranks on 2 cores (see tests/mpi/CMakeLists.txt).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
run=(mpiexec --bind-to none -n 3)

floor_bin=$(dirname "$bin")/mpi_floor_map
cpp=$("${run[@]}" "$bin" --repeat "$repeat")
floor=$("${run[@]}" "$floor_bin" "$repeat")
pyout=$("${run[@]}" "$py" -m mpi4py.futures "$here/mpi_pool_python.py" --repeat "$repeat")
printf '%s\n' "$cpp" | sed 's/^/concur: /'
printf '%s\n' "$pyout" | sed 's/^/mpi4py: /'
printf '%s\n' "$floor" | sed 's/^/floor:  /'

ready() {  # best of 3 wall times of a command, in seconds
  local best=999
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $t1 - $t0))")
  done
  printf '%.3f' "$best"
}
cpp_ready=$(ready "${run[@]}" "$bin" --ready-only)
py_ready=$(ready "${run[@]}" "$py" -m mpi4py.futures "$here/mpi_pool_python.py" --ready-only)
echo "concur: mpi_ready seconds=$cpp_ready"
echo "mpi4py: mpi_ready seconds=$py_ready"

field() { printf '%s\n' "$1" | grep "^$2 " | tr ' ' '\n' | grep "^$3=" | cut -d= -f2; }
python3 - "$(field "$cpp" mpi_pool_map items_per_s)" "$(field "$pyout" mpi_pool_map items_per_s)" \
  "$(field "$floor" mpi_floor_map items_per_s)" \
  "$(field "$cpp" mpi_round_trip us)" "$(field "$pyout" mpi_round_trip us)" \
  "$(field "$cpp" mpi_primes speedup)" "$(field "$pyout" mpi_primes speedup)" \
  "$(field "$cpp" mpi_primes median_speedup)" "$cpp_ready" "$py_ready" <<'PY'
import sys
c_rate, p_rate, f_rate, c_us, p_us, c_sp, p_sp, c_med, c_ready, p_ready = map(float, sys.argv[1:])
print(f"ratio mpi_pool_map items_per_s concur/mpi4py={c_rate / p_rate:.1f} (target >= 15) concur/floor={c_rate / f_rate:.2f}")
print(f"ratio mpi_round_trip us concur={c_us:.1f} mpi4py={p_us:.1f} mpi4py/concur={p_us / c_us:.1f} (target concur <= 20 us)")
print(f"ratio mpi_primes speedup concur={c_sp:.2f} (median {c_med:.2f}) mpi4py={p_sp:.2f} (target concur >= 1.8)")
print(f"ratio mpi_ready seconds concur={c_ready:.3f} mpi4py={p_ready:.3f} (target concur <= 0.7)")
PY
