#include <gtest/gtest.h>

#include <concur/aio.hpp>
#include <stdexcept>
#include <string>

#include "aio/aio_test_support.hpp"
#include "aio/co_assert.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

namespace {

aio::task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  co_return v;
}

aio::task<void> fail_after(std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  throw std::logic_error("child failed");
}

aio::task<void> forever() {
  for (;;) co_await aio::sleep(1h);
}

}  // namespace

TEST(AioGather, TupleOfMixedTypesInArgumentOrder) {
  auto main = []() -> aio::task<void> {
    auto h = aio::create_task(value_after(3, 1ms));
    auto [a, b, c, d] = co_await aio::gather(
        value_after(1, 3ms), h,
        []() -> aio::task<std::string> {
          co_await aio::sleep(0);
          co_return "s";
        }(),
        []() -> aio::task<void> { co_return; }());
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 3);
    EXPECT_EQ(c, "s");
    static_assert(std::is_same_v<decltype(d), std::monostate>);
    EXPECT_EQ(h.result(), 3);  // a handle's value is copied, not moved out
  };
  aio_test::run(main());
}

TEST(AioGather, RunsConcurrently) {
  auto main = []() -> aio::task<double> {
    auto& loop = aio::get_running_loop();
    double t0 = loop.time();
    std::vector<aio::task<int>> ts;
    for (int i = 0; i < 50; ++i) ts.push_back(value_after(i, 20ms));
    auto values = co_await aio::gather(std::move(ts));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(values[static_cast<std::size_t>(i)], i);
    co_return loop.time() - t0;
  };
  // Virtual time: exactly one 20 ms sleep; sequential would take 50 x 20 ms.
  double took = aio_test::run(main());
  EXPECT_NEAR(took, 0.020, 1e-6);
}

TEST(AioGather, FirstFailureRaisedOthersKeepRunning) {
  auto main = []() -> aio::task<void> {
    aio::event release;
    auto slow = aio::create_task([](aio::event& e) -> aio::task<int> {
      co_await e.wait();
      co_return 7;
    }(release));
    EXPECT_THROW(co_await aio::gather(fail_after(1ms), slow), std::logic_error);
    EXPECT_FALSE(slow.done());  // asyncio: gather does not cancel the others
    release.set();
    EXPECT_EQ(co_await slow, 7);
  };
  aio_test::run(main());
}

TEST(AioGather, ReturnExceptionsCollectsEverything) {
  auto main = []() -> aio::task<void> {
    auto [a, b] =
        co_await aio::gather(aio::return_exceptions, value_after(1, 1ms), fail_after(1ms));
    EXPECT_TRUE(a.has_value());
    EXPECT_EQ(a.value(), 1);
    EXPECT_FALSE(b.has_value());
    EXPECT_THROW(b.value(), std::logic_error);
    std::vector<aio::task<void>> ts;
    ts.push_back(fail_after(1ms));
    ts.push_back([]() -> aio::task<void> { co_return; }());
    auto outs = co_await aio::gather(std::move(ts), aio::return_exceptions);
    CO_ASSERT_EQ(outs.size(), 2u);
    EXPECT_FALSE(outs[0].has_value());
    EXPECT_TRUE(outs[1].has_value());
  };
  aio_test::run(main());
}

TEST(AioGather, CancellingTheAwaiterCancelsChildren) {
  auto main = []() -> aio::task<void> {
    auto c1 = aio::create_task(forever());
    auto c2 = aio::create_task(forever());
    auto parent =
        aio::create_task([](aio::task_handle<void> a, aio::task_handle<void> b) -> aio::task<void> {
          co_await aio::gather(a, b);
        }(c1, c2));
    co_await aio::sleep(1ms);
    parent.cancel();
    EXPECT_THROW(co_await parent, aio::cancelled_error);
    EXPECT_TRUE(c1.cancelled());
    EXPECT_TRUE(c2.cancelled());
  };
  aio_test::run(main());
}

