// Five threads, each sleeping a random 1-9 seconds, reporting as they finish
// (tutorial 03, "Threads"). They sleep at the same time, so the whole run takes about as
// long as the longest sleep, and they report in the order of their sleeps.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "threading_example.hpp"

int main(int argc, char** argv) {
  const auto opts = example::parse(argc, argv);
  std::mt19937 rng(opts.seed.value_or(std::random_device{}()));
  std::uniform_int_distribution<int> seconds(1, 9);  // random.randrange(1, 10)

  constexpr int workers = 5;
  using clock = std::chrono::steady_clock;
  std::vector<int> sleeps(workers);
  std::vector<int> finish_order;
  std::mutex out;  // one line at a time on stdout, and guards finish_order

  const auto begin = clock::now();
  {
    std::vector<std::jthread> threads;
    // Held while starting the threads, so the "queued" line comes first as in the tutorial.
    std::unique_lock lock(out);
    for (int i = 0; i < workers; ++i) {
      sleeps[static_cast<std::size_t>(i)] = seconds(rng);
      threads.emplace_back([&, i] {
        const auto n = static_cast<std::size_t>(i);
        std::this_thread::sleep_for(example::scaled(sleeps[n], opts.scale));
        std::lock_guard guard(out);
        std::cout << "I am Worker " << i << ", I slept for " << sleeps[n] << " seconds\n";
        finish_order.push_back(sleeps[n]);
      });
    }
    std::cout << "All Threads are queued, let's see when they finish!\n";
    lock.unlock();
  }  // the jthreads join here
  const auto elapsed = clock::now() - begin;

  int total = 0;
  for (int s : sleeps) {
    total += s;
  }
  std::cout << std::fixed << std::setprecision(2) << "took "
            << example::tutorial_seconds(elapsed, opts.scale)
            << " s (tutorial seconds): the longest sleep was "
            << *std::max_element(sleeps.begin(), sleeps.end()) << " s, the sleeps add up to "
            << total << " s\n";
  // One after the other they would take the sum of the sleeps; taking less shows they slept
  // at the same time. (The margin is large: the sum is typically twice the longest sleep.)
  const bool concurrent = example::tutorial_seconds(elapsed, opts.scale) < total;
  std::cout << "the workers slept at the same time: " << (concurrent ? "yes" : "no") << "\n";
  std::cout << "reported in the order of their sleeps: "
            << (std::is_sorted(finish_order.begin(), finish_order.end()) ? "yes" : "no") << "\n";
  return concurrent ? 0 : 1;
}
