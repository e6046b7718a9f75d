// Throughput of mp::pool beside Python's multiprocessing.Pool (bench/mp_vs_python.sh runs both).
//   mp_pool_map: Pool(2).map of squares over 1M ints (automatic chunksize: 8 chunks, so the cost
//                is serialising and moving whole vectors, not per-item messages).
//   mp_primes:   is_prime over 10000000..10019999, sequential vs Pool(2), results compared.
// Prints the best of --repeat runs (default 3), one line per benchmark.
#include <chrono>
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
  double best_seq = 1e9;
  double best_pool = 1e9;
  std::size_t primes = 0;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = clock_type::now();
    std::vector<bool> seq;
    seq.reserve(candidates.size());
    for (int n : candidates) seq.push_back(is_prime(n));
    best_seq = std::min(best_seq, seconds_since(t0));
    t0 = clock_type::now();
    const std::vector<bool> par = p.map(is_prime, candidates);
    best_pool = std::min(best_pool, seconds_since(t0));
    if (par != seq) {
      std::fprintf(stderr, "mp_primes: pool and sequential results differ\n");
      return 1;
    }
    primes = static_cast<std::size_t>(std::count(seq.begin(), seq.end(), true));
  }
  std::printf("mp_primes n=%zu primes=%zu seq_s=%.4f pool_s=%.4f speedup=%.2f\n", candidates.size(),
              primes, best_seq, best_pool, best_seq / best_pool);
  return 0;
}
