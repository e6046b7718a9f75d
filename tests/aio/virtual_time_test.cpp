#include <gtest/gtest.h>

#include <chrono>
#include <concur/aio.hpp>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

aio::run_options virtual_time() { return aio::run_options{.virtual_time = true}; }

// Wall-clock time of f(): only used to show that virtual seconds cost no real seconds, with a
// bound hundreds of times above what it takes.
template <class F>
std::chrono::steady_clock::duration wall(F f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::steady_clock::now() - t0;
}

}  // namespace

TEST(AioVirtualTime, LongSleepTakesNoWallTimeAndMovesLoopTime) {
  auto main = []() -> aio::task<aio::clock::duration> {
    auto& loop = aio::get_running_loop();
    EXPECT_TRUE(loop.uses_virtual_time());
    auto t0 = loop.now();
    double s0 = loop.time();
    co_await aio::sleep(3600s);
    EXPECT_NEAR(loop.time() - s0, 3600.0, 1e-6);
    co_return loop.now() - t0;
  };
  aio::clock::duration elapsed{};
  auto took = wall([&] { elapsed = aio::run(main(), virtual_time()); });
  EXPECT_EQ(elapsed, 3600s);
  EXPECT_LT(took, 20s);
}

TEST(AioVirtualTime, TimersFireInDeadlineOrderAtTheirExactTimes) {
  auto main = []() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    auto start = loop.now();
    std::vector<std::pair<int, aio::clock::duration>> fired;
    auto sleeper = [](int id, aio::clock::duration d, aio::clock::time_point start,
                      std::vector<std::pair<int, aio::clock::duration>>& out) -> aio::task<void> {
      co_await aio::sleep(d);
      out.emplace_back(id, aio::get_running_loop().now() - start);
    };
    co_await aio::gather(sleeper(1, 30s, start, fired), sleeper(2, 10s, start, fired),
                         sleeper(3, 20s, start, fired), sleeper(4, 10s, start, fired));
    std::vector<std::pair<int, aio::clock::duration>> expected{
        {2, 10s}, {4, 10s}, {3, 20s}, {1, 30s}};
    EXPECT_EQ(fired, expected);
  };
  aio::run(main(), virtual_time());
}

TEST(AioVirtualTime, TimeoutOfThirtySecondsFiresWithoutWaiting) {
  auto main = []() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    auto t0 = loop.now();
    EXPECT_THROW(co_await aio::wait_for(aio::sleep(1h), 30s), aio::timeout_error);
    EXPECT_EQ(loop.now() - t0, 30s);
  };
  auto took = wall([&] { aio::run(main(), virtual_time()); });
  EXPECT_LT(took, 20s);
}

TEST(AioVirtualTime, CallLaterUsesTheLoopClock) {
  auto main = []() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    auto start = loop.now();
    aio::clock::time_point ran{};
    auto h = loop.call_later(5s, [&ran, &loop] { ran = loop.now(); });
    EXPECT_EQ(h.when(), start + 5s);
    co_await aio::sleep(6s);
    EXPECT_EQ(ran, start + 5s);
  };
  aio::run(main(), virtual_time());
}

TEST(AioVirtualTime, AdvanceTimeMovesTheClockByHand) {
  auto main = []() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    auto start = loop.now();
    bool fired = false;
    loop.call_later(10s, [&fired] { fired = true; });
    loop.advance_time(4s);
    EXPECT_EQ(loop.now() - start, 4s);
    co_await aio::sleep(0s);
    EXPECT_FALSE(fired);
    loop.advance_time(6s);
    co_await aio::sleep(0s);  // the timer is due: it runs in the next iteration
    co_await aio::sleep(0s);
    EXPECT_TRUE(fired);
    EXPECT_EQ(loop.now() - start, 10s);
    EXPECT_THROW(loop.advance_time(-1s), aio::value_error);
  };
  aio::run(main(), virtual_time());
}

TEST(AioVirtualTime, AdvanceTimeOnARealClockLoopIsAnError) {
  aio::event_loop loop;
  EXPECT_FALSE(loop.uses_virtual_time());
  EXPECT_THROW(loop.advance_time(1s), aio::invalid_state_error);
}

// Work in another thread takes real time the virtual clock cannot skip: the loop waits for it
// instead of jumping to the timeout's timer, however slow the thread is.
TEST(AioVirtualTime, DoesNotJumpWhileATaskAwaitsAnotherThread) {
  auto main = []() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    auto t0 = loop.now();
    int v = co_await aio::wait_for(aio::to_thread([] {
                                     std::this_thread::sleep_for(50ms);
                                     return 7;
                                   }),
                                   1s);
    EXPECT_EQ(v, 7);
    EXPECT_EQ(loop.now() - t0, 0s);
    // Once the thread's work is back, the clock jumps again.
    co_await aio::sleep(100s);
    EXPECT_EQ(loop.now() - t0, 100s);
  };
  aio::run(main(), virtual_time());
}
