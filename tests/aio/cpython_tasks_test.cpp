// CPython's Lib/test/test_asyncio/test_tasks.py and test_waitfor.py, translated case by case:
// tasks and cancellation, wait, as_completed, sleep, shield, gather, wait_for and
// run_coroutine_threadsafe. Each test names the CPython test it translates; expectations are
// asyncio's behaviour, whether or not concur has it yet.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concur/aio.hpp>
#include <concur/futures.hpp>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "aio/aio_test_support.hpp"
#include "aio/co_assert.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;
using aio_test::future;
using aio_test::run_briefly;

namespace {

struct zero_division : std::runtime_error {
  zero_division() : std::runtime_error("division by zero") {}
};

template <class T>
std::set<const void*> ids(const std::vector<aio::task_handle<T>>& hs) {
  std::set<const void*> s;
  for (auto& h : hs) s.insert(h.base());
  return s;
}
template <class... H>
std::set<const void*> ids_of(const H&... hs) {
  return std::set<const void*>{hs.base()...};
}

// A vector of task handles (CTAD on std::vector{...} trips GCC inside coroutines).
template <class T, class... R>
std::vector<aio::task_handle<T>> hv(const aio::task_handle<T>& first, const R&... rest) {
  return {first, rest...};
}

aio::task<void> sleep_long(double seconds) { co_await aio::sleep(seconds); }

template <class T>
aio::task<T> value_after(double seconds, T v) {
  co_await aio::sleep(seconds);
  co_return v;
}

}  // namespace

// ============================================================================== CpyTask

// test_tasks.BaseTaskTests.test_task_awaits_on_itself
TEST(CpyTask, TaskAwaitsOnItself) {
  aio_test::test_loop loop;
  aio::task_handle<void> self;
  auto task = loop.create_task(
      [](aio::task_handle<void>& self) -> aio::task<void> { co_await self; }(self));
  self = task;
  EXPECT_THROW(loop.run_until_complete(task), aio::invalid_state_error);
  self = {};
}

// test_tasks.BaseTaskTests.test_task_class
TEST(CpyTask, TaskClass) {
  auto notmuch = []() -> aio::task<std::string> { co_return "ok"; };
  {
    aio_test::test_loop loop;
    auto t = loop.create_task(notmuch());
    loop.run_until_complete(t);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.result(), "ok");
    EXPECT_EQ(t.get_loop(), &loop);
  }
  aio_test::test_loop loop;
  auto t = loop.create_task(notmuch());
  EXPECT_EQ(t.get_loop(), &loop);
  loop.run_until_complete(t);
}

// test_tasks.BaseTaskTests.test_task_basics
TEST(CpyTask, TaskBasics) {
  struct coros {
    static aio::task<int> inner1() { co_return 42; }
    static aio::task<int> inner2() { co_return 1000; }
    static aio::task<int> outer() {
      int a = co_await inner1();
      int b = co_await inner2();
      co_return a + b;
    }
  };
  aio_test::test_loop loop;
  EXPECT_EQ(loop.run_until_complete(coros::outer()), 1042);
}

// test_tasks.BaseTaskTests.test_cancelling
TEST(CpyTask, Cancelling) {
  aio_test::test_loop loop;
  auto t = loop.create_task(sleep_long(10));
  EXPECT_EQ(t.cancelling(), 0);
  EXPECT_TRUE(t.cancel());
  EXPECT_EQ(t.cancelling(), 1);
  EXPECT_TRUE(t.cancel());  // a second request still returns True (and counts)
  EXPECT_EQ(t.cancelling(), 2);
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
}

// test_tasks.BaseTaskTests.test_uncancel_basic
TEST(CpyTask, UncancelBasic) {
  aio_test::test_loop loop;
  auto t = loop.create_task([]() -> aio::task<void> {
    bool caught = false;
    try {
      co_await aio::sleep(10);
    } catch (const aio::cancelled_error&) {
      caught = true;
    }
    if (caught) {
      aio_test::current_task()->uncancel();
      co_await aio::sleep(10);
    }
  }());
  loop.run_until_complete(aio_test::sleep_task(0.01));

  EXPECT_TRUE(t.cancel());  // cancel the first sleep
  EXPECT_EQ(t.cancelling(), 1);
  EXPECT_FALSE(t.cancelled());
  loop.run_until_complete(aio_test::sleep_task(0.01));

  EXPECT_EQ(t.cancelling(), 0);  // after uncancel()
  EXPECT_FALSE(t.cancelled());

  EXPECT_TRUE(t.cancel());  // cancel the second sleep
  EXPECT_EQ(t.cancelling(), 1);
  EXPECT_FALSE(t.cancelled());
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(t.cancelled());
  EXPECT_TRUE(t.done());

  t.uncancel();  // no longer effective once the task is complete
  EXPECT_TRUE(t.cancelled());
  EXPECT_TRUE(t.done());
}

// test_tasks.BaseTaskTests.test_uncancel_structured_blocks
TEST(CpyTask, UncancelStructuredBlocks) {
  using outcome = std::tuple<bool, bool, bool>;
  struct coros {
    static aio::task<outcome> make_request_with_timeout(double sleep, double timeout) {
      auto* task = aio_test::current_task();
      auto& loop = aio::get_running_loop();
      bool timed_out = false;
      bool structured_block_finished = false;
      bool outer_code_reached = false;
      auto timeout_handle = loop.call_later(timeout, [task, &timed_out] {
        timed_out = true;
        task->cancel();
      });
      try {
        bool cancelled = false;
        try {
          co_await aio::sleep(sleep);  // the structured block affected by the timeout
          structured_block_finished = true;
        } catch (const aio::cancelled_error&) {
          cancelled = true;
        }
        // finally:
        timeout_handle.cancel();
        if (timed_out && task->uncancel() == 0 && cancelled) throw aio::timeout_error();
        if (cancelled) throw aio::cancelled_error();
      } catch (const aio::timeout_error&) {
        EXPECT_TRUE(timed_out);
      }
      outer_code_reached = true;  // outer code, not affected by the timeout
      co_await aio::sleep(0);
      co_return outcome{timed_out, structured_block_finished, outer_code_reached};
    }
  };
  aio_test::test_loop loop;
  auto t1 = loop.create_task(coros::make_request_with_timeout(10.0, 0.1));
  auto [timed_out1, finished1, reached1] = loop.run_until_complete(t1);
  EXPECT_TRUE(timed_out1);
  EXPECT_FALSE(finished1);  // it was cancelled
  EXPECT_TRUE(reached1);    // the task got uncancelled after leaving the block
  EXPECT_EQ(t1.cancelling(), 0);

  auto t2 = loop.create_task(coros::make_request_with_timeout(0, 10.0));
  auto [timed_out2, finished2, reached2] = loop.run_until_complete(t2);
  EXPECT_FALSE(timed_out2);
  EXPECT_TRUE(finished2);
  EXPECT_TRUE(reached2);
  EXPECT_EQ(t2.cancelling(), 0);
}

// test_tasks.BaseTaskTests.test_uncancel_resets_must_cancel
TEST(CpyTask, UncancelResetsMustCancel) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto task = loop.create_task([](future<int> fut) -> aio::task<int> {
    co_await fut;
    co_return 42;
  }(fut));
  loop.run_until_complete(aio_test::sleep_task(0));  // the task now waits for fut
  fut.set_result(0);                                 // the task is runnable
  task.cancel();                                     // cancel requested after the wake-up
  EXPECT_EQ(task.cancelling(), 1);
  task.uncancel();  // undoes it (3.13: also clears _must_cancel)
  EXPECT_EQ(task.cancelling(), 0);
  EXPECT_EQ(loop.run_until_complete(task), 42);
}

