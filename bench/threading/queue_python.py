"""Python's queue.Queue doing what bench_queue does, for the side-by-side ratio.

Usage: python3 bench/threading/queue_python.py [items]   (default 200000)
"""
import queue
import sys
import threading
import time

# queue.ShutDown appeared in Python 3.13; older ones stop the consumers with None instead.
SHUT_DOWN = getattr(queue, "ShutDown", ())


def run(producers, consumers, maxsize, items):
    q = queue.Queue(maxsize)
    sums = [0] * consumers

    def consume(c):
        total = 0
        try:
            while True:
                item = q.get()
                q.task_done()
                if item is None:  # stop marker on Pythons before 3.13
                    break
                total += item
        except SHUT_DOWN:
            pass
        sums[c] = total

    def produce(p):
        for i in range(p, items, producers):
            q.put(i)

    start = time.perf_counter()
    cs = [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
    ps = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    q.join()
    if hasattr(q, "shutdown"):
        q.shutdown()
    else:
        for _ in cs:
            q.put(None)
    for t in cs:
        t.join()
    seconds = time.perf_counter() - start
    ok = sum(sums) == items * (items - 1) // 2
    print(f"python_queue_throughput producers={producers} consumers={consumers} maxsize={maxsize}"
          f" items={items} seconds={seconds:.3f} items_per_s={int(items / seconds)}"
          f"{'' if ok else ' SUM-MISMATCH'}")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    run(1, 1, 0, n)
    run(1, 1, 1024, n)
    run(2, 2, 1024, n)
    run(4, 4, 64, n)
