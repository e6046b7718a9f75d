"""asyncio doing what bench_aio_subprocess does: /bin/true spawned and awaited 2000 times,
16 at once; prints the same line. --uvloop runs it on uvloop."""
import asyncio
import sys
import time


async def one(slots):
    async with slots:
        proc = await asyncio.create_subprocess_exec("/bin/true")
        assert await proc.wait() == 0


async def run_all(spawns, concurrency):
    slots = asyncio.Semaphore(concurrency)
    await asyncio.gather(*(one(slots) for _ in range(spawns)))


def main():
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    spawns, concurrency = 2000, 16
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        asyncio.run(run_all(spawns, concurrency))
        best = min(best, time.perf_counter() - t0)
    print(f"aio_subprocess spawns={spawns} concurrency={concurrency} seconds={best:.4f} "
          f"per_s={spawns / best:.0f}")


if __name__ == "__main__":
    main()
