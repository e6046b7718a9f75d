#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <concur/threading.hpp>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int kScale = 1;
#else
constexpr int kScale = 4;
#endif
#else
constexpr int kScale = 4;
#endif

// Gives a thread that should stay blocked a chance to misbehave; the assertions that follow
// hold for any scheduling, so this is not a timing condition.
void let_others_run() { std::this_thread::sleep_for(20ms); }

TEST(Queue, FifoOrderAndSizes) {
  concur::queue<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.maxsize(), 0u);
  for (int i = 0; i < 100; ++i) {
    q.put(i);
  }
  EXPECT_EQ(q.qsize(), 100u);
  EXPECT_FALSE(q.full());  // unbounded is never full
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(q.get(), i);
  }
  EXPECT_TRUE(q.empty());
}

TEST(Queue, LifoOrder) {
  concur::lifo_queue<int> q;
  for (int i = 0; i < 10; ++i) {
    q.put(i);
  }
  for (int i = 9; i >= 0; --i) {
    EXPECT_EQ(q.get(), i);
  }
}

TEST(Queue, PriorityOrderIsSmallestFirstLikePython) {
  concur::priority_queue<std::pair<int, std::string>> q;
  q.put(std::pair{3, std::string("low")});
  q.put({1, "urgent"});
  q.put({2, "normal"});
  q.put({1, "also urgent"});
  EXPECT_EQ(q.get().second, "also urgent");  // ties compare the payload, as tuples do in Python
  EXPECT_EQ(q.get().second, "urgent");
  EXPECT_EQ(q.get().second, "normal");
  EXPECT_EQ(q.get().second, "low");
}

TEST(Queue, PriorityWithGreaterIsLargestFirst) {
  concur::priority_queue<int, std::greater<int>> q;
  for (int v : {5, 1, 9, 3, 7}) {
    q.put(v);
  }
  std::vector<int> out;
  while (auto v = q.try_get()) {
    out.push_back(*v);
  }
  EXPECT_EQ(out, (std::vector<int>{9, 7, 5, 3, 1}));
}

TEST(Queue, PriorityWithStatefulComparatorAndManyItems) {
  // Orders by distance from a pivot chosen at run time.
  int pivot = 50;  // not const, so the lambda really carries state
  auto by_distance = [pivot](int a, int b) { return std::abs(a - pivot) < std::abs(b - pivot); };
  concur::basic_queue<concur::priority_storage<int, decltype(by_distance)>> q(
      0, concur::priority_storage<int, decltype(by_distance)>(by_distance));
  for (int i = 0; i <= 100; i += 7) {
    q.put(i);
  }
  int last = -1;
  while (auto v = q.try_get()) {
    EXPECT_GE(std::abs(*v - pivot), last);
    last = std::abs(*v - pivot);
  }
  EXPECT_EQ(last, 50);  // 0 and 100 are 50 away; 98 is 48 away; 0 is reached last
}

TEST(Queue, MoveOnlyItemsInEveryKind) {
  concur::queue<std::unique_ptr<int>> fifo(2);
  fifo.put(std::make_unique<int>(1));
  auto two = std::make_unique<int>(2);
  fifo.put(std::move(two));
  EXPECT_EQ(two, nullptr);  // moved in on success
  auto three = std::make_unique<int>(3);
  EXPECT_FALSE(fifo.try_put(std::move(three)));
  ASSERT_NE(three, nullptr);  // a failed put leaves the item with the caller
  EXPECT_THROW(fifo.put_nowait(std::move(three)), concur::queue_full_error);
  ASSERT_NE(three, nullptr);
  EXPECT_THROW(fifo.put(std::move(three), 1ms), concur::queue_full_error);
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(*fifo.get(), 1);
  EXPECT_EQ(*fifo.get_nowait(), 2);

  concur::lifo_queue<std::unique_ptr<int>> lifo;
  lifo.put(std::make_unique<int>(1));
  lifo.put(std::make_unique<int>(2));
  EXPECT_EQ(*lifo.get(), 2);

  auto deref_less = [](const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) {
    return *a < *b;
  };
  using storage = concur::priority_storage<std::unique_ptr<int>, decltype(deref_less)>;
  concur::basic_queue<storage> prio(0, storage(deref_less));
  for (int v : {4, 2, 8, 6}) {
    prio.put(std::make_unique<int>(v));
  }
  for (int v : {2, 4, 6, 8}) {
    EXPECT_EQ(*prio.get(), v);
  }
  auto last = prio.try_get(1ms);
  EXPECT_FALSE(last.has_value());
}

