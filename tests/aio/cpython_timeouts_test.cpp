// CPython's Lib/test/test_asyncio/test_timeouts.py, translated case by case. asyncio's
// `async with asyncio.timeout(d): <block>` is aio::timeout(d, <block as a coroutine>).
// Expectations are asyncio's behaviour, except the divergence decided for concur: a scope
// whose deadline has already passed raises timeout_error without starting its coroutine.
#include <gtest/gtest.h>

#include <chrono>
#include <concur/aio.hpp>
#include <stdexcept>
#include <thread>

#include "aio/aio_test_support.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {
struct zero_division : std::runtime_error {
  zero_division() : std::runtime_error("division by zero") {}
};
struct key_error : std::runtime_error {
  key_error() : std::runtime_error("KeyError") {}
};
struct value_error : std::runtime_error {
  value_error() : std::runtime_error("ValueError") {}
};
}  // namespace

// test_timeouts.TimeoutTests.test_timeout_basic
TEST(CpyTimeout, TimeoutBasic) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(10ms, aio::sleep(10)), aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_at_basic
TEST(CpyTimeout, TimeoutAtBasic) {
  aio_test::run([]() -> aio::task<void> {
    auto deadline = aio::get_running_loop().now() + 10ms;
    EXPECT_THROW(co_await aio::timeout_at(deadline, aio::sleep(10)), aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_nested_timeouts
TEST(CpyTimeout, NestedTimeouts) {
  // Only the outermost scope raises TimeoutError; the inner one lets CancelledError through.
  aio_test::run([]() -> aio::task<void> {
    bool cancelled = false;
    auto deadline = aio::get_running_loop().now() + 10ms;
    EXPECT_THROW(co_await aio::timeout_at(
                     deadline,
                     [](aio::clock::time_point deadline, bool& cancelled) -> aio::task<void> {
                       try {
                         co_await aio::timeout_at(deadline, aio::sleep(10));
                       } catch (const aio::cancelled_error&) {
                         cancelled = true;
                         throw;
                       }
                     }(deadline, cancelled)),
                 aio::timeout_error);
    EXPECT_TRUE(cancelled);
  }());
}

// test_timeouts.TimeoutTests.test_waiter_cancelled
TEST(CpyTimeout, WaiterCancelled) {
  aio_test::run([]() -> aio::task<void> {
    bool cancelled = false;
    EXPECT_THROW(co_await aio::timeout(10ms, [](bool& cancelled) -> aio::task<void> {
                   try {
                     co_await aio::sleep(10);
                   } catch (const aio::cancelled_error&) {
                     cancelled = true;
                     throw;
                   }
                 }(cancelled)),
                 aio::timeout_error);
    EXPECT_TRUE(cancelled);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_not_called
TEST(CpyTimeout, TimeoutNotCalled) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::timeout(10s, aio::sleep(0.01)));
    // The task is usable afterwards: no cancellation is left behind.
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
    EXPECT_NO_THROW(co_await aio::sleep(0));
  }());
}

// test_timeouts.TimeoutTests.test_timeout_disabled (None: the largest duration)
TEST(CpyTimeout, TimeoutDisabled) {
  aio_test::run_bounded([]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::timeout(aio::clock::duration::max(), aio::sleep(0.01)));
  }());
}

// test_timeouts.TimeoutTests.test_timeout_at_disabled (None: the largest time point)
TEST(CpyTimeout, TimeoutAtDisabled) {
  aio_test::run_bounded([]() -> aio::task<void> {
    EXPECT_NO_THROW(co_await aio::timeout_at(aio::clock::time_point::max(), aio::sleep(0.01)));
  }());
}

// test_timeouts.TimeoutTests.test_timeout_zero
TEST(CpyTimeout, TimeoutZero) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(0s, aio::sleep(10)), aio::timeout_error);
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_zero (concur: the block is not started at all)
TEST(CpyTimeout, TimeoutZeroDoesNotStartTheBlock) {
  aio_test::run([]() -> aio::task<void> {
    bool started = false;
    EXPECT_THROW(co_await aio::timeout(0s, [](bool& started) -> aio::task<void> {
                   started = true;
                   co_await aio::sleep(10);
                 }(started)),
                 aio::timeout_error);
    EXPECT_FALSE(started);
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
    EXPECT_NO_THROW(co_await aio::sleep(0));
  }());
}

