// The tutorial's exercise (04): "Use multiprocessing to find all primes up to N in parallel".
// The range is cut into segments; each worker sieves its segment with the base primes up to
// sqrt(N); the counts are checked against one sequential sieve.
#include <cmath>
#include <cstdio>
#include <tuple>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

std::vector<long> simple_sieve(long limit) {
  std::vector<bool> composite(static_cast<std::size_t>(limit + 1), false);
  std::vector<long> primes;
  for (long i = 2; i <= limit; ++i) {
    if (composite[static_cast<std::size_t>(i)]) continue;
    primes.push_back(i);
    for (long j = i * i; j <= limit; j += i) composite[static_cast<std::size_t>(j)] = true;
  }
  return primes;
}

// Primes in [lo, hi), found in a worker process.
std::vector<long> primes_in(long lo, long hi) {
  const auto base = simple_sieve(static_cast<long>(std::sqrt(static_cast<double>(hi))) + 1);
  std::vector<bool> composite(static_cast<std::size_t>(hi - lo), false);
  for (long p : base) {
    for (long j = std::max(p * p, (lo + p - 1) / p * p); j < hi; j += p)
      composite[static_cast<std::size_t>(j - lo)] = true;
  }
  std::vector<long> out;
  for (long i = std::max(lo, 2L); i < hi; ++i)
    if (!composite[static_cast<std::size_t>(i - lo)]) out.push_back(i);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  const auto opts = example::parse(argc, argv, example::n);
  const long n = opts.n.value_or(10'000'000);
  const long workers = static_cast<long>(concur::mp::cpu_count());
  const long segments = workers * 4;
  std::vector<std::tuple<long, long>> ranges;
  for (long s = 0; s < segments; ++s)
    ranges.emplace_back(n * s / segments, n * (s + 1) / segments + (s + 1 == segments ? 1 : 0));

  concur::mp::pool pool(static_cast<std::size_t>(workers));
  const auto parts = pool.starmap(primes_in, ranges, 1);
  std::vector<long> primes;
  for (const auto& part : parts) primes.insert(primes.end(), part.begin(), part.end());

  const auto reference = simple_sieve(n);
  std::printf("primes up to %ld: %zu (largest %ld), found by %ld workers in %ld segments\n", n,
              primes.size(), primes.empty() ? 0L : primes.back(), workers, segments);
  std::printf("matches a sequential sieve: %s\n", primes == reference ? "yes" : "no");
  return primes == reference ? 0 : 1;
}
