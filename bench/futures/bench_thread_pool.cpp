// 200000 tiny tasks that return their index, through a 2-worker thread_pool_executor,
// submitted from the main thread; results are collected through the futures and checked.
// Prints one line: tp_submit tasks=N workers=W seconds=S tasks_per_s=R
//   bench_thread_pool [--tasks N] [--workers W] [--repeat K]  (best of K rounds is printed)
// The pool is created once and the rounds run on it; each round's time covers submitting
// every task, collecting every result and releasing the futures.
#include <chrono>
#include <concur/futures.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// One round on a long-lived pool, as an application uses one. `futures` is reused across
// rounds (cleared, capacity kept).
double run_once(concur::thread_pool_executor& pool, std::size_t tasks,
                std::vector<concur::future<std::size_t>>& futures, bool& ok) {
  futures.clear();
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t sum = 0;
  for (std::size_t i = 0; i < tasks; ++i) futures.push_back(pool.submit([i] { return i; }));
  for (const auto& f : futures) sum += f.result();
  futures.clear();
  const auto t1 = std::chrono::steady_clock::now();
  const std::size_t expect = tasks * (tasks - 1) / 2;
  if (sum != expect) {
    std::fprintf(stderr, "bench_thread_pool: wrong sum %zu, expected %zu\n", sum, expect);
    ok = false;
  }
  return std::chrono::duration<double>(t1 - t0).count();
}

std::size_t arg_value(int argc, char** argv, const char* name, std::size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(argv[i + 1], &end, 10);
      if (end == argv[i + 1] || *end != '\0' || v == 0) {
        std::fprintf(stderr, "bench_thread_pool: %s needs a positive integer\n", name);
        std::exit(2);
      }
      return static_cast<std::size_t>(v);
    }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t tasks = arg_value(argc, argv, "--tasks", 200000);
  const std::size_t workers = arg_value(argc, argv, "--workers", 2);
  const std::size_t repeat = arg_value(argc, argv, "--repeat", 10);
  bool ok = true;
  double best = 0;
  std::vector<concur::future<std::size_t>> futures;
  futures.reserve(tasks);
  concur::thread_pool_executor pool(workers);
  for (std::size_t r = 0; r < repeat; ++r) {
    const double s = run_once(pool, tasks, futures, ok);
    if (r == 0 || s < best) best = s;
  }
  std::printf("tp_submit tasks=%zu workers=%zu seconds=%.4f tasks_per_s=%.0f\n", tasks, workers,
              best, static_cast<double>(tasks) / best);
  return ok ? 0 : 1;
}
