#include <gtest/gtest.h>

#include <algorithm>
#include <concur/aio.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "aio/aio_test_support.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

struct custom_error : std::runtime_error {
  explicit custom_error(int d) : std::runtime_error("custom"), depth(d) {}
  int depth;
};

aio::task<int> thrower(int depth) {
  if (depth == 0) {
    co_await aio::sleep(0);
    throw custom_error(42);
  }
  co_return co_await thrower(depth - 1);
}

aio::task<void> forever() {
  for (;;) co_await aio::sleep(1h);
}

}  // namespace

TEST(AioTask, ExceptionKeepsTypeThroughDeepChain) {
  try {
    aio_test::run(thrower(500));
    FAIL() << "no exception";
  } catch (const custom_error& e) {
    EXPECT_EQ(e.depth, 42);
  }
}

TEST(AioTask, VoidTaskAndMoveOnlyResult) {
  auto make = []() -> aio::task<std::unique_ptr<int>> {
    co_await aio::sleep(0);
    co_return std::make_unique<int>(7);
  };
  auto p = aio_test::run(make());
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 7);
  int n = 0;
  aio_test::run([](int& n) -> aio::task<void> {
    n = 3;
    co_return;
  }(n));
  EXPECT_EQ(n, 3);
}

TEST(AioTask, CreateTaskHandleQueries) {
  auto main = []() -> aio::task<void> {
    auto h = aio::create_task(
        []() -> aio::task<int> {
          co_await aio::sleep(1ms);
          co_return 5;
        }(),
        "worker");
    EXPECT_EQ(h.get_name(), "worker");
    EXPECT_FALSE(h.done());
    EXPECT_THROW(h.result(), aio::invalid_state_error);
    int callback_value = 0;
    h.add_done_callback([&](const aio::task_handle<int>& t) { callback_value = t.result(); });
    EXPECT_EQ(co_await h, 5);
    EXPECT_TRUE(h.done());
    EXPECT_FALSE(h.cancelled());
    EXPECT_EQ(h.result(), 5);
    EXPECT_EQ(h.exception(), nullptr);
    co_await aio::sleep(0);  // done callbacks are scheduled with call_soon
    EXPECT_EQ(callback_value, 5);
    h.set_name("renamed");
    EXPECT_EQ(h.get_name(), "renamed");
    auto unnamed = aio::create_task(forever());
    EXPECT_EQ(unnamed.get_name().rfind("Task-", 0), 0u);
    unnamed.cancel();
  };
  aio_test::run(main());
}

TEST(AioTask, CancelDeliversAtSuspensionPointAndCleanupRuns) {
  auto main = []() -> aio::task<void> {
    bool cleaned = false;
    auto victim = aio::create_task([](bool& cleaned) -> aio::task<void> {
      struct on_exit {
        bool& flag;
        ~on_exit() { flag = true; }
      } guard{cleaned};
      co_await aio::sleep(1h);
    }(cleaned));
    co_await aio::sleep(1ms);
    EXPECT_TRUE(victim.cancel());
    EXPECT_THROW(co_await victim, aio::cancelled_error);
    EXPECT_TRUE(victim.cancelled());
    EXPECT_TRUE(cleaned);
    EXPECT_FALSE(victim.cancel());
    EXPECT_THROW(victim.result(), aio::cancelled_error);
  };
  aio_test::run(main());
}

TEST(AioTask, CancelBeforeStartNeverRunsBody) {
  auto main = []() -> aio::task<void> {
    bool ran = false;
    auto t = aio::create_task([](bool& ran) -> aio::task<void> {
      ran = true;
      co_return;
    }(ran));
    t.cancel();
    EXPECT_THROW(co_await t, aio::cancelled_error);
    EXPECT_FALSE(ran);
  };
  aio_test::run(main());
}

TEST(AioTask, TaskMayCatchCancellationAndGoOn) {
  auto main = []() -> aio::task<void> {
    auto t = aio::create_task([]() -> aio::task<int> {
      try {
        co_await aio::sleep(1h);
      } catch (const aio::cancelled_error&) {
      }
      co_await aio::sleep(1ms);  // still usable after catching
      co_return 9;
    }());
    co_await aio::sleep(0);
    t.cancel();
    EXPECT_EQ(co_await t, 9);
    EXPECT_FALSE(t.cancelled());
  };
  aio_test::run(main());
}

TEST(AioTask, CancelledErrorIsNotAStdException) {
  // Like asyncio's BaseException: catch (std::exception&) must not swallow cancellation.
  static_assert(!std::is_base_of_v<std::exception, aio::cancelled_error>);
  auto main = []() -> aio::task<bool> {
    auto t = aio::create_task([]() -> aio::task<void> {
      try {
        co_await aio::sleep(1h);
      } catch (const std::exception&) {
        ADD_FAILURE() << "cancellation swallowed by catch(std::exception&)";
      }
    }());
    co_await aio::sleep(0);
    t.cancel();
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(aio_test::run(main()));
}

TEST(AioTask, UnretrievedExceptionIsReported) {
  std::vector<std::string> reports;
  {
    aio_test::test_loop loop;
    loop.set_exception_handler([&](aio::event_loop&, const aio::exception_context& ctx) {
      reports.push_back(ctx.message + "|" + ctx.task_name);
    });
    loop.run_until_complete([]() -> aio::task<void> {
      aio::create_task(
          []() -> aio::task<void> {
            co_await aio::sleep(0);
            throw std::runtime_error("lost");
          }(),
          "lost-task");
      co_await aio::sleep(5ms);
    }());
  }
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], "Task exception was never retrieved|lost-task");
}

