// calculate_square, sequential vs Pool(4) (tutorial 04, "Process Pool"): 20 calls that each
// take 0.1 s take about 2 s one after the other and about 0.5 s on four workers. (The check
// in mp.cmake does not judge the timing: CI machines are shared and noisy.)
#include <chrono>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

// The pool sends the scale along with each number so the worker sleeps the scaled time.
long calculate_square(std::pair<long, double> n_scale) {
  std::this_thread::sleep_for(example::scaled(0.1, n_scale.second));  // simulated work
  return n_scale.first * n_scale.first;
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  const auto opts = example::parse(argc, argv);
  std::vector<std::pair<long, double>> numbers;
  for (long n = 0; n < 20; ++n) numbers.emplace_back(n, opts.scale);
  using clock = std::chrono::steady_clock;

  auto start = clock::now();
  std::vector<long> results_seq;
  for (const auto& n : numbers) results_seq.push_back(calculate_square(n));
  const double seq = example::tutorial_seconds(clock::now() - start, opts.scale);
  std::printf("Sequential: %.2fs\n", seq);

  start = clock::now();
  std::vector<long> results_par;
  {
    concur::mp::pool pool(4);
    results_par = pool.map(calculate_square, numbers);
  }
  const double par = example::tutorial_seconds(clock::now() - start, opts.scale);
  std::printf("Parallel: %.2fs\n", par);
  std::printf("same results: %s\n", results_seq == results_par ? "yes" : "no");
  std::printf("speed-up: %.1fx (four workers: about 4x); parallel faster: %s\n", seq / par,
              par < seq ? "yes" : "no");
  return results_seq == results_par ? 0 : 1;
}