TEST(Queue, NowaitFormsThrowAndTryFormsReport) {
  concur::queue<int> q(1);
  EXPECT_THROW(q.get_nowait(), concur::queue_empty_error);
  EXPECT_FALSE(q.try_get().has_value());
  q.put_nowait(1);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(2), concur::queue_full_error);
  EXPECT_FALSE(q.try_put(2));
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get_nowait(), 1);
  // The errors are concur errors with a message.
  try {
    q.get_nowait();
    FAIL() << "get_nowait on an empty queue must throw";
  } catch (const concur::error& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  }
}

TEST(Queue, TimeoutsWaitThenThrow) {
  concur::queue<int> q(1);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(q.get(20ms), concur::queue_empty_error);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_FALSE(q.try_get(1ms).has_value());

  q.put(1);
  start = std::chrono::steady_clock::now();
  EXPECT_THROW(q.put(2, 20ms), concur::queue_full_error);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_FALSE(q.try_put(2, 1ms));
  EXPECT_EQ(q.unfinished_tasks(), 1u);  // failed puts count nothing
}

TEST(Queue, OddTimeoutsNeitherOverflowNorHang) {
  concur::queue<int> q;
  // Negative and NaN mean "don't wait".
  EXPECT_THROW(q.get(-5s), concur::queue_empty_error);
  EXPECT_FALSE(q.try_get(std::chrono::duration<double>(std::nan(""))).has_value());
  EXPECT_FALSE(q.try_get(std::chrono::duration<double>(-1e300)).has_value());
  // Huge ones are clamped instead of overflowing now() + timeout (UBSan would catch that).
  q.put(7);
  EXPECT_EQ(q.get(std::chrono::hours::max()), 7);
  q.put(8);
  EXPECT_EQ(q.try_get(std::chrono::duration<double>(1e300)), 8);
  std::jthread late([&] {
    let_others_run();
    q.put(9);
  });
  EXPECT_EQ(q.get(std::chrono::nanoseconds::max()), 9);
}

TEST(Queue, BoundedPutBlocksUntilAGetMakesRoom) {
  concur::queue<int> q(2);
  q.put(1);
  q.put(2);
  std::atomic<bool> put_returned{false};
  std::jthread producer([&] {
    q.put(3);
    put_returned = true;
  });
  let_others_run();
  EXPECT_FALSE(put_returned.load());
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_EQ(q.get(), 1);
  producer.join();
  EXPECT_TRUE(put_returned.load());
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
}

TEST(Queue, GetBlocksUntilAPut) {
  concur::queue<std::string> q;
  std::string got;
  std::jthread consumer([&] { got = q.get(); });
  let_others_run();
  q.put("hello");
  consumer.join();
  EXPECT_EQ(got, "hello");
}

// Many producers and consumers on a small bounded queue: every item arrives exactly once, the
// bound is never exceeded, and shutdown() after the producers finish ends the consumers.
template <class Q>
void many_producers_consumers(std::size_t maxsize) {
  constexpr int producers = 4;
  constexpr int consumers = 4;
  const int per_producer = 2000 * kScale;
  const int total = producers * per_producer;
  Q q(maxsize);
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(total));
  std::atomic<bool> bound_exceeded{false};
  {
    std::vector<std::jthread> consumer_threads;
    for (int c = 0; c < consumers; ++c) {
      consumer_threads.emplace_back([&] {
        for (int n = 0; n <= total; ++n) {  // bounded: no consumer can get more than total
          int v = 0;
          try {
            v = q.get();
          } catch (const concur::queue_shut_down_error&) {
            return;
          }
          if (maxsize > 0 && q.qsize() > maxsize) {
            bound_exceeded = true;
          }
          seen[static_cast<std::size_t>(v)].fetch_add(1);
          q.task_done();
        }
      });
    }
    {
      std::vector<std::jthread> producer_threads;
      for (int p = 0; p < producers; ++p) {
        producer_threads.emplace_back([&, p] {
          for (int i = 0; i < per_producer; ++i) {
            q.put(p * per_producer + i);
          }
        });
      }
    }
    q.join();  // every item put was task_done by a consumer
    EXPECT_EQ(q.qsize(), 0u);
    q.shutdown();
  }
  EXPECT_FALSE(bound_exceeded.load());
  for (int i = 0; i < total; ++i) {
    ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1) << "item " << i;
  }
}

