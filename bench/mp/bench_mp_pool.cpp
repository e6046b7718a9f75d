// Throughput of mp::pool beside Python's multiprocessing.Pool (bench/mp_vs_python.sh runs both).
//   mp_pool_map: Pool(2).map of squares over 1M ints (automatic chunksize: 8 chunks, so the cost
//                is serialising and moving whole vectors, not per-item messages).
//   mp_primes:   is_prime over 10000000..10019999, sequential vs Pool(2), results compared.
// Prints the best of --repeat runs (default 3; mp_primes runs at least 0.25 s a side, see
// below, and also gives the ratio of the medians), one line per benchmark.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "concur/mp.hpp"

namespace mp = concur::mp;
using clock_type = std::chrono::steady_clock;

namespace {

long long square(int x) { return static_cast<long long>(x) * x; }

bool is_prime(int n) {
  if (n < 2) return false;
  for (int i = 2; static_cast<long long>(i) * i <= n; ++i)
    if (n % i == 0) return false;
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  mp::init();
  int repeat = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));

  constexpr int items = 1'000'000;
  constexpr std::size_t workers = 2;
  mp::pool p(workers);

  std::vector<int> numbers(items);
  std::iota(numbers.begin(), numbers.end(), 0);
  double best_map = 1e9;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = clock_type::now();
    const auto out = p.map(square, numbers);
    const double s = seconds_since(t0);
    if (out.size() != numbers.size() || out.back() != square(items - 1)) {
      std::fprintf(stderr, "mp_pool_map: wrong result\n");
      return 1;
    }
    best_map = std::min(best_map, s);
  }
  std::printf("mp_pool_map items=%d workers=%zu seconds=%.4f items_per_s=%.0f\n", items, workers,
              best_map, items / best_map);

  std::vector<int> candidates(20'000);
  std::iota(candidates.begin(), candidates.end(), 10'000'000);
  auto sequential = [&] {
    std::vector<bool> seq;
    seq.reserve(candidates.size());
    for (int n : candidates) seq.push_back(is_prime(n));
    return seq;
  };
  const std::vector<bool> expected = sequential();
  if (p.map(is_prime, candidates) != expected) {
    std::fprintf(stderr, "mp_primes: pool and sequential results differ\n");
    return 1;
  }
  // Each side is timed in its own loop, as bench/mp_pool_python.py does. The job takes about
  // 9 ms sequentially, so one round is at the mercy of a single preemption on a shared machine:
  // like timeit's autorange, enough rounds are run for each side to take at least 0.25 s.
  const double one = [&] {
    const auto t0 = clock_type::now();
    sequential();
    return seconds_since(t0);
  }();
  const int rounds = std::max(repeat, static_cast<int>(std::ceil(0.25 / one)));
  std::vector<double> seq_s;
  std::vector<double> pool_s;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = clock_type::now();
    const auto seq = sequential();
    seq_s.push_back(seconds_since(t0));
    if (seq != expected) {
      std::fprintf(stderr, "mp_primes: sequential results changed between rounds\n");
      return 1;
    }
  }
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = clock_type::now();
    const std::vector<bool> par = p.map(is_prime, candidates);
    pool_s.push_back(seconds_since(t0));
    if (par != expected) {
      std::fprintf(stderr, "mp_primes: pool and sequential results differ\n");
      return 1;
    }
  }
  const auto primes = static_cast<std::size_t>(std::count(expected.begin(), expected.end(), true));
  const double best_seq = *std::min_element(seq_s.begin(), seq_s.end());
  const double best_pool = *std::min_element(pool_s.begin(), pool_s.end());
  std::printf(
      "mp_primes n=%zu primes=%zu seq_s=%.4f pool_s=%.4f speedup=%.2f rounds=%d "
      "median_speedup=%.2f\n",
      candidates.size(), primes, best_seq, best_pool, best_seq / best_pool, rounds,
      median(seq_s) / median(pool_s));
  return 0;
}
