"""Python's multiprocessing doing what bench_mp_pool does, printing the same lines."""
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
        best_seq = min(timed(lambda: [is_prime(n) for n in candidates]) for _ in range(repeat))
        best_pool = min(timed(lambda: p.map(is_prime, candidates)) for _ in range(repeat))
        seq = [is_prime(n) for n in candidates]
        assert p.map(is_prime, candidates) == seq
        print(f"mp_primes n={len(candidates)} primes={sum(seq)} seq_s={best_seq:.4f} "
              f"pool_s={best_pool:.4f} speedup={best_seq / best_pool:.2f}")


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