TEST(Queue, ManyProducersConsumersFifoBounded) { many_producers_consumers<concur::queue<int>>(8); }
TEST(Queue, ManyProducersConsumersFifoUnbounded) {
  many_producers_consumers<concur::queue<int>>(0);
}
TEST(Queue, ManyProducersConsumersLifo) { many_producers_consumers<concur::lifo_queue<int>>(3); }
TEST(Queue, ManyProducersConsumersPriority) {
  many_producers_consumers<concur::priority_queue<int>>(16);
}
TEST(Queue, ManyProducersConsumersCapacityOne) { many_producers_consumers<concur::queue<int>>(1); }

// Waiters that time out, give up or never block must not swallow the wake-ups meant for
// others: mixed blocking, timed and non-blocking calls still move every item exactly once.
TEST(Queue, MixedTimedAndNonBlockingCallsLoseNothing) {
  concur::queue<int> q(2);
  constexpr int producers = 3;
  constexpr int consumers = 3;
  const int per_producer = 1000 * kScale;
  const int total = producers * per_producer;
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(total));
  std::atomic<int> received{0};
  {
    std::vector<std::jthread> threads;
    for (int c = 0; c < consumers; ++c) {
      threads.emplace_back([&, c] {
        // Bounded: at most this many attempts, far more than needed.
        for (int attempt = 0; attempt < 100 * total && received.load() < total; ++attempt) {
          std::optional<int> v;
          switch ((attempt + c) % 3) {
            case 0:
              v = q.try_get(std::chrono::microseconds(attempt % 200));
              break;
            case 1:
              v = q.try_get();
              break;
            default:
              v = q.try_get(50ms);
              break;
          }
          if (v) {
            seen[static_cast<std::size_t>(*v)].fetch_add(1);
            ++received;
          }
        }
      });
    }
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_producer; ++i) {
          const int v = p * per_producer + i;
          bool done = false;
          for (int attempt = 0; !done && attempt < 100000; ++attempt) {
            switch ((attempt + i) % 3) {
              case 0:
                done = q.try_put(v, std::chrono::microseconds(attempt % 100));
                break;
              case 1:
                done = q.try_put(v);
                break;
              default:
                q.put(v);
                done = true;
                break;
            }
          }
          ASSERT_TRUE(done);
        }
      });
    }
  }
  EXPECT_EQ(received.load(), total);
  for (int i = 0; i < total; ++i) {
    ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1) << "item " << i;
  }
}

TEST(Queue, SingleConsumerSeesEachProducersItemsInOrder) {
  concur::queue<std::pair<int, int>> q(4);
  constexpr int producers = 3;
  const int per_producer = 2000 * kScale;
  std::vector<std::jthread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        q.put({p, i});
      }
    });
  }
  std::vector<int> next(producers, 0);
  for (int n = 0; n < producers * per_producer; ++n) {
    auto [p, i] = q.get(10s);
    ASSERT_EQ(i, next[static_cast<std::size_t>(p)]);
    ++next[static_cast<std::size_t>(p)];
  }
  EXPECT_TRUE(q.empty());
}

