// thread_pool_executor: submit, exceptions, cancellation, shutdown, map, broken pools, load.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <concur/futures.hpp>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// ThreadSanitizer makes every atomic operation far slower: big counts are scaled down
// there. AddressSanitizer keeps the full million (its point is the leak check).
#if defined(__SANITIZE_THREAD__)
constexpr bool slow_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool slow_sanitizer = true;
#else
constexpr bool slow_sanitizer = false;
#endif
#else
constexpr bool slow_sanitizer = false;
#endif

struct task_error : std::runtime_error {
  explicit task_error(int c) : std::runtime_error("task failed " + std::to_string(c)), code(c) {}
  int code;
};

// Blocks the tasks that wait on it until open() (or destruction).
class gate {
 public:
  void wait() const { future_.wait(); }
  void open() {
    if (!opened_.exchange(true)) promise_.set_value();
  }
  ~gate() { open(); }

 private:
  concur::promise<void> promise_;
  concur::future<void> future_ = promise_.get_future();
  std::atomic<bool> opened_{false};
};

int twice(int x) { return 2 * x; }

struct counter {
  int base;
  int add(int x) const { return base + x; }
};

}  // namespace

static_assert(concur::executor<concur::thread_pool_executor>);

TEST(Executor, SubmitAnyCallable) {
  concur::thread_pool_executor pool(2);
  EXPECT_EQ(pool.submit(twice, 21).result(), 42);
  EXPECT_EQ(pool.submit([](std::string a, std::string b) { return a + b; }, "ab", "cd").result(),
            "abcd");
  counter c{10};
  EXPECT_EQ(pool.submit(&counter::add, c, 5).result(), 15);
  auto owned = std::make_unique<int>(8);
  EXPECT_EQ(pool.submit([](std::unique_ptr<int> p) { return *p; }, std::move(owned)).result(), 8);
  std::atomic<int> ran{0};
  auto v = pool.submit([&] { ran = 1; });
  static_assert(std::is_same_v<decltype(v), concur::future<void>>);
  v.result();
  EXPECT_EQ(ran.load(), 1);
}

TEST(Executor, ExceptionsKeepTheirType) {
  concur::thread_pool_executor pool(2);
  auto f = pool.submit([]() -> int { throw task_error(3); });
  try {
    (void)f.result();
    FAIL() << "expected task_error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.code, 3);
  }
  EXPECT_NE(f.exception(), nullptr);
  auto g = pool.submit([] { throw std::out_of_range("oor"); });
  EXPECT_THROW(g.result(), std::out_of_range);
}

TEST(Executor, RejectsZeroWorkers) {
  EXPECT_THROW(concur::thread_pool_executor(0), concur::value_error);
}

TEST(Executor, DefaultWorkersLikePython) {
  const std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(concur::thread_pool_executor::default_max_workers(),
            std::min<std::size_t>(32, cpus + 4));
  concur::thread_pool_executor pool;
  EXPECT_EQ(pool.max_workers(), concur::thread_pool_executor::default_max_workers());
}

TEST(Executor, CancelPendingButNotRunning) {
  gate g;
  concur::promise<void> started;
  auto started_f = started.get_future();
  concur::thread_pool_executor pool(1);
  auto first = pool.submit([&] {
    started.set_value();
    g.wait();
    return 1;
  });
  std::atomic<bool> second_ran{false};
  auto second = pool.submit([&] {
    second_ran = true;
    return 2;
  });
  started_f.wait();
  EXPECT_TRUE(first.running());
  EXPECT_FALSE(first.cancel());
  EXPECT_FALSE(second.running());
  EXPECT_TRUE(second.cancel());
  EXPECT_TRUE(second.cancelled());
  g.open();
  EXPECT_EQ(first.result(), 1);
  EXPECT_THROW((void)second.result(), concur::cancelled_error);
  pool.shutdown();
  EXPECT_FALSE(second_ran.load());
}

TEST(Executor, SubmitAfterShutdownThrows) {
  concur::thread_pool_executor pool(2);
  pool.shutdown();
  EXPECT_THROW(pool.submit([] { return 1; }), concur::executor_shutdown_error);
  pool.shutdown();  // twice is fine
  pool.shutdown(false, true);
}

