// mpi_pool_executor beside mpi4py.futures.MPIPoolExecutor (bench/mpi_vs_python.sh runs both),
// in static mode: `mpiexec -n 3 bench_mpi_pool` (rank 0 measures, ranks 1 and 2 serve).
//   mpi_pool_map:   map of squares over 100k ints with chunksize 1000 (100 messages each way).
//   mpi_round_trip: submit(f, i).result() one after another: the latency of one task.
//   mpi_primes:     is_prime over 10000000..10019999, sequential vs the 2 worker ranks.
// --ready-only: init, the executor, one task, exit (the script times `mpiexec` to that).
// Prints the best of --repeat runs (default 3), one key=value line per benchmark.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

#include "concur/mpi.hpp"

namespace mpi = concur::mpi;
using clock_type = std::chrono::steady_clock;

namespace {

long long square(int x) { return static_cast<long long>(x) * x; }
int echo(int x) { return x; }

bool is_prime(int n) {
  if (n < 2) return false;
  for (int i = 2; static_cast<long long>(i) * i <= n; ++i)
    if (n % i == 0) return false;
  return true;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class R>
std::vector<R> drain(auto&& results) {
  std::vector<R> out;
  out.reserve(results.size());
  for (const R& r : results) out.push_back(r);
  return out;
}

int bench_map(mpi::mpi_pool_executor& ex, int repeat) {
  constexpr int items = 100'000;
  constexpr std::size_t chunksize = 1000;
  std::vector<int> numbers(items);
  std::iota(numbers.begin(), numbers.end(), 0);
  double best = 1e9;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = clock_type::now();
    const auto out = drain<long long>(ex.map({.chunksize = chunksize}, square, numbers));
    const double s = seconds_since(t0);
    if (out.size() != numbers.size() || out.back() != square(items - 1)) {
      std::fprintf(stderr, "mpi_pool_map: wrong result\n");
      return 1;
    }
    best = std::min(best, s);
  }
  std::printf("mpi_pool_map items=%d chunksize=%zu workers=%zu seconds=%.5f items_per_s=%.0f\n",
              items, chunksize, ex.max_workers(), best, items / best);
  return 0;
}

int bench_round_trip(mpi::mpi_pool_executor& ex, int repeat) {
  constexpr int calls = 2000;
  double best = 1e9;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = clock_type::now();
    for (int i = 0; i < calls; ++i) {
      if (ex.submit(echo, i).result() != i) {
        std::fprintf(stderr, "mpi_round_trip: wrong result\n");
        return 1;
      }
    }
    best = std::min(best, seconds_since(t0));
  }
  std::printf("mpi_round_trip calls=%d us=%.1f\n", calls, best / calls * 1e6);
  return 0;
}

int bench_primes(mpi::mpi_pool_executor& ex, int repeat) {
  std::vector<int> candidates(20'000);
  std::iota(candidates.begin(), candidates.end(), 10'000'000);
  auto sequential = [&] {
    std::vector<bool> seq;
    seq.reserve(candidates.size());
    for (int n : candidates) seq.push_back(is_prime(n));
    return seq;
  };
  // Four chunks a worker, as Pool.map's automatic chunksize would make.
  const std::size_t chunksize = candidates.size() / (4 * ex.max_workers());
  auto parallel = [&] {
    return drain<bool>(ex.map({.chunksize = chunksize}, is_prime, candidates));
  };
  const std::vector<bool> expected = sequential();
  if (parallel() != expected) {
    std::fprintf(stderr, "mpi_primes: ranks and sequential results differ\n");
    return 1;
  }
  // About 9 ms a round sequentially: enough rounds for each side to take at least 0.25 s.
  const double one = [&] {
    const auto t0 = clock_type::now();
    sequential();
    return seconds_since(t0);
  }();
  const int rounds = std::max(repeat, static_cast<int>(std::ceil(0.25 / one)));
  std::vector<double> seq_s;
  std::vector<double> par_s;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = clock_type::now();
    const auto seq = sequential();
    seq_s.push_back(seconds_since(t0));
    if (seq != expected) return 1;
  }
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = clock_type::now();
    const auto par = parallel();
    par_s.push_back(seconds_since(t0));
    if (par != expected) {
      std::fprintf(stderr, "mpi_primes: ranks and sequential results differ\n");
      return 1;
    }
  }
  const double best_seq = *std::min_element(seq_s.begin(), seq_s.end());
  const double best_par = *std::min_element(par_s.begin(), par_s.end());
  std::printf(
      "mpi_primes n=%zu primes=%zu seq_s=%.4f ranks_s=%.4f speedup=%.2f rounds=%d "
      "median_speedup=%.2f\n",
      candidates.size(),
      static_cast<std::size_t>(std::count(expected.begin(), expected.end(), true)), best_seq,
      best_par, best_seq / best_par, rounds, median(seq_s) / median(par_s));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const mpi::session session = mpi::init(argc, argv);
  int repeat = 3;
  bool ready_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    if (std::strcmp(argv[i], "--ready-only") == 0) ready_only = true;
  }
  mpi::mpi_pool_executor ex;
  if (ex.mode() != mpi::launch_mode::static_ranks || ex.max_workers() != 2) {
    std::fprintf(stderr, "bench_mpi_pool: run it as `mpiexec -n 3 bench_mpi_pool`\n");
    return 2;
  }
  if (ex.submit(echo, 1).result() != 1) return 1;
  if (ready_only) return 0;
  if (bench_map(ex, repeat) != 0 || bench_round_trip(ex, repeat) != 0 ||
      bench_primes(ex, repeat) != 0)
    return 1;
  return 0;
}