TEST(Queue, TaskDoneAndJoin) {
  concur::queue<int> q;
  EXPECT_THROW(q.task_done(), concur::task_done_error);
  q.join();  // nothing unfinished: returns at once
  for (int i = 0; i < 3; ++i) {
    q.put(i);
  }
  EXPECT_EQ(q.unfinished_tasks(), 3u);
  EXPECT_FALSE(q.join(1ms));
  (void)q.get();
  (void)q.get();
  q.task_done();
  q.task_done();
  EXPECT_FALSE(q.join(1ms));  // one still to go, even though a get() is not needed for it
  std::jthread worker([&] {
    (void)q.get();
    q.task_done();
  });
  q.join();
  EXPECT_EQ(q.unfinished_tasks(), 0u);
  EXPECT_TRUE(q.join(0s));
  EXPECT_THROW(q.task_done(), concur::task_done_error);
}

TEST(Queue, ManyJoinersAllReleased) {
  concur::queue<int> q;
  q.put(1);
  std::atomic<int> released{0};
  {
    std::vector<std::jthread> joiners;
    for (int i = 0; i < 8; ++i) {
      joiners.emplace_back([&] {
        q.join();
        ++released;
      });
    }
    let_others_run();
    EXPECT_EQ(released.load(), 0);
    (void)q.get();
    q.task_done();
  }
  EXPECT_EQ(released.load(), 8);
}

TEST(QueueShutdown, PutThrowsAndGetDrainsThenThrows) {
  concur::queue<int> q;
  q.put(1);
  q.put(2);
  q.shutdown();
  EXPECT_TRUE(q.is_shut_down());
  EXPECT_THROW(q.put(3), concur::queue_shut_down_error);
  EXPECT_THROW(q.put_nowait(3), concur::queue_shut_down_error);
  EXPECT_THROW((void)q.try_put(3), concur::queue_shut_down_error);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_THROW(q.get(), concur::queue_shut_down_error);
  EXPECT_THROW(q.get_nowait(), concur::queue_shut_down_error);  // ShutDown, not Empty
  EXPECT_THROW(q.get(1h), concur::queue_shut_down_error);       // and without waiting
  EXPECT_THROW((void)q.try_get(), concur::queue_shut_down_error);
  // Items taken before and after shutdown still need task_done for join.
  EXPECT_FALSE(q.join(1ms));
  q.task_done();
  q.task_done();
  EXPECT_TRUE(q.join(0s));
  q.shutdown();  // idempotent
  q.shutdown(true);
}

TEST(QueueShutdown, WakesBlockedGetters) {
  concur::queue<int> q;
  constexpr int getters = 8;
  std::atomic<int> shut_down_seen{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < getters; ++i) {
      threads.emplace_back([&, i] {
        try {
          if (i % 2 == 0) {
            (void)q.get();
          } else {
            (void)q.get(1h);
          }
        } catch (const concur::queue_shut_down_error&) {
          ++shut_down_seen;
        }
      });
    }
    let_others_run();
    q.shutdown();
  }
  EXPECT_EQ(shut_down_seen.load(), getters);
}

TEST(QueueShutdown, WakesBlockedPuttersWhichKeepTheirItems) {
  concur::queue<std::unique_ptr<int>> q(1);
  q.put(std::make_unique<int>(0));
  constexpr int putters = 6;
  std::atomic<int> shut_down_seen{0};
  std::atomic<int> items_kept{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < putters; ++i) {
      threads.emplace_back([&, i] {
        auto item = std::make_unique<int>(i + 1);
        try {
          if (i % 2 == 0) {
            q.put(std::move(item));
          } else {
            (void)q.try_put(std::move(item), 1h);
          }
        } catch (const concur::queue_shut_down_error&) {
          ++shut_down_seen;
          if (item && *item == i + 1) {
            ++items_kept;
          }
        }
      });
    }
    let_others_run();
    q.shutdown();
  }
  EXPECT_EQ(shut_down_seen.load(), putters);
  EXPECT_EQ(items_kept.load(), putters);
  EXPECT_EQ(*q.get(), 0);  // the item put before shutdown is still there
}

TEST(QueueShutdown, GracefulShutdownDoesNotReleaseJoinEarly) {
  concur::queue<int> q;
  q.put(1);
  q.put(2);
  q.shutdown();
  EXPECT_FALSE(q.join(5ms));
  std::jthread worker([&] {
    for (;;) {
      try {
        (void)q.get();
        q.task_done();
      } catch (const concur::queue_shut_down_error&) {
        return;
      }
    }
  });
  q.join();
  EXPECT_EQ(q.unfinished_tasks(), 0u);
}

