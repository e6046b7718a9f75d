#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <concur/aio.hpp>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

aio::task<int> add_later(int a, int b) {
  co_await aio::sleep(1ms);
  co_return a + b;
}

aio::task<int> chain(int depth) {
  if (depth == 0) co_return co_await add_later(1, 2);
  co_return 1 + co_await chain(depth - 1);
}

}  // namespace

TEST(AioLoop, RunReturnsValueOfInlineChain) { EXPECT_EQ(aio::run(chain(10)), 13); }

TEST(AioLoop, CallSoonRunsInOrder) {
  aio::event_loop loop;
  std::vector<int> seen;
  loop.call_soon([&] { seen.push_back(1); });
  loop.call_soon([&] { seen.push_back(2); });
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
}

TEST(AioLoop, CancelledHandleDoesNotRun) {
  aio::event_loop loop;
  int ran = 0;
  auto h = loop.call_soon([&] { ++ran; });
  auto t = loop.call_later(5ms, [&] { ++ran; });
  h.cancel();
  t.cancel();
  EXPECT_TRUE(h.cancelled());
  EXPECT_TRUE(t.cancelled());
  loop.call_later(20ms, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(loop.timer_count(), 0u);
}

TEST(AioLoop, TimersFireInDeadlineOrder) {
  aio::event_loop loop;
  loop.use_virtual_time();
  std::vector<int> order;
  const auto t0 = loop.now();
  loop.call_later(30ms, [&] {
    order.push_back(3);
    loop.stop();
  });
  loop.call_later(10ms, [&] { order.push_back(1); });
  loop.call_later(20ms, [&] { order.push_back(2); });
  loop.call_at(loop.now() + 10ms, [&] { order.push_back(11); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<int>{1, 11, 2, 3}));
  EXPECT_EQ(loop.now() - t0, 30ms);
}

TEST(AioLoop, GetRunningLoopThrowsOutsideLoop) {
  EXPECT_THROW(aio::get_running_loop(), aio::invalid_state_error);
  aio::run([]() -> aio::task<void> {
    aio::event_loop& l = aio::get_running_loop();
    EXPECT_TRUE(l.is_running());
    co_return;
  }());
}

TEST(AioLoop, ThreadsafeWakeupsFromManyThreads) {
  aio::event_loop loop;
  constexpr int threads = 8;
  constexpr int per_thread = 2000;
  int received = 0;  // only touched on the loop thread
  std::vector<std::jthread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        loop.call_soon_threadsafe([&] {
          if (++received == threads * per_thread) loop.stop();
        });
      }
    });
  }
  loop.run_forever();
  producers.clear();
  EXPECT_EQ(received, threads * per_thread);
}

TEST(AioLoop, StopFromAnotherThreadWakesBlockedLoop) {
  aio::event_loop loop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(20ms);
    loop.stop();
  });
  loop.run_forever();  // nothing scheduled: blocks in epoll until the stop
  SUCCEED();
}

TEST(AioLoop, CallSoonThreadsafeOnClosedLoopThrows) {
  aio::event_loop loop;
  loop.close();
  EXPECT_TRUE(loop.is_closed());
  EXPECT_THROW(loop.call_soon_threadsafe([] {}), aio::invalid_state_error);
  EXPECT_THROW(loop.call_soon([] {}), aio::invalid_state_error);
}

TEST(AioLoop, CallbackExceptionGoesToHandler) {
  aio::event_loop loop;
  std::string seen;
  loop.set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& ctx) { seen = ctx.message; });
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(seen, "Exception in callback");
}

TEST(AioLoop, ReaderCallbackIsLevelTriggered) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  aio::event_loop loop;
  int calls = 0;
  ASSERT_EQ(::write(sv[1], "x", 1), 1);
  loop.add_reader(sv[0], [&] {
    if (++calls == 3) {
      char c;
      EXPECT_EQ(::read(sv[0], &c, 1), 1);
      EXPECT_TRUE(loop.remove_reader(sv[0]));
      loop.call_later(10ms, [&] { loop.stop(); });
    }
  });
  loop.run_forever();
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(loop.remove_reader(sv[0]));
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(AioLoop, WriterCallbackAndBadFd) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  aio::event_loop loop;
  bool wrote = false;
  loop.add_writer(sv[1], [&] {
    wrote = true;
    loop.remove_writer(sv[1]);
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(wrote);
  EXPECT_THROW(loop.add_reader(-1, [] {}), aio::value_error);
  EXPECT_THROW(loop.add_reader(1 << 20, [] {}), concur::os_error);  // not an open fd
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(AioLoop, AwaitReadableOnSocketpair) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto reader = [](int fd) -> aio::task<std::string> {
    co_await aio::readable(fd);
    char buf[16];
    auto n = ::read(fd, buf, sizeof buf);
    co_return std::string(buf, static_cast<std::size_t>(n));
  };
  auto writer = [](int fd) -> aio::task<void> {
    co_await aio::sleep(5ms);
    co_await aio::writable(fd);
    EXPECT_EQ(::write(fd, "hello", 5), 5);
  };
  auto main = [&]() -> aio::task<std::string> {
    auto r = aio::create_task(reader(sv[0]));
    co_await writer(sv[1]);
    co_return co_await r;
  };
  EXPECT_EQ(aio::run(main()), "hello");
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(AioLoop, ReadableWaitIsCancellableAndRegistrationRemoved) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto main = [&]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::wait_for(aio::readable(sv[0]), 10ms), aio::timeout_error);
    // The registration is gone: the fd can be awaited again, and a callback added.
    ::write(sv[1], "y", 1);
    co_await aio::readable(sv[0]);
    bool called = false;
    aio::get_running_loop().add_reader(sv[0], [&] { called = true; });
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    EXPECT_TRUE(called);
    EXPECT_THROW(co_await aio::readable(sv[0]), aio::invalid_state_error);
    aio::get_running_loop().remove_reader(sv[0]);
  };
  aio::run(main());
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(AioLoop, DebugModeRejectsCallsFromOtherThreads) {
  aio::event_loop loop;
  loop.set_debug(true);
  std::atomic<int> rejected{0};
  loop.run_until_complete([](aio::event_loop& loop, std::atomic<int>& rejected) -> aio::task<void> {
    std::jthread other([&] {
      try {
        loop.call_soon([] {});
      } catch (const aio::invalid_state_error&) {
        ++rejected;
      }
      try {
        loop.call_later(1ms, [] {});
      } catch (const aio::invalid_state_error&) {
        ++rejected;
      }
      loop.call_soon_threadsafe([] {});  // the thread-safe door stays open
    });
    other.join();
    co_await aio::sleep(0);
  }(loop, rejected));
  EXPECT_EQ(rejected.load(), 2);
}