TEST(Executor, ShutdownCancelFuturesCancelsQueuedWork) {
  gate g;
  concur::promise<void> started;
  auto started_f = started.get_future();
  concur::thread_pool_executor pool(1);
  auto running = pool.submit([&] {
    started.set_value();
    g.wait();
    return 0;
  });
  std::atomic<int> ran{0};
  std::vector<concur::future<int>> queued;
  for (int i = 0; i < 10; ++i)
    queued.push_back(pool.submit([&, i] {
      ++ran;
      return i;
    }));
  started_f.wait();
  pool.shutdown(false, true);
  for (auto& f : queued) EXPECT_TRUE(f.cancelled());
  g.open();
  pool.shutdown(true);
  EXPECT_EQ(running.result(), 0);  // running work is not cancelled
  EXPECT_EQ(ran.load(), 0);
}

TEST(Executor, ShutdownWithoutWaitReturnsAndWorkStillFinishes) {
  std::atomic<int> done{0};
  concur::future<int> last;
  {
    gate g;
    concur::thread_pool_executor pool(2);
    for (int i = 0; i < 6; ++i)
      last = pool.submit([&, i] {
        g.wait();
        ++done;
        return i;
      });
    pool.shutdown(false);  // must not block although every task is waiting on the gate
    EXPECT_LT(done.load(), 6);
    EXPECT_THROW(pool.submit([] { return 0; }), concur::executor_shutdown_error);
    g.open();
  }  // the destructor joins the workers
  EXPECT_EQ(done.load(), 6);
  EXPECT_EQ(last.result(), 5);
}

TEST(Executor, DestructionRunsPendingWork) {
  std::atomic<int> ran{0};
  std::vector<concur::future<void>> fs;
  {
    concur::thread_pool_executor pool(2);
    for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 1000);
  for (auto& f : fs) EXPECT_TRUE(f.done());
}

TEST(Executor, TasksSubmitTasks) {
  std::function<int(int)> chain;
  std::atomic<int> depth_reached{0};
  concur::promise<int> final_value;
  auto final_f = final_value.get_future();
  concur::thread_pool_executor pool(
      1);  // one worker: a nested wait would deadlock, submit must not
  chain = [&](int depth) {
    depth_reached = depth;
    if (depth == 50)
      final_value.set_value(depth);
    else
      pool.submit(chain, depth + 1);
    return depth;
  };
  EXPECT_EQ(pool.submit(chain, 0).result(), 0);
  EXPECT_EQ(final_f.result(5s), 50);
}

TEST(Executor, TaskWaitingOnAnotherTaskWithFreeWorkers) {
  concur::thread_pool_executor pool(2);
  auto outer = pool.submit([&] {
    auto inner = pool.submit([] { return 20; });
    return inner.result() + 1;
  });
  EXPECT_EQ(outer.result(5s), 21);
}