TEST(QueueShutdown, ImmediateDiscardsItemsAndReleasesJoin) {
  concur::queue<int> q;
  for (int i = 0; i < 5; ++i) {
    q.put(i);
  }
  std::atomic<bool> joined{false};
  std::jthread joiner([&] {
    q.join();
    joined = true;
  });
  let_others_run();
  EXPECT_FALSE(joined.load());
  q.shutdown(true);
  joiner.join();
  EXPECT_TRUE(joined.load());
  EXPECT_EQ(q.qsize(), 0u);
  EXPECT_EQ(q.unfinished_tasks(), 0u);
  EXPECT_THROW(q.get(), concur::queue_shut_down_error);
  EXPECT_THROW(q.task_done(), concur::task_done_error);
}

TEST(QueueShutdown, ImmediateStillWaitsForItemsAlreadyTaken) {
  // Python 3.13 semantics: the drained items count as done, the ones a consumer holds do not.
  concur::queue<int> q;
  q.put(1);
  q.put(2);
  q.put(3);
  EXPECT_EQ(q.get(), 1);
  q.shutdown(true);
  EXPECT_EQ(q.unfinished_tasks(), 1u);
  EXPECT_FALSE(q.join(5ms));
  q.task_done();
  EXPECT_TRUE(q.join(0s));
}

TEST(QueueShutdown, ImmediateWakesGettersPuttersAndJoinersTogether) {
  concur::queue<int> full(1);
  full.put(0);
  concur::queue<int> empty;
  concur::queue<int> pending;
  pending.put(1);
  std::atomic<int> woken{0};
  {
    std::vector<std::jthread> threads;
    threads.emplace_back([&] {
      try {
        full.put(1);
      } catch (const concur::queue_shut_down_error&) {
        ++woken;
      }
    });
    threads.emplace_back([&] {
      try {
        (void)empty.get();
      } catch (const concur::queue_shut_down_error&) {
        ++woken;
      }
    });
    threads.emplace_back([&] {
      pending.join();
      ++woken;
    });
    let_others_run();
    full.shutdown(true);
    empty.shutdown(true);
    pending.shutdown(true);
  }
  EXPECT_EQ(woken.load(), 3);
  EXPECT_TRUE(full.empty());
}

// Shutdown while producers and consumers are busy: producers stop with queue_shut_down_error,
// consumers drain (graceful) or stop at once (immediate); no item is delivered twice, none
// is lost by a graceful shutdown, and join() returns once the delivered items are done.
void shutdown_under_load(bool immediate) {
  concur::queue<int> q(4);
  constexpr int producers = 3;
  constexpr int consumers = 3;
  const int per_producer = 3000 * kScale;
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(producers * per_producer));
  std::atomic<int> accepted{0};
  std::atomic<int> received{0};
  std::atomic<int> producers_stopped{0};
  {
    std::vector<std::jthread> threads;
    for (int c = 0; c < consumers; ++c) {
      threads.emplace_back([&] {
        for (int n = 0; n <= producers * per_producer; ++n) {
          try {
            const int v = q.get();
            seen[static_cast<std::size_t>(v)].fetch_add(1);
            ++received;
            q.task_done();
          } catch (const concur::queue_shut_down_error&) {
            return;
          }
        }
      });
    }
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_producer; ++i) {
          try {
            q.put(p * per_producer + i);
            ++accepted;
          } catch (const concur::queue_shut_down_error&) {
            ++producers_stopped;
            return;
          }
        }
      });
    }
    // Shut down once some traffic has flowed (bounded wait), while the producers still run.
    for (int spins = 0; spins < 100000 && received.load() < 100; ++spins) {
      std::this_thread::yield();
    }
    q.shutdown(immediate);
    EXPECT_TRUE(q.join(30s));
  }
  EXPECT_EQ(q.qsize(), 0u);
  EXPECT_EQ(q.unfinished_tasks(), 0u);
  if (immediate) {
    EXPECT_LE(received.load(), accepted.load());
  } else {
    EXPECT_EQ(received.load(), accepted.load());  // a graceful shutdown loses nothing
  }
  for (const auto& count : seen) {
    ASSERT_LE(count.load(), 1);
  }
  EXPECT_THROW(q.put(0), concur::queue_shut_down_error);
}