// test_timeouts.TimeoutTests.test_timeout_zero_sleep_zero
TEST(CpyTimeout, TimeoutZeroSleepZero) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(0s, aio::sleep(0)), aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_in_the_past_sleep_zero
TEST(CpyTimeout, TimeoutInThePastSleepZero) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(-11s, aio::sleep(0)), aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_foreign_exception_passed
TEST(CpyTimeout, ForeignExceptionPassed) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(10ms, []() -> aio::task<void> {
                   throw key_error();
                   co_return;
                 }()),
                 key_error);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_exception_context
TEST(CpyTimeout, TimeoutExceptionContext) {
  // try: 1/0 finally: await sleep(1) -> the sleep is cancelled: TimeoutError.
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(10ms, []() -> aio::task<void> {
                   std::exception_ptr pending;
                   try {
                     throw zero_division();
                   } catch (...) {
                     pending = std::current_exception();
                   }
                   co_await aio::sleep(1);  // finally:
                   std::rethrow_exception(pending);
                 }()),
                 aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_foreign_exception_on_timeout
TEST(CpyTimeout, ForeignExceptionOnTimeout) {
  aio_test::run([]() -> aio::task<void> {
    auto crash = []() -> aio::task<void> {
      try {
        co_await aio::sleep(1);
      } catch (...) {
      }
      throw zero_division();  // finally: 1/0
    };
    EXPECT_THROW(co_await aio::timeout(10ms, crash()), zero_division);
  }());
}

// test_timeouts.TimeoutTests.test_foreign_exception_on_timeout_2
TEST(CpyTimeout, ForeignExceptionOnTimeout2) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(10ms, []() -> aio::task<void> {
                   std::exception_ptr pending;
                   try {
                     throw value_error();
                   } catch (...) {
                     pending = std::current_exception();
                   }
                   try {
                     co_await aio::sleep(1);  // inner finally (cancelled here)
                   } catch (...) {
                     pending = std::current_exception();
                   }
                   // outer finally: try: raise KeyError finally: 1/0
                   try {
                     throw key_error();
                   } catch (...) {
                   }
                   throw zero_division();
                 }()),
                 zero_division);
  }());
}

// test_timeouts.TimeoutTests.test_foreign_cancel_doesnt_timeout_if_not_expired
TEST(CpyTimeout, ForeignCancelDoesntTimeoutIfNotExpired) {
  aio_test::run([]() -> aio::task<void> {
    auto t = aio::create_task([]() -> aio::task<void> {
      co_await aio::timeout(10s, []() -> aio::task<void> {
        aio_test::current_task()->cancel();
        co_await aio::sleep(10);
      }());
    }());
    EXPECT_THROW(co_await t, aio::cancelled_error);
    EXPECT_TRUE(t.cancelled());
  }());
}

// test_timeouts.TimeoutTests.test_outer_task_is_not_cancelled
TEST(CpyTimeout, OuterTaskIsNotCancelled) {
  aio_test::run([]() -> aio::task<void> {
    auto task = aio::create_task([]() -> aio::task<void> {
      EXPECT_THROW(co_await aio::timeout(1ms, aio::sleep(10)), aio::timeout_error);
    }());
    co_await task;
    EXPECT_FALSE(task.cancelled());
    EXPECT_TRUE(task.done());
  }());
}

// test_timeouts.TimeoutTests.test_nested_timeouts_concurrent
TEST(CpyTimeout, NestedTimeoutsConcurrent) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(2ms, []() -> aio::task<void> {
                   try {
                     co_await aio::timeout(0.1s, []() -> aio::task<void> {
                       std::this_thread::sleep_for(10ms);  // pretend we crunch some numbers
                       co_await aio::sleep(1);
                     }());
                   } catch (const aio::timeout_error&) {
                   }
                 }()),
                 aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_nested_timeouts_loop_busy
