// Five worker processes, each sleeping a random 1-9 seconds and reporting as it finishes
// (tutorial 03, "multiprocessing"): the threading example with Process in place of Thread.
// Each worker is a separate process: its crash could not take this program down.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

// Runs in a worker process; the arguments arrive serialized.
void worker(int number, int sleep_seconds, double scale) {
  std::this_thread::sleep_for(example::scaled(sleep_seconds, scale));
  std::printf("I am Worker %d, I slept for %d seconds\n", number, sleep_seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();  // the counterpart of `if __name__ == "__main__":`
  const auto opts = example::parse(argc, argv, example::seed);
  std::mt19937 rng(opts.seed.value_or(std::random_device{}()));
  std::uniform_int_distribution<int> seconds(1, 9);

  std::vector<concur::mp::process> processes;
  for (int i = 0; i < 5; ++i) {
    processes.emplace_back(worker, i, seconds(rng), opts.scale);
    processes.back().start();
  }
  std::cout << "All Processes are queued, let's see when they finish!" << std::endl;
  int clean = 0;
  for (auto& p : processes) {
    p.join();
    if (p.exitcode() == 0) ++clean;
  }
  std::cout << "processes that exited cleanly: " << clean << " of 5" << std::endl;
  return clean == 5 ? 0 : 1;
}