TEST(QueueShutdown, GracefulUnderLoad) { shutdown_under_load(false); }
TEST(QueueShutdown, ImmediateUnderLoad) { shutdown_under_load(true); }

TEST(Queue, PriorityFilledConcurrentlyDrainsInOrder) {
  concur::priority_queue<int> q;
  {
    std::vector<std::jthread> threads;
    for (int p = 0; p < 4; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < 500; ++i) {
          q.put((i * 7919 + p * 104729) % 10007);
        }
      });
    }
  }
  ASSERT_EQ(q.qsize(), 2000u);
  int previous = -1;
  while (auto v = q.try_get()) {
    ASSERT_GE(*v, previous);
    previous = *v;
  }
}

// Its destructor uses the queue, which would deadlock if shutdown(true) destroyed the
// discarded items while holding the queue's lock.
struct uses_queue_when_destroyed {
  concur::queue<uses_queue_when_destroyed>* owner = nullptr;
  std::atomic<int>* destroyed = nullptr;
  uses_queue_when_destroyed(concur::queue<uses_queue_when_destroyed>* q, std::atomic<int>* d)
      : owner(q), destroyed(d) {}
  uses_queue_when_destroyed(uses_queue_when_destroyed&& o) noexcept
      : owner(std::exchange(o.owner, nullptr)), destroyed(std::exchange(o.destroyed, nullptr)) {}
  uses_queue_when_destroyed& operator=(uses_queue_when_destroyed&&) = delete;
  ~uses_queue_when_destroyed() {
    if (owner != nullptr) {
      (void)owner->qsize();
      ++*destroyed;
    }
  }
};

TEST(QueueShutdown, ImmediateDestroysDiscardedItemsOutsideTheLock) {
  std::atomic<int> destroyed{0};
  concur::queue<uses_queue_when_destroyed> q;
  for (int i = 0; i < 3; ++i) {
    q.put(uses_queue_when_destroyed(&q, &destroyed));
  }
  q.shutdown(true);
  EXPECT_EQ(destroyed.load(), 3);
}

struct copy_throws {
  int value = 0;
  explicit copy_throws(int v) : value(v) {}
  copy_throws(const copy_throws& o) : value(o.value) {
    if (value < 0) {
      throw std::runtime_error("refusing to copy a negative value");
    }
  }
  copy_throws(copy_throws&&) noexcept = default;
  copy_throws& operator=(const copy_throws&) = default;
  copy_throws& operator=(copy_throws&&) noexcept = default;
};

TEST(Queue, ThrowingItemConstructionLeavesQueueUnchanged) {
  concur::queue<copy_throws> q(2);
  const copy_throws good(1);
  const copy_throws bad(-1);
  q.put(good);
  EXPECT_THROW(q.put(bad), std::runtime_error);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.unfinished_tasks(), 1u);
  EXPECT_EQ(q.get().value, 1);
}

TEST(SimpleQueue, PutGetAndTimeouts) {
  concur::simple_queue<std::unique_ptr<std::string>> q;
  EXPECT_TRUE(q.empty());
  q.put(std::make_unique<std::string>("a"));
  q.put_nowait(std::make_unique<std::string>("b"));
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_EQ(*q.get(), "a");
  EXPECT_EQ(*q.get(1s), "b");
  EXPECT_THROW(q.get(1ms), concur::queue_empty_error);
  EXPECT_THROW(q.get_nowait(), concur::queue_empty_error);
  EXPECT_FALSE(q.try_get().has_value());
  std::jthread producer([&] {
    for (int i = 0; i < 100; ++i) {
      q.put(std::make_unique<std::string>(std::to_string(i)));
    }
  });
  for (int i = 0; i < 100; ++i) {
    auto s = q.try_get(10s);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(**s, std::to_string(i));
  }
}

}  // namespace