TEST(CpyTimeout, NestedTimeoutsLoopBusy) {
  // After the inner timeout comes an expensive operation the outer timeout should stop.
  aio_test::run([]() -> aio::task<void> {
    auto& loop = aio::get_running_loop();
    double t0 = loop.time();
    EXPECT_THROW(co_await aio::timeout(0.1s, []() -> aio::task<void> {  // (1)
                   try {
                     co_await aio::timeout(0.01s, []() -> aio::task<void> {  // (2)
                       std::this_thread::sleep_for(100ms);  // pretend the loop is busy
                       co_await aio::sleep(1);
                     }());
                   } catch (const aio::timeout_error&) {
                   }
                   // The TimeoutError was caught by (2); this sleep is interrupted by (1).
                   co_await aio::sleep(10);
                 }()),
                 aio::timeout_error);
    double t1 = loop.time();
    EXPECT_LE(t0, t1);
    EXPECT_LE(t1, t0 + 1);
  }());
}

// test_timeouts.TimeoutTests.test_nested_timeout_in_finally
TEST(CpyTimeout, NestedTimeoutInFinally) {
  aio_test::run([]() -> aio::task<void> {
    bool inner_timed_out = false;
    EXPECT_THROW(co_await aio::timeout(10ms, [](bool& inner_timed_out) -> aio::task<void> {
                   std::exception_ptr pending;
                   try {
                     co_await aio::sleep(1);
                   } catch (...) {
                     pending = std::current_exception();
                   }
                   // finally:
                   try {
                     co_await aio::timeout(10ms, aio::sleep(10));
                   } catch (const aio::timeout_error&) {
                     inner_timed_out = true;
                   }
                   if (pending) std::rethrow_exception(pending);
                 }(inner_timed_out)),
                 aio::timeout_error);
    EXPECT_TRUE(inner_timed_out);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_after_cancellation
TEST(CpyTimeout, TimeoutAfterCancellation) {
  aio_test::run([]() -> aio::task<void> {
    try {
      aio_test::current_task()->cancel();
      co_await aio::sleep(1);  // work which will be cancelled
    } catch (const aio::cancelled_error&) {
    }
    // finally:
    EXPECT_THROW(co_await aio::timeout(0s, aio::sleep(1)), aio::timeout_error);  // some cleanup
  }());
}

// test_timeouts.TimeoutTests.test_cancel_in_timeout_after_cancellation
TEST(CpyTimeout, CancelInTimeoutAfterCancellation) {
  aio_test::run([]() -> aio::task<void> {
    try {
      aio_test::current_task()->cancel();
      co_await aio::sleep(1);  // work which will be cancelled
    } catch (const aio::cancelled_error&) {
    }
    // finally:
    EXPECT_THROW(co_await aio::timeout(1s, []() -> aio::task<void> {
                   aio_test::current_task()->cancel();
                   co_await aio::sleep(2);  // some cleanup
                 }()),
                 aio::cancelled_error);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_exception_cause (without the __cause__ check)
TEST(CpyTimeout, TimeoutExceptionCause) {
  aio_test::run([]() -> aio::task<void> {
    EXPECT_THROW(co_await aio::timeout(0s, aio::sleep(1)), aio::timeout_error);
  }());
}

// test_timeouts.TimeoutTests.test_timeout_taskgroup
TEST(CpyTimeout, TimeoutTaskGroup) {
  aio_test::run([]() -> aio::task<void> {
    auto task = []() -> aio::task<void> {
      try {
        co_await aio::sleep(2);  // interrupted after 0.01 s
      } catch (...) {
      }
      throw zero_division();  // crash in cleanup
    };
    try {
      co_await aio::timeout(10ms, aio::with_task_group([&](aio::task_group& tg) -> aio::task<void> {
                              tg.create_task(task());
                              std::exception_ptr pending;
                              try {
                                throw value_error();
                              } catch (...) {
                                pending = std::current_exception();
                              }
                              co_await aio::sleep(1);  // finally:
                              std::rethrow_exception(pending);
                            }));
      ADD_FAILURE() << "no exception_group";
    } catch (const aio::exception_group& eg) {
      EXPECT_EQ(eg.exceptions().size(), 1u);
      for (auto& e : eg.exceptions()) EXPECT_THROW(std::rethrow_exception(e), zero_division);
    }
    EXPECT_EQ(aio_test::current_task()->cancelling(), 0);
  }());
}
