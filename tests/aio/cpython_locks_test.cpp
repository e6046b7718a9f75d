// CPython's Lib/test/test_asyncio/test_locks.py translated to concur::aio, case by case: the
// same tasks, the same sequence of awaits (asyncio.sleep(0) -> aio::sleep(0s)) and the same
// asserts on observable state. The expectations are asyncio's (3.13+) behaviour even where
// concur differs today. Asserts on private fields (lock._waiters, sem._wakeups, ...) are left
// out or replaced by an observable equivalent, as noted at each place.
//
// The state a case shares between its coroutines lives in the TEST body, and the coroutines are
// named lambdas there (the `async def`s nested in the Python case): they outlive aio::run, also
// the cancellation of tasks a failing case leaves behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <concur/aio.hpp>
#include <cstddef>
#include <exception>
#include <string>
#include <vector>

#include "aio/aio_test_support.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

using ints = std::vector<int>;

// BarrierTests.make_tasks: n tasks running coro().
template <class F>
auto make_tasks(std::size_t n, F& coro) {
  std::vector<decltype(aio::create_task(coro()))> tasks;
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(aio::create_task(coro()));
  return tasks;
}

// `asyncio.create_task(barrier.reset())` / `abort()`: ours are plain calls.
aio::task<void> reset_of(aio::barrier& b) {
  b.reset();
  co_return;
}
aio::task<void> abort_of(aio::barrier& b) {
  b.abort();
  co_return;
}

// Stands for the RuntimeError some barrier cases raise (concur's errors derive from
// std::runtime_error, so a distinct type keeps the handlers apart).
struct runtime_error_like {};

}  // namespace

// ============================================================================ Lock

// test_locks.LockTests.test_acquire
TEST(CpyLock, Acquire) {
  aio::lock lock;
  ints result;
  auto c = [&](int n) -> aio::task<bool> {
    co_await lock.acquire();  // asyncio's acquire() returns True: its `if` always holds
    result.push_back(n);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    co_await lock.acquire();
    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    lock.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});

    auto t3 = aio::create_task(c(3));

    lock.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{1, 2}));

    lock.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{1, 2, 3}));

    EXPECT_TRUE(t1.done());
    EXPECT_TRUE(t1.done() && t1.result());
    EXPECT_TRUE(t2.done());
    EXPECT_TRUE(t2.done() && t2.result());
    EXPECT_TRUE(t3.done());
    EXPECT_TRUE(t3.done() && t3.result());
  };
  aio_test::run(main());
}

// test_locks.LockTests.test_acquire_cancel
TEST(CpyLock, AcquireCancel) {
  aio::lock lock;
  auto main = [&]() -> aio::task<void> {
    co_await lock.acquire();

    auto task = aio::create_task(aio_test::as_task(lock.acquire()));
    aio::get_running_loop().call_soon([task]() mutable { task.cancel(); });
    EXPECT_THROW(co_await task, aio::cancelled_error);
    // CPython: assertFalse(lock._waiters). Observable: no waiter is left to take the lock.
    lock.release();
    EXPECT_FALSE(lock.locked());
  };
  aio_test::run(main());
}

// test_locks.LockTests.test_cancel_race
TEST(CpyLock, CancelRace) {
  // A has the lock, B and C wait; then B is cancelled while A releases: the lock must go to C.
  aio::lock lock;
  aio::event fa;  // the future A blocks on
  auto lockit = [&](aio::event* blocker) -> aio::task<void> {
    co_await lock.acquire();
    try {
      if (blocker != nullptr) co_await blocker->wait();
    } catch (...) {
      lock.release();
      throw;
    }
    lock.release();
  };
  auto main = [&]() -> aio::task<void> {
    auto ta = aio::create_task(lockit(&fa));
    co_await aio::sleep(0s);
    EXPECT_TRUE(lock.locked());
    auto tb = aio::create_task(lockit(nullptr));
    co_await aio::sleep(0s);
    // (CPython: assertEqual(len(lock._waiters), 1))
    auto tc = aio::create_task(lockit(nullptr));
    co_await aio::sleep(0s);
    // (CPython: assertEqual(len(lock._waiters), 2))

    fa.set();
    tb.cancel();
    // (CPython: assertTrue(lock._waiters[0].cancelled()))
    co_await aio::sleep(0s);
    // asyncio: A's release() unlocks; C is woken but has not run yet.
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(ta.done());
    EXPECT_TRUE(tb.cancelled());
    co_await aio::wait_for(tc, aio_test::hang_guard);
  };
  aio_test::run(main());
}

// test_locks.LockTests.test_cancel_release_race
TEST(CpyLock, CancelReleaseRace) {
  // Issue 32734: cancel the first waiter and release in the same callback; only one of the
  // remaining waiters may take the lock.
  aio::lock lock;
  int lock_count = 0;
  int call_count = 0;
  auto lockit = [&]() -> aio::task<void> {
    ++call_count;
    co_await lock.acquire();
    ++lock_count;
  };
  auto main = [&]() -> aio::task<void> {
    co_await lock.acquire();

    auto t1 = aio::create_task(lockit());
    auto t2 = aio::create_task(lockit());
    auto t3 = aio::create_task(lockit());

    co_await aio::sleep(0s);  // start the scheduled tasks

    aio::get_running_loop().call_soon([t1, &lock]() mutable {  // trigger()
      t1.cancel();
      lock.release();
    });
    EXPECT_THROW(co_await t1, aio::cancelled_error);

    EXPECT_EQ(lock_count, 1);
    EXPECT_EQ(call_count, 3);
    EXPECT_TRUE(t1.cancelled() && t2.done());

    t3.cancel();
    co_await aio::sleep(0s);
    EXPECT_TRUE(t3.cancelled());
  };
  aio_test::run(main());
}

