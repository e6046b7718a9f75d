// Two threads sleeping 2 s and 1 s, started together and joined (tutorial 04, "Create Basic
// Threads"): the join returns after about 2 s, not the 3 s it takes one after the other.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "example_options.hpp"

int main(int argc, char** argv) {
  const auto opts = example::parse(argc, argv);
  using clock = std::chrono::steady_clock;
  std::mutex out;
  struct span {
    clock::time_point start, end;
  };

  auto task = [&](std::string name, double seconds, span& s) {
    s.start = clock::now();
    {
      std::lock_guard lock(out);
      std::cout << "[" << name << "] Starting...\n";
    }
    std::this_thread::sleep_for(example::scaled(seconds, opts.scale));  // simulates waiting
    s.end = clock::now();
    std::lock_guard lock(out);
    std::cout << "[" << name << "] Completed!\n";
  };

  span one{}, two{};
  const auto begin = clock::now();
  std::thread thread1(task, "Task1", 2.0, std::ref(one));
  std::thread thread2(task, "Task2", 1.0, std::ref(two));
  thread1.join();
  thread2.join();
  const auto elapsed = clock::now() - begin;
  std::cout << "All tasks completed\n";

  const double seconds = example::tutorial_seconds(elapsed, opts.scale);
  const bool overlapped = two.start < one.end && one.start < two.end;
  std::cout << std::fixed << std::setprecision(2) << "elapsed " << seconds
            << " s (tutorial seconds); one after the other: 3 s\n";
  std::cout << "the two sleeps overlapped: " << (overlapped ? "yes" : "no") << "\n";
  return overlapped ? 0 : 1;
}
