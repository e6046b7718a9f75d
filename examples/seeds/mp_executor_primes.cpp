// ProcessPoolExecutor finding primes (tutorial 04, "ProcessPoolExecutor: The Modern
// Interface"): executor.map(is_prime, range(100000, 100020)) on four worker processes. The
// executor has thread_pool_executor's interface, so switching is a change of one type.
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "concur/mp.hpp"
#include "example_options.hpp"

namespace {

bool is_prime(long n) {
  if (n < 2) return false;
  for (long i = 2; i <= static_cast<long>(std::sqrt(static_cast<double>(n))); ++i)
    if (n % i == 0) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  concur::mp::init();
  example::parse(argc, argv);
  std::vector<long> numbers(20);
  std::iota(numbers.begin(), numbers.end(), 100000L);

  std::vector<long> primes;
  {
    concur::mp::process_pool_executor executor(4);
    std::size_t i = 0;
    for (bool is_p : executor.map(is_prime, numbers)) {
      if (is_p) primes.push_back(numbers[i]);
      ++i;
    }
  }
  std::printf("Primes found: [");
  for (std::size_t i = 0; i < primes.size(); ++i) std::printf("%s%ld", i ? ", " : "", primes[i]);
  std::printf("]\n");
  return 0;
}