// test_locks.LockTests.test_finished_waiter_cancelled
TEST(CpyLock, FinishedWaiterCancelled) {
  aio::lock lock;
  auto main = [&]() -> aio::task<void> {
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());

    auto tb = aio::create_task(aio_test::as_task(lock.acquire()));
    co_await aio::sleep(0s);
    // (CPython: assertEqual(len(lock._waiters), 1))

    // A second waiter; wake the first and cancel it: the second must get the lock.
    auto tc = aio::create_task(aio_test::as_task(lock.acquire()));
    tb.cancel();
    lock.release();
    co_await aio::sleep(0s);

    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(tb.cancelled());

    co_await aio::wait_for(tc, aio_test::hang_guard);
  };
  aio_test::run(main());
}

// test_locks.LockTests.test_release_not_acquired
TEST(CpyLock, ReleaseNotAcquired) {
  aio::lock lock;
  EXPECT_THROW(lock.release(), aio::invalid_state_error);
}

// test_locks.LockTests.test_release_no_waiters
TEST(CpyLock, ReleaseNoWaiters) {
  aio::lock lock;
  auto main = [&]() -> aio::task<void> {
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());

    lock.release();
    EXPECT_FALSE(lock.locked());
  };
  aio_test::run(main());
}

// test_locks.LockTests.test_context_manager
TEST(CpyLock, ContextManager) {
  aio::lock lock;
  auto main = [&]() -> aio::task<void> {
    EXPECT_FALSE(lock.locked());
    {
      auto held = co_await lock.scoped();
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
  };
  aio_test::run(main());
}

// ============================================================================ Event

// test_locks.EventTests.test_wait
TEST(CpyEvent, Wait) {
  aio::event ev;
  ints result;
  auto c = [&](int n) -> aio::task<void> {
    co_await ev.wait();  // returns True in asyncio
    result.push_back(n);
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_FALSE(ev.is_set());

    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    auto t3 = aio::create_task(c(3));

    ev.set();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{3, 1, 2}));

    EXPECT_TRUE(t1.done());
    if (t1.done()) {
      EXPECT_NO_THROW(t1.result());
    }
    EXPECT_TRUE(t2.done());
    if (t2.done()) {
      EXPECT_NO_THROW(t2.result());
    }
    EXPECT_TRUE(t3.done());
    if (t3.done()) {
      EXPECT_NO_THROW(t3.result());
    }
  };
  aio_test::run(main());
}

// test_locks.EventTests.test_wait_on_set
TEST(CpyEvent, WaitOnSet) {
  aio::event ev;
  auto main = [&]() -> aio::task<void> {
    ev.set();
    co_await ev.wait();  // True in asyncio; ours is void
  };
  aio_test::run(main());
}

// test_locks.EventTests.test_wait_cancel
TEST(CpyEvent, WaitCancel) {
  aio::event ev;
  auto main = [&]() -> aio::task<void> {
    auto wait = aio::create_task(aio_test::as_task(ev.wait()));
    aio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, aio::cancelled_error);
    // (CPython: assertFalse(ev._waiters); nothing observable corresponds to it)
  };
  aio_test::run(main());
}

// test_locks.EventTests.test_clear
TEST(CpyEvent, Clear) {
  aio::event ev;
  EXPECT_FALSE(ev.is_set());

  ev.set();
  EXPECT_TRUE(ev.is_set());

  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

// test_locks.EventTests.test_clear_with_waiters
TEST(CpyEvent, ClearWithWaiters) {
  aio::event ev;
  ints result;
  auto c1 = [&]() -> aio::task<bool> {
    co_await ev.wait();
    result.push_back(1);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t = aio::create_task(c1());
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    ev.set();
    ev.clear();
    EXPECT_FALSE(ev.is_set());

    ev.set();
    ev.set();
    // (CPython: assertEqual(1, len(ev._waiters)))

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});
    // (CPython: assertEqual(0, len(ev._waiters)))

    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.done() && t.result());
  };
  aio_test::run(main());
}

// ============================================================================ Condition

// test_locks.ConditionTests.test_wait
TEST(CpyCondition, Wait) {
  aio::condition cond;
  ints result;
  auto c = [&](int n) -> aio::task<bool> {
    co_await cond.acquire();
    co_await cond.wait();  // returns True in asyncio
    result.push_back(n);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));
    auto t3 = aio::create_task(c(3));

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});
    EXPECT_FALSE(cond.locked());

    co_await cond.acquire();
    cond.notify();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});
    EXPECT_TRUE(cond.locked());

    cond.notify(2);
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{1, 2}));
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{1, 2, 3}));
    EXPECT_TRUE(cond.locked());

    EXPECT_TRUE(t1.done());
    EXPECT_TRUE(t1.done() && t1.result());
    EXPECT_TRUE(t2.done());
    EXPECT_TRUE(t2.done() && t2.result());
    EXPECT_TRUE(t3.done());
    EXPECT_TRUE(t3.done() && t3.result());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_wait_cancel
