// Spawning and awaiting /bin/true 2000 times with 16 at once on one loop (asyncio's
// create_subprocess_exec + wait under a Semaphore(16) is the anchor: bench/aio_subprocess_vs.sh).
// Prints the best of --rounds runs: `aio_subprocess spawns=2000 concurrency=16 seconds=...
// per_s=...`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "concur/net.hpp"

namespace aio = concur::aio;
namespace net = concur::net;

namespace {

aio::task<void> one(aio::semaphore& slots, int& failures) {
  co_await slots.acquire();
  const std::vector<std::string> none;
  const net::subprocess_options opts;
  try {
    auto proc = co_await net::create_subprocess_exec("/bin/true", none, opts);
    if (co_await proc.wait() != 0) ++failures;
  } catch (const concur::os_error&) {
    ++failures;
  }
  slots.release();
}

aio::task<int> run_all(int spawns, int concurrency) {
  aio::semaphore slots(concurrency);
  int failures = 0;
  std::vector<aio::task<void>> all;
  all.reserve(static_cast<std::size_t>(spawns));
  for (int i = 0; i < spawns; ++i) all.push_back(one(slots, failures));
  co_await aio::gather(std::move(all));
  co_return failures;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3;
  int spawns = 2000;
  int concurrency = 16;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--spawns") == 0) spawns = std::max(1, std::atoi(argv[i + 1]));
  }
  double best = 1e9;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const int failures = aio::run(run_all(spawns, concurrency));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (failures != 0) {
      std::fprintf(stderr, "aio_subprocess: %d of %d spawns failed\n", failures, spawns);
      return 1;
    }
    best = std::min(best, s);
  }
  std::printf("aio_subprocess spawns=%d concurrency=%d seconds=%.4f per_s=%.0f\n", spawns,
              concurrency, best, spawns / best);
  return 0;
}
