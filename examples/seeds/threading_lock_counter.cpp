// The Lock counter (tutorial 04, "Synchronization with Lock"): 4 threads each add 1 to a
// shared counter 100000 times. With a std::mutex the total is exactly 400000.
//
// Without the lock the tutorial gets e.g. 387432. Doing that literally in C++ (a plain int
// written by several threads) is a data race, which is undefined behaviour, not merely a wrong
// number. To show the lost updates safely, the unlocked version below does what `counter += 1`
// does in Python — read, then write back the value plus one, as two separate steps — using
// relaxed atomic loads and stores: no undefined behaviour, but another thread can write in
// between, and its update is then overwritten.
#include <atomic>
#include <iostream>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "example_options.hpp"

namespace {

constexpr int threads = 4;
constexpr int increments = 100000;

// Runs body on `threads` threads released together, so they really overlap.
template <class F>
void run_together(F body) {
  std::latch start(threads);
  std::vector<std::jthread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      start.arrive_and_wait();
      body();
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  (void)example::parse(argc, argv);  // accepted for uniformity; nothing here sleeps

  long counter = 0;
  std::mutex lock;
  run_together([&] {
    for (int i = 0; i < increments; ++i) {
      std::lock_guard guard(lock);  // `with lock:`
      ++counter;
    }
  });
  std::cout << "with std::mutex: total=" << counter << " (expected " << threads * increments
            << ")\n";

  std::atomic<long> atomic_counter{0};
  run_together([&] {
    for (int i = 0; i < increments; ++i) {
      atomic_counter.fetch_add(1, std::memory_order_relaxed);  // one indivisible step
    }
  });
  std::cout << "with std::atomic fetch_add: total=" << atomic_counter.load() << "\n";

  std::atomic<long> unlocked{0};
  run_together([&] {
    for (int i = 0; i < increments; ++i) {
      const long seen = unlocked.load(std::memory_order_relaxed);
      unlocked.store(seen + 1, std::memory_order_relaxed);  // may overwrite another's update
    }
  });
  const long lost = threads * increments - unlocked.load();
  std::cout << "without a lock (read, then write): total=" << unlocked.load() << ", lost " << lost
            << " updates"
            << (lost == 0 ? " this time (the threads happened not to interleave)" : "") << "\n";

  const bool ok =
      counter == threads * increments && atomic_counter == threads * increments && lost >= 0;
  std::cout << (ok ? "locked totals are exact" : "locked totals are WRONG") << "\n";
  return ok ? 0 : 1;
}
