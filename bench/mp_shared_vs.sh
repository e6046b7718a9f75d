#!/usr/bin/env bash
# Runs bench_mp_shared and Python's multiprocessing doing the same work, in one go, and prints
# the ratios: a shared Value incremented under its lock by 2 processes (vs multiprocessing.Value),
# 256 MiB through shared memory between 2 processes (vs one memcpy in one process), and
# process_pool_executor.map with chunksize 1000 over 1M items (vs multiprocessing.Pool.map), and a
# manager's dict and queue used from other processes (vs multiprocessing.Manager()).
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
cpp_incr=$(field "$cpp" mp_value_incr per_s)
py_incr=$(field "$py" mp_value_incr per_s)
shm_ratio=$(field "$cpp" mp_shm_copy ratio)
shm_rate=$(field "$cpp" mp_shm_copy gib_per_s)
memcpy_rate=$(field "$cpp" mp_shm_copy memcpy_gib_per_s)
cpp_dict=$(field "$cpp" mp_manager_dict ops_per_s)
py_dict=$(field "$py" mp_manager_dict ops_per_s)
cpp_mq=$(field "$cpp" mp_manager_queue items_per_s)
py_mq=$(field "$py" mp_manager_queue items_per_s)
cpp_map=$(field "$cpp" mp_executor_map items_per_s)
py_map=$(field "$py" mp_executor_map items_per_s)
py_ex=$(field "$py" mp_executor_map_pyexecutor items_per_s)
python3 -c "print(f'ratio mp_value_incr per_s concur/python={$cpp_incr/$py_incr:.2f} (target >= 20)')"
echo "ratio mp_shm_copy two processes through shared memory / memcpy in one process=$shm_ratio ($shm_rate vs $memcpy_rate GiB/s; target >= 0.8)"
python3 -c "print(f'ratio mp_manager_dict ops_per_s concur/python={$cpp_dict/$py_dict:.2f}')"
python3 -c "print(f'ratio mp_manager_queue items_per_s concur/python={$cpp_mq/$py_mq:.2f}')"
python3 -c "print(f'ratio mp_executor_map items_per_s concur/Pool.map={$cpp_map/$py_map:.2f} (target >= 3), concur/ProcessPoolExecutor.map={$cpp_map/$py_ex:.2f}')"
