#include <gtest/gtest.h>

#include <concur/aio.hpp>
#include <string>
#include <vector>

#include "aio/aio_test_support.hpp"
#include "aio/co_assert.hpp"

using namespace std::chrono_literals;
namespace aio = concur::aio;

TEST(AioLock, MutualExclusionAndFifoOrder) {
  auto main = []() -> aio::task<void> {
    aio::lock lk;
    std::vector<int> order;
    int inside = 0;
    int max_inside = 0;
    std::vector<aio::task<void>> ts;
    for (int i = 0; i < 5; ++i) {
      ts.push_back([](aio::lock& lk, std::vector<int>& order, int& inside, int& max_inside,
                      int i) -> aio::task<void> {
        auto held = co_await lk.scoped();
        ++inside;
        max_inside = std::max(max_inside, inside);
        order.push_back(i);
        co_await aio::sleep(1ms);
        --inside;
      }(lk, order, inside, max_inside, i));
    }
    co_await aio::gather(std::move(ts));
    EXPECT_EQ(max_inside, 1);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_FALSE(lk.locked());
    EXPECT_THROW(lk.release(), aio::invalid_state_error);
  };
  aio_test::run(main());
}

TEST(AioLock, CancelledWaiterDoesNotGetTheLock) {
  auto main = []() -> aio::task<void> {
    aio::lock lk;
    co_await lk.acquire();
    auto waiter = aio::create_task([](aio::lock& lk) -> aio::task<void> {
      co_await lk.acquire();
      lk.release();
    }(lk));
    co_await aio::sleep(1ms);
    waiter.cancel();
    EXPECT_THROW(co_await waiter, aio::cancelled_error);
    lk.release();
    EXPECT_FALSE(lk.locked());  // the lock was not handed to the cancelled waiter
  };
  aio_test::run(main());
}

TEST(AioEvent, SetWakesAllWaiters) {
  auto main = []() -> aio::task<void> {
    aio::event ev;
    int woken = 0;
    std::vector<aio::task_handle<void>> hs;
    for (int i = 0; i < 4; ++i) {
      hs.push_back(aio::create_task([](aio::event& ev, int& w) -> aio::task<void> {
        co_await ev.wait();
        ++w;
      }(ev, woken)));
    }
    co_await aio::sleep(1ms);
    EXPECT_EQ(woken, 0);
    EXPECT_FALSE(ev.is_set());
    ev.set();
    co_await aio::gather(std::move(hs));
    EXPECT_EQ(woken, 4);
    co_await ev.wait();  // already set: no suspension
    ev.clear();
    EXPECT_THROW(co_await aio::wait_for(ev.wait(), 2ms), aio::timeout_error);
  };
  aio_test::run(main());
}

TEST(AioCondition, NotifyAndWaitFor) {
  auto main = []() -> aio::task<void> {
    aio::condition cond;
    int value = 0;
    auto consumer = aio::create_task([](aio::condition& c, int& v) -> aio::task<int> {
      auto held = co_await c.scoped();
      co_await c.wait_for([&] { return v >= 3; });
      EXPECT_TRUE(c.locked());
      co_return v;
    }(cond, value));
    for (int i = 0; i < 3; ++i) {
      co_await aio::sleep(1ms);
      auto held = co_await cond.scoped();
      ++value;
      cond.notify_all();
    }
    EXPECT_EQ(co_await consumer, 3);
    EXPECT_THROW(cond.notify(), aio::invalid_state_error);
    EXPECT_THROW(co_await cond.wait(), aio::invalid_state_error);
  };
  aio_test::run(main());
}

TEST(AioCondition, CancelledWaitReacquiresLock) {
  auto main = []() -> aio::task<void> {
    aio::condition cond;
    bool held_after = false;
    auto t = aio::create_task([](aio::condition& c, bool& held_after) -> aio::task<void> {
      co_await c.acquire();
      try {
        co_await c.wait();
      } catch (const aio::cancelled_error&) {
        held_after = c.locked();
        c.release();
        throw;
      }
    }(cond, held_after));
    co_await aio::sleep(1ms);
    t.cancel();
    EXPECT_THROW(co_await t, aio::cancelled_error);
    EXPECT_TRUE(held_after);
    EXPECT_FALSE(cond.locked());
  };
  aio_test::run(main());
}

TEST(AioSemaphore, BoundsConcurrency) {
  auto main = []() -> aio::task<void> {
    aio::semaphore sem(3);
    int inside = 0;
    int max_inside = 0;
    std::vector<aio::task<void>> ts;
    for (int i = 0; i < 10; ++i) {
      ts.push_back([](aio::semaphore& s, int& in, int& mx) -> aio::task<void> {
        auto held = co_await s.scoped();
        mx = std::max(mx, ++in);
        co_await aio::sleep(2ms);
        --in;
      }(sem, inside, max_inside));
    }
    co_await aio::gather(std::move(ts));
    EXPECT_EQ(max_inside, 3);
    EXPECT_EQ(sem.value(), 3u);
  };
  aio_test::run(main());
}

