#!/usr/bin/env python3
"""The Python side of bench/aio_vs_python.sh: the same two workloads as bench_aio_spawn and
bench_aio_sleepers, on asyncio's default loop or on uvloop, printing the same line format."""
import argparse
import asyncio
import time


def vm_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


async def child(i):
    await asyncio.sleep(0)
    return i


async def spawn_all(n):
    values = await asyncio.gather(*(child(i) for i in range(n)))
    return sum(values)


async def sleeper(d):
    await asyncio.sleep(d)


async def sleepers(n, d):
    await asyncio.gather(*(sleeper(d) for _ in range(n)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["spawn", "sleepers"])
    p.add_argument("--tasks", type=int)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--uvloop", action="store_true")
    a = p.parse_args()
    if a.uvloop:
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    name = "uvloop" if a.uvloop else "asyncio"
    if a.mode == "spawn":
        n = a.tasks or 200000
        best = float("inf")
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            total = loop.run_until_complete(spawn_all(n))
            best = min(best, time.perf_counter() - t0)
            assert total == n * (n - 1) // 2
        print(f"{name}_spawn tasks={n} seconds={best:.4f} tasks_per_s={n / best:.0f}")
    else:
        n = a.tasks or 100000
        base = vm_kib("VmRSS")
        t0 = time.perf_counter()
        loop.run_until_complete(sleepers(n, 1.0))
        s = time.perf_counter() - t0
        peak = vm_kib("VmHWM") - base
        print(f"{name}_sleepers tasks={n} seconds={s:.3f} peak_rss_kib={peak} "
              f"kib_per_task={peak / n:.3f}")
    loop.close()


if __name__ == "__main__":
    main()
