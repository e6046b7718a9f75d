// future<T> / promise<T>: results, exceptions, cancellation, callbacks, timeouts.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <concur/futures.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct custom_error : std::runtime_error {
  explicit custom_error(int c) : std::runtime_error("custom"), code(c) {}
  int code;
};

}  // namespace

TEST(Promise, SetValueThenResult) {
  concur::promise<std::string> p;
  auto f = p.get_future();
  EXPECT_TRUE(f.valid());
  EXPECT_FALSE(f.done());
  p.set_value("hello");
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), "hello");
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Promise, VoidFuture) {
  concur::promise<void> p;
  auto f = p.get_future();
  p.set_value();
  f.result();
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Promise, ExceptionKeepsItsType) {
  concur::promise<int> p;
  auto f = p.get_future();
  p.set_exception(std::make_exception_ptr(custom_error(7)));
  try {
    (void)f.result();
    FAIL() << "result() must rethrow";
  } catch (const custom_error& e) {
    EXPECT_EQ(e.code, 7);
  }
  EXPECT_NE(f.exception(), nullptr);
}

TEST(Promise, SettingTwiceThrowsInvalidState) {
  concur::promise<int> p;
  p.set_value(1);
  EXPECT_THROW(p.set_value(2), concur::invalid_state_error);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(custom_error(1))),
               concur::invalid_state_error);
  EXPECT_EQ(p.get_future().result(), 1);
}

TEST(Promise, NullExceptionRejected) {
  concur::promise<int> p;
  EXPECT_THROW(p.set_exception(nullptr), concur::invalid_state_error);
}

TEST(Promise, DestroyedWithoutResultBreaksPromise) {
  concur::future<int> f;
  {
    concur::promise<int> p;
    f = p.get_future();
  }
  ASSERT_TRUE(f.done());
  EXPECT_THROW((void)f.result(), concur::broken_promise);
  EXPECT_THROW((void)f.result(), concur::error);
}

TEST(Promise, DestroyedWhileAWaiterBlocksWakesIt) {
  auto p = std::make_unique<concur::promise<int>>();
  auto f = p->get_future();
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    p.reset();
  });
  EXPECT_THROW((void)f.result(), concur::broken_promise);
  t.join();
}

TEST(Promise, MovedFromPromiseThrows) {
  concur::promise<int> a;
  concur::promise<int> b(std::move(a));
  EXPECT_THROW(a.set_value(1), concur::invalid_state_error);  // NOLINT(bugprone-use-after-move)
  b.set_value(3);
  EXPECT_EQ(b.get_future().result(), 3);
}

TEST(Future, DefaultConstructedIsInvalid) {
  concur::future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW((void)f.done(), concur::invalid_state_error);
  EXPECT_THROW((void)f.result(), concur::invalid_state_error);
}

TEST(Future, CopiesShareTheResult) {
  concur::promise<std::vector<int>> p;
  auto a = p.get_future();
  auto b = a;
  EXPECT_TRUE(a == b);
  p.set_value(std::vector<int>{1, 2, 3});
  EXPECT_EQ(&a.result(), &b.result());
  EXPECT_EQ(b.result().size(), 3u);
}

TEST(Future, CancelOnlyWhilePending) {
  concur::promise<int> p;
  auto f = p.get_future();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancel());  // already cancelled: still true, as in Python
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_THROW((void)f.result(), concur::cancelled_error);
  EXPECT_THROW((void)f.exception(), concur::cancelled_error);
  EXPECT_FALSE(p.set_running_or_notify_cancel());
  EXPECT_THROW(p.set_value(1), concur::invalid_state_error);
}

TEST(Future, CannotCancelRunningOrFinished) {
  concur::promise<int> p;
  auto f = p.get_future();
  EXPECT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_TRUE(f.running());
  EXPECT_FALSE(f.cancel());
  EXPECT_THROW(p.set_running_or_notify_cancel(), concur::invalid_state_error);
  p.set_value(5);
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancel());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), 5);
}

TEST(Future, ResultTimeoutThrowsTimeoutError) {
  concur::promise<int> p;
  auto f = p.get_future();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW((void)f.result(30ms), concur::timeout_error);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_THROW((void)f.exception(1ms), concur::timeout_error);
  EXPECT_FALSE(f.wait_for(0s));
  EXPECT_FALSE(f.wait_for(-5s));
  p.set_value(9);
  EXPECT_EQ(f.result(10ms), 9);
  EXPECT_TRUE(f.wait_for(0s));
  EXPECT_EQ(f.exception(0s), nullptr);
}

TEST(Future, HugeTimeoutDoesNotOverflow) {
  concur::promise<int> p;
  auto f = p.get_future();
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    p.set_value(1);
  });
  EXPECT_EQ(f.result(std::chrono::hours::max()), 1);
  t.join();
}

