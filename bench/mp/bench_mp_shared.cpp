// Multiprocessing beyond pool.map, beside Python (bench/mp_shared_vs.sh runs both):
//   mp_value_incr:   2 processes, 100k increments each of one mp::value<long long> under its
//                    lock (Python: multiprocessing.Value with get_lock()).
//   mp_shm_copy:     256 MiB from one process's memory to another's through a shared ring of
//                    8 slots of 32 KiB (producer and consumer copy in parallel, two semaphores
//                    pace them), against one memcpy of 256 MiB within one process (same run).
//   mp_executor_map: process_pool_executor(2).map with chunksize 1000 over 1M tiny items (squares
//                    of ints), every result consumed and checked. Python's side is
//                    multiprocessing.Pool.map with the same chunksize.
//   mp_manager_dict: 2 processes, 10k d[k] = v and 10k d[k] each on one mp::manager dict
//                    (Python: Manager().dict()): a round trip to the server per operation.
//   mp_manager_queue: 20k items from one process to another through a manager queue
//                    (Python: Manager().Queue()).
// Prints the best of --repeat runs (default 3), one key=value line per benchmark. --slot-kib and
// --slots change the ring's shape (default 8 slots of 128 KiB).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <vector>

#include "concur/mp.hpp"

namespace mp = concur::mp;
using clock_type = std::chrono::steady_clock;

namespace {

long long square(int x) { return static_cast<long long>(x) * x; }

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// The sum of the squares of 0..n-1, to check that every result came back.
long long sum_of_squares(long long n) { return (n - 1) * n * (2 * n - 1) / 6; }

void increment(mp::value<long long> v, int n, mp::event go) {
  go.wait();
  for (int i = 0; i < n; ++i) {
    const std::lock_guard hold(v);
    v.value() += 1;
  }
}

int value_incr(int repeat) {
  constexpr int per_process = 100'000;
  double best = 1e9;
  for (int r = 0; r < repeat; ++r) {
    mp::value<long long> v(0);
    mp::event go;
    mp::process a(increment, v, per_process, go);
    mp::process b(increment, v, per_process, go);
    a.start();
    b.start();
    const auto t0 = clock_type::now();
    go.set();
    a.join();
    b.join();
    const double s = seconds_since(t0);
    if (v.value() != 2LL * per_process || a.exitcode() != 0 || b.exitcode() != 0) {
      std::fprintf(stderr, "mp_value_incr: wrong count %lld\n", v.value());
      return 1;
    }
    best = std::min(best, s);
  }
  std::printf("mp_value_incr processes=2 increments=%d seconds=%.4f per_s=%.0f\n", 2 * per_process,
              best, 2 * per_process / best);
  return 0;
}

constexpr std::size_t copy_bytes = 256U << 20;
// Small slots keep the ring (256 KiB) in the caches the two cores share, so that only the
// source and the destination go through memory, as in one memcpy; the semaphores spin before
// they sleep, so a hand-off costs no syscall while both sides keep pace. 32 KiB x 8 measured
// best of 32 KiB .. 1 MiB and 4 .. 16 slots here.
struct ring_shape {
  std::size_t slot_bytes = 32U << 10;
  std::size_t slots = 8;
};

// The byte the copy carries at offset i: checked at the end, so nothing can be skipped.
unsigned char pattern(std::size_t i) { return static_cast<unsigned char>((i * 2654435761U) >> 24); }

// Every buffer of the copy (source, ring slots, destination, and both of the one-process memcpy)
// starts on a page boundary. Their offsets within a page must agree: a copy whose destination
// sits a few bytes above its source within a page stalls on every load (4K aliasing: the CPU
// takes the load for one of the stores just made), which measured 1.3 GiB/s against 8.
unsigned char* page_aligned(unsigned char* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  return p + ((4096 - at % 4096) % 4096);
}
unsigned char* slots_of(const mp::raw_array<unsigned char>& ring) {
  return page_aligned(ring.begin());
}
struct page_buffer {
  explicit page_buffer(std::size_t n) : storage(n + 4096, 0), data(page_aligned(storage.data())) {}
  std::vector<unsigned char> storage;  // touched: no page faults while timed
  unsigned char* data;
};

void produce(mp::raw_array<unsigned char> ring, std::size_t slot_bytes, std::size_t slots,
             mp::semaphore empty, mp::semaphore full, mp::event ready, mp::event go) {
  page_buffer src(copy_bytes);
  for (std::size_t i = 0; i < copy_bytes; ++i) src.data[i] = pattern(i);
  ready.set();
  go.wait();
  for (std::size_t k = 0; k < copy_bytes / slot_bytes; ++k) {
    empty.acquire();
    std::memcpy(slots_of(ring) + (k % slots) * slot_bytes, src.data + k * slot_bytes, slot_bytes);
    full.release();
  }
}

int shm_copy(int repeat, ring_shape shape) {
  const std::size_t slot_bytes = shape.slot_bytes;
  const std::size_t slots = shape.slots;
  page_buffer dst(copy_bytes);
  double best_shm = 1e9;
  for (int r = 0; r < repeat; ++r) {
    mp::raw_array<unsigned char> ring(slots * slot_bytes + 4096);
    std::memset(ring.begin(), 0, ring.size());
    mp::semaphore empty(static_cast<std::uint32_t>(slots));
    mp::semaphore full(0);
    mp::event ready;
    mp::event go;
    mp::process producer(produce, ring, slot_bytes, slots, empty, full, ready, go);
    producer.start();
    ready.wait();
    const auto t0 = clock_type::now();
    go.set();
    for (std::size_t k = 0; k < copy_bytes / slot_bytes; ++k) {
      full.acquire();
      std::memcpy(dst.data + k * slot_bytes, slots_of(ring) + (k % slots) * slot_bytes, slot_bytes);
      empty.release();
    }
    const double s = seconds_since(t0);
    producer.join();
    for (std::size_t i = 0; i < copy_bytes; i += 4093)
      if (dst.data[i] != pattern(i)) {
        std::fprintf(stderr, "mp_shm_copy: byte %zu differs\n", i);
        return 1;
      }
    best_shm = std::min(best_shm, s);
  }
  page_buffer src(copy_bytes);
  for (std::size_t i = 0; i < copy_bytes; ++i) src.data[i] = pattern(i);
  double best_memcpy = 1e9;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = clock_type::now();
    std::memcpy(dst.data, src.data, copy_bytes);
    const double s = seconds_since(t0);
    if (dst.data[copy_bytes - 1] != pattern(copy_bytes - 1)) return 1;
    best_memcpy = std::min(best_memcpy, s);
  }
  const double gib = static_cast<double>(copy_bytes) / (1U << 30);
  std::printf(
      "mp_shm_copy bytes=%zu slot_bytes=%zu seconds=%.4f gib_per_s=%.2f memcpy_gib_per_s=%.2f "
      "ratio=%.2f\n",
      copy_bytes, slot_bytes, best_shm, gib / best_shm, gib / best_memcpy, best_memcpy / best_shm);
  return 0;
}

