"""Python's multiprocessing doing what bench_mp_pool does, printing the same lines."""
import math
import statistics
import sys
import time
from multiprocessing import Pool


def square(x):
    return x * x


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    items, workers = 1_000_000, 2
    numbers = list(range(items))
    with Pool(workers) as p:
        best = min(timed(lambda: p.map(square, numbers)) for _ in range(repeat))
        print(f"mp_pool_map items={items} workers={workers} seconds={best:.4f} "
              f"items_per_s={items / best:.0f}")
        candidates = list(range(10_000_000, 10_020_000))
        seq = [is_prime(n) for n in candidates]
        assert p.map(is_prime, candidates) == seq
        # At least 0.25 s a side, as bench_mp_pool does (a round here already takes about that).
        one = timed(lambda: [is_prime(n) for n in candidates])
        rounds = max(repeat, math.ceil(0.25 / one))
        seq_s = [timed(lambda: [is_prime(n) for n in candidates]) for _ in range(rounds)]
        pool_s = [timed(lambda: p.map(is_prime, candidates)) for _ in range(rounds)]
        print(f"mp_primes n={len(candidates)} primes={sum(seq)} seq_s={min(seq_s):.4f} "
              f"pool_s={min(pool_s):.4f} speedup={min(seq_s) / min(pool_s):.2f} rounds={rounds} "
              f"median_speedup={statistics.median(seq_s) / statistics.median(pool_s):.2f}")


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