// test_tasks.BaseTaskTests.test_cancel
TEST(CpyTask, Cancel) {
  aio_test::test_loop loop;
  auto t = loop.create_task([]() -> aio::task<int> {
    co_await aio::sleep(10.0);
    co_return 12;
  }());
  loop.call_soon([t]() mutable { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

// test_tasks.BaseTaskTests.test_cancel_with_message_then_future_result (the case without message)
TEST(CpyTask, CancelThenFutureResult) {
  aio_test::test_loop loop;
  auto task = loop.create_task([]() -> aio::task<void> {
    auto task = aio::create_task(sleep_long(10));
    co_await aio::sleep(0);
    task.cancel();
    co_await aio::wait(hv(task));
    task.result();  // raises CancelledError out of this coroutine
  }());
  EXPECT_THROW(loop.run_until_complete(task), aio::cancelled_error);
  EXPECT_TRUE(task.cancelled());
}

// test_tasks.BaseTaskTests.test_cancel_with_message_then_future_exception (no message)
TEST(CpyTask, CancelThenFutureException) {
  aio_test::test_loop loop;
  auto task = loop.create_task([]() -> aio::task<void> {
    auto task = aio::create_task(sleep_long(10));
    co_await aio::sleep(0);
    task.cancel();
    co_await aio::wait(hv(task));
    task.exception();
  }());
  EXPECT_THROW(loop.run_until_complete(task), aio::cancelled_error);
  EXPECT_TRUE(task.cancelled());
}

// test_tasks.BaseTaskTests.test_cancel_with_message_before_starting_task (no message)
TEST(CpyTask, CancelBeforeStartingTask) {
  aio_test::test_loop loop;
  bool started = false;
  auto task = loop.create_task([](bool& started) -> aio::task<void> {
    auto task = aio::create_task([](bool& started) -> aio::task<void> {
      started = true;
      co_await aio::sleep(10);
    }(started));
    task.cancel();  // deliberately no sleep before
    co_await aio::wait(hv(task));
    task.exception();
  }(started));
  EXPECT_THROW(loop.run_until_complete(task), aio::cancelled_error);
  EXPECT_FALSE(started);
}

// test_tasks.BaseTaskTests.test_cancel_yield. One more sleep(0) than CPython's: run_briefly
// takes three iterations (its task's two steps, then the one its done callback stops in), and
// asyncio's own loop (python3.11, asyncio.new_event_loop) finishes a task of two sleep(0)s in
// them too, as concur does; the case is about cancelling a task that yields.
TEST(CpyTask, CancelYield) {
  aio_test::test_loop loop;
  auto t = loop.create_task([]() -> aio::task<int> {
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    co_return 12;
  }());
  run_briefly(loop);  // start coro
  t.cancel();
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

// test_tasks.BaseTaskTests.test_cancel_inner_future
TEST(CpyTask, CancelInnerFuture) {
  aio_test::test_loop loop;
  future<int> f(loop);
  auto t = loop.create_task([](future<int> f) -> aio::task<int> {
    co_await f;
    co_return 12;
  }(f));
  run_briefly(loop);  // start task
  f.cancel();
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(t.cancelled());
}

// test_tasks.BaseTaskTests.test_cancel_both_task_and_inner_future
TEST(CpyTask, CancelBothTaskAndInnerFuture) {
  aio_test::test_loop loop;
  future<int> f(loop);
  auto t = loop.create_task([](future<int> f) -> aio::task<int> {
    co_await f;
    co_return 12;
  }(f));
  run_briefly(loop);
  f.cancel();
  t.cancel();
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(t.cancelled());
}

// test_tasks.BaseTaskTests.test_cancel_task_catching
TEST(CpyTask, CancelTaskCatching) {
  aio_test::test_loop loop;
  future<int> fut1(loop);
  future<int> fut2(loop);
  auto t = loop.create_task([](future<int> fut1, future<int> fut2) -> aio::task<int> {
    co_await fut1;
    try {
      co_await fut2;
    } catch (const aio::cancelled_error&) {
      co_return 42;
    }
    co_return 0;
  }(fut1, fut2));
  run_briefly(loop);
  fut1.set_result(0);
  run_briefly(loop);
  t.cancel();
  EXPECT_TRUE(fut2.cancelled());
  EXPECT_EQ(loop.run_until_complete(t), 42);
  EXPECT_FALSE(t.cancelled());
}

// test_tasks.BaseTaskTests.test_cancel_task_ignoring
TEST(CpyTask, CancelTaskIgnoring) {
  aio_test::test_loop loop;
  future<int> fut1(loop);
  future<int> fut2(loop);
  future<int> fut3(loop);
  auto t = loop.create_task(
      [](future<int> fut1, future<int> fut2, future<int> fut3) -> aio::task<int> {
        co_await fut1;
        try {
          co_await fut2;
        } catch (const aio::cancelled_error&) {
        }
        int res = co_await fut3;
        co_return res;
      }(fut1, fut2, fut3));
  run_briefly(loop);
  fut1.set_result(0);
  run_briefly(loop);
  t.cancel();
  EXPECT_TRUE(fut2.cancelled());
  run_briefly(loop);
  fut3.set_result(42);
  EXPECT_EQ(loop.run_until_complete(t), 42);
  EXPECT_FALSE(fut3.cancelled());
  EXPECT_FALSE(t.cancelled());
}

// test_tasks.BaseTaskTests.test_cancel_current_task
TEST(CpyTask, CancelCurrentTask) {
  aio_test::test_loop loop;
  auto t = loop.create_task([]() -> aio::task<int> {
    aio_test::current_task()->cancel();
    co_await aio::sleep(100);  // cancelled at once
    co_return 12;
  }());
  EXPECT_FALSE(t.cancelled());
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

// test_tasks.BaseTaskTests.test_cancel_at_end
TEST(CpyTask, CancelAtEnd) {
  // The coroutine ends right after the task was cancelled: the task ends cancelled.
  aio_test::test_loop loop;
  auto t = loop.create_task([]() -> aio::task<int> {
    aio_test::current_task()->cancel();
    co_return 12;
  }());
  EXPECT_FALSE(t.cancelled());
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

// test_tasks.BaseTaskTests.test_cancel_awaited_task
TEST(CpyTask, CancelAwaitedTask) {
  // A task cancels itself, then blocks on another task: that one is cancelled too.
  aio_test::test_loop loop;
  future<int> fut(loop);
  aio::task_handle<void> nested_task;
  auto task = loop.create_task(
      [](future<int> fut, aio::task_handle<void>& nested_task) -> aio::task<void> {
        nested_task = aio::create_task([](future<int> fut) -> aio::task<void> {
          co_await fut;
        }(fut));
        co_await aio::sleep(0);
        aio_test::current_task()->cancel();
        co_await nested_task;
      }(fut, nested_task));
  EXPECT_THROW(loop.run_until_complete(task), aio::cancelled_error);
  EXPECT_TRUE(task.cancelled());
  ASSERT_TRUE(nested_task.valid());
  EXPECT_TRUE(nested_task.cancelled());
  EXPECT_TRUE(fut.cancelled());
}

// Same situation through concur's own awaitables (the task is woken, then cancelled before
// it resumes): asyncio raises CancelledError at the await that was woken (Task._must_cancel).
// test_tasks.BaseTaskTests.test_uncancel_resets_must_cancel (without the uncancel)
TEST(CpyTask, CancelAfterWakeupRaisesAtThatAwait) {
  aio_test::test_loop loop;
  aio::event ev;
  int reached = 0;
  auto task = loop.create_task([](aio::event& ev, int& reached) -> aio::task<int> {
    co_await ev.wait();
    reached = 1;  // asyncio never gets here: CancelledError is raised by the wait
    co_return 42;
  }(ev, reached));
  run_briefly(loop);  // the task waits for ev
  ev.set();           // the task is runnable
  EXPECT_TRUE(task.cancel());
  EXPECT_THROW(loop.run_until_complete(task), aio::cancelled_error);
  EXPECT_TRUE(task.cancelled());
  EXPECT_EQ(reached, 0);
}

// test_tasks.BaseTaskTests.test_cancel_task_catching, with the cancel arriving after the
// wake-up: the CancelledError raised at the woken await can be caught; the task goes on.
TEST(CpyTask, CancelAfterWakeupCanBeCaught) {
  aio_test::test_loop loop;
  aio::event ev;
  auto task = loop.create_task([](aio::event& ev) -> aio::task<int> {
    try {
      co_await ev.wait();
    } catch (const aio::cancelled_error&) {
      co_return 42;
    }
    co_return 0;
  }(ev));
  run_briefly(loop);
  ev.set();
  task.cancel();
  EXPECT_EQ(loop.run_until_complete(task), 42);
  EXPECT_FALSE(task.cancelled());
}

// test_tasks.BaseTaskTests.test_stop_while_run_in_complete
TEST(CpyTask, StopWhileRunInComplete) {
  aio_test::test_loop loop;
  int x = 0;
  auto t = loop.create_task([](aio::event_loop& loop, int& x) -> aio::task<void> {
    while (x < 10) {
      co_await aio::sleep(0.1);
      x += 1;
      if (x == 2) loop.stop();
    }
  }(loop, x));
  double t0 = loop.time();
  EXPECT_THROW(loop.run_until_complete(t), aio::invalid_state_error);
  EXPECT_FALSE(t.done());
  EXPECT_EQ(x, 2);
  EXPECT_NEAR(loop.time() - t0, 0.2, 0.01);  // asyncio's test loop: 0.3 from its own start
  t.cancel();
  EXPECT_THROW(loop.run_until_complete(t), aio::cancelled_error);
}

// test_tasks.BaseTaskTests.test_tb_logger_not_called_after_cancel
TEST(CpyTask, TbLoggerNotCalledAfterCancel) {
  // cancel() on a task that already failed marks its exception as retrieved.
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    loop.run_until_complete([]() -> aio::task<void> {
      auto task = aio::create_task([]() -> aio::task<void> {
        throw std::invalid_argument("TypeError");
        co_return;
      }());
      co_await aio::sleep(0.05);
      task.cancel();
    }());
  }
  EXPECT_EQ(log.size(), 0u) << log.messages();
}

// test_futures.BaseFutureTests.test_tb_logger_exception_unretrieved (on a task)
TEST(CpyTask, ExceptionNeverRetrievedIsReported) {
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    loop.run_until_complete([]() -> aio::task<void> {
      aio::create_task([]() -> aio::task<void> {
        throw std::runtime_error("boom");
        co_return;
      }());
      co_await aio::sleep(0);
      co_await aio::sleep(0);
    }());
  }
  ASSERT_EQ(log.size(), 1u) << log.messages();
  EXPECT_EQ(log.entries[0].message, "Task exception was never retrieved");
  EXPECT_THROW(std::rethrow_exception(log.entries[0].exception), std::runtime_error);
}

// test_futures.BaseFutureTests.test_tb_logger_exception_retrieved (on a task)
TEST(CpyTask, ExceptionRetrievedIsNotReported) {
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    loop.run_until_complete([]() -> aio::task<void> {
      auto t = aio::create_task([]() -> aio::task<void> {
        throw std::runtime_error("boom");
        co_return;
      }());
      co_await aio::sleep(0);
      EXPECT_NE(t.exception(), nullptr);
    }());
  }
  EXPECT_EQ(log.size(), 0u) << log.messages();
}

// test_futures.BaseFutureTests.test_tb_logger_exception_result_retrieved (on a task)
TEST(CpyTask, ExceptionResultRetrievedIsNotReported) {
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    loop.run_until_complete([]() -> aio::task<void> {
      auto t = aio::create_task([]() -> aio::task<void> {
        throw std::runtime_error("boom");
        co_return;
      }());
      co_await aio::sleep(0);
      EXPECT_THROW(t.result(), std::runtime_error);
    }());
  }
  EXPECT_EQ(log.size(), 0u) << log.messages();
}

// test_futures.BaseFutureDoneCallbackTests.test_callbacks_invoked_on_set_result (on a task)
TEST(CpyTask, DoneCallbacksInvokedInOrderOnResult) {
  aio_test::test_loop loop;
  std::vector<int> bag;
  future<int> go(loop);
  auto t = loop.create_task([](future<int> go) -> aio::task<std::string> {
    co_await go;
    co_return "foo";
  }(go));
  t.add_done_callback([&bag](const aio::task_handle<std::string>&) { bag.push_back(42); });
  t.add_done_callback([&bag](const aio::task_handle<std::string>&) { bag.push_back(17); });
  run_briefly(loop);
  EXPECT_TRUE(bag.empty());
  go.set_result(0);
  aio_test::run_loop(loop);
  EXPECT_EQ(bag, (std::vector<int>{42, 17}));
  EXPECT_EQ(t.result(), "foo");
}

// test_futures.BaseFutureDoneCallbackTests.test_callbacks_invoked_on_set_exception (on a task)
TEST(CpyTask, DoneCallbacksInvokedInOrderOnException) {
  aio_test::test_loop loop;
  std::vector<int> bag;
  future<int> go(loop);
  auto t = loop.create_task([](future<int> go) -> aio::task<void> {
    co_await go;
    throw std::invalid_argument("ValueError");
  }(go));
  t.add_done_callback([&bag](const aio::task_handle<void>&) { bag.push_back(100); });
  run_briefly(loop);
  EXPECT_TRUE(bag.empty());
  go.set_result(0);
  aio_test::run_loop(loop);
  EXPECT_EQ(bag, (std::vector<int>{100}));
  EXPECT_THROW(std::rethrow_exception(t.exception()), std::invalid_argument);
}

// asyncio BaseEventLoop.run_until_complete (no CPython test of its own): its stop callback is
// the future's last done callback, so callbacks added before it have run when it returns.
TEST(CpyTask, RunUntilCompleteRunsEarlierDoneCallbacks) {
  aio_test::test_loop loop;
  std::vector<int> bag;
  auto t = loop.create_task([]() -> aio::task<int> {
    co_await aio::sleep(0);
    co_return 5;
  }());
  t.add_done_callback([&bag](const aio::task_handle<int>& h) { bag.push_back(h.result()); });
  EXPECT_EQ(loop.run_until_complete(t), 5);
  EXPECT_EQ(bag, (std::vector<int>{5}));
}

// test_tasks.BaseTaskTests.test_current_task
TEST(CpyTask, CurrentTask) {
  EXPECT_EQ(aio_test::current_task(), nullptr);
  aio_test::test_loop loop;
  aio::task_handle<void> task;
  task = loop.create_task([](aio::task_handle<void>& task) -> aio::task<void> {
    EXPECT_EQ(aio_test::current_task(), task.base());
    co_await aio::sleep(0);
    EXPECT_EQ(aio_test::current_task(), task.base());
  }(task));
  loop.run_until_complete(task);
  EXPECT_EQ(aio_test::current_task(), nullptr);
}

// test_tasks.BaseTaskTests.test_current_task_with_interleaving_tasks
TEST(CpyTask, CurrentTaskWithInterleavingTasks) {
  EXPECT_EQ(aio_test::current_task(), nullptr);
  aio_test::test_loop loop;
  future<int> fut1(loop);
  future<int> fut2(loop);
  aio::task_handle<void> task1;
  aio::task_handle<void> task2;
  task1 = loop.create_task(
      [](future<int> fut1, future<int> fut2, aio::task_handle<void>& task1) -> aio::task<void> {
        EXPECT_EQ(aio_test::current_task(), task1.base());
        co_await fut1;
        EXPECT_EQ(aio_test::current_task(), task1.base());
        fut2.set_result(1);
      }(fut1, fut2, task1));
  task2 = loop.create_task(
      [](future<int> fut1, future<int> fut2, aio::task_handle<void>& task2) -> aio::task<void> {
        EXPECT_EQ(aio_test::current_task(), task2.base());
        fut1.set_result(1);
        co_await fut2;
        EXPECT_EQ(aio_test::current_task(), task2.base());
      }(fut1, fut2, task2));
  loop.run_until_complete(aio::wait(hv(task1, task2)));
  EXPECT_EQ(aio_test::current_task(), nullptr);
  EXPECT_TRUE(task1.done());
  EXPECT_TRUE(task2.done());
}

// test_tasks.BaseTaskTests.test_yield_future_passes_cancel
TEST(CpyTask, YieldFuturePassesCancel) {
  // Cancelling outer() cancels inner() cancels waiter.
  aio_test::test_loop loop;
  int proof = 0;
  future<int> waiter(loop);
  struct coros {
    static aio::task<void> inner(future<int> waiter, int& proof) {
      try {
        co_await waiter;
      } catch (const aio::cancelled_error&) {
        proof += 1;
        throw;
      }
      ADD_FAILURE() << "got past sleep() in inner()";
    }
    static aio::task<void> outer(future<int> waiter, int& proof) {
      try {
        co_await inner(waiter, proof);
      } catch (const aio::cancelled_error&) {
        proof += 100;  // expect this path
        co_return;
      }
      proof += 10;
    }
  };
  auto f = loop.create_task(coros::outer(waiter, proof));
  run_briefly(loop);
  f.cancel();
  loop.run_until_complete(f);
  EXPECT_EQ(proof, 101);
  EXPECT_TRUE(waiter.cancelled());
}

// test_tasks.BaseTaskTests.test_task_cancel_waiter_future
TEST(CpyTask, TaskCancelWaiterFuture) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto task = loop.create_task([](future<int> fut) -> aio::task<void> { co_await fut; }(fut));
  run_briefly(loop);
  task.cancel();
  run_briefly(loop);
  EXPECT_THROW(loop.run_until_complete(task), aio::cancelled_error);
  EXPECT_TRUE(fut.cancelled());
}

// test_tasks.BaseTaskTests.test_step_result_future
TEST(CpyTask, StepResultFuture) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  int result = 0;
  auto t = loop.create_task([](future<int> fut, int& result) -> aio::task<void> {
    result = co_await fut;
  }(fut, result));
  run_briefly(loop);
  fut.set_result(77);
  run_briefly(loop);
  EXPECT_EQ(result, 77);
  EXPECT_TRUE(t.done());
  EXPECT_NO_THROW(t.result());
}