TEST(Future, ResultFromAnotherThreadWakesWaiters) {
  concur::promise<int> p;
  auto f = p.get_future();
  std::vector<std::thread> waiters;
  std::atomic<int> sum{0};
  for (int i = 0; i < 4; ++i) waiters.emplace_back([f, &sum] { sum += f.result(); });
  std::this_thread::sleep_for(10ms);
  p.set_value(10);
  for (auto& t : waiters) t.join();
  EXPECT_EQ(sum.load(), 40);
}

TEST(Callbacks, RunOnceWhenCompleted) {
  concur::promise<int> p;
  auto f = p.get_future();
  std::vector<int> seen;
  f.add_done_callback([&](const concur::future<int>& g) { seen.push_back(g.result()); });
  f.add_done_callback([&](const concur::future<int>& g) { seen.push_back(g.result() + 1); });
  EXPECT_TRUE(seen.empty());
  p.set_value(1);
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));  // in the order they were added
  f.add_done_callback([&](const concur::future<int>& g) { seen.push_back(g.result() + 2); });
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));  // added after completion: runs right away
}

TEST(Callbacks, RunOnCancel) {
  concur::promise<int> p;
  auto f = p.get_future();
  int calls = 0;
  bool was_cancelled = false;
  f.add_done_callback([&](const concur::future<int>& g) {
    ++calls;
    was_cancelled = g.cancelled();
  });
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancel());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(was_cancelled);
}

TEST(Callbacks, ThrowingCallbackDoesNotStopOthers) {
  concur::promise<int> p;
  auto f = p.get_future();
  int calls = 0;
  f.add_done_callback([](const concur::future<int>&) { throw std::runtime_error("boom"); });
  f.add_done_callback([&](const concur::future<int>&) { ++calls; });
  p.set_value(1);
  EXPECT_EQ(calls, 1);
}

TEST(Callbacks, ExactlyOnceUnderRaceWithCompletion) {
  // Callbacks added from several threads while another thread completes the future: each
  // runs exactly once, whichever side wins.
  constexpr int rounds = 200;
  constexpr int adders = 3;
  constexpr int per_adder = 20;
  for (int r = 0; r < rounds; ++r) {
    concur::promise<int> p;
    auto f = p.get_future();
    std::atomic<int> calls{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int a = 0; a < adders; ++a)
      threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < per_adder; ++i)
          f.add_done_callback([&](const concur::future<int>&) { calls.fetch_add(1); });
      });
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      p.set_value(r);
    });
    go = true;
    for (auto& t : threads) t.join();
    ASSERT_EQ(calls.load(), adders * per_adder) << "round " << r;
  }
}

TEST(Callbacks, CallbackKeepsFutureAliveAndCanReadIt) {
  std::atomic<int> got{0};
  {
    concur::promise<int> p;
    p.get_future().add_done_callback([&](const concur::future<int>& g) { got = g.result(); });
    p.set_value(11);  // no future handle is left besides the one the callback gets
  }
  EXPECT_EQ(got.load(), 11);
}

TEST(Future, MoveOnlyValue) {
  concur::promise<std::unique_ptr<int>> p;
  auto f = p.get_future();
  p.set_value(std::make_unique<int>(4));
  EXPECT_EQ(*f.result(), 4);
}

TEST(Callbacks, RemoveBeforeCompletion) {
  concur::promise<int> p;
  auto f = p.get_future();
  int a = 0;
  int b = 0;
  auto ta = f.add_done_callback([&](const concur::future<int>&) { ++a; });
  auto tb = f.add_done_callback([&](const concur::future<int>&) { ++b; });
  EXPECT_TRUE(ta);
  EXPECT_TRUE(f.remove_done_callback(ta));
  EXPECT_FALSE(f.remove_done_callback(concur::callback_token{}));
  concur::promise<int> other;
  EXPECT_FALSE(other.get_future().remove_done_callback(tb));  // token of another future
  p.set_value(1);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(f.remove_done_callback(tb));  // already ran
  auto late = f.add_done_callback([&](const concur::future<int>&) { ++b; });
  EXPECT_FALSE(late);  // ran as it was added
  EXPECT_EQ(b, 2);
}

TEST(Callbacks, RemoveRacingCompletionRunsOrRemovesExactlyOnce) {
  constexpr int rounds = 300;
  for (int r = 0; r < rounds; ++r) {
    concur::promise<int> p;
    auto f = p.get_future();
    std::atomic<int> calls{0};
    std::vector<concur::callback_token> tokens;
    for (int i = 0; i < 8; ++i)
      tokens.push_back(f.add_done_callback([&](const concur::future<int>&) { ++calls; }));
    std::atomic<bool> go{false};
    int removed = 0;
    std::thread completer([&] {
      while (!go.load()) std::this_thread::yield();
      p.set_value(r);
    });
    go = true;
    for (auto& t : tokens) removed += f.remove_done_callback(t) ? 1 : 0;
    completer.join();
    ASSERT_EQ(calls.load() + removed, 8) << "round " << r;
  }
}