TEST(Executor, SubmitFromATaskDuringShutdownFails) {
  gate g;
  concur::promise<void> started;
  auto started_f = started.get_future();
  concur::thread_pool_executor pool(1);
  auto outer = pool.submit([&] {
    started.set_value();
    g.wait();
    // shutdown() was called meanwhile: like Python, no new work is accepted.
    return pool.submit([] { return 1; }).result();
  });
  started_f.wait();
  std::thread closer([&] { pool.shutdown(true); });
  // Wait (bounded) until shutdown has begun, seen as a refused submit from here; then let
  // the task try to submit while shutdown(true) waits for it.
  bool refused = false;
  for (int i = 0; i < 10000 && !refused; ++i) {
    try {
      pool.submit([] { return 0; });
      std::this_thread::sleep_for(1ms);
    } catch (const concur::executor_shutdown_error&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  g.open();
  closer.join();
  EXPECT_THROW((void)outer.result(), concur::executor_shutdown_error);
}

TEST(Executor, ShutdownWaitFromOwnWorkerIsAnError) {
  concur::thread_pool_executor pool(1);
  auto f = pool.submit([&] { pool.shutdown(true); });
  EXPECT_THROW(f.result(), concur::invalid_state_error);
  auto g = pool.submit([&] { pool.shutdown(false); });
  g.result();
  EXPECT_THROW(pool.submit([] {}), concur::executor_shutdown_error);
}

TEST(Executor, InitializerRunsInEveryWorker) {
  std::atomic<int> inits{0};
  {
    concur::thread_pool_executor pool(3, [&] { ++inits; });
    pool.submit([] {}).result();
  }
  EXPECT_EQ(inits.load(), 3);
}

TEST(Executor, FailingInitializerBreaksThePool) {
  gate g;
  concur::thread_pool_executor pool(2, [&] {
    g.wait();
    throw std::runtime_error("no database");
  });
  // Submitted before the initializers fail: these are failed, not left hanging.
  std::vector<concur::future<int>> pending;
  for (int i = 0; i < 5; ++i) pending.push_back(pool.submit([i] { return i; }));
  g.open();
  for (auto& f : pending) {
    try {
      (void)f.result(5s);
      FAIL() << "work of a broken pool must fail";
    } catch (const concur::broken_executor_error& e) {
      EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos) << e.what();
    }
  }
  // Later submits fail too; broken_executor_error is an executor_shutdown_error.
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    try {
      pool.submit([] { return 0; }).result(5s);
      std::this_thread::sleep_for(1ms);
    } catch (const concur::broken_executor_error&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_THROW(pool.submit([] { return 0; }), concur::executor_shutdown_error);
}

TEST(Executor, MapYieldsInOrder) {
  concur::thread_pool_executor pool(4);
  std::vector<int> in(100);
  std::iota(in.begin(), in.end(), 0);
  std::vector<int> out;
  for (int r : pool.map(
           [](int x) {
             if (x % 7 == 0) std::this_thread::sleep_for(1ms);
             return x * x;
           },
           in))
    out.push_back(r);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], i * i);
}

TEST(Executor, MapZipsRangesToTheShortest) {
  concur::thread_pool_executor pool(2);
  std::vector<int> a{1, 2, 3, 4};
  std::vector<std::string> b{"x", "y", "z"};
  std::vector<std::string> out;
  for (const auto& s :
       pool.map([](int n, const std::string&t) { return std::string(n, t[0]); }, a, b))
    out.push_back(s);
  EXPECT_EQ(out, (std::vector<std::string>{"x", "yy", "zzz"}));
}

TEST(Executor, MapRethrowsAtThatPosition) {
  concur::thread_pool_executor pool(2);
  std::vector<int> in{1, 2, 3};
  auto results = pool.map(
      [](int x) {
        if (x == 2) throw task_error(x);
        return x;
      },
      in);
  auto it = results.begin();
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_THROW((void)*it, task_error);
}

TEST(Executor, MapTimeoutThrowsAndCancelsTheRest) {
  gate g;
  std::atomic<unsigned> ran_mask{0};
  concur::thread_pool_executor pool(1);
  std::vector<int> in{0, 1, 2, 3};
  {
    auto results = pool.map(
        20ms,
        [&](int x) {
          ran_mask |= 1u << x;
          if (x == 0) g.wait();
          return x;
        },
        in);
    auto it = results.begin();
    EXPECT_THROW((void)*it, concur::timeout_error);
  }  // leaving the range cancels the calls not started yet
  g.open();
  pool.shutdown();
  EXPECT_EQ(ran_mask.load() & ~1u, 0u);  // 1..3 queued behind the blocked call: cancelled
}

TEST(Executor, MapOverEmptyRange) {
  concur::thread_pool_executor pool(1);
  std::vector<int> none;
  auto results = pool.map(twice, none);
  EXPECT_TRUE(results.begin() == results.end());
  EXPECT_EQ(results.size(), 0u);
}

TEST(Executor, CallableIsDestroyedAfterRunning) {
  concur::thread_pool_executor pool(1);
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto f = pool.submit([t = std::move(token)] { return *t; });
  EXPECT_EQ(f.result(), 1);
  EXPECT_TRUE(watch.expired());  // captured state is released when the task completes
}

TEST(Executor, OneMillionTasks) {
  const int n = slow_sanitizer ? 100'000 : 1'000'000;
  concur::thread_pool_executor pool(2);
  std::vector<concur::future<int>> fs;
  fs.reserve(n);
  for (int i = 0; i < n; ++i) fs.push_back(pool.submit([i] { return i & 7; }));
  long long sum = 0;
  for (auto& f : fs) sum += f.result();
  long long expect = 0;
  for (int i = 0; i < n; ++i) expect += i & 7;
  EXPECT_EQ(sum, expect);
}