// test_tasks.BaseTaskTests.test_sleep
TEST(CpyTask, Sleep) {
  aio_test::test_loop loop;
  auto t = loop.create_task([](double dt, std::string arg) -> aio::task<std::string> {
    co_await aio::sleep(dt / 2);
    co_await aio::sleep(dt / 2);
    co_return arg;
  }(0.1, "yeah"));
  loop.run_until_complete(t);
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.result(), "yeah");
}

// test_tasks.BaseTaskTests.test_sleep_when_delay_is_nan
TEST(CpyTask, SleepWhenDelayIsNan) {
  aio_test::test_loop loop;
  auto t = loop.create_task([]() -> aio::task<void> {
    co_await aio::sleep(std::numeric_limits<double>::quiet_NaN());
  }());
  EXPECT_THROW(loop.run_until_complete(t), aio::value_error);
}

// test_tasks.BaseTaskTests.test_sleep_cancel
TEST(CpyTask, SleepCancel) {
  aio_test::test_loop loop;
  auto t = loop.create_task(sleep_long(10.0));
  run_briefly(loop);
  EXPECT_EQ(loop.timer_count(), 1u);  // the sleep's timer is scheduled
  t.cancel();
  run_briefly(loop);
  EXPECT_EQ(loop.timer_count(), 0u);  // ... and cancelled with the task
  EXPECT_TRUE(t.cancelled());
}

// test_tasks.BaseTaskTests.test_task_cancel_sleeping_task
TEST(CpyTask, TaskCancelSleepingTask) {
  aio_test::test_loop loop;
  auto doit = []() -> aio::task<std::string> {
    auto sleeper = aio::create_task(sleep_long(5000));
    aio::get_running_loop().call_later(0.1, [sleeper]() mutable { sleeper.cancel(); });
    try {
      co_await sleeper;
    } catch (const aio::cancelled_error&) {
      co_return "cancelled";
    }
    co_return "slept in";
  };
  EXPECT_EQ(loop.run_until_complete(doit()), "cancelled");
}

// test_tasks.SleepTests.test_sleep_zero
TEST(CpyTask, SleepZero) {
  aio_test::test_loop loop;
  int result = 0;
  loop.run_until_complete([](int& result) -> aio::task<void> {
    aio::get_running_loop().call_soon([&result] { result += 1; });
    EXPECT_EQ(result, 0);
    co_await aio::sleep(0);
    EXPECT_EQ(result, 1);  // incremented by the call_soon callback
    result += 10;
  }(result));
  EXPECT_EQ(result, 11);
}

// ============================================================================== CpyWait

// test_tasks.BaseTaskTests.test_wait
TEST(CpyWait, Wait) {
  aio_test::test_loop loop;
  auto a = loop.create_task(sleep_long(0.1));
  auto b = loop.create_task(sleep_long(0.15));
  auto foo = [](aio::task_handle<void> a, aio::task_handle<void> b) -> aio::task<int> {
    auto [done, pending] = co_await aio::wait(hv(b, a));
    EXPECT_EQ(ids(done), ids_of(a, b));
    EXPECT_TRUE(pending.empty());
    co_return 42;
  };
  double t0 = loop.time();
  EXPECT_EQ(loop.run_until_complete(foo(a, b)), 42);
  EXPECT_NEAR(loop.time() - t0, 0.15, 0.01);
  // Doing it again should take no time and exercise a different path.
  EXPECT_EQ(loop.run_until_complete(foo(a, b)), 42);
  EXPECT_NEAR(loop.time() - t0, 0.15, 0.01);
}

// test_tasks.BaseTaskTests.test_wait_duplicate_coroutines
TEST(CpyWait, WaitDuplicateTasks) {
  aio_test::test_loop loop;
  auto coro = [](std::string s) -> aio::task<std::string> { co_return s; };
  auto c = loop.create_task(coro("test"));
  auto spam = loop.create_task(coro("spam"));
  auto [done, pending] = loop.run_until_complete(aio::wait(hv(c, c, spam)));
  EXPECT_TRUE(pending.empty());
  std::set<std::string> results;
  for (auto& f : done) results.insert(f.result());
  EXPECT_EQ(results, (std::set<std::string>{"test", "spam"}));
  EXPECT_EQ(done.size(), 2u);  // asyncio returns sets: the task named twice is there once
}

