#!/bin/sh
# concur::queue beside Python's queue.Queue on the same work (bench_queue / queue_python.py),
# one line per configuration with the ratio. Usage: compare_queue.sh BUILD_DIR [items]
set -eu
build=${1:?usage: compare_queue.sh BUILD_DIR [items]}
items=${2:-200000}
here=$(dirname "$0")
cpp=$("$build/bench/bench_queue" "$items")
py=$(python3 "$here/queue_python.py" "$items")
echo "$cpp"
echo "$py"
# Lines pair up in order (same four configurations); print the items_per_s ratio of each.
printf '%s\n%s\n' "$cpp" "$py" | awk '
  { for (i = 1; i <= NF; i++) if ($i ~ /^items_per_s=/) { split($i, kv, "="); rate = kv[2] } }
  /^queue_throughput/ { c[++nc] = rate; cfg[nc] = $2 " " $3 " " $4 }
  /^python_queue_throughput/ { p[++np] = rate }
  END { for (i = 1; i <= nc; i++) printf "ratio %s cpp/python=%.1f\n", cfg[i], c[i] / p[i] }'
