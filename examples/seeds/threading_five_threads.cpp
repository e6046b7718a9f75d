// Five threads, each sleeping a random 1-9 seconds, reporting as they finish
// (tutorial 03, "Threads"). They sleep at the same time, so the whole run takes about as
// long as the longest sleep, and they report in the order of their sleeps.
//
// The check is on what was observed, not on the clock: each worker records when its sleep
// began and ended, and the program counts how many sleeps were in progress at once. A busy
// machine can stretch every duration, but cannot make the sleeps stop overlapping.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "example_options.hpp"

int main(int argc, char** argv) {
  const auto opts = example::parse(argc, argv, example::seed);
  std::mt19937 rng(opts.seed.value_or(std::random_device{}()));
  std::uniform_int_distribution<int> seconds(1, 9);  // random.randrange(1, 10)

  constexpr int workers = 5;
  using clock = std::chrono::steady_clock;
  std::vector<int> sleeps(workers);
  std::vector<clock::time_point> began(workers);
  std::vector<clock::time_point> ended(workers);
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
        began[n] = clock::now();
        std::this_thread::sleep_for(example::scaled(sleeps[n], opts.scale));
        ended[n] = clock::now();
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
  // Peak number of sleeps in progress at the same instant: sweep over the begin (+1) and
  // end (-1) events in time order, ends first on ties.
  std::vector<std::pair<clock::time_point, int>> events;
  for (int i = 0; i < workers; ++i) {
    events.emplace_back(began[static_cast<std::size_t>(i)], +1);
    events.emplace_back(ended[static_cast<std::size_t>(i)], -1);
  }
  std::sort(events.begin(), events.end());
  int in_progress = 0;
  int peak = 0;
  for (const auto& [when, delta] : events) {
    in_progress += delta;
    peak = std::max(peak, in_progress);
  }
  std::cout << "most workers asleep at the same moment: " << peak << " of " << workers << "\n";
  const bool concurrent = peak >= 2;
  std::cout << "the workers slept at the same time: " << (concurrent ? "yes" : "no") << "\n";
  std::cout << "reported in the order of their sleeps: "
            << (std::is_sorted(finish_order.begin(), finish_order.end()) ? "yes" : "no") << "\n";
  return concurrent ? 0 : 1;
}