// test_tasks.BaseTaskTests.test_wait_errors
TEST(CpyWait, WaitErrors) {
  aio_test::test_loop loop;
  EXPECT_THROW(loop.run_until_complete(aio::wait(std::vector<aio::task_handle<void>>{})),
               aio::value_error);
}

// test_tasks.BaseTaskTests.test_wait_first_completed
TEST(CpyWait, WaitFirstCompleted) {
  aio_test::test_loop loop;
  auto a = loop.create_task(sleep_long(10.0));
  auto b = loop.create_task(sleep_long(0.1));
  auto [done, pending] =
      loop.run_until_complete(aio::wait(hv(b, a), aio::return_when::first_completed));
  EXPECT_EQ(ids(done), ids_of(b));
  EXPECT_EQ(ids(pending), ids_of(a));
  EXPECT_FALSE(a.done());
  EXPECT_TRUE(b.done());
  EXPECT_NO_THROW(b.result());
  a.cancel();  // (CPython advances its test clock here to finish `a`)
  loop.run_until_complete(aio::wait(hv(a, b)));
}

// test_tasks.BaseTaskTests.test_wait_really_done
TEST(CpyWait, WaitReallyDone) {
  // Tasks that completed before wait() resumes are in `done`, even if their completion was
  // not what woke it.
  aio_test::test_loop loop;
  auto a = loop.create_task([]() -> aio::task<void> { co_await aio::sleep(0); }());
  auto b = loop.create_task([]() -> aio::task<void> {
    co_await aio::sleep(0);
    co_await aio::sleep(0);
  }());
  auto [done, pending] =
      loop.run_until_complete(aio::wait(hv(b, a), aio::return_when::first_completed));
  EXPECT_EQ(ids(done), ids_of(a, b));
  EXPECT_TRUE(pending.empty());
  EXPECT_TRUE(a.done());
  EXPECT_TRUE(b.done());
}

// test_tasks.BaseTaskTests.test_wait_first_exception
TEST(CpyWait, WaitFirstException) {
  aio_test::test_loop loop;
  // first_exception, the task already has an exception
  auto a = loop.create_task(sleep_long(10.0));
  auto b = loop.create_task([]() -> aio::task<void> {
    throw zero_division();
    co_return;
  }());
  auto [done, pending] =
      loop.run_until_complete(aio::wait(hv(b, a), aio::return_when::first_exception));
  EXPECT_EQ(ids(done), ids_of(b));
  EXPECT_EQ(ids(pending), ids_of(a));
  a.cancel();
  loop.run_until_complete(aio::wait(hv(a, b)));
}

// test_tasks.BaseTaskTests.test_wait_first_exception_in_wait
TEST(CpyWait, WaitFirstExceptionInWait) {
  aio_test::test_loop loop;
  // first_exception, exception during waiting
  auto a = loop.create_task(sleep_long(10.0));
  auto b = loop.create_task([]() -> aio::task<void> {
    co_await aio::sleep(0.01);
    throw zero_division();
  }());
  auto [done, pending] =
      loop.run_until_complete(aio::wait(hv(b, a), aio::return_when::first_exception));
  EXPECT_EQ(ids(done), ids_of(b));
  EXPECT_EQ(ids(pending), ids_of(a));
  a.cancel();
  loop.run_until_complete(aio::wait(hv(a, b)));
}

// test_tasks.BaseTaskTests.test_wait_with_exception
TEST(CpyWait, WaitWithException) {
  aio_test::test_loop loop;
  auto a = loop.create_task(sleep_long(0.1));
  auto b = loop.create_task([]() -> aio::task<void> {
    co_await aio::sleep(0.15);
    throw zero_division();
  }());
  auto foo = [](aio::task_handle<void> a, aio::task_handle<void> b) -> aio::task<void> {
    auto [done, pending] = co_await aio::wait(hv(b, a));
    EXPECT_EQ(done.size(), 2u);
    EXPECT_TRUE(pending.empty());
    int errors = 0;
    for (auto& f : done) errors += f.exception() != nullptr ? 1 : 0;
    EXPECT_EQ(errors, 1);
  };
  loop.run_until_complete(foo(a, b));
  loop.run_until_complete(foo(a, b));
}

// test_tasks.BaseTaskTests.test_wait_with_timeout
TEST(CpyWait, WaitWithTimeout) {
  aio_test::test_loop loop;
  auto a = loop.create_task(sleep_long(0.1));
  auto b = loop.create_task(sleep_long(0.15));
  double t0 = loop.time();
  loop.run_until_complete([](aio::task_handle<void> a, aio::task_handle<void> b) -> aio::task<void> {
    auto [done, pending] =
        co_await aio::wait(hv(b, a), aio::return_when::all_completed, 0.11s);
    EXPECT_EQ(ids(done), ids_of(a));
    EXPECT_EQ(ids(pending), ids_of(b));
  }(a, b));
  EXPECT_NEAR(loop.time() - t0, 0.11, 0.005);
  loop.run_until_complete(aio::wait(hv(a, b)));
}

// test_tasks.BaseTaskTests.test_wait_concurrent_complete
TEST(CpyWait, WaitConcurrentComplete) {
  aio_test::test_loop loop;
  auto a = loop.create_task(sleep_long(0.1));
  auto b = loop.create_task(sleep_long(0.15));
  auto [done, pending] = loop.run_until_complete(
      aio::wait(hv(b, a), aio::return_when::all_completed, 0.1s));
  EXPECT_EQ(ids(done), ids_of(a));
  EXPECT_EQ(ids(pending), ids_of(b));
  loop.run_until_complete(aio::wait(hv(a, b)));
}

// test_tasks.BaseTaskTests.test_wait_generator
TEST(CpyWait, WaitManyTasks) {
  aio_test::test_loop loop;
  loop.run_until_complete([]() -> aio::task<void> {
    std::vector<aio::task_handle<int>> tasks;
    for (int i = 0; i < 10; ++i) {
      tasks.push_back(aio::create_task([](int a) -> aio::task<int> { co_return a; }(i)));
    }
    auto [done, pending] = co_await aio::wait(tasks, aio::return_when::all_completed);
    EXPECT_EQ(done.size(), 10u);
    EXPECT_EQ(pending.size(), 0u);
  }());
}

// test_tasks.BaseTaskTests.test_yield_wait_does_not_shield_cancel
TEST(CpyWait, YieldWaitDoesNotShieldCancel) {
  // Cancelling outer() makes wait() return early, leaves inner() running.
  aio_test::test_loop loop;
  int proof = 0;
  future<int> waiter(loop);
  auto f = loop.create_task([](future<int> waiter, int& proof) -> aio::task<void> {
    auto inner = aio::create_task([](future<int> waiter, int& proof) -> aio::task<void> {
      co_await waiter;
      proof += 1;
    }(waiter, proof));
    co_await aio::wait(hv(inner));
    proof += 100;
  }(waiter, proof));
  run_briefly(loop);
  f.cancel();
  EXPECT_THROW(loop.run_until_complete(f), aio::cancelled_error);
  waiter.set_result(0);
  run_briefly(loop);
  EXPECT_EQ(proof, 1);
}

// ============================================================================== CpyAsCompleted

// test_tasks.BaseTaskTests.test_as_completed
TEST(CpyAsCompleted, AsCompleted) {
  aio_test::test_loop loop;
  auto res = loop.run_until_complete([]() -> aio::task<std::vector<std::string>> {
    std::vector<aio::task_handle<std::string>> fs{
        aio::create_task(value_after<std::string>(0.01, "b")),
        aio::create_task(value_after<std::string>(0.15, "c")),
        aio::create_task(value_after<std::string>(0.01, "a"))};
    std::vector<std::string> values;
    aio::as_completed<std::string> ac(fs);
    for (int i = 0; i < 10 && !ac.empty(); ++i) values.push_back((co_await ac.next()).result());
    co_return values;
  }());
  ASSERT_EQ(res.size(), 3u);
  EXPECT_TRUE(std::count(res.begin(), res.begin() + 2, "a") == 1);
  EXPECT_TRUE(std::count(res.begin(), res.begin() + 2, "b") == 1);
  EXPECT_EQ(res[2], "c");
}

// test_tasks.BaseTaskTests.test_as_completed_same_tasks_in_as_out
TEST(CpyAsCompleted, SameTasksInAsOut) {
  aio_test::test_loop loop;
  loop.run_until_complete([]() -> aio::task<void> {
    auto coro = [](std::string s) -> aio::task<std::string> { co_return s; };
    std::vector<aio::task_handle<std::string>> in{aio::create_task(coro("b")),
                                                  aio::create_task(coro("d"))};
    aio::as_completed<std::string> ac(in);
    std::set<const void*> out;
    for (int i = 0; i < 5 && !ac.empty(); ++i) out.insert((co_await ac.next()).base());
    EXPECT_EQ(out, ids(in));
  }());
}

// test_tasks.BaseTaskTests.test_as_completed_with_timeout
TEST(CpyAsCompleted, WithTimeout) {
  aio_test::test_loop loop;
  auto a = loop.create_task(value_after<std::string>(0.1, "a"));
  auto b = loop.create_task(value_after<std::string>(0.15, "b"));
  double t0 = loop.time();
  loop.run_until_complete(
      [](aio::task_handle<std::string> a, aio::task_handle<std::string> b) -> aio::task<void> {
        aio::as_completed<std::string> ac({a, b}, 0.12s);
        EXPECT_EQ((co_await ac.next()).result(), "a");
        EXPECT_THROW(co_await ac.next(), aio::timeout_error);
      }(a, b));
  EXPECT_NEAR(loop.time() - t0, 0.12, 0.005);
  loop.run_until_complete(aio::wait(hv(a, b)));
}