TEST(Executor, ConcurrentSubmitters) {
  const int per_thread = slow_sanitizer ? 5'000 : 50'000;
  constexpr int submitters = 4;
  concur::thread_pool_executor pool(3);
  std::vector<long long> sums(submitters, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < submitters; ++t)
    threads.emplace_back([&, t] {
      std::vector<concur::future<int>> fs;
      fs.reserve(per_thread);
      for (int i = 0; i < per_thread; ++i) fs.push_back(pool.submit([i, t] { return i + t; }));
      for (auto& f : fs) sums[t] += f.result();
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < submitters; ++t) {
    const long long expect = static_cast<long long>(per_thread) * (per_thread - 1) / 2 +
                             static_cast<long long>(t) * per_thread;
    EXPECT_EQ(sums[t], expect);
  }
}

TEST(Executor, ShutdownRacingSubmittersNeverHangs) {
  // Submitters keep going while another thread shuts the pool down: every accepted task
  // runs to completion and every refused submit throws; nothing is left pending.
  constexpr int rounds = 20;
  for (int r = 0; r < rounds; ++r) {
    concur::thread_pool_executor pool(2);
    std::vector<std::vector<concur::future<int>>> accepted(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 2000; ++i) {
          try {
            accepted[t].push_back(pool.submit([i] { return i; }));
          } catch (const concur::executor_shutdown_error&) {
            return;
          }
        }
      });
    std::this_thread::sleep_for(100us);
    pool.shutdown(r % 2 == 0, r % 4 == 1);
    for (auto& th : threads) th.join();
    pool.shutdown(true);
    for (auto& v : accepted)
      for (auto& f : v) ASSERT_TRUE(f.wait_for(10s));
  }
}

TEST(Executor, WorkersUsedInParallel) {
  std::mutex m;
  std::set<std::thread::id> ids;
  gate g;
  std::atomic<int> arrived{0};
  concur::thread_pool_executor pool(4);
  std::vector<concur::future<void>> fs;
  for (int i = 0; i < 4; ++i)
    fs.push_back(pool.submit([&] {
      {
        const std::lock_guard lock(m);
        ids.insert(std::this_thread::get_id());
      }
      if (++arrived == 4) g.open();
      g.wait();  // only returns if all four run at the same time
    }));
  for (auto& f : fs) ASSERT_TRUE(f.wait_for(10s));
  EXPECT_EQ(ids.size(), 4u);
}

TEST(Executor, LastOwnerDroppedInsideItsOwnTask) {
  // The executor's destructor then runs on one of its workers: it must neither join that
  // worker (deadlock) nor free what the worker still uses.
  gate g;
  auto pool = std::make_shared<concur::thread_pool_executor>(2);
  auto f = pool->submit([&g, p = pool]() mutable {
    g.wait();
    p.reset();  // the last owner: ~thread_pool_executor runs here
    return 7;
  });
  pool.reset();
  g.open();
  EXPECT_EQ(f.result(10s), 7);
}

TEST(Executor, EveryCallableIsDestroyedRunOrCancelled) {
  // Counts live copies of a captured object: run, cancelled and shut-down-cancelled tasks
  // all release their callable (ASan additionally checks the blocks themselves).
  struct counted {
    explicit counted(std::atomic<int>& n) : live(&n) { ++*live; }
    counted(const counted& o) : live(o.live) { ++*live; }
    counted(counted&& o) noexcept : live(o.live) { ++*live; }
    ~counted() { --*live; }
    std::atomic<int>* live;
  };
  std::atomic<int> live{0};
  gate g;
  {
    concur::thread_pool_executor pool(2);
    std::vector<concur::future<int>> fs;
    for (int i = 0; i < 2; ++i)
      fs.push_back(pool.submit([c = counted(live), &g] {
        g.wait();
        return 0;
      }));
    for (int i = 0; i < 5000; ++i) fs.push_back(pool.submit([c = counted(live), i] { return i; }));
    for (int i = 2; i < 5000; i += 3) fs[i].cancel();
    pool.shutdown(false, true);
    g.open();
  }
  EXPECT_EQ(live.load(), 0);
}