TEST(CpyCondition, WaitCancel) {
  aio::condition cond;
  auto main = [&]() -> aio::task<void> {
    co_await cond.acquire();

    auto wait = aio::create_task(cond.wait());
    aio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, aio::cancelled_error);
    // (CPython: assertFalse(cond._waiters))
    EXPECT_TRUE(cond.locked());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_wait_cancel_contested
TEST(CpyCondition, WaitCancelContested) {
  aio::condition cond;
  auto main = [&]() -> aio::task<void> {
    co_await cond.acquire();
    EXPECT_TRUE(cond.locked());

    auto wait_task = aio::create_task(cond.wait());
    co_await aio::sleep(0s);
    EXPECT_FALSE(cond.locked());

    // Notify, but contest the lock before cancelling.
    co_await cond.acquire();
    EXPECT_TRUE(cond.locked());
    cond.notify();
    aio::get_running_loop().call_soon([wait_task]() mutable { wait_task.cancel(); });
    aio::get_running_loop().call_soon([&cond] { cond.release(); });

    try {
      co_await aio::wait_for(wait_task, aio_test::hang_guard);
    } catch (const aio::cancelled_error&) {
      // Should not happen, since there are no cancellation points (CPython's comment).
    }

    EXPECT_TRUE(cond.locked());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_wait_cancel_after_notify
TEST(CpyCondition, WaitCancelAfterNotify) {
  // bpo-32841
  bool waited = false;
  aio::condition cond;
  auto wait_on_cond = [&]() -> aio::task<void> {
    auto held = co_await cond.scoped();
    waited = true;  // make sure this area was reached
    co_await cond.wait();
  };
  auto main = [&]() -> aio::task<void> {
    auto waiter = aio::create_task(wait_on_cond());
    co_await aio::sleep(0s);  // start waiting

    co_await cond.acquire();
    cond.notify();
    co_await aio::sleep(0s);  // get to acquire()
    waiter.cancel();
    co_await aio::sleep(0s);  // activate cancellation
    cond.release();
    co_await aio::sleep(0s);  // cancellation should occur

    EXPECT_TRUE(waiter.cancelled());
    EXPECT_TRUE(waited);
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_wait_unacquired
TEST(CpyCondition, WaitUnacquired) {
  aio::condition cond;
  auto main = [&]() -> aio::task<void> {
    EXPECT_THROW(co_await cond.wait(), aio::invalid_state_error);
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_wait_for
TEST(CpyCondition, WaitFor) {
  aio::condition cond;
  bool presult = false;
  auto predicate = [&] { return presult; };
  ints result;
  auto c1 = [&]() -> aio::task<bool> {
    co_await cond.acquire();
    if (co_await cond.wait_for(predicate)) {
      result.push_back(1);
      cond.release();
    }
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t = aio::create_task(c1());

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    presult = true;
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});

    EXPECT_TRUE(t.done());
    EXPECT_TRUE(t.done() && t.result());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_wait_for_unacquired
TEST(CpyCondition, WaitForUnacquired) {
  aio::condition cond;
  auto main = [&]() -> aio::task<void> {
    // The predicate can be true at once; asyncio returns the predicate's value ([1, 2, 3]
    // there), not a bool.
    int res = co_await cond.wait_for([] { return 123; });
    EXPECT_EQ(res, 123);

    EXPECT_THROW(co_await cond.wait_for([] { return false; }), aio::invalid_state_error);
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_notify
TEST(CpyCondition, Notify) {
  aio::condition cond;
  ints result;
  auto c = [&](int n) -> aio::task<bool> {
    co_await cond.acquire();
    co_await cond.wait();  // True in asyncio
    result.push_back(n);
    cond.release();
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));
    auto t3 = aio::create_task(c(3));

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    co_await cond.acquire();
    cond.notify(1);
    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});

    co_await cond.acquire();
    cond.notify(1);
    cond.notify(2048);
    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{1, 2, 3}));

    EXPECT_TRUE(t1.done());
    EXPECT_TRUE(t1.done() && t1.result());
    EXPECT_TRUE(t2.done());
    EXPECT_TRUE(t2.done() && t2.result());
    EXPECT_TRUE(t3.done());
    EXPECT_TRUE(t3.done() && t3.result());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_notify_all
TEST(CpyCondition, NotifyAll) {
  aio::condition cond;
  ints result;
  auto c = [&](int n) -> aio::task<bool> {
    co_await cond.acquire();
    co_await cond.wait();
    result.push_back(n);
    cond.release();
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{});

    co_await cond.acquire();
    cond.notify_all();
    cond.release();
    co_await aio::sleep(0s);
    EXPECT_EQ(result, (ints{1, 2}));

    EXPECT_TRUE(t1.done());
    EXPECT_TRUE(t1.done() && t1.result());
    EXPECT_TRUE(t2.done());
    EXPECT_TRUE(t2.done() && t2.result());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_notify_unacquired
TEST(CpyCondition, NotifyUnacquired) {
  aio::condition cond;
  EXPECT_THROW(cond.notify(), aio::invalid_state_error);
}

// test_locks.ConditionTests.test_notify_all_unacquired
TEST(CpyCondition, NotifyAllUnacquired) {
  aio::condition cond;
  EXPECT_THROW(cond.notify_all(), aio::invalid_state_error);
}

// test_locks.ConditionTests.test_context_manager
TEST(CpyCondition, ContextManager) {
  aio::condition cond;
  auto main = [&]() -> aio::task<void> {
    EXPECT_FALSE(cond.locked());
    {
      auto held = co_await cond.scoped();
      EXPECT_TRUE(cond.locked());
    }
    EXPECT_FALSE(cond.locked());
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_explicit_lock
TEST(CpyCondition, ExplicitLock) {
  auto f = [](aio::lock& lock, aio::condition& cond) -> aio::task<void> {
    // (CPython: assertIs(cond._lock, lock); the locked() checks below observe it)
    EXPECT_FALSE(lock.locked());
    EXPECT_FALSE(cond.locked());
    {
      auto held = co_await cond.scoped();
      EXPECT_TRUE(lock.locked());
      EXPECT_TRUE(cond.locked());
    }
    EXPECT_FALSE(lock.locked());
    EXPECT_FALSE(cond.locked());
    {
      auto held = co_await lock.scoped();
      EXPECT_TRUE(lock.locked());
      EXPECT_TRUE(cond.locked());
    }
    EXPECT_FALSE(lock.locked());
    EXPECT_FALSE(cond.locked());
  };
  auto main = [&]() -> aio::task<void> {
    // f(), f(Lock()) and f(lock, Condition(lock)) are the same thing here: a condition over a
    // lock given to it.
    for (int variant = 0; variant < 3; ++variant) {
      aio::lock lock;
      aio::condition cond(lock);
      co_await f(lock, cond);
    }
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_timeout_in_block
TEST(CpyCondition, TimeoutInBlock) {
  aio::condition condition;
  auto main = [&]() -> aio::task<void> {
    auto held = co_await condition.scoped();
    EXPECT_THROW(co_await aio::wait_for(condition.wait(), 500ms), aio::timeout_error);
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_cancelled_error_wakeup
TEST(CpyCondition, CancelledErrorWakeup) {
  // A cancelled_error received while awaiting the wakeup is re-raised unmodified.
  bool wake = false;
  std::exception_ptr raised;
  aio::condition cond;
  auto func = [&]() -> aio::task<void> {
    auto held = co_await cond.scoped();
    try {
      co_await cond.wait_for([&] { return wake; });
      ADD_FAILURE() << "wait_for was not cancelled";
    } catch (const aio::cancelled_error&) {
      raised = std::current_exception();
    }
    if (raised) std::rethrow_exception(raised);
  };
  auto main = [&]() -> aio::task<void> {
    auto task = aio::create_task(func());
    co_await aio::sleep(0s);
    // The task waits on the condition: cancel it there. (CPython passes msg="foo" and checks
    // err.args; concur's cancel() takes no message.)
    task.cancel();
    try {
      co_await aio::wait_for(task, aio_test::hang_guard);
      ADD_FAILURE() << "the task was not cancelled";
    } catch (const aio::cancelled_error&) {
      // The same exception object as the one raised inside the task.
      EXPECT_TRUE(std::current_exception() == raised);
    }
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_cancelled_error_re_aquire
TEST(CpyCondition, CancelledErrorReAcquire) {
  // A cancelled_error received while re-acquiring the lock is re-raised unmodified.
  bool wake = false;
  std::exception_ptr raised;
  aio::condition cond;
  auto func = [&]() -> aio::task<void> {
    auto held = co_await cond.scoped();
    try {
      co_await cond.wait_for([&] { return wake; });
      ADD_FAILURE() << "wait_for was not cancelled";
    } catch (const aio::cancelled_error&) {
      raised = std::current_exception();
    }
    if (raised) std::rethrow_exception(raised);
  };
  auto main = [&]() -> aio::task<void> {
    auto task = aio::create_task(func());
    co_await aio::sleep(0s);
    // The task waits on the condition.
    co_await cond.acquire();
    wake = true;
    cond.notify();
    co_await aio::sleep(0s);
    // The task now tries to re-acquire the lock: cancel it there (CPython: msg="foo").
    task.cancel();
    cond.release();
    try {
      co_await aio::wait_for(task, aio_test::hang_guard);
      ADD_FAILURE() << "the task was not cancelled";
    } catch (const aio::cancelled_error&) {
      EXPECT_TRUE(std::current_exception() == raised);
    }
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_cancelled_wakeup
TEST(CpyCondition, CancelledWakeup) {
  // A task cancelled at the "same" time as notify() wakes it must not lose the wakeup: here the
  // cancel arrives while the woken task waits to run.
  aio::condition condition;
  int state = 0;
  auto consumer = [&]() -> aio::task<void> {
    auto held = co_await condition.scoped();
    for (int pass = 0; pass < 100; ++pass) {  // `while True`, bounded
      co_await condition.wait_for([&] { return state != 0; });
      if (state < 0) co_return;
      state -= 1;
    }
    ADD_FAILURE() << "consumer looped 100 times";
  };
  auto main = [&]() -> aio::task<void> {
    std::vector<aio::task_handle<void>> c;
    for (int i = 0; i < 2; ++i) c.push_back(aio::create_task(consumer()));
    co_await aio::sleep(0s);  // let them settle
    {
      auto held = co_await condition.scoped();
      // Produce one item and wake up one consumer.
      state += 1;
      condition.notify(1);

      // Cancel it while it is waiting to be run.
      c[0].cancel();

      // Wait for the item to be consumed: if it is not, the notify raced with the cancel.
      try {
        co_await aio::timeout(10ms, condition.wait_for([&] { return state == 0; }));
      } catch (const aio::timeout_error&) {
      }
      EXPECT_EQ(state, 0);

      // Clean up.
      state = -1;
      condition.notify_all();
    }
    co_await aio::wait_for(c[1], aio_test::hang_guard);
  };
  aio_test::run(main());
}

// test_locks.ConditionTests.test_cancelled_wakeup_relock
TEST(CpyCondition, CancelledWakeupRelock) {
  // As CancelledWakeup, but the cancel arrives while the woken task re-acquires the lock.
  aio::condition condition;
  int state = 0;
  auto consumer = [&]() -> aio::task<void> {
    auto held = co_await condition.scoped();
    for (int pass = 0; pass < 100; ++pass) {  // `while True`, bounded
      co_await condition.wait_for([&] { return state != 0; });
      if (state < 0) co_return;
      state -= 1;
    }
    ADD_FAILURE() << "consumer looped 100 times";
  };
  auto main = [&]() -> aio::task<void> {
    std::vector<aio::task_handle<void>> c;
    for (int i = 0; i < 2; ++i) c.push_back(aio::create_task(consumer()));
    co_await aio::sleep(0s);  // let them settle
    {
      auto held = co_await condition.scoped();
      // Produce one item and wake up one consumer.
      state += 1;
      condition.notify(1);

      // Let the woken task run and settle on re-acquiring the lock.
      co_await aio::sleep(0s);

      // Cancel it while it waits for the lock.
      c[0].cancel();

      try {
        co_await aio::timeout(10ms, condition.wait_for([&] { return state == 0; }));
      } catch (const aio::timeout_error&) {
      }
      EXPECT_EQ(state, 0);

      state = -1;
      condition.notify_all();
    }
    co_await aio::wait_for(c[1], aio_test::hang_guard);
  };
  aio_test::run(main());
}

// ============================================================================ Semaphore

// test_locks.SemaphoreTests.test_initial_value_zero
TEST(CpySemaphore, InitialValueZero) {
  aio::semaphore sem(0);
  EXPECT_TRUE(sem.locked());
}

// test_locks.SemaphoreTests.test_acquire
TEST(CpySemaphore, Acquire) {
  // sem._value is read through value().
  aio::semaphore sem(3);
  ints result;
  auto c = [&](int n) -> aio::task<bool> {
    co_await sem.acquire();
    result.push_back(n);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    co_await sem.acquire();
    co_await sem.acquire();
    EXPECT_FALSE(sem.locked());

    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));
    auto t3 = aio::create_task(c(3));

    co_await aio::sleep(0s);
    EXPECT_EQ(result, ints{1});
    EXPECT_TRUE(sem.locked());
    // (CPython: assertEqual(2, len(sem._waiters)))
    EXPECT_EQ(sem.value(), 0u);

    auto t4 = aio::create_task(c(4));

    sem.release();
    sem.release();
    EXPECT_EQ(sem.value(), 0u);

    co_await aio::sleep(0s);
    EXPECT_EQ(sem.value(), 0u);
    EXPECT_EQ(result.size(), 3u);
    EXPECT_TRUE(sem.locked());
    // (CPython: assertEqual(1, len(sem._waiters)))
    EXPECT_EQ(sem.value(), 0u);

    EXPECT_TRUE(t1.done());
    EXPECT_TRUE(t1.done() && t1.result());
    std::vector<aio::task_handle<bool>> race_tasks{t2, t3, t4};
    auto done_tasks = std::count_if(race_tasks.begin(), race_tasks.end(),
                                    [](const auto& t) { return t.done() && t.result(); });
    EXPECT_EQ(done_tasks, 2);

    // Clean up the locked semaphore.
    sem.release();
    co_await aio::wait_for(aio::gather(race_tasks), aio_test::hang_guard);
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_cancel
TEST(CpySemaphore, AcquireCancel) {
  aio::semaphore sem;
  auto main = [&]() -> aio::task<void> {
    co_await sem.acquire();

    auto acquire = aio::create_task(aio_test::as_task(sem.acquire()));
    aio::get_running_loop().call_soon([acquire]() mutable { acquire.cancel(); });
    EXPECT_THROW(co_await acquire, aio::cancelled_error);
    // CPython: no live waiter is left in sem._waiters. Observable: the unit released now is
    // not handed to anyone.
    sem.release();
    EXPECT_EQ(sem.value(), 1u);
    EXPECT_FALSE(sem.locked());
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_cancel_before_awoken
TEST(CpySemaphore, AcquireCancelBeforeAwoken) {
  aio::semaphore sem(0);
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(aio_test::as_task(sem.acquire()));
    auto t2 = aio::create_task(aio_test::as_task(sem.acquire()));
    auto t3 = aio::create_task(aio_test::as_task(sem.acquire()));
    auto t4 = aio::create_task(aio_test::as_task(sem.acquire()));

    co_await aio::sleep(0s);

    t1.cancel();
    t2.cancel();
    sem.release();

    co_await aio::sleep(0s);
    co_await aio::sleep(0s);
    int num_done = static_cast<int>(t3.done()) + static_cast<int>(t4.done());
    EXPECT_EQ(num_done, 1);
    EXPECT_TRUE(t3.done());
    EXPECT_FALSE(t4.done());

    t3.cancel();
    t4.cancel();
    co_await aio::sleep(0s);
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_hang
TEST(CpySemaphore, AcquireHang) {
  aio::semaphore sem(0);
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(aio_test::as_task(sem.acquire()));
    auto t2 = aio::create_task(aio_test::as_task(sem.acquire()));
    co_await aio::sleep(0s);

    t1.cancel();
    sem.release();
    co_await aio::sleep(0s);
    co_await aio::sleep(0s);
    EXPECT_TRUE(sem.locked());
    EXPECT_TRUE(t2.done());
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_no_hang
TEST(CpySemaphore, AcquireNoHang) {
  aio::semaphore sem(1);
  aio::task_handle<void> t2;
  auto c1 = [&]() -> aio::task<void> {
    {
      auto held = co_await sem.scoped();
      co_await aio::sleep(0s);
    }
    t2.cancel();
  };
  auto c2 = [&]() -> aio::task<void> {
    auto held = co_await sem.scoped();
    ADD_FAILURE() << "c2 entered the semaphore although it was cancelled";  // assertFalse(True)
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c1());
    t2 = aio::create_task(c2());

    auto [r1, r2] = co_await aio::wait_for(aio::gather(aio::return_exceptions, t1, t2),
                                           aio_test::hang_guard);
    EXPECT_TRUE(r1.has_value());  // None
    EXPECT_TRUE(aio_test::holds<aio::cancelled_error>(r2.exception()));

    co_await aio::wait_for(sem.acquire(), 1s);
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_release_not_acquired
TEST(CpySemaphore, ReleaseNotAcquired) {
  aio::bounded_semaphore sem;
  EXPECT_THROW(sem.release(), aio::value_error);
}

// test_locks.SemaphoreTests.test_release_no_waiters
TEST(CpySemaphore, ReleaseNoWaiters) {
  aio::semaphore sem;
  auto main = [&]() -> aio::task<void> {
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());

    sem.release();
    EXPECT_FALSE(sem.locked());
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_fifo_order
TEST(CpySemaphore, AcquireFifoOrder) {
  aio::semaphore sem(1);
  std::vector<std::string> result;
  auto coro = [&](std::string tag) -> aio::task<void> {
    co_await sem.acquire();
    result.push_back(tag + "_1");
    co_await aio::sleep(10ms);
    sem.release();

    co_await sem.acquire();
    result.push_back(tag + "_2");
    co_await aio::sleep(10ms);
    sem.release();
  };
  auto body = [&](aio::task_group& tg) -> aio::task<void> {
    tg.create_task(coro("c1"));
    tg.create_task(coro("c2"));
    tg.create_task(coro("c3"));
    co_return;
  };
  auto main = [&]() -> aio::task<void> {
    co_await aio::wait_for(aio::with_task_group(body), aio_test::hang_guard);
    EXPECT_EQ(result, (std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_fifo_order_2
TEST(CpySemaphore, AcquireFifoOrder2) {
  aio::semaphore sem(1);
  ints result;
  auto c1 = [&]() -> aio::task<bool> {
    co_await sem.acquire();
    result.push_back(1);
    co_return true;
  };
  auto c2 = [&]() -> aio::task<bool> {
    co_await sem.acquire();
    result.push_back(2);
    sem.release();
    co_await sem.acquire();
    result.push_back(4);
    co_return true;
  };
  auto c3 = [&]() -> aio::task<bool> {
    co_await sem.acquire();
    result.push_back(3);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c1());
    auto t2 = aio::create_task(c2());
    auto t3 = aio::create_task(c3());

    co_await aio::sleep(0s);

    sem.release();
    sem.release();

    co_await aio::wait_for(aio::gather(t1, t2, t3), aio_test::hang_guard);
    EXPECT_EQ(result, (ints{1, 2, 3, 4}));
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_fifo_order_3
TEST(CpySemaphore, AcquireFifoOrder3) {
  aio::semaphore sem(0);
  ints result;
  auto c = [&](int n) -> aio::task<bool> {
    co_await sem.acquire();
    result.push_back(n);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c(1));
    auto t2 = aio::create_task(c(2));
    auto t3 = aio::create_task(c(3));

    co_await aio::sleep(0s);

    t1.cancel();

    co_await aio::sleep(0s);

    sem.release();
    sem.release();

    co_await aio::wait_for(aio::gather(aio::return_exceptions, t1, t2, t3), aio_test::hang_guard);
    EXPECT_EQ(result, (ints{2, 3}));
  };
  aio_test::run(main());
}

// test_locks.SemaphoreTests.test_acquire_fifo_order_4
TEST(CpySemaphore, AcquireFifoOrder4) {
  // A successful acquire() wakes up several tasks that waited in the queue due to FIFO rules.
  // (sem._value is read through value().)
  aio::semaphore sem(0);
  ints result;
  aio::task_handle<bool> t4;
  auto c4 = [&]() -> aio::task<bool> {
    result.push_back(4);
    co_return true;
  };
  auto c1 = [&]() -> aio::task<bool> {
    // The first task waits at once; c2 wakes it.
    EXPECT_EQ(sem.value(), 0u);
    co_await sem.acquire();
    // Every waiting task has been woken by now.
    EXPECT_EQ(sem.value(), 0u);
    // A fourth task: it must run after c3, not c2.
    t4 = aio::create_task(c4());
    result.push_back(1);
    co_return true;
  };
  auto c2 = [&]() -> aio::task<bool> {
    // Releases three times: for c1, c2 and c3.
    sem.release();
    sem.release();
    sem.release();
    EXPECT_EQ(sem.value(), 2u);
    // Locked, because c1 has not woken up yet.
    EXPECT_TRUE(sem.locked());
    co_await sem.acquire();
    result.push_back(2);
    co_return true;
  };
  auto c3 = [&]() -> aio::task<bool> {
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());
    result.push_back(3);
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(c1());
    auto t2 = aio::create_task(c2());
    auto t3 = aio::create_task(c3());

    co_await aio::sleep(0s);
    // Three tasks wait; the first was woken but has not resumed yet.
    EXPECT_EQ(sem.value(), 2u);
    // (CPython: assertEqual(len(sem._waiters) + sem._wakeups, 3))
    co_await aio::sleep(0s);

    if (!t4.valid()) {
      ADD_FAILURE() << "c1 did not create the fourth task";
      co_return;
    }
    co_await aio::wait_for(aio::gather(t1, t2, t3, t4), aio_test::hang_guard);
    EXPECT_EQ(result, (ints{1, 2, 3, 4}));
  };
  aio_test::run(main());
}

// ============================================================================ Barrier

// test_locks.BarrierTests.test_barrier_parties
TEST(CpyBarrier, BarrierParties) {
  EXPECT_THROW({ aio::barrier b(0); }, aio::value_error);
  // (Barrier(-4): a negative count does not exist for our std::size_t parameter.)
  aio::barrier b(5);
  EXPECT_EQ(b.parties(), 5u);
}

// test_locks.BarrierTests.test_context_manager
TEST(CpyBarrier, ContextManager) {
  const std::size_t N = 3;
  aio::barrier barrier(N);
  std::vector<std::size_t> results;
  auto coro = [&]() -> aio::task<void> {
    std::size_t i = co_await barrier.wait();  // `async with barrier as i`
    results.push_back(i);
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    std::sort(results.begin(), results.end());
    EXPECT_EQ(results, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_filling_one_task
TEST(CpyBarrier, FillingOneTask) {
  aio::barrier barrier(1);
  auto f = [&]() -> aio::task<bool> {
    co_await barrier.wait();
    co_return true;
  };
  auto main = [&]() -> aio::task<void> {
    bool ret = co_await f();

    EXPECT_TRUE(ret);
    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_filling_one_task_twice
TEST(CpyBarrier, FillingOneTaskTwice) {
  aio::barrier barrier(1);
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(aio_test::as_task(barrier.wait()));
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 0u);

    auto t2 = aio::create_task(aio_test::as_task(barrier.wait()));
    co_await aio::sleep(0s);

    EXPECT_TRUE(t1.done() && t2.done());
    if (t1.done() && t2.done()) {
      EXPECT_EQ(t1.result(), t2.result());
    }
    EXPECT_EQ(t1.done(), t2.done());

    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_filling_task_by_task
TEST(CpyBarrier, FillingTaskByTask) {
  aio::barrier barrier(3);
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(aio_test::as_task(barrier.wait()));
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 1u);
    // (CPython: assertIn("filling", repr(barrier)))

    auto t2 = aio::create_task(aio_test::as_task(barrier.wait()));
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 2u);

    auto t3 = aio::create_task(aio_test::as_task(barrier.wait()));
    co_await aio::sleep(0s);

    std::vector<aio::task_handle<std::size_t>> all{t1, t2, t3};
    co_await aio::wait_for(aio::wait(all), aio_test::hang_guard);

    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_filling_tasks_wait_twice
TEST(CpyBarrier, FillingTasksWaitTwice) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results;
  auto coro = [&]() -> aio::task<void> {
    co_await barrier.wait();
    results.push_back(true);

    co_await barrier.wait();
    results.push_back(false);
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_EQ(results.size(), N * 2);
    EXPECT_EQ(std::count(results.begin(), results.end(), true), 5);
    EXPECT_EQ(std::count(results.begin(), results.end(), false), 5);

    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_filling_tasks_check_return_value
TEST(CpyBarrier, FillingTasksCheckReturnValue) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  auto coro = [&]() -> aio::task<std::size_t> {
    co_await barrier.wait();
    results1.push_back(true);

    std::size_t i = co_await barrier.wait();
    results2.push_back(true);
    co_return i;
  };
  auto main = [&]() -> aio::task<void> {
    std::vector<std::size_t> res;
    EXPECT_NO_THROW(
        res = co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_EQ(results1.size(), N);
    EXPECT_EQ(results2.size(), N);
    std::sort(res.begin(), res.end());
    EXPECT_EQ(res, (std::vector<std::size_t>{0, 1, 2, 3, 4}));

    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_blocking_tasks_while_draining
TEST(CpyBarrier, BlockingTasksWhileDraining) {
  const std::size_t N = 5;
  const int rewait = 2;
  aio::barrier barrier(N);
  aio::barrier barrier_nowaiting(N - rewait);
  int rewait_n = rewait;
  auto coro = [&]() -> aio::task<void> {
    // First time waiting.
    co_await barrier.wait();

    // After waiting once for all tasks.
    if (rewait_n > 0) {
      rewait_n -= 1;
      // Wait again, only for the rewait tasks.
      co_await barrier.wait();
    } else {
      // Wait for the end of the draining state.
      co_await barrier_nowaiting.wait();
      // Wait for the other waiting tasks.
      co_await barrier.wait();
    }
  };
  auto main = [&]() -> aio::task<void> {
    // Success means barrier_nowaiting was waited for exactly N - rewait = 3 times.
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_filling_tasks_cancel_one
TEST(CpyBarrier, FillingTasksCancelOne) {
  aio::barrier barrier(3);
  std::vector<bool> results;
  auto coro = [&]() -> aio::task<void> {
    co_await barrier.wait();
    results.push_back(true);
  };
  auto main = [&]() -> aio::task<void> {
    auto t1 = aio::create_task(coro());
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 1u);

    auto t2 = aio::create_task(coro());
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 2u);

    t1.cancel();
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 1u);
    EXPECT_THROW(co_await t1, aio::cancelled_error);
    EXPECT_TRUE(t1.cancelled());

    auto t3 = aio::create_task(coro());
    co_await aio::sleep(0s);
    EXPECT_EQ(barrier.n_waiting(), 2u);

    auto t4 = aio::create_task(coro());
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(t2, t3, t4), aio_test::hang_guard));

    EXPECT_EQ(results.size(), 3u);
    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_reset_barrier
TEST(CpyBarrier, ResetBarrier) {
  aio::barrier barrier(1);
  auto main = [&]() -> aio::task<void> {
    auto t = aio::create_task(reset_of(barrier));
    co_await aio::sleep(0s);

    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_reset_barrier_while_tasks_waiting
TEST(CpyBarrier, ResetBarrierWhileTasksWaiting) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results;
  auto coro = [&]() -> aio::task<void> {
    try {
      co_await barrier.wait();
    } catch (const aio::broken_barrier_error&) {
      results.push_back(true);
    }
  };
  auto main = [&]() -> aio::task<void> {
    // N - 1 tasks waiting on a barrier of N parties.
    auto tasks = make_tasks(N - 1, coro);
    co_await aio::sleep(0s);

    // Reset the barrier.
    auto r = aio::create_task(reset_of(barrier));
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(tasks), aio_test::hang_guard));

    EXPECT_EQ(results.size(), N - 1);
    EXPECT_EQ(barrier.n_waiting(), 0u);
    // (CPython: assertNotIn("resetting", repr(barrier)))
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_reset_barrier_when_tasks_half_draining
TEST(CpyBarrier, ResetBarrierWhenTasksHalfDraining) {
  // CPython compares with barrier._count, the number of tasks not yet out of wait(); we count
  // the tasks that came out of it instead.
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  const std::size_t rest_of_tasks = N / 2;
  std::size_t exited = 0;
  auto coro = [&]() -> aio::task<void> {
    bool broke = false;
    try {
      co_await barrier.wait();
    } catch (const aio::broken_barrier_error&) {
      broke = true;
    }
    ++exited;
    if (broke) {
      // The waiting tasks land here.
      results1.push_back(true);
    } else if (rest_of_tasks == N - exited) {
      // A drained task, out of the barrier while rest_of_tasks are still in it.
      barrier.reset();
    }
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_EQ(results1, std::vector<bool>(rest_of_tasks, true));
    EXPECT_EQ(barrier.n_waiting(), 0u);
    // (CPython: assertNotIn("resetting", repr(barrier)))
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_reset_barrier_when_tasks_half_draining_half_blocking
TEST(CpyBarrier, ResetBarrierWhenTasksHalfDrainingHalfBlocking) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  const std::size_t blocking_tasks = N / 2;
  std::size_t count = 0;
  auto coro = [&]() -> aio::task<void> {
    bool broke = false;
    try {
      co_await barrier.wait();
    } catch (const aio::broken_barrier_error&) {
      broke = true;
    }
    if (broke) {
      // The tasks still waiting land here...
      results1.push_back(true);
      // ...and wait again to reach the parties.
      co_await barrier.wait();
    } else {
      count += 1;
      if (count > blocking_tasks) {
        // Reset now: the waiting tasks get broken_barrier_error.
        barrier.reset();
        // Then wait again to reach the parties.
        co_await barrier.wait();
      } else {
        try {
          co_await barrier.wait();
        } catch (const aio::broken_barrier_error&) {
          // Not reached: the blocked tasks go on waiting.
          results2.push_back(true);
        }
      }
    }
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_EQ(results1, std::vector<bool>(blocking_tasks, true));
    EXPECT_EQ(results2, std::vector<bool>{});
    EXPECT_EQ(barrier.n_waiting(), 0u);
    // (CPython: assertNotIn("resetting", repr(barrier)))
    EXPECT_FALSE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again
TEST(CpyBarrier, ResetBarrierWhileTasksWaitingAndWaitingAgain) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  auto coro1 = [&]() -> aio::task<void> {
    try {
      co_await barrier.wait();
    } catch (const aio::broken_barrier_error&) {
      results1.push_back(true);
    }
    // (`finally:` in CPython; no other exception reaches here in this case)
    co_await barrier.wait();
    results2.push_back(true);
  };
  auto coro2 = [&]() -> aio::task<void> {
    co_await barrier.wait();  // `async with barrier`
    results2.push_back(true);
  };
  auto main = [&]() -> aio::task<void> {
    auto tasks = make_tasks(N - 1, coro1);

    // Reset the barrier: the N - 1 waiting tasks get broken_barrier_error.
    auto r = aio::create_task(reset_of(barrier));
    co_await aio::sleep(0s);

    // Complete the tasks waiting again after the error.
    auto t = aio::create_task(coro2());

    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(tasks), aio_test::hang_guard));

    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(results1.size(), N - 1);
    EXPECT_EQ(results2.size(), N);

    EXPECT_EQ(barrier.n_waiting(), 0u);
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_reset_barrier_while_tasks_draining
TEST(CpyBarrier, ResetBarrierWhileTasksDraining) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  std::vector<bool> results3;
  std::size_t count = 0;
  auto coro = [&]() -> aio::task<void> {
    co_await barrier.wait();
    count += 1;
    if (count == N) {
      // The last task out of the barrier.
      barrier.reset();
      // Wait here to reach the parties.
      co_await barrier.wait();
    } else {
      bool failed = false;
      try {
        // Second wait.
        co_await barrier.wait();
      } catch (const std::exception&) {
        failed = true;  // never happens
      }
      // N - 1 tasks here.
      (failed ? results2 : results1).push_back(true);
    }

    // Pass the barrier once more: this last wait must complete.
    co_await barrier.wait();
    results3.push_back(true);
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(results1.size(), N - 1);
    EXPECT_EQ(results2.size(), 0u);
    EXPECT_EQ(results3.size(), N);

    EXPECT_EQ(barrier.n_waiting(), 0u);
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_abort_barrier
TEST(CpyBarrier, AbortBarrier) {
  aio::barrier barrier(1);
  auto main = [&]() -> aio::task<void> {
    auto t = aio::create_task(abort_of(barrier));
    co_await aio::sleep(0s);

    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_TRUE(barrier.broken());
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_abort_barrier_when_tasks_half_draining_half_blocking
TEST(CpyBarrier, AbortBarrierWhenTasksHalfDrainingHalfBlocking) {
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  const std::size_t blocking_tasks = N / 2;
  std::size_t count = 0;
  auto coro = [&]() -> aio::task<void> {
    bool broke = false;
    try {
      co_await barrier.wait();
    } catch (const aio::broken_barrier_error&) {
      broke = true;
    }
    if (broke) {
      // The tasks waiting to drain land here.
      results1.push_back(true);
    } else {
      count += 1;
      if (count > blocking_tasks) {
        // Abort now: every task gets broken_barrier_error.
        barrier.abort();
      } else {
        try {
          co_await barrier.wait();
        } catch (const aio::broken_barrier_error&) {
          // The blocked tasks (already drained) land here.
          results2.push_back(true);
        }
      }
    }
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_TRUE(barrier.broken());
    EXPECT_EQ(results1, std::vector<bool>(blocking_tasks, true));
    EXPECT_EQ(results2, std::vector<bool>(N - blocking_tasks - 1, true));
    EXPECT_EQ(barrier.n_waiting(), 0u);
    // (CPython: assertNotIn("resetting", repr(barrier)))
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_abort_barrier_when_exception
TEST(CpyBarrier, AbortBarrierWhenException) {
  // From threading.Barrier's tests (lock_tests.test_reset).
  const std::size_t N = 5;
  aio::barrier barrier(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  auto coro = [&]() -> aio::task<void> {
    bool raised = false;
    try {
      std::size_t i = co_await barrier.wait();  // `async with barrier as i`
      if (i == N / 2) throw runtime_error_like{};
      co_await barrier.wait();
      results1.push_back(true);
    } catch (const aio::broken_barrier_error&) {
      results2.push_back(true);
    } catch (const runtime_error_like&) {
      raised = true;
    }
    if (raised) barrier.abort();
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_TRUE(barrier.broken());
    EXPECT_EQ(results1.size(), 0u);
    EXPECT_EQ(results2.size(), N - 1);
    EXPECT_EQ(barrier.n_waiting(), 0u);
  };
  aio_test::run(main());
}

// test_locks.BarrierTests.test_abort_barrier_when_exception_then_resetting
TEST(CpyBarrier, AbortBarrierWhenExceptionThenResetting) {
  // From threading.Barrier's tests (lock_tests.test_abort_and_reset).
  const std::size_t N = 5;
  aio::barrier barrier1(N);
  aio::barrier barrier2(N);
  std::vector<bool> results1;
  std::vector<bool> results2;
  std::vector<bool> results3;
  auto coro = [&]() -> aio::task<void> {
    bool raised = false;
    try {
      std::size_t i = co_await barrier1.wait();
      if (i == N / 2) throw runtime_error_like{};
      co_await barrier1.wait();
      results1.push_back(true);
    } catch (const aio::broken_barrier_error&) {
      results2.push_back(true);
    } catch (const runtime_error_like&) {
      raised = true;
    }
    if (raised) barrier1.abort();

    // Synchronize and reset the barrier: everyone must have left it when we reset, and nobody
    // may enter it before the reset.
    std::size_t i = co_await barrier2.wait();
    if (i == N / 2) barrier1.reset();
    co_await barrier2.wait();
    co_await barrier1.wait();
    results3.push_back(true);
  };
  auto main = [&]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::wait_for(aio::gather(make_tasks(N, coro)), aio_test::hang_guard));

    EXPECT_FALSE(barrier1.broken());
    EXPECT_EQ(results1.size(), 0u);
    EXPECT_EQ(results2.size(), N - 1);
    EXPECT_EQ(results3.size(), N);

    EXPECT_EQ(barrier1.n_waiting(), 0u);
  };
  aio_test::run(main());
}