// test_tasks.BaseTaskTests.test_as_completed_with_unused_timeout
TEST(CpyAsCompleted, WithUnusedTimeout) {
  aio_test::test_loop loop;
  loop.run_until_complete([]() -> aio::task<void> {
    auto a = aio::create_task(value_after<std::string>(0.01, "a"));
    aio::as_completed<std::string> ac({a}, 1s);
    for (int i = 0; i < 5 && !ac.empty(); ++i) EXPECT_EQ((co_await ac.next()).result(), "a");
  }());
}

// test_tasks.BaseTaskTests.test_as_completed_resume_iterator
TEST(CpyAsCompleted, ResumeIterator) {
  aio_test::test_loop loop;
  auto results = loop.run_until_complete([]() -> aio::task<std::vector<int>> {
    auto coro = [](int i) -> aio::task<int> { co_return i; };
    std::vector<aio::task_handle<int>> fs;
    for (int i = 0; i < 4; ++i) fs.push_back(aio::create_task(coro(i)));
    aio::as_completed<int> it(fs);
    std::vector<int> collected;
    int iterations = 0;
    while (!it.empty()) {
      collected.push_back((co_await it.next()).result());
      if (++iterations == 2) break;
    }
    EXPECT_EQ(collected.size(), 2u);
    for (int i = 0; i < 5 && !it.empty(); ++i) collected.push_back((co_await it.next()).result());
    co_return collected;
  }());
  std::sort(results.begin(), results.end());
  EXPECT_EQ(results, (std::vector<int>{0, 1, 2, 3}));
}

// test_tasks.BaseTaskTests.test_as_completed_duplicate_coroutines
TEST(CpyAsCompleted, DuplicateTasks) {
  aio_test::test_loop loop;
  auto result = loop.run_until_complete([]() -> aio::task<std::vector<std::string>> {
    auto coro = [](std::string s) -> aio::task<std::string> { co_return s; };
    auto c = aio::create_task(coro("ham"));
    aio::as_completed<std::string> ac({c, c, aio::create_task(coro("spam"))});
    std::vector<std::string> result;
    for (int i = 0; i < 5 && !ac.empty(); ++i) result.push_back((co_await ac.next()).result());
    co_return result;
  }());
  EXPECT_EQ(std::set<std::string>(result.begin(), result.end()),
            (std::set<std::string>{"ham", "spam"}));
  EXPECT_EQ(result.size(), 2u);  // the task named twice is yielded once
}

// ============================================================================== CpyShield

namespace {
// The "inner" of the shield tests: asyncio passes a bare future; concur's shield takes a
// task, so the inner is a task that waits for a future the test controls.
aio::task_handle<int> inner_task(aio::event_loop& loop, future<int> fut) {
  return loop.create_task(aio_test::await_future(std::move(fut)));
}
}  // namespace

// test_tasks.BaseTaskTests.test_shield_result
TEST(CpyShield, ShieldResult) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto inner = inner_task(loop, fut);
  auto outer = aio::shield(inner);
  fut.set_result(42);
  EXPECT_EQ(loop.run_until_complete(std::move(outer)), 42);
}

// test_tasks.BaseTaskTests.test_shield_exception
TEST(CpyShield, ShieldException) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto inner = inner_task(loop, fut);
  auto outer = loop.create_task(aio::shield(inner));
  run_briefly(loop);
  fut.set_exception(std::make_exception_ptr(std::runtime_error("expected")));
  run_briefly(loop);
  ASSERT_TRUE(outer.done());
  try {
    std::rethrow_exception(outer.exception());
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "expected");
  }
}

// test_tasks.BaseTaskTests.test_shield_cancel_inner
TEST(CpyShield, ShieldCancelInner) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto inner = inner_task(loop, fut);
  auto outer = loop.create_task(aio::shield(inner));
  run_briefly(loop);
  inner.cancel();
  run_briefly(loop);
  EXPECT_TRUE(outer.cancelled());
}

// test_tasks.BaseTaskTests.test_shield_cancel_outer
TEST(CpyShield, ShieldCancelOuter) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto inner = inner_task(loop, fut);
  auto outer = loop.create_task(aio::shield(inner));
  run_briefly(loop);
  outer.cancel();
  run_briefly(loop);
  EXPECT_TRUE(outer.cancelled());
  EXPECT_FALSE(inner.done());
  EXPECT_FALSE(fut.cancelled());
  fut.set_result(0);
  run_briefly(loop);
}

// test_tasks.BaseTaskTests.test_shield_cancel_outer_result
TEST(CpyShield, ShieldCancelOuterResult) {
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    future<int> fut(loop);
    auto inner = inner_task(loop, fut);
    auto outer = loop.create_task(aio::shield(inner));
    run_briefly(loop);
    outer.cancel();
    run_briefly(loop);
    fut.set_result(1);
    run_briefly(loop);
    EXPECT_EQ(log.size(), 0u) << log.messages();
  }
  EXPECT_EQ(log.size(), 0u) << log.messages();
}

// test_tasks.BaseTaskTests.test_shield_cancel_outer_exception
TEST(CpyShield, ShieldCancelOuterException) {
  // 3.14: the shielded future's exception nobody will see is reported once, when it occurs.
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    future<int> fut(loop);
    auto inner = inner_task(loop, fut);
    auto outer = loop.create_task(aio::shield(inner));
    run_briefly(loop);
    outer.cancel();
    run_briefly(loop);
    fut.set_exception(std::make_exception_ptr(std::runtime_error("foo")));
    run_briefly(loop);
    EXPECT_EQ(log.size(), 1u) << log.messages();
  }
  EXPECT_EQ(log.size(), 1u) << log.messages();
}

// test_tasks.BaseTaskTests.test_shield_duplicate_log_once
TEST(CpyShield, ShieldDuplicateLogOnce) {
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    future<int> fut(loop);
    auto inner = inner_task(loop, fut);
    auto outer = loop.create_task(aio::shield(inner));
    run_briefly(loop);
    outer.cancel();
    run_briefly(loop);
    outer = loop.create_task(aio::shield(inner));
    run_briefly(loop);
    outer.cancel();
    run_briefly(loop);
    fut.set_exception(std::make_exception_ptr(std::runtime_error("foo")));
    run_briefly(loop);
    EXPECT_EQ(log.size(), 1u) << log.messages();
  }
  EXPECT_EQ(log.size(), 1u) << log.messages();
}

// test_tasks.BaseTaskTests.test_shield_shortcut
TEST(CpyShield, ShieldShortcut) {
  aio_test::test_loop loop;
  future<int> fut(loop);
  auto inner = inner_task(loop, fut);
  fut.set_result(42);
  loop.run_until_complete(inner);
  EXPECT_EQ(loop.run_until_complete(aio::shield(inner)), 42);
}

// test_tasks.BaseTaskTests.test_shield_effect
TEST(CpyShield, ShieldEffect) {
  // Cancelling outer() does not affect inner().
  aio_test::test_loop loop;
  int proof = 0;
  future<int> waiter(loop);
  struct coros {
    static aio::task<void> inner(future<int> waiter, int& proof) {
      co_await waiter;
      proof += 1;
    }
    static aio::task<void> outer(future<int> waiter, int& proof) {
      co_await aio::shield(inner(waiter, proof));
      proof += 100;
    }
  };
  auto f = loop.create_task(coros::outer(waiter, proof));
  run_briefly(loop);
  f.cancel();
  EXPECT_THROW(loop.run_until_complete(f), aio::cancelled_error);
  waiter.set_result(0);
  run_briefly(loop);
  EXPECT_EQ(proof, 1);
}

// test_tasks.BaseTaskTests.test_shield_gather
TEST(CpyShield, ShieldGather) {
  aio_test::test_loop loop;
  future<int> f1(loop);
  future<int> f2(loop);
  auto child1 = inner_task(loop, f1);
  auto child2 = inner_task(loop, f2);
  auto parent = loop.create_task(aio::gather(child1, child2));
  auto outer = loop.create_task(aio::shield(parent));
  run_briefly(loop);
  outer.cancel();
  run_briefly(loop);
  EXPECT_TRUE(outer.cancelled());
  f1.set_result(1);
  f2.set_result(2);
  aio_test::run_loop(loop, 2);
  ASSERT_TRUE(parent.done());
  EXPECT_EQ(parent.result(), std::make_tuple(1, 2));
}

// test_tasks.BaseTaskTests.test_gather_shield
TEST(CpyShield, GatherShield) {
  aio_test::test_loop loop;
  future<int> f1(loop);
  future<int> f2(loop);
  auto child1 = inner_task(loop, f1);
  auto child2 = inner_task(loop, f2);
  auto inner1 = loop.create_task(aio::shield(child1));
  auto inner2 = loop.create_task(aio::shield(child2));
  auto parent = loop.create_task(aio::gather(inner1, inner2));
  run_briefly(loop);
  parent.cancel();
  // This should cancel inner1 and inner2 but not child1 and child2.
  run_briefly(loop);
  EXPECT_TRUE(parent.done());
  EXPECT_THROW(parent.exception(), aio::cancelled_error);  // asyncio: exception() is a CancelledError
  EXPECT_TRUE(inner1.cancelled());
  EXPECT_TRUE(inner2.cancelled());
  EXPECT_FALSE(child1.done());
  EXPECT_FALSE(child2.done());
  f1.set_result(1);
  f2.set_result(2);
  run_briefly(loop);
}

// ============================================================================== CpyGather

namespace {
// CoroutineGatherTests: each future wrapped in a coroutine; gather runs in a task of its own
// (asyncio's gather returns a future that the test drives from outside the loop).
template <class... F>
auto gather_task(aio::event_loop& loop, F... fs) {
  return loop.create_task([](F... fs) -> aio::task<std::tuple<typename F::value_type...>> {
    co_return co_await aio::gather(aio_test::await_future(fs)...);
  }(fs...));
}
}  // namespace

