// 100000 coroutines sleeping 1 s together, gathered. Reports wall time and the peak RSS
// growth over the baseline measured just before (VmHWM from /proc/self/status).
#include <chrono>
#include <concur/aio.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace aio = concur::aio;

namespace {

long vm_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  std::string k = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(k, 0) == 0) return std::atol(line.c_str() + k.size());
  }
  return -1;
}

aio::task<void> sleeper(std::chrono::milliseconds d) { co_await aio::sleep(d); }

aio::task<void> all(int n, std::chrono::milliseconds d) {
  std::vector<aio::task<void>> ts;
  ts.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ts.push_back(sleeper(d));
  co_await aio::gather(std::move(ts));
}

}  // namespace

int main(int argc, char** argv) {
  int n = 100000;
  int ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--tasks") n = std::atoi(argv[i + 1]);
    if (a == "--ms") ms = std::atoi(argv[i + 1]);
  }
  aio::event_loop loop;
  long base = vm_kib("VmRSS");
  auto t0 = std::chrono::steady_clock::now();
  loop.run_until_complete(all(n, std::chrono::milliseconds(ms)));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long peak = vm_kib("VmHWM") - base;
  std::printf("aio_sleepers tasks=%d seconds=%.3f peak_rss_kib=%ld kib_per_task=%.3f\n", n, s, peak,
              static_cast<double>(peak) / n);
  return 0;
}