int executor_map(int repeat) {
  constexpr int items = 1'000'000;
  constexpr std::size_t workers = 2;
  constexpr std::size_t chunksize = 1000;
  mp::process_pool_executor ex(workers);
  std::vector<int> numbers(items);
  std::iota(numbers.begin(), numbers.end(), 0);
  double best = 1e9;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = clock_type::now();
    long long total = 0;
    std::size_t count = 0;
    for (long long v : ex.map({.chunksize = chunksize}, square, numbers)) {
      total += v;
      ++count;
    }
    const double s = seconds_since(t0);
    if (count != numbers.size() || total != sum_of_squares(items)) {
      std::fprintf(stderr, "mp_executor_map: wrong result\n");
      return 1;
    }
    best = std::min(best, s);
  }
  std::printf("mp_executor_map items=%d workers=%zu chunksize=%zu seconds=%.4f items_per_s=%.0f\n",
              items, workers, chunksize, best, items / best);
  return 0;
}

void dict_worker(mp::dict_proxy<int, long long> d, int base, int n, mp::event go) {
  go.wait();
  for (int i = 0; i < n; ++i) {
    d.set(base + i % 100, i);
    (void)d.get(base + i % 100);
  }
}

int manager_dict(int repeat) {
  constexpr int per_process = 10'000;
  double best = 1e9;
  mp::manager m;
  for (int r = 0; r < repeat; ++r) {
    auto d = m.dict<int, long long>();
    mp::event go;
    mp::process a(dict_worker, d, 0, per_process, go);
    mp::process b(dict_worker, d, 1000, per_process, go);
    a.start();
    b.start();
    const auto t0 = clock_type::now();
    go.set();
    a.join();
    b.join();
    const double s = seconds_since(t0);
    if (d.size() != 200 || d.at(99) != per_process - 1 || a.exitcode() != 0 || b.exitcode() != 0) {
      std::fprintf(stderr, "mp_manager_dict: wrong contents\n");
      return 1;
    }
    best = std::min(best, s);
  }
  const int ops = 2 * 2 * per_process;
  std::printf("mp_manager_dict processes=2 ops=%d seconds=%.4f ops_per_s=%.0f\n", ops, best,
              ops / best);
  return 0;
}

void queue_producer(mp::queue_proxy<int> q, int n, mp::event go) {
  go.wait();
  for (int i = 0; i < n; ++i) q.put(i);
}

int manager_queue(int repeat) {
  constexpr int items = 20'000;
  double best = 1e9;
  mp::manager m;
  for (int r = 0; r < repeat; ++r) {
    auto q = m.queue<int>();
    mp::event go;
    mp::process producer(queue_producer, q, items, go);
    producer.start();
    const auto t0 = clock_type::now();
    go.set();
    long long sum = 0;
    for (int i = 0; i < items; ++i) sum += q.get();
    const double s = seconds_since(t0);
    producer.join();
    if (sum != static_cast<long long>(items) * (items - 1) / 2 || producer.exitcode() != 0) {
      std::fprintf(stderr, "mp_manager_queue: wrong sum\n");
      return 1;
    }
    best = std::min(best, s);
  }
  std::printf("mp_manager_queue items=%d seconds=%.4f items_per_s=%.0f\n", items, best,
              items / best);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mp::init();
  int repeat = 3;
  ring_shape shape;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--slot-kib") == 0)
      shape.slot_bytes =
          std::size_t{1024} * static_cast<std::size_t>(std::max(4, std::atoi(argv[i + 1])));
    if (std::strcmp(argv[i], "--slots") == 0)
      shape.slots = static_cast<std::size_t>(std::max(2, std::atoi(argv[i + 1])));
  }
  if ((copy_bytes % shape.slot_bytes) != 0) {
    std::fprintf(stderr, "bench_mp_shared: --slot-kib must divide 256 MiB\n");
    return 2;
  }
  if (value_incr(repeat) != 0) return 1;
  if (shm_copy(repeat, shape) != 0) return 1;
  if (manager_dict(repeat) != 0) return 1;
  if (manager_queue(repeat) != 0) return 1;
  return executor_map(repeat);
}
