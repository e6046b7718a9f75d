"""Python's multiprocessing doing what bench_mp_shared does, printing the same lines."""
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Event, Manager, Pool, Process, Value


def square(x):
    return x * x


def increment(v, n, go):
    go.wait()
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def value_incr(repeat):
    per_process = 100_000
    best = float("inf")
    for _ in range(repeat):
        v = Value("q", 0)
        go = Event()
        procs = [Process(target=increment, args=(v, per_process, go)) for _ in range(2)]
        for p in procs:
            p.start()
        t0 = time.perf_counter()
        go.set()
        for p in procs:
            p.join()
        s = time.perf_counter() - t0
        assert v.value == 2 * per_process and all(p.exitcode == 0 for p in procs)
        best = min(best, s)
    print(f"mp_value_incr processes=2 increments={2 * per_process} seconds={best:.4f} "
          f"per_s={2 * per_process / best:.0f}")


def dict_worker(d, base, n, go):
    go.wait()
    for i in range(n):
        d[base + i % 100] = i
        d[base + i % 100]


def manager_dict(repeat):
    per_process = 10_000
    best = float("inf")
    with Manager() as m:
        for _ in range(repeat):
            d = m.dict()
            go = Event()
            procs = [Process(target=dict_worker, args=(d, base, per_process, go))
                     for base in (0, 1000)]
            for p in procs:
                p.start()
            t0 = time.perf_counter()
            go.set()
            for p in procs:
                p.join()
            s = time.perf_counter() - t0
            assert len(d) == 200 and d[99] == per_process - 1
            best = min(best, s)
    ops = 2 * 2 * per_process
    print(f"mp_manager_dict processes=2 ops={ops} seconds={best:.4f} ops_per_s={ops / best:.0f}")


def queue_producer(q, n, go):
    go.wait()
    for i in range(n):
        q.put(i)


def manager_queue(repeat):
    items = 20_000
    best = float("inf")
    with Manager() as m:
        for _ in range(repeat):
            q = m.Queue()
            go = Event()
            p = Process(target=queue_producer, args=(q, items, go))
            p.start()
            t0 = time.perf_counter()
            go.set()
            total = sum(q.get() for _ in range(items))
            s = time.perf_counter() - t0
            p.join()
            assert total == items * (items - 1) // 2
            best = min(best, s)
    print(f"mp_manager_queue items={items} seconds={best:.4f} items_per_s={items / best:.0f}")


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    value_incr(repeat)
    manager_dict(repeat)
    manager_queue(repeat)
    items, workers, chunksize = 1_000_000, 2, 1000
    numbers = list(range(items))
    want = sum(x * x for x in numbers)

    def pool_map(p):
        assert sum(p.map(square, numbers, chunksize=chunksize)) == want

    with Pool(workers) as p:
        best = min(timed(lambda: pool_map(p)) for _ in range(repeat))
    print(f"mp_executor_map items={items} workers={workers} chunksize={chunksize} "
          f"seconds={best:.4f} items_per_s={items / best:.0f} via=multiprocessing.Pool.map")

    # The same call on Python's executor, for the record (the target is against Pool.map).
    def executor_map(ex):
        assert sum(ex.map(square, numbers, chunksize=chunksize)) == want

    with ProcessPoolExecutor(workers) as ex:
        best = min(timed(lambda: executor_map(ex)) for _ in range(repeat))
    print(f"mp_executor_map_pyexecutor items={items} workers={workers} chunksize={chunksize} "
          f"seconds={best:.4f} items_per_s={items / best:.0f}")


if __name__ == "__main__":
    main()
