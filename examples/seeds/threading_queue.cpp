// Worker threads fed by a queue (tutorial 05: "Python has thread-safe data structures like
// Queue"). This is the pattern of Python's queue documentation: workers get() jobs and call
// task_done(); the main thread put()s the jobs and join()s the queue, which returns once every
// job is done; shutdown() then ends the workers' loops (Python 3.13's Queue.shutdown).
#include <atomic>
#include <chrono>
#include <concur/threading.hpp>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "example_options.hpp"

int main(int argc, char** argv) {
  const auto opts = example::parse(argc, argv);
  constexpr int workers = 3;
  constexpr int jobs = 30;
  concur::queue<int> q(8);  // bounded: put() waits when the workers fall behind
  std::vector<std::atomic<int>> done(jobs);
  std::vector<int> per_worker(workers, 0);
  std::mutex out;

  std::vector<std::jthread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (;;) {
        int job = 0;
        try {
          job = q.get();
        } catch (const concur::queue_shut_down_error&) {
          return;  // shut down and drained: nothing more will come
        }
        std::this_thread::sleep_for(example::scaled(0.1, opts.scale));  // the "work"
        ++done[static_cast<std::size_t>(job)];
        ++per_worker[static_cast<std::size_t>(w)];
        {
          std::lock_guard lock(out);
          std::cout << "Working on " << job << " (worker " << w << ")\n";
          std::cout << "Finished " << job << "\n";
        }
        q.task_done();
      }
    });
  }

  const auto start = std::chrono::steady_clock::now();
  for (int job = 0; job < jobs; ++job) {
    q.put(job);
  }
  q.join();  // blocks until every job has been task_done()
  const auto elapsed = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lock(out);
    std::cout << "All work completed\n";
  }
  q.shutdown();
  threads.clear();  // the workers see queue_shut_down_error and return

  int once = 0;
  for (auto& d : done) {
    once += d.load() == 1 ? 1 : 0;
  }
  std::cout << "jobs processed exactly once: " << once << " of " << jobs << "\n";
  for (int w = 0; w < workers; ++w) {
    std::cout << "worker " << w << " did " << per_worker[static_cast<std::size_t>(w)] << " jobs\n";
  }
  std::cout << std::fixed << std::setprecision(2) << "took "
            << example::tutorial_seconds(elapsed, opts.scale) << " s (tutorial seconds) for "
            << jobs << " jobs of 0.1 s on " << workers << " workers\n";
  return once == jobs ? 0 : 1;
}
