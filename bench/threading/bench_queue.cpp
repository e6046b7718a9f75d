// Throughput of concur::queue: P producers put N integers in total, C consumers get them and
// call task_done; the sum is checked. One line per configuration:
//   queue_throughput producers=P consumers=C maxsize=M items=N seconds=S items_per_s=R
// Usage: bench_queue [items]   (default 1000000)
#include <chrono>
#include <concur/threading.hpp>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

bool run(int producers, int consumers, std::size_t maxsize, std::int64_t items) {
  concur::queue<std::int64_t> q(maxsize);
  std::vector<std::int64_t> sums(static_cast<std::size_t>(consumers), 0);
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (int c = 0; c < consumers; ++c) {
      threads.emplace_back([&q, &sums, c] {
        std::int64_t sum = 0;
        try {
          for (;;) {
            sum += q.get();
            q.task_done();
          }
        } catch (const concur::queue_shut_down_error&) {
        }
        sums[static_cast<std::size_t>(c)] = sum;
      });
    }
    std::vector<std::jthread> putters;
    for (int p = 0; p < producers; ++p) {
      putters.emplace_back([&q, p, producers, items] {
        for (std::int64_t i = p; i < items; i += producers) {
          q.put(i);
        }
      });
    }
    putters.clear();
    q.join();
    q.shutdown();
  }
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  std::int64_t total = 0;
  for (auto s : sums) {
    total += s;
  }
  const bool ok = total == items * (items - 1) / 2;
  std::cout << "queue_throughput producers=" << producers << " consumers=" << consumers
            << " maxsize=" << maxsize << " items=" << items << " seconds=" << seconds.count()
            << " items_per_s="
            << static_cast<std::int64_t>(static_cast<double>(items) / seconds.count())
            << (ok ? "" : " SUM-MISMATCH") << "\n";
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t items = 1000000;
  if (argc > 1) {
    char* end = nullptr;
    items = std::strtoll(argv[1], &end, 10);
    if (*end != '\0' || items <= 0) {
      std::cerr << "usage: bench_queue [items > 0]\n";
      return 2;
    }
  }
  bool ok = true;
  ok &= run(1, 1, 0, items);
  ok &= run(1, 1, 1024, items);
  ok &= run(2, 2, 1024, items);
  ok &= run(4, 4, 64, items);
  return ok ? 0 : 1;
}