// test_tasks.CoroutineGatherTests.test_success (GatherTestsBase._check_success)
TEST(CpyGather, Success) {
  aio_test::test_loop loop;
  future<int> a(loop), b(loop), c(loop);
  auto fut = loop.create_task([](future<int> a, future<int> b, future<int> c)
                                  -> aio::task<std::tuple<int, int, int>> {
    co_return co_await aio::gather(aio_test::await_future(a), aio_test::await_future(b),
                                   aio_test::await_future(c));
  }(a, b, c));
  run_briefly(loop);
  int called = 0;
  fut.add_done_callback([&called](const auto&) { ++called; });
  b.set_result(1);
  a.set_result(2);
  aio_test::run_loop(loop);
  EXPECT_EQ(called, 0);
  EXPECT_FALSE(fut.done());
  c.set_result(3);
  aio_test::run_loop(loop);
  EXPECT_EQ(called, 1);
  EXPECT_EQ(fut.result(), std::make_tuple(2, 1, 3));
}

// test_tasks.CoroutineGatherTests.test_result_exception_success
TEST(CpyGather, ResultExceptionSuccess) {
  aio_test::test_loop loop;
  future<int> a(loop), b(loop), c(loop);
  auto fut = loop.create_task([](future<int> a, future<int> b, future<int> c) -> aio::task<std::vector<int>> {
    auto [x, y, z] = co_await aio::gather(aio::return_exceptions, aio_test::await_future(a),
                                          aio_test::await_future(b), aio_test::await_future(c));
    co_return std::vector<int>{x.value(), y.value(), z.value()};
  }(a, b, c));
  run_briefly(loop);
  b.set_result(1);
  a.set_result(2);
  aio_test::run_loop(loop);
  EXPECT_FALSE(fut.done());
  c.set_result(3);
  aio_test::run_loop(loop);
  ASSERT_TRUE(fut.done());
  EXPECT_EQ(fut.result(), (std::vector<int>{2, 1, 3}));
}

// test_tasks.CoroutineGatherTests.test_one_exception
TEST(CpyGather, OneException) {
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    future<int> a(loop), b(loop), c(loop), d(loop), e(loop);
    auto fut = gather_task(loop, a, b, c, d, e);
    run_briefly(loop);
    int called = 0;
    fut.add_done_callback([&called](const auto&) { ++called; });
    a.set_result(1);
    b.set_exception(std::make_exception_ptr(zero_division()));
    aio_test::run_loop(loop);
    EXPECT_TRUE(fut.done());
    EXPECT_EQ(called, 1);
    EXPECT_THROW(std::rethrow_exception(fut.exception()), zero_division);
    // Does nothing (and nothing is reported as never retrieved):
    c.set_result(3);
    d.cancel();
    e.set_exception(std::make_exception_ptr(std::runtime_error("RuntimeError")));
    e.exception();
    aio_test::run_loop(loop);
  }
  EXPECT_EQ(log.size(), 0u) << log.messages();
}

// test_tasks.CoroutineGatherTests.test_return_exceptions
TEST(CpyGather, ReturnExceptions) {
  aio_test::test_loop loop;
  future<int> a(loop), b(loop), c(loop), d(loop);
  auto fut = loop.create_task(
      [](future<int> a, future<int> b, future<int> c, future<int> d)
          -> aio::task<std::tuple<aio::outcome<int>, aio::outcome<int>, aio::outcome<int>,
                                  aio::outcome<int>>> {
        co_return co_await aio::gather(aio::return_exceptions, aio_test::await_future(a),
                                       aio_test::await_future(b), aio_test::await_future(c),
                                       aio_test::await_future(d));
      }(a, b, c, d));
  run_briefly(loop);
  int called = 0;
  fut.add_done_callback([&called](const auto&) { ++called; });
  b.set_result(1);
  c.set_exception(std::make_exception_ptr(zero_division()));
  a.set_result(3);
  aio_test::run_loop(loop);
  EXPECT_FALSE(fut.done());
  d.set_exception(std::make_exception_ptr(std::runtime_error("RuntimeError")));
  aio_test::run_loop(loop);
  ASSERT_TRUE(fut.done());
  EXPECT_EQ(called, 1);
  auto res = fut.result();
  EXPECT_EQ(std::get<0>(res).value(), 3);
  EXPECT_EQ(std::get<1>(res).value(), 1);
  EXPECT_THROW(std::rethrow_exception(std::get<2>(res).exception()), zero_division);
  EXPECT_THROW(std::rethrow_exception(std::get<3>(res).exception()), std::runtime_error);
}

// test_tasks.FutureGatherTests.test_one_cancellation (children are tasks, not futures)
TEST(CpyGather, OneCancellation) {
  aio_test::test_loop loop;
  future<int> fa(loop), fb(loop), fc(loop), fd(loop), fe(loop);
  auto a = inner_task(loop, fa);
  auto b = inner_task(loop, fb);
  auto c = inner_task(loop, fc);
  auto d = inner_task(loop, fd);
  auto e = inner_task(loop, fe);
  bool got_cancelled = false;
  auto fut = loop.create_task(
      [](aio::task_handle<int> a, aio::task_handle<int> b, aio::task_handle<int> c,
         aio::task_handle<int> d, aio::task_handle<int> e, bool& got) -> aio::task<void> {
        try {
          co_await aio::gather(a, b, c, d, e);
        } catch (const aio::cancelled_error&) {
          got = true;  // asyncio: the gather's exception() is a CancelledError
        }
      }(a, b, c, d, e, got_cancelled));
  run_briefly(loop);
  fa.set_result(1);
  b.cancel();
  aio_test::run_loop(loop);
  EXPECT_TRUE(fut.done());
  EXPECT_TRUE(got_cancelled);
  // Does nothing
  fc.set_result(3);
  d.cancel();
  fe.set_exception(std::make_exception_ptr(std::runtime_error("RuntimeError")));
  aio_test::run_loop(loop);
  EXPECT_THROW(std::rethrow_exception(e.exception()), std::runtime_error);
}

// test_tasks.FutureGatherTests.test_result_exception_one_cancellation (children are tasks)
TEST(CpyGather, ResultExceptionOneCancellation) {
  aio_test::test_loop loop;
  std::vector<future<int>> fs;
  std::vector<aio::task_handle<int>> ts;
  for (int i = 0; i < 6; ++i) {
    fs.emplace_back(loop);
    ts.push_back(inner_task(loop, fs.back()));
  }
  auto fut = loop.create_task(
      [](std::vector<aio::task_handle<int>> ts) -> aio::task<std::vector<aio::outcome<int>>> {
        co_return co_await aio::gather(std::move(ts), aio::return_exceptions);
      }(ts));
  run_briefly(loop);
  int called = 0;
  fut.add_done_callback([&called](const auto&) { ++called; });
  fs[0].set_result(1);
  fs[1].set_exception(std::make_exception_ptr(zero_division()));
  ts[2].cancel();
  aio_test::run_loop(loop);
  EXPECT_FALSE(fut.done());
  fs[3].set_result(3);
  ts[4].cancel();
  fs[5].set_exception(std::make_exception_ptr(std::runtime_error("RuntimeError")));
  auto res = loop.run_until_complete(fut);
  ASSERT_EQ(res.size(), 6u);
  EXPECT_EQ(res[0].value(), 1);
  EXPECT_THROW(std::rethrow_exception(res[1].exception()), zero_division);
  EXPECT_THROW(std::rethrow_exception(res[2].exception()), aio::cancelled_error);
  EXPECT_EQ(res[3].value(), 3);
  EXPECT_THROW(std::rethrow_exception(res[4].exception()), aio::cancelled_error);
  EXPECT_THROW(std::rethrow_exception(res[5].exception()), std::runtime_error);
  aio_test::run_loop(loop, 1);
  EXPECT_EQ(called, 1);
}

// test_tasks.CoroutineGatherTests.test_duplicate_coroutines (a task named several times)
TEST(CpyGather, DuplicateTasks) {
  aio_test::test_loop loop;
  auto res = loop.run_until_complete([]() -> aio::task<std::tuple<std::string, std::string, std::string, std::string>> {
    auto coro = [](std::string s) -> aio::task<std::string> { co_return s; };
    auto c = aio::create_task(coro("abc"));
    co_return co_await aio::gather(c, c, coro("def"), c);
  }());
  EXPECT_EQ(res, std::make_tuple(std::string("abc"), std::string("abc"), std::string("def"),
                                 std::string("abc")));
}

// test_tasks.CoroutineGatherTests.test_cancellation_broadcast
TEST(CpyGather, CancellationBroadcast) {
  // Cancelling outer() cancels all children.
  aio_test::test_loop loop;
  int proof = 0;
  future<int> waiter(loop);
  auto inner = [](future<int> waiter, int& proof) -> aio::task<void> {
    co_await waiter;
    proof += 1;
  };
  auto child1 = loop.create_task(inner(waiter, proof));
  auto child2 = loop.create_task(inner(waiter, proof));
  auto f = loop.create_task([](aio::task_handle<void> child1, aio::task_handle<void> child2,
                               int& proof) -> aio::task<void> {
    co_await aio::gather(child1, child2);
    proof += 100;
  }(child1, child2, proof));
  run_briefly(loop);
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(loop.run_until_complete(f), aio::cancelled_error);
  EXPECT_TRUE(waiter.cancelled());
  EXPECT_TRUE(child1.cancelled());
  EXPECT_TRUE(child2.cancelled());
  run_briefly(loop);
  EXPECT_EQ(proof, 0);
}

