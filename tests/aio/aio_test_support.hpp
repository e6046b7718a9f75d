#pragma once
// Helpers for the tests translated from CPython's asyncio test suite (cpython_*_test.cpp).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <concur/aio.hpp>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace aio_test {

// The one switch point for how a test runs its main coroutine: asyncio.run on virtual time
// (asyncio's own tests run on a test loop whose clock only moves when told to).
template <class T>
T run(concur::aio::task<T> t) {
  return concur::aio::run(std::move(t), concur::aio::run_options{.virtual_time = true});
}

// asyncio's test_utils.TestLoop / new_test_loop(): a loop on virtual time.
struct test_loop : concur::aio::event_loop {
  test_loop() { use_virtual_time(); }
};

// Bound for an await that only a bug can block forever: with asyncio's behaviour it completes
// at once, so a timeout here shows a divergence as a failure instead of a hang. (Virtual
// time: costs nothing.)
inline constexpr std::chrono::seconds hang_guard{60};

// `asyncio.create_task(lock.acquire())` and the like: wraps any awaitable (an acquire, a
// queue put, a barrier wait, ...) in a coroutine so it can be scheduled as a task.
template <class Aw>
concur::aio::task<concur::aio::detail::await_result_t<Aw>> as_task(Aw aw) {
  co_return co_await aw;
}

// True when `e` holds an exception of type E (isinstance on a gathered exception).
template <class E>
bool holds(const std::exception_ptr& e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
  }
  return false;
}

// Like run(), for a case that may hang on a bug (e.g. a timer that never fires): the loop runs
// in a thread of its own; if main is not done after `limit`, the loop is stopped (the test
// fails) instead of hanging the suite. Rethrows main's exception.
template <class T>
void run_bounded(concur::aio::task<T> main,
                 std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  test_loop loop;
  std::atomic<bool> finished{false};
  std::exception_ptr error;
  std::thread runner([&] {
    try {
      loop.run_until_complete(std::move(main));
    } catch (...) {
      error = std::current_exception();
    }
    loop.cancel_all_and_wait();
    finished = true;
  });
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!finished) {
    ADD_FAILURE() << "the loop hung: stopped after " << limit.count() << " ms";
    for (int i = 0; i < 1000 && !finished; ++i) {
      loop.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  runner.join();
  if (error) std::rethrow_exception(error);
}

// asyncio.current_task() as the raw task (the tests call its cancelling()).
inline concur::aio::detail::task_base* current_task() noexcept {
  return concur::aio::current_task().base();
}

// test_utils.run_briefly(loop) on a loop that is not running: asyncio's version runs two
// iterations (the no-op task's step, then the done callback that stops the loop).
inline void run_briefly(concur::aio::event_loop& loop) {
  loop.run_until_complete([]() -> concur::aio::task<void> { co_await concur::aio::sleep(0); }());
}

// GatherTestsBase._run_loop: "while loop._ready: run_briefly(loop)"; concur does not expose
// its ready queue, so a fixed (bounded) number of rounds.
inline void run_loop(concur::aio::event_loop& loop, int rounds = 5) {
  for (int i = 0; i < rounds; ++i) run_briefly(loop);
}

// asyncio.sleep(delay) as a coroutine of its own (for loop.run_until_complete(...)).
inline concur::aio::task<void> sleep_task(double seconds) {
  co_await concur::aio::sleep(seconds);
}

// Records what reaches a loop's exception handler. Create it before the loop.
struct exception_log {
  std::vector<concur::aio::exception_context> entries;
  void install(concur::aio::event_loop& loop) {
    loop.set_exception_handler([this](concur::aio::event_loop&,
                                      const concur::aio::exception_context& ctx) {
      entries.push_back(ctx);
    });
  }
  std::size_t size() const noexcept { return entries.size(); }
  std::string messages() const {
    std::string s;
    for (auto& e : entries) s += "[" + e.message + " | " + e.task_name + "] ";
    return s;
  }
};

// asyncio.Future is aio::future.
template <class T>
using future = concur::aio::future<T>;

// A coroutine that awaits a future and returns its value (CoroutineGatherTests.wrap_futures).
template <class T>
concur::aio::task<T> await_future(future<T> f) {
  co_return co_await f;
}

}  // namespace aio_test