TEST(AioGather, EmptyRange) {
  auto main = []() -> aio::task<void> {
    auto v = co_await aio::gather(std::vector<aio::task<int>>{});
    EXPECT_TRUE(v.empty());
  };
  aio_test::run(main());
}

TEST(AioTimeout, WaitForReturnsOrRaisesTimeout) {
  auto main = []() -> aio::task<void> {
    EXPECT_EQ(co_await aio::wait_for(value_after(4, 1ms), 1s), 4);
    EXPECT_THROW(co_await aio::wait_for(value_after(4, 1h), 5ms), aio::timeout_error);
    // A handle awaited under wait_for is cancelled on expiry, as in asyncio.
    auto h = aio::create_task(forever());
    EXPECT_THROW(co_await aio::wait_for(h, 2ms), aio::timeout_error);
    EXPECT_TRUE(h.cancelled());
    // The task is usable afterwards: no cancellation left pending.
    co_await aio::sleep(1ms);
    EXPECT_EQ(co_await aio::timeout(50ms, value_after(5, 0ms)), 5);
  };
  aio_test::run(main());
}

TEST(AioTimeout, ExternalCancelIsNotConvertedToTimeout) {
  auto main = []() -> aio::task<void> {
    auto t =
        aio::create_task([]() -> aio::task<void> { co_await aio::timeout(1h, aio::sleep(1h)); }());
    co_await aio::sleep(1ms);
    t.cancel();
    EXPECT_THROW(co_await t, aio::cancelled_error);
  };
  aio_test::run(main());
}

TEST(AioTimeout, NestedTimeoutsInnermostFires) {
  auto main = []() -> aio::task<int> {
    int which = 0;
    try {
      co_await aio::timeout(1s, [](int& which) -> aio::task<void> {
        try {
          co_await aio::timeout(2ms, aio::sleep(1h));
        } catch (const aio::timeout_error&) {
          which = 1;
        }
      }(which));
    } catch (const aio::timeout_error&) {
      which = 2;
    }
    co_return which;
  };
  EXPECT_EQ(aio_test::run(main()), 1);
}

TEST(AioWait, FirstCompletedAndAllCompleted) {
  auto main = []() -> aio::task<void> {
    aio::event release;
    std::vector<aio::task_handle<int>> hs{aio::create_task(value_after(1, 1ms)),
                                          aio::create_task([](aio::event& e) -> aio::task<int> {
                                            co_await e.wait();
                                            co_return 2;
                                          }(release))};
    auto r = co_await aio::wait(hs, aio::return_when::first_completed);
    CO_ASSERT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.done[0].result(), 1);
    EXPECT_EQ(r.pending.size(), 1u);
    release.set();
    auto r2 = co_await aio::wait(hs);
    EXPECT_EQ(r2.done.size(), 2u);
    EXPECT_TRUE(r2.pending.empty());
  };
  aio_test::run(main());
}

TEST(AioWait, FirstExceptionAndTimeout) {
  auto main = []() -> aio::task<void> {
    std::vector<aio::task_handle<void>> hs{aio::create_task(fail_after(1ms)),
                                           aio::create_task(forever())};
    auto r = co_await aio::wait(hs, aio::return_when::first_exception);
    CO_ASSERT_EQ(r.done.size(), 1u);
    EXPECT_NE(r.done[0].exception(), nullptr);
    auto r2 = co_await aio::wait(hs, aio::return_when::all_completed, 5ms);
    EXPECT_EQ(r2.pending.size(), 1u);
    EXPECT_FALSE(r2.pending[0].done());  // wait never cancels
    r2.pending[0].cancel();
    EXPECT_THROW(co_await aio::wait(std::vector<aio::task_handle<int>>{}), aio::value_error);
  };
  aio_test::run(main());
}

TEST(AioAsCompleted, YieldsInCompletionOrder) {
  auto main = []() -> aio::task<void> {
    std::vector<aio::task_handle<int>> hs{aio::create_task(value_after(3, 30ms)),
                                          aio::create_task(value_after(1, 1ms)),
                                          aio::create_task(value_after(2, 15ms))};
    aio::as_completed<int> ac(hs);
    std::vector<int> order;
    while (!ac.empty()) order.push_back((co_await ac.next()).result());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    aio::as_completed<int> slow({aio::create_task(value_after(9, 1h))}, 5ms);
    EXPECT_THROW(co_await slow.next(), aio::timeout_error);
  };
  aio_test::run(main());
}

