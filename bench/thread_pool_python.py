"""Python's ThreadPoolExecutor doing what bench_thread_pool does: 200000 tiny tasks that
return their index, 2 workers, submitted from the main thread, results collected through
the futures, sum checked. Prints the same one-line format (best of --repeat runs)."""
import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def task(i):
    return i


def run_once(pool, tasks):
    # One round on a long-lived pool, like bench_thread_pool.
    t0 = time.perf_counter()
    futures = [pool.submit(task, i) for i in range(tasks)]
    total = sum(f.result() for f in futures)
    del futures
    seconds = time.perf_counter() - t0
    if total != tasks * (tasks - 1) // 2:
        print(f"thread_pool_python: wrong sum {total}", file=sys.stderr)
        sys.exit(1)
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=200000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with ThreadPoolExecutor(max_workers=a.workers) as pool:
        best = min(run_once(pool, a.tasks) for _ in range(a.repeat))
    print(f"py_submit tasks={a.tasks} workers={a.workers} seconds={best:.4f} "
          f"tasks_per_s={a.tasks / best:.0f}")


if __name__ == "__main__":
    main()