// test_tasks.CoroutineGatherTests.test_exception_marking
TEST(CpyGather, ExceptionMarking) {
  // The second failure, which happens after gather raised the first, is marked retrieved.
  aio_test::exception_log log;
  {
    aio_test::test_loop loop;
    log.install(loop);
    future<int> a(loop), b(loop);
    auto inner = [](future<int> f) -> aio::task<void> {
      co_await f;
      throw std::runtime_error("should not be ignored");
    };
    auto f = loop.create_task([](aio::task<void> ia, aio::task<void> ib) -> aio::task<void> {
      co_await aio::gather(std::move(ia), std::move(ib));
    }(inner(a), inner(b)));
    run_briefly(loop);
    a.set_result(0);
    run_briefly(loop);
    b.set_result(0);
    run_briefly(loop);
    ASSERT_TRUE(f.done());
    EXPECT_THROW(std::rethrow_exception(f.exception()), std::runtime_error);
    aio_test::run_loop(loop, 2);
  }
  EXPECT_EQ(log.size(), 0u) << log.messages();
}

// test_tasks.BaseTaskTests.test_cancel_gather_2 (the case without message)
TEST(CpyGather, CancelGather2) {
  aio_test::test_loop loop;
  auto main = []() -> aio::task<void> {
    auto qwe = aio::create_task([]() -> aio::task<void> {
      double time = 0;
      for (int i = 0; i < 100; ++i) {
        time += 0.05;
        co_await aio::gather(aio::return_exceptions, aio_test::sleep_task(0.05));
        if (time > 1) co_return;
      }
    }());
    co_await aio::sleep(0.2);
    qwe.cancel();
    co_await qwe;
  };
  EXPECT_THROW(loop.run_until_complete(main()), aio::cancelled_error);
}

// ============================================================================== CpyWaitFor

namespace {
constexpr double epsilon = 0.0001;  // test_waitfor._EPSILON

// test_waitfor.SlowTask: runs for TASK_TIMEOUT, ignoring cancel requests (on the loop's
// clock, so that it also works on virtual time).
struct slow_task {
  static constexpr double task_timeout = 0.2;
  bool exited = false;
  static aio::task<void> run(slow_task& self) {
    auto& loop = aio::get_running_loop();
    double exitat = loop.time() + task_timeout;
    for (int i = 0; i < 10000; ++i) {
      double tosleep = exitat - loop.time();
      if (tosleep <= 0) break;
      try {
        co_await aio::sleep(tosleep);
      } catch (const aio::cancelled_error&) {
      }
    }
    self.exited = true;
  }
};
}  // namespace