TEST(AioAsCompleted, OrderIsCompletionOrderEvenWhenAllFinishedBeforeAsking) {
  auto main = []() -> aio::task<void> {
    std::vector<aio::task_handle<int>> hs{aio::create_task(value_after(2, 6ms)),
                                          aio::create_task(value_after(1, 1ms))};
    aio::as_completed<int> ac(hs);
    co_await aio::sleep(30ms);  // both are done before the first next()
    EXPECT_EQ((co_await ac.next()).result(), 1);
    EXPECT_EQ((co_await ac.next()).result(), 2);
    EXPECT_TRUE(ac.empty());
    EXPECT_THROW(co_await ac.next(), aio::invalid_state_error);
  };
  aio_test::run(main());
}

TEST(AioShield, CancelReachesOnlyTheAwaiter) {
  auto main = []() -> aio::task<void> {
    aio::event release;
    auto inner = aio::create_task([](aio::event& e) -> aio::task<int> {
      co_await e.wait();
      co_return 8;
    }(release));
    auto outer = aio::create_task([](aio::task_handle<int> inner) -> aio::task<int> {
      co_return co_await aio::shield(inner);
    }(inner));
    co_await aio::sleep(1ms);
    outer.cancel();
    EXPECT_THROW(co_await outer, aio::cancelled_error);
    EXPECT_FALSE(inner.done());
    release.set();
    EXPECT_EQ(co_await inner, 8);
  };
  aio_test::run(main());
}

TEST(AioTaskGroup, AllChildrenFinishBeforeGroupEnds) {
  auto main = []() -> aio::task<void> {
    int finished = 0;
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<void> {
      for (int i = 0; i < 5; ++i) {
        tg.create_task([](int& f, int i) -> aio::task<void> {
          co_await aio::sleep(std::chrono::milliseconds(i));
          ++f;
        }(finished, i));
      }
      co_return;
    });
    EXPECT_EQ(finished, 5);
  };
  aio_test::run(main());
}

TEST(AioTaskGroup, FirstFailureCancelsSiblingsAndBody) {
  auto main = []() -> aio::task<void> {
    aio::task_handle<void> sibling;
    bool body_interrupted = true;
    try {
      co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<void> {
        sibling = tg.create_task(forever());
        tg.create_task(fail_after(1ms));
        tg.create_task(fail_after(1ms));
        co_await aio::sleep(1h);  // interrupted by the failure
        body_interrupted = false;
      });
      ADD_FAILURE() << "no exception_group";
    } catch (const aio::exception_group& eg) {
      EXPECT_EQ(eg.exceptions().size(), 2u);
      for (auto& e : eg.exceptions()) EXPECT_THROW(std::rethrow_exception(e), std::logic_error);
    }
    EXPECT_TRUE(body_interrupted);
    EXPECT_TRUE(sibling.cancelled());
    // The owner is not left cancelled.
    co_await aio::sleep(1ms);
  };
  aio_test::run(main());
}

TEST(AioTaskGroup, CancellingOwnerCancelsChildren) {
  auto main = []() -> aio::task<void> {
    std::vector<aio::task_handle<void>> kids;
    auto owner = aio::create_task([](std::vector<aio::task_handle<void>>& kids) -> aio::task<void> {
      aio::task_group tg;
      kids.push_back(tg.create_task(forever()));
      kids.push_back(tg.create_task(forever()));
      co_await tg.wait();
    }(kids));
    co_await aio::sleep(1ms);
    owner.cancel();
    EXPECT_THROW(co_await owner, aio::cancelled_error);
    CO_ASSERT_EQ(kids.size(), 2u);
    EXPECT_TRUE(kids[0].cancelled());
    EXPECT_TRUE(kids[1].cancelled());
  };
  aio_test::run(main());
}