TEST(AioSemaphore, BoundedReleaseTooOftenThrows) {
  auto main = []() -> aio::task<void> {
    aio::bounded_semaphore sem(2);
    EXPECT_THROW(sem.release(), aio::value_error);
    co_await sem.acquire();
    EXPECT_FALSE(sem.locked());
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());
    sem.release();
    sem.release();
    EXPECT_THROW(sem.release(), aio::value_error);
    aio::semaphore plain(0);
    plain.release();  // an unbounded semaphore may grow
    EXPECT_EQ(plain.value(), 1u);
  };
  aio_test::run(main());
}

TEST(AioBarrier, ReleasesAllPartiesWithDistinctIndices) {
  auto main = []() -> aio::task<void> {
    aio::barrier b(3);
    std::vector<std::size_t> idx;
    std::vector<aio::task<void>> ts;
    for (int i = 0; i < 3; ++i) {
      ts.push_back([](aio::barrier& b, std::vector<std::size_t>& idx, int i) -> aio::task<void> {
        co_await aio::sleep(std::chrono::milliseconds(i));
        idx.push_back(co_await b.wait());
      }(b, idx, i));
    }
    co_await aio::gather(std::move(ts));
    std::sort(idx.begin(), idx.end());
    EXPECT_EQ(idx, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(b.n_waiting(), 0u);
  };
  aio_test::run(main());
}

TEST(AioBarrier, AbortBreaksWaiters) {
  auto main = []() -> aio::task<void> {
    aio::barrier b(2);
    auto t = aio::create_task(
        [](aio::barrier& b) -> aio::task<std::size_t> { co_return co_await b.wait(); }(b));
    co_await aio::sleep(1ms);
    EXPECT_EQ(b.n_waiting(), 1u);
    b.abort();
    EXPECT_THROW(co_await t, aio::broken_barrier_error);
    EXPECT_TRUE(b.broken());
    EXPECT_THROW(co_await b.wait(), aio::broken_barrier_error);
    b.reset();
    EXPECT_FALSE(b.broken());
    EXPECT_THROW(aio::barrier(0), aio::value_error);
  };
  aio_test::run(main());
}

TEST(AioQueue, ProducerConsumerWithJoin) {
  auto main = []() -> aio::task<void> {
    aio::queue<int> q(2);
    std::vector<int> got;
    auto consumer =
        aio::create_task([](aio::queue<int>& q, std::vector<int>& got) -> aio::task<void> {
          for (;;) {
            got.push_back(co_await q.get());
            q.task_done();
          }
        }(q, got));
    for (int i = 0; i < 10; ++i) co_await q.put(i);
    co_await q.join();
    EXPECT_EQ(got.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
    consumer.cancel();
    EXPECT_THROW(q.task_done(), aio::value_error);
  };
  aio_test::run(main());
}

TEST(AioQueue, NowaitVariantsAndKinds) {
  aio::queue<int> q(1);
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
  q.put_nowait(1);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(2), aio::queue_full);
  EXPECT_EQ(q.get_nowait(), 1);

  aio::lifo_queue<int> lifo;
  for (int i = 0; i < 3; ++i) lifo.put_nowait(i);
  EXPECT_EQ(lifo.get_nowait(), 2);
  aio::priority_queue<std::pair<int, std::string>> pq;
  pq.put_nowait({3, "c"});
  pq.put_nowait({1, "a"});
  pq.put_nowait({2, "b"});
  EXPECT_EQ(pq.get_nowait().second, "a");
  EXPECT_EQ(pq.get_nowait().second, "b");
  EXPECT_EQ(pq.qsize(), 1u);
}

TEST(AioQueue, ShutdownWakesGettersAndPutters) {
  auto main = []() -> aio::task<void> {
    aio::queue<int> q(1);
    auto getter = aio::create_task(
        [](aio::queue<int>& q) -> aio::task<int> { co_return co_await q.get(); }(q));
    co_await aio::sleep(1ms);
    q.shutdown();
    EXPECT_THROW(co_await getter, aio::queue_shut_down);
    EXPECT_THROW(q.put_nowait(1), aio::queue_shut_down);

    aio::queue<int> q2(1);
    co_await q2.put(1);
    auto putter =
        aio::create_task([](aio::queue<int>& q) -> aio::task<void> { co_await q.put(2); }(q2));
    co_await aio::sleep(1ms);
    q2.shutdown(true);
    EXPECT_THROW(co_await putter, aio::queue_shut_down);
    EXPECT_TRUE(q2.empty());
    co_await q2.join();  // immediate shutdown counted the dropped item as done
    EXPECT_THROW(co_await q2.get(), aio::queue_shut_down);
  };
  aio_test::run(main());
}

TEST(AioQueue, CancelledGetterLosesNoItem) {
  auto main = []() -> aio::task<void> {
    aio::queue<int> q;
    auto g1 = aio::create_task(
        [](aio::queue<int>& q) -> aio::task<int> { co_return co_await q.get(); }(q));
    co_await aio::sleep(1ms);
    g1.cancel();
    q.put_nowait(5);  // same iteration as the cancel
    try {
      int v = co_await g1;
      EXPECT_EQ(v, 5);  // it got the item: fine
    } catch (const aio::cancelled_error&) {
      EXPECT_EQ(q.get_nowait(), 5);  // or the item stayed in the queue
    }
  };
  aio_test::run(main());
}
