"""mpi4py.futures doing what bench_mpi_pool does, printing the same lines.

Static mode, as bench_mpi_pool: mpiexec -n 3 python3 -m mpi4py.futures bench/mpi_pool_python.py
"""
import math
import statistics
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def square(x):
    return x * x


def echo(x):
    return x


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    args = sys.argv[1:]
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 3
    with MPIPoolExecutor() as ex:
        assert ex.submit(echo, 1).result() == 1
        if "--ready-only" in args:
            return
        workers = ex._max_workers if hasattr(ex, "_max_workers") else 2
        items, chunksize = 100_000, 1000
        numbers = list(range(items))
        best = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = list(ex.map(square, numbers, chunksize=chunksize))
            best = min(best, time.perf_counter() - t0)
            assert len(out) == items and out[-1] == square(items - 1)
        print(f"mpi_pool_map items={items} chunksize={chunksize} workers={workers} "
              f"seconds={best:.5f} items_per_s={items / best:.0f}")

        calls = 2000
        best = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            for i in range(calls):
                assert ex.submit(echo, i).result() == i
            best = min(best, time.perf_counter() - t0)
        print(f"mpi_round_trip calls={calls} us={best / calls * 1e6:.1f}")

        candidates = list(range(10_000_000, 10_020_000))
        chunk = len(candidates) // (4 * 2)
        seq = [is_prime(n) for n in candidates]
        assert list(ex.map(is_prime, candidates, chunksize=chunk)) == seq
        one = timed(lambda: [is_prime(n) for n in candidates])
        rounds = max(repeat, math.ceil(0.25 / one))
        seq_s = [timed(lambda: [is_prime(n) for n in candidates]) for _ in range(rounds)]
        par_s = [timed(lambda: list(ex.map(is_prime, candidates, chunksize=chunk)))
                 for _ in range(rounds)]
        print(f"mpi_primes n={len(candidates)} primes={sum(seq)} seq_s={min(seq_s):.4f} "
              f"ranks_s={min(par_s):.4f} speedup={min(seq_s) / min(par_s):.2f} rounds={rounds} "
              f"median_speedup={statistics.median(seq_s) / statistics.median(par_s):.2f}")


if __name__ == "__main__":
    main()