TEST(AioTask, RetrievedExceptionIsNotReported) {
  int reports = 0;
  aio_test::test_loop loop;
  loop.set_exception_handler([&](aio::event_loop&, const aio::exception_context&) { ++reports; });
  loop.run_until_complete([]() -> aio::task<void> {
    auto h = aio::create_task([]() -> aio::task<void> {
      throw std::runtime_error("seen");
      co_return;
    }());
    co_await aio::sleep(1ms);
    EXPECT_NE(h.exception(), nullptr);
  }());
  EXPECT_EQ(reports, 0);
}

TEST(AioTask, RunCancelsRemainingTasksAtEnd) {
  auto cleaned = std::make_shared<int>(0);
  aio_test::run([](std::shared_ptr<int> c) -> aio::task<void> {
    for (int i = 0; i < 10; ++i) {
      aio::create_task([](std::shared_ptr<int> c) -> aio::task<void> {
        struct on_exit {
          std::shared_ptr<int> c;
          ~on_exit() { ++*c; }
        } g{c};
        co_await forever();
      }(c));
    }
    co_await aio::sleep(1ms);
  }(cleaned));
  EXPECT_EQ(*cleaned, 10);
}

TEST(AioTask, TasksDestroyedUnfinishedLeakNothing) {
  // Pending tasks of every kind are torn down with the loop; ASan checks for leaks.
  auto counter = std::make_shared<int>(0);
  {
    aio_test::test_loop loop;
    aio::event ev;
    aio::lock lk;
    aio::queue<std::string> q(1);
    loop.run_until_complete([](aio::event& ev, aio::lock& lk, aio::queue<std::string>& q,
                               std::shared_ptr<int> c) -> aio::task<void> {
      auto keep = c;
      aio::create_task([](std::shared_ptr<int> c) -> aio::task<void> {
        auto k = c;
        co_await forever();
      }(c));
      aio::create_task([](aio::event& ev) -> aio::task<void> { co_await ev.wait(); }(ev));
      co_await lk.acquire();
      aio::create_task([](aio::lock& lk) -> aio::task<void> { co_await lk.acquire(); }(lk));
      co_await q.put("a");
      aio::create_task([](aio::queue<std::string>& q) -> aio::task<void> {
        co_await q.put(std::string(100, 'x'));
      }(q));
      auto h = aio::create_task(forever());
      aio::create_task([](aio::task_handle<void> h) -> aio::task<void> { co_await h; }(h));
      aio::get_running_loop().call_later(1h, [c] {});
      co_await aio::sleep(1ms);
    }(ev, lk, q, counter));
    EXPECT_GT(counter.use_count(), 1);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(AioTask, HandleOutlivesLoop) {
  aio::task_handle<int> kept;
  {
    aio_test::test_loop loop;
    loop.run_until_complete([](aio::task_handle<int>& kept) -> aio::task<void> {
      kept = aio::create_task([]() -> aio::task<int> {
        co_await aio::sleep(1h);
        co_return 1;
      }());
      co_await aio::sleep(0);
    }(kept));
  }
  EXPECT_TRUE(kept.done());
  EXPECT_TRUE(kept.cancelled());
  EXPECT_EQ(kept.get_loop(), nullptr);
}

TEST(AioTask, RunUntilCompleteInsideRunningLoopThrows) {
  aio_test::run([]() -> aio::task<void> {
    aio::event_loop other;
    EXPECT_THROW(other.run_until_complete([]() -> aio::task<void> { co_return; }()),
                 aio::invalid_state_error);
    co_return;
  }());
}

TEST(AioTask, AwaitingOutsideTaskThrowsAndSelfAwaitRejected) {
  aio_test::run([]() -> aio::task<void> {
    auto h = aio::create_task([]() -> aio::task<void> { co_await aio::sleep(1ms); }());
    aio::task<void> empty;
    EXPECT_THROW(co_await empty, aio::invalid_state_error);
    co_await h;
  }());
}

TEST(AioTask, DebugModeReportsSlowStep) {
  aio::event_loop loop;
  loop.set_debug(true);
  loop.set_slow_callback_duration(30ms);
  std::vector<std::string> reports;
  loop.set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& ctx) { reports.push_back(ctx.message); });
  loop.run_until_complete([]() -> aio::task<void> {
    auto t = aio::create_task(
        []() -> aio::task<void> {
          std::this_thread::sleep_for(80ms);  // blocks the loop on purpose
          co_return;
        }(),
        "hog");
    co_await t;
  }());
  auto hit = std::find_if(reports.begin(), reports.end(), [](const std::string& r) {
    return r.find("Executing <Task hog> took") != std::string::npos;
  });
  EXPECT_NE(hit, reports.end());
}
