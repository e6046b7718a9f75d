// Multiprocessing beyond pool.map, beside Python (bench/mp_shared_vs.sh runs both):
//   mp_executor_map: process_pool_executor(2).map with chunksize 1000 over 1M tiny items (squares
//                    of ints), every result consumed and checked. Python's side is
//                    multiprocessing.Pool.map with the same chunksize.
// Prints the best of --repeat runs (default 3), one key=value line per benchmark.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

}  // namespace

int main(int argc, char** argv) {
  mp::init();
  int repeat = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
  return executor_map(repeat);
}
