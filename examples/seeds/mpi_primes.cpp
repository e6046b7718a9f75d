// The README's MPI program: primes below a million counted by MPI worker ranks, with
// mpi4py.futures' executor (`mpiexec -n 5 python -m mpi4py.futures primes.py` in Python).
//   mpiexec -n 3 ./mpi_primes     static mode: rank 0 runs main, ranks 1 and 2 work
//   ./mpi_primes                  dynamic mode: the executor spawns 2 ranks itself
#include <cstdio>
#include <numeric>
#include <vector>

#include "concur/mpi.hpp"

namespace {

bool is_prime(int n) {
  if (n < 2) return false;
  for (int i = 2; i * i <= n; ++i)
    if (n % i == 0) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const auto session = concur::mpi::init(argc, argv);  // ranks other than 0 serve from here
  concur::mpi_pool_executor ex(session.mode() == concur::mpi::launch_mode::static_ranks ? 0 : 2);
  std::vector<int> xs(1'000'000);
  std::iota(xs.begin(), xs.end(), 0);
  std::size_t primes = 0;
  for (bool p : ex.map({.chunksize = 10'000}, is_prime, xs)) primes += p ? 1 : 0;
  std::printf("%zu primes below %zu, counted by %zu worker ranks (%s mode)\n", primes, xs.size(),
              ex.max_workers(),
              ex.mode() == concur::mpi::launch_mode::static_ranks ? "static" : "dynamic");
  return 0;
}
