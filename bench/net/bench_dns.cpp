// 10k lookups of "localhost" (an /etc/hosts name), 100 at once, two ways in one run:
//   dns_cares:   net::resolve, through the loop's c-ares resolver (no thread)
//   dns_threads: the path net::resolve had before, one detached thread per lookup running
//                getaddrinfo and handing the answer back with call_soon_threadsafe
// Prints `dns_cares per_s=...`, `dns_threads per_s=...` and the ratio.
#include <netdb.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "concur/net.hpp"

namespace aio = concur::aio;
namespace net = concur::net;

namespace {

constexpr int lookups = 10000;
constexpr int at_once = 100;

aio::task<int> through_cares(aio::semaphore& slots) {
  co_await slots.acquire();
  auto r = co_await net::resolve("localhost", 80);
  slots.release();
  co_return r.empty() ? 0 : 1;
}

aio::task<int> through_a_thread(aio::semaphore& slots) {
  co_await slots.acquire();
  auto& loop = aio::get_running_loop();
  auto done = std::make_shared<aio::event>();
  auto ok = std::make_shared<int>(0);
  loop.begin_external_wait();
  std::thread([&loop, done, ok] {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int found = ::getaddrinfo("localhost", "80", &hints, &res) == 0 ? 1 : 0;
    if (res != nullptr) ::freeaddrinfo(res);
    loop.call_soon_threadsafe([&loop, done, ok, found] {
      loop.end_external_wait();
      *ok = found;
      done->set();
    });
  }).detach();
  co_await done->wait();
  slots.release();
  co_return *ok;
}

template <class F>
double run_all(F one) {
  const auto t0 = std::chrono::steady_clock::now();
  const int ok = aio::run([](F f) -> aio::task<int> {
    aio::semaphore slots(at_once);
    std::vector<aio::task<int>> all;
    all.reserve(lookups);
    for (int i = 0; i < lookups; ++i) all.push_back(f(slots));
    int n = 0;
    for (int r : co_await aio::gather(std::move(all))) n += r;
    co_return n;
  }(one));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ok != lookups) std::fprintf(stderr, "only %d of %d lookups succeeded\n", ok, lookups);
  return lookups / s;
}

}  // namespace

int main() {
  const double cares = run_all(through_cares);
  const double threads = run_all(through_a_thread);
  std::printf("dns_cares lookups=%d at_once=%d per_s=%.0f\n", lookups, at_once, cares);
  std::printf("dns_threads lookups=%d at_once=%d per_s=%.0f\n", lookups, at_once, threads);
  std::printf("ratio dns per_s cares/threads=%.2f\n", cares / threads);
  return 0;
}