// test_waitfor.AsyncioWaitForTest.test_asyncio_wait_for_cancelled
TEST(CpyWaitFor, AsyncioWaitForCancelled) {
  aio_test::run([]() -> aio::task<void> {
    slow_task t;
    auto waitfortask = aio::create_task(
        aio::wait_for(slow_task::run(t), std::chrono::duration<double>(slow_task::task_timeout * 2)));
    co_await aio::sleep(0);
    waitfortask.cancel();
    co_await aio::wait(hv(waitfortask));
    EXPECT_TRUE(t.exited);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_asyncio_wait_for_timeout
TEST(CpyWaitFor, AsyncioWaitForTimeout) {
  aio_test::run([]() -> aio::task<void> {
    slow_task t;
    try {
      co_await aio::wait_for(slow_task::run(t),
                             std::chrono::duration<double>(slow_task::task_timeout / 2));
    } catch (const aio::timeout_error&) {
    }
    EXPECT_TRUE(t.exited);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_timeout_less_then_0_or_0_future_done
TEST(CpyWaitFor, TimeoutZeroTaskDone) {
  aio_test::run([]() -> aio::task<void> {
    auto fut = aio::create_task([]() -> aio::task<std::string> { co_return "done"; }());
    co_await aio::sleep(0);
    CO_ASSERT_EQ(fut.done(), true);
    auto ret = co_await aio::wait_for(fut, 0s);
    EXPECT_EQ(ret, "done");
    EXPECT_TRUE(fut.done());
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
TEST(CpyWaitFor, TimeoutZeroCoroutineNotStarted) {
  aio_test::run([]() -> aio::task<void> {
    bool foo_started = false;
    auto foo = [](bool& started) -> aio::task<void> {
      started = true;
      co_return;
    };
    EXPECT_THROW(co_await aio::wait_for(foo(foo_started), 0s), aio::timeout_error);
    EXPECT_FALSE(foo_started);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_timeout_less_then_0_or_0
TEST(CpyWaitFor, TimeoutZeroOrNegativeCancelsTask) {
  aio_test::run([]() -> aio::task<void> {
    for (auto timeout : {0ms, -1000ms}) {
      SCOPED_TRACE(timeout.count());
      int foo_running = -1;
      future<int> started;
      auto fut = aio::create_task([](int& running, future<int> started) -> aio::task<std::string> {
        running = 1;
        started.set_result(0);
        try {
          co_await aio::sleep(10);
        } catch (...) {
          running = 0;
          throw;
        }
        running = 0;
        co_return "done";
      }(foo_running, started));
      co_await started;
      EXPECT_THROW(co_await aio::wait_for(fut, timeout), aio::timeout_error);
      EXPECT_TRUE(fut.done());
      EXPECT_TRUE(fut.cancelled());  // cancelled because of the timeout
      EXPECT_EQ(foo_running, 0);
      if (!fut.done()) {
        fut.cancel();
        co_await aio::wait(hv(fut));
      }
    }
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for
TEST(CpyWaitFor, WaitFor) {
  aio_test::run([]() -> aio::task<void> {
    int foo_running = -1;
    auto fut = aio::create_task([](int& running) -> aio::task<std::string> {
      running = 1;
      try {
        co_await aio::sleep(300);  // support.LONG_TIMEOUT
      } catch (...) {
        running = 0;
        throw;
      }
      running = 0;
      co_return "done";
    }(foo_running));
    EXPECT_THROW(co_await aio::wait_for(fut, 0.1s), aio::timeout_error);
    EXPECT_TRUE(fut.done());
    EXPECT_TRUE(fut.cancelled());  // cancelled because of the timeout
    EXPECT_EQ(foo_running, 0);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_blocking (timeout=None: the largest duration)
TEST(CpyWaitFor, WaitForBlocking) {
  aio_test::run_bounded([]() -> aio::task<void> {
    auto coro = []() -> aio::task<std::string> { co_return "done"; };
    auto res = co_await aio::wait_for(coro(), aio::clock::duration::max());
    EXPECT_EQ(res, "done");
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_race_condition
TEST(CpyWaitFor, WaitForRaceCondition) {
  aio_test::run([]() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    future<std::string> fut;
    auto task = aio::wait_for(fut, 0.2s);
    loop.call_soon([fut]() mutable { fut.set_result("ok"); });
    auto res = co_await std::move(task);
    EXPECT_EQ(res, "ok");
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_cancellation_race_condition
TEST(CpyWaitFor, WaitForCancellationRaceCondition) {
  aio_test::run([]() -> aio::task<void> {
    auto inner = []() -> aio::task<int> {
      EXPECT_THROW(co_await aio::sleep(1), aio::cancelled_error);
      co_return 1;
    };
    int result = co_await aio::wait_for(inner(), 10ms);
    EXPECT_EQ(result, 1);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_waits_for_task_cancellation
TEST(CpyWaitFor, WaitForWaitsForTaskCancellation) {
  aio_test::run([]() -> aio::task<void> {
    bool task_done = false;
    auto inner_task = aio::create_task([](bool& task_done) -> aio::task<void> {
      bool cancelled = false;
      try {
        co_await aio::sleep(10);
      } catch (const aio::cancelled_error&) {
        cancelled = true;
      }
      if (cancelled) {
        co_await aio::sleep(epsilon);
        task_done = true;
        throw aio::cancelled_error();
      }
      task_done = true;
    }(task_done));
    EXPECT_THROW(co_await aio::wait_for(inner_task, std::chrono::duration<double>(epsilon)),
                 aio::timeout_error);
    EXPECT_TRUE(task_done);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_waits_for_task_cancellation_w_timeout_0
TEST(CpyWaitFor, WaitForWaitsForTaskCancellationTimeoutZero) {
  aio_test::run([]() -> aio::task<void> {
    bool task_done = false;
    auto foo = [](bool& task_done) -> aio::task<void> {
      auto inner_task = aio::create_task([](bool& task_done) -> aio::task<void> {
        bool cancelled = false;
        try {
          co_await aio::sleep(10);
        } catch (const aio::cancelled_error&) {
          cancelled = true;
        }
        if (cancelled) {
          co_await aio::sleep(epsilon);
          task_done = true;
          throw aio::cancelled_error();
        }
        task_done = true;
      }(task_done));
      co_await aio::sleep(epsilon);
      co_await aio::wait_for(inner_task, 0s);
    };
    EXPECT_THROW(co_await foo(task_done), aio::timeout_error);
    EXPECT_TRUE(task_done);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_reraises_exception_during_cancellation
TEST(CpyWaitFor, WaitForReraisesExceptionDuringCancellation) {
  struct foo_exception : std::runtime_error {
    foo_exception() : std::runtime_error("FooException") {}
  };
  aio_test::run([]() -> aio::task<void> {
    auto foo = []() -> aio::task<void> {
      auto inner_task = aio::create_task([]() -> aio::task<void> {
        try {
          co_await aio::sleep(0.2);
        } catch (...) {
        }
        throw foo_exception();  // finally: raise FooException
      }());
      co_await aio::wait_for(inner_task, std::chrono::duration<double>(epsilon));
    };
    EXPECT_THROW(co_await foo(), foo_exception);
  }());
}

namespace {
aio::task<void> cancel_wait_for(aio::clock::duration timeout) {
  auto& loop = aio::get_running_loop();
  auto task = aio::create_task([]() -> aio::task<void> {
    future<int> fut;
    co_await fut;  // blocks: fut's result is never set
  }());
  auto wait = aio::create_task(aio::wait_for(task, timeout));
  loop.call_soon([wait]() mutable { wait.cancel(); });
  EXPECT_THROW(co_await wait, aio::cancelled_error);
  // Python issue #23219: cancelling the wait must also cancel the task
  EXPECT_TRUE(task.cancelled());
  if (!task.done()) {
    task.cancel();
    co_await aio::wait(hv(task));
  }
}
}  // namespace

// test_waitfor.AsyncioWaitForTest.test_cancel_blocking_wait_for (timeout=None: the largest duration)
TEST(CpyWaitFor, CancelBlockingWaitFor) {
  aio_test::run_bounded(cancel_wait_for(aio::clock::duration::max()));
}

// test_waitfor.AsyncioWaitForTest.test_cancel_wait_for
TEST(CpyWaitFor, CancelWaitFor) { aio_test::run(cancel_wait_for(60s)); }

// test_waitfor.AsyncioWaitForTest.test_wait_for_cancel_suppressed
TEST(CpyWaitFor, WaitForCancelSuppressed) {
  aio_test::run([]() -> aio::task<void> {
    auto return_42 = []() -> aio::task<int> {
      try {
        co_await aio::sleep(10);
      } catch (const aio::cancelled_error&) {
        co_return 42;
      }
      co_return 0;
    };
    int res = co_await aio::wait_for(return_42(), 0.1s);
    EXPECT_EQ(res, 42);
  }());
}

// test_waitfor.AsyncioWaitForTest.test_wait_for_issue86296
TEST(CpyWaitFor, WaitForIssue86296) {
  // The task should get cancelled and not run to completion.
  aio_test::run([]() -> aio::task<void> {
    auto inner_task = aio::create_task([]() -> aio::task<std::string> { co_return "done"; }());
    bool reached_end = false;
    auto task = aio::create_task(
        [](aio::task_handle<std::string> inner, bool& reached_end) -> aio::task<void> {
          co_await aio::wait_for(inner, 100s);
          co_await aio::sleep(1);
          reached_end = true;
        }(inner_task, reached_end));
    EXPECT_FALSE(task.done());
    co_await aio::sleep(0);  // run the task
    task.cancel();
    EXPECT_THROW(co_await task, aio::cancelled_error);
    EXPECT_TRUE(inner_task.done());
    EXPECT_EQ(co_await inner_task, "done");
    EXPECT_FALSE(reached_end);
  }());
}

// test_waitfor.WaitForShieldTests.test_zero_timeout
TEST(CpyWaitFor, ShieldZeroTimeout) {
  aio_test::run([]() -> aio::task<void> {
    auto task = aio::create_task(value_after<std::string>(0.01, "done"));
    aio::task_handle<std::string> shielded_task;
    try {
      shielded_task = aio::create_task(aio::shield(task));
      co_await aio::wait_for(shielded_task, 0s);
      ADD_FAILURE() << "no timeout_error";
    } catch (const aio::timeout_error&) {
    }
    // The task is running in the background.
    EXPECT_FALSE(task.done());
    EXPECT_FALSE(task.cancelled());
    EXPECT_TRUE(shielded_task.cancelled());
    co_await aio::sleep(0.1);  // wait for the task to complete
    EXPECT_TRUE(task.done());
  }());
}

// test_waitfor.WaitForShieldTests.test_none_timeout (None: the largest duration)
TEST(CpyWaitFor, ShieldNoneTimeout) {
  aio_test::run_bounded([]() -> aio::task<void> {
    auto task = aio::create_task(value_after<std::string>(0.1, "done"));
    co_await aio::wait_for(aio::shield(task), aio::clock::duration::max());
    EXPECT_TRUE(task.done());
    EXPECT_EQ(co_await task, "done");
  }());
}

// test_waitfor.WaitForShieldTests.test_shielded_timeout
TEST(CpyWaitFor, ShieldedTimeout) {
  aio_test::run([]() -> aio::task<void> {
    auto task = aio::create_task(value_after<std::string>(0.1, "done"));
    EXPECT_THROW(co_await aio::wait_for(aio::shield(task), 10ms), aio::timeout_error);
    EXPECT_FALSE(task.done());
    EXPECT_FALSE(task.cancelled());
    EXPECT_EQ(co_await task, "done");
  }());
}

// ============================================================================== CpyRunCoroutineThreadsafe

namespace {
// RunCoroutineThreadsafeTests.add: waits 0.05 s and returns a + b.
aio::task<int> add(int a, int b, bool fail, bool cancel) {
  co_await aio::sleep(0.05);
  if (fail) throw std::runtime_error("Fail!");
  if (cancel) {
    aio_test::current_task()->cancel();
    co_await aio::sleep(0);
  }
  co_return a + b;
}

// What target() saw in its own thread (it has no loop: nothing may escape it).
struct target_report {
  int value = 0;
  std::string error;  // "runtime_error", "timeout_error", "concur::cancelled_error", "aio::cancelled_error"
  bool future_cancelled = false;
};

// RunCoroutineThreadsafeTests.target, run in a thread of the loop's default executor.
target_report target(aio::event_loop& loop, bool fail, bool cancel,
                     std::optional<std::chrono::milliseconds> timeout) {
  target_report r;
  auto future = aio::run_coroutine_threadsafe(add(1, 2, fail, cancel), loop);
  try {
    r.value = timeout ? future.result(*timeout) : future.result(10s);
  } catch (const concur::timeout_error&) {
    r.error = "timeout_error";
  } catch (const concur::cancelled_error&) {
    r.error = "concur::cancelled_error";
  } catch (const std::runtime_error& e) {
    r.error = std::string("runtime_error: ") + e.what();
  } catch (const aio::cancelled_error&) {
    r.error = "aio::cancelled_error";
  } catch (...) {
    r.error = "other";
  }
  // finally: future.done() or future.cancel()
  if (!future.done()) future.cancel();
  r.future_cancelled = future.cancelled();
  return r;
}

target_report run_target(aio::event_loop& loop, bool fail, bool cancel,
                         std::optional<std::chrono::milliseconds> timeout) {
  return loop.run_until_complete(
      [](aio::event_loop& loop, bool fail, bool cancel,
         std::optional<std::chrono::milliseconds> timeout) -> aio::task<target_report> {
        co_return co_await aio::to_thread(
            [&loop, fail, cancel, timeout] { return target(loop, fail, cancel, timeout); });
      }(loop, fail, cancel, timeout));
}
}  // namespace

// test_tasks.RunCoroutineThreadsafeTests.test_run_coroutine_threadsafe
TEST(CpyRunCoroutineThreadsafe, RunCoroutineThreadsafe) {
  aio::event_loop loop;
  auto r = run_target(loop, false, false, std::nullopt);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.value, 3);
}

// test_tasks.RunCoroutineThreadsafeTests.test_run_coroutine_threadsafe_with_exception
TEST(CpyRunCoroutineThreadsafe, WithException) {
  aio::event_loop loop;
  auto r = run_target(loop, true, false, std::nullopt);
  EXPECT_EQ(r.error, "runtime_error: Fail!");
}

// test_tasks.RunCoroutineThreadsafeTests.test_run_coroutine_threadsafe_with_timeout
TEST(CpyRunCoroutineThreadsafe, WithTimeout) {
  // The caller gives up and cancels the concurrent future: that cancels the task.
  aio::event_loop loop;
  auto r = run_target(loop, false, false, 0ms);
  EXPECT_EQ(r.error, "timeout_error");
  EXPECT_TRUE(r.future_cancelled);
  run_briefly(loop);
  // No pending task is left (add has been cancelled).
  EXPECT_EQ(loop.pending_task_count(), 0u);
}

// test_tasks.RunCoroutineThreadsafeTests.test_run_coroutine_threadsafe_task_cancelled
TEST(CpyRunCoroutineThreadsafe, TaskCancelled) {
  // The task is cancelled: the concurrent future is cancelled, and its result() raises the
  // futures module's cancelled_error (never aio::cancelled_error, in a thread with no loop).
  aio::event_loop loop;
  auto r = run_target(loop, false, true, std::nullopt);
  EXPECT_EQ(r.error, "concur::cancelled_error");
  EXPECT_TRUE(r.future_cancelled);
}

// asyncio.run_coroutine_threadsafe (futures._chain_future): cancelling the concurrent future
// cancels the task, also once it runs; test_run_coroutine_threadsafe_with_timeout without its
// race (there the future may be cancelled before the task even exists).
TEST(CpyRunCoroutineThreadsafe, CancelFutureCancelsRunningTask) {
  aio::event_loop loop;
  std::atomic<bool> started{false};
  bool saw_cancel = false;
  bool future_cancelled = false;
  std::string error;
  loop.run_until_complete([](aio::event_loop& loop, std::atomic<bool>& started, bool& saw_cancel,
                             bool& future_cancelled, std::string& error) -> aio::task<void> {
    co_await aio::to_thread([&] {
      auto f = aio::run_coroutine_threadsafe(
          [](std::atomic<bool>& started, bool& saw_cancel) -> aio::task<int> {
            started = true;
            try {
              co_await aio::sleep(10);
            } catch (const aio::cancelled_error&) {
              saw_cancel = true;
              throw;
            }
            co_return 1;
          }(started, saw_cancel),
          loop);
      for (int i = 0; i < 1000 && !started; ++i) std::this_thread::sleep_for(1ms);
      EXPECT_TRUE(started.load());
      EXPECT_TRUE(f.cancel());
      future_cancelled = f.cancelled();
      try {
        f.result(2s);
      } catch (const concur::cancelled_error&) {
        error = "concur::cancelled_error";
      } catch (const aio::cancelled_error&) {
        error = "aio::cancelled_error";
      } catch (...) {
        error = "other";
      }
    });
    // The cancellation reaches the loop through call_soon_threadsafe: give it a few rounds.
    for (int i = 0; i < 10 && !saw_cancel; ++i) co_await aio::sleep(0.01);
  }(loop, started, saw_cancel, future_cancelled, error));
  EXPECT_TRUE(future_cancelled);
  EXPECT_EQ(error, "concur::cancelled_error");
  EXPECT_TRUE(saw_cancel);
  aio_test::run_briefly(loop);
  EXPECT_EQ(loop.pending_task_count(), 0u);
}
