#include <gtest/gtest.h>

#include <atomic>
#include <concur/aio.hpp>
#include <thread>

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int scale = 10;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int scale = 10;
#else
constexpr int scale = 1;
#endif
#else
constexpr int scale = 1;
#endif

}  // namespace

TEST(AioStress, OneMillionTimers) {
  const int n = 1'000'000 / scale;
  aio::event_loop loop;
  int fired = 0;
  std::vector<aio::handle> cancelled;
  auto base = loop.now() + 1ms;
  for (int i = 0; i < n; ++i) {
    auto h = loop.call_at(base + std::chrono::microseconds(i % 1000), [&] { ++fired; });
    if (i % 10 == 0) cancelled.push_back(h);
  }
  for (auto& h : cancelled) h.cancel();
  loop.call_at(base + 2ms, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(fired, n - static_cast<int>(cancelled.size()));
  EXPECT_EQ(loop.timer_count(), 0u);
}

TEST(AioStress, CancelStorm) {
  const int n = 20'000 / scale;
  auto main = [](int n) -> aio::task<void> {
    std::vector<aio::task_handle<void>> hs;
    aio::event never;
    for (int i = 0; i < n; ++i) {
      switch (i % 4) {
        case 0:
          hs.push_back(aio::create_task([]() -> aio::task<void> { co_await aio::sleep(1h); }()));
          break;
        case 1:
          hs.push_back(
              aio::create_task([](aio::event& e) -> aio::task<void> { co_await e.wait(); }(never)));
          break;
        case 2:
          hs.push_back(aio::create_task([]() -> aio::task<void> {
            for (;;) co_await aio::sleep(0);
          }()));
          break;
        default:
          hs.push_back(aio::create_task([]() -> aio::task<void> { co_return; }()));
      }
    }
    co_await aio::sleep(0);
    // Cancel everything several times over, some twice, in the same iteration.
    for (auto& h : hs) h.cancel();
    for (std::size_t i = 0; i < hs.size(); i += 3) hs[i].cancel();
    auto outs = co_await aio::gather(hs, aio::return_exceptions);
    std::size_t cancelled = 0;
    for (auto& o : outs) cancelled += o.has_value() ? 0 : 1;
    EXPECT_EQ(cancelled, static_cast<std::size_t>(n) - static_cast<std::size_t>(n) / 4);
    EXPECT_EQ(aio::get_running_loop().timer_count(), 0u);
  };
  aio::run(main(n));
}

TEST(AioStress, ManySpawnedTasksGathered) {
  const int n = 200'000 / scale;
  auto main = [](int n) -> aio::task<long> {
    std::vector<aio::task<int>> ts;
    ts.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      ts.push_back([](int i) -> aio::task<int> {
        co_await aio::sleep(0);
        co_return i;
      }(i));
    }
    auto v = co_await aio::gather(std::move(ts));
    long sum = 0;
    for (int x : v) sum += x;
    co_return sum;
  };
  EXPECT_EQ(aio::run(main(n)), static_cast<long>(n) * (n - 1) / 2);
}

TEST(AioStress, ThreadsafeWakeupsWhileTasksRun) {
  constexpr int threads = 6;
  const int per_thread = 5000 / scale;
  aio::event_loop loop;
  aio::queue<int> q;
  std::atomic<bool> go{false};
  std::vector<std::jthread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        loop.call_soon_threadsafe([&q, t] { q.put_nowait(t); });
      }
    });
  }
  long total = loop.run_until_complete(
      [](aio::queue<int>& q, std::atomic<bool>& go, int expected) -> aio::task<long> {
        go = true;
        long n = 0;
        while (n < expected) {
          co_await aio::wait_for(q.get(), 10s);
          ++n;
        }
        co_return n;
      }(q, go, threads * per_thread));
  EXPECT_EQ(total, threads * per_thread);
}
