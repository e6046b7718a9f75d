#include <gtest/gtest.h>

#include <atomic>
#include <concur/aio.hpp>
#include <concur/futures.hpp>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
namespace aio = concur::aio;

TEST(AioBridge, ToThreadDoesNotBlockTheLoop) {
  auto main = []() -> aio::task<void> {
    int ticks = 0;
    auto ticker = aio::create_task([](int& ticks) -> aio::task<void> {
      for (;;) {
        co_await aio::sleep(1ms);
        ++ticks;
      }
    }(ticks));
    auto loop_thread = std::this_thread::get_id();
    auto worker_thread = co_await aio::to_thread([] {
      std::this_thread::sleep_for(50ms);
      return std::this_thread::get_id();
    });
    EXPECT_NE(worker_thread, loop_thread);
    EXPECT_GT(ticks, 2);  // the loop kept running meanwhile
    ticker.cancel();
    EXPECT_EQ(co_await aio::to_thread([](int a, int b) { return a * b; }, 6, 7), 42);
  };
  aio::run(main());
}

TEST(AioBridge, ExceptionFromThreadKeepsType) {
  auto main = []() -> aio::task<void> {
    EXPECT_THROW(co_await aio::to_thread([] { throw std::out_of_range("x"); }), std::out_of_range);
  };
  aio::run(main());
}

TEST(AioBridge, RunInExecutorAndAwaitFuture) {
  concur::thread_pool_executor pool(2);
  auto main = [](concur::thread_pool_executor& pool) -> aio::task<void> {
    EXPECT_EQ(co_await aio::run_in_executor(pool, [] { return 5; }), 5);
    concur::future<std::string> f = pool.submit([] {
      std::this_thread::sleep_for(5ms);
      return std::string("from pool");
    });
    EXPECT_EQ(co_await f, "from pool");  // a concur::future is directly awaitable
    concur::promise<void> never;
    EXPECT_THROW(co_await aio::wait_for(aio::wrap_future(never.get_future()), 5ms),
                 aio::timeout_error);
    EXPECT_TRUE(never.get_future().cancelled());  // the wrapped future was cancelled
  };
  aio::run(main(pool));
}

TEST(AioBridge, RunCoroutineThreadsafeFromOtherThreads) {
  aio::event_loop loop;
  std::jthread runner([&] { loop.run_forever(); });
  std::vector<concur::future<int>> fs;
  for (int i = 0; i < 20; ++i) {
    fs.push_back(aio::run_coroutine_threadsafe(
        [](int i) -> aio::task<int> {
          co_await aio::sleep(1ms);
          co_return i * 2;
        }(i),
        loop));
  }
  auto failing = aio::run_coroutine_threadsafe(
      []() -> aio::task<void> {
        co_await aio::sleep(0);
        throw std::logic_error("bad");
      }(),
      loop);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(5s), i * 2);
  EXPECT_THROW(failing.result(5s), std::logic_error);
  loop.stop();
  runner.join();
  loop.close();
  auto late = [&] {
    return aio::run_coroutine_threadsafe([]() -> aio::task<int> { co_return 1; }(), loop);
  };
  EXPECT_THROW(late(), aio::invalid_state_error);
}

TEST(AioBridge, LoopClosedBeforeCoroutineRunsBreaksPromise) {
  concur::future<int> f;
  {
    aio::event_loop loop;
    f = aio::run_coroutine_threadsafe([]() -> aio::task<int> { co_return 1; }(), loop);
  }  // never ran
  EXPECT_THROW(f.result(1s), concur::broken_promise);
}
