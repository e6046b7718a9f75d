// Pool.apply_async / map_async / starmap_async and AsyncResult, translated from CPython's
// Lib/test/_test_multiprocessing.py (_TestPool: test_async, test_async_timeout, test_map_async,
// test_map_async_callbacks, test_starmap_async, test_async_error_callback, test_empty_iterable).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "concur/futures.hpp"
#include "concur/mp.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

int sqr(int x) { return x * x; }
int sqr_slowly(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x * x;
}
int mul(int a, int b) { return a * b; }
int to_int(const std::string& s) { return std::stoi(s); }
int raising() { throw std::out_of_range("key"); }
void nothing() {}
int fail_on_odd(int x) {
  if (x % 2 != 0) throw std::domain_error("odd " + std::to_string(x));
  return x;
}

// What a callback saw, written on the pool's manager thread and read by the test.
struct record {
  std::mutex m;
  std::vector<std::string> events;
  void add(std::string e) {
    const std::lock_guard lock(m);
    events.push_back(std::move(e));
  }
  std::vector<std::string> seen() {
    const std::lock_guard lock(m);
    return events;
  }
};

std::string type_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const mp::remote_error& r) {
    return r.type_name();
  } catch (const std::exception& x) {
    return x.what();
  }
}

}  // namespace

TEST(MpAsyncResult, ApplyAsyncGetsTheValue) {
  mp::pool p(2);
  auto r = p.apply_async(sqr_slowly, 7, 100);
  EXPECT_EQ(r.get(), 49);
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.successful());
  EXPECT_EQ(r.get(10s), 49);  // get() can be called again
}

TEST(MpAsyncResult, GetWithTimeoutRaisesTimeoutError) {
  mp::pool p(1);
  auto r = p.apply_async(sqr_slowly, 6, 20000);
  EXPECT_THROW(r.get(50ms), concur::timeout_error);
  EXPECT_FALSE(r.ready());
  EXPECT_FALSE(r.wait(10ms));
  EXPECT_THROW((void)r.successful(), concur::value_error);  // Python: ValueError, not ready
  p.terminate();
}

TEST(MpAsyncResult, MapAsync) {
  mp::pool p(2);
  std::vector<int> in(10);
  std::iota(in.begin(), in.end(), 0);
  auto r = p.map_async(sqr, in);
  std::vector<int> want;
  for (int x : in) want.push_back(x * x);
  EXPECT_EQ(r.get(), want);
  EXPECT_TRUE(r.successful());
  // Explicit chunk sizes, including one chunk an item and one chunk for all.
  for (std::size_t chunk : {1U, 3U, 10U, 50U}) EXPECT_EQ(p.map_async(sqr, in, chunk).get(), want);
}

TEST(MpAsyncResult, MapAsyncCallbacks) {
  mp::pool p(2);
  record calls;
  mp::async_callbacks<std::vector<int>> cbs{
      [&](const std::vector<int>& v) { calls.add("ok " + std::to_string(v.at(0))); },
      [&](const std::exception_ptr& e) { calls.add("error " + type_of(e)); }};
  p.map_async(to_int, std::vector<std::string>{"1"}, 0, cbs).wait();
  ASSERT_EQ(calls.seen().size(), 1u);
  EXPECT_EQ(calls.seen()[0], "ok 1");
  auto bad = p.map_async(to_int, std::vector<std::string>{"a"}, 0, cbs);
  bad.wait();
  ASSERT_EQ(calls.seen().size(), 2u);
  EXPECT_EQ(calls.seen()[1], "error std::invalid_argument");
  EXPECT_FALSE(bad.successful());
  EXPECT_THROW(bad.get(), mp::remote_error);
}

TEST(MpAsyncResult, StarmapAsync) {
  mp::pool p(2);
  std::vector<std::tuple<int, int>> tuples;
  for (int i = 0; i < 10; ++i) tuples.emplace_back(i, i * 2);
  std::vector<int> want;
  for (const auto& [a, b] : tuples) want.push_back(a * b);
  EXPECT_EQ(p.starmap_async(mul, tuples).get(), want);
  EXPECT_EQ(p.starmap_async(mul, tuples, 3).get(), want);
}

TEST(MpAsyncResult, ErrorCallbackGetsTheException) {
  mp::pool p(2);
  record calls;
  auto r = p.apply_async(
      raising, std::tuple<>{},
      {.callback = [&](const int&) { calls.add("callback"); },
       .error_callback = [&](const std::exception_ptr& e) { calls.add("errback " + type_of(e)); }});
  EXPECT_THROW(r.get(), mp::remote_error);
  EXPECT_EQ(calls.seen(), std::vector<std::string>{"errback std::out_of_range"});
}

TEST(MpAsyncResult, CallbackRunsInThisProcessBeforeTheResultIsReady) {
  mp::pool p(2);
  std::atomic<int> callback_pid{0};
  auto r = p.apply_async(sqr, std::tuple{9}, {.callback = [&](const int& v) {
                           std::this_thread::sleep_for(20ms);
                           callback_pid = v == 81 ? ::getpid() : -1;
                         }});
  EXPECT_EQ(r.get(), 81);
  // Python sets the result's event after the callback: get() never returns before it ran.
  EXPECT_EQ(callback_pid.load(), ::getpid());
  std::atomic<int> void_calls{0};
  auto v = p.apply_async(nothing, std::tuple<>{}, {.callback = [&] { ++void_calls; }});
  v.get();
  EXPECT_EQ(void_calls.load(), 1);
}

TEST(MpAsyncResult, EmptyIterableIsReadyAtOnceWithoutCallback) {
  mp::pool p(2);
  std::atomic<int> calls{0};
  auto r = p.map_async(sqr, std::vector<int>{}, 0,
                       {.callback = [&](const std::vector<int>&) { ++calls; }});
  EXPECT_TRUE(r.ready());  // Python's MapResult of nothing: ready, and no callback is called
  EXPECT_EQ(r.get(), std::vector<int>{});
  EXPECT_EQ(calls.load(), 0);
}

TEST(MpAsyncResult, MapAsyncFailsOnceWhenManyChunksFail) {
  mp::pool p(2);
  std::vector<int> in(40);
  std::iota(in.begin(), in.end(), 0);
  std::atomic<int> errors{0};
  std::atomic<int> successes{0};
  auto r = p.map_async(fail_on_odd, in, 2,
                       {.callback = [&](const std::vector<int>&) { ++successes; },
                        .error_callback = [&](const std::exception_ptr&) { ++errors; }});
  EXPECT_THROW(r.get(), mp::remote_error);
  p.close();
  p.join();  // every chunk has come back: no late callback can follow
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(successes.load(), 0);
}

TEST(MpAsyncResult, FutureUnderneathWorksWithWaitAndCancel) {
  mp::pool p(1);
  auto busy = p.apply_async(sqr_slowly, 2, 300);
  auto queued = p.apply_async(sqr_slowly, 3, 300);
  auto last = p.apply_async(sqr, 4);
  // The queued call has not reached a worker: it can be cancelled, as a future can.
  EXPECT_TRUE(last.future().cancel());
  EXPECT_TRUE(last.ready());
  EXPECT_FALSE(last.successful());
  EXPECT_THROW(last.get(), concur::cancelled_error);
  std::vector<concur::future<int>> fs{busy.future(), queued.future()};
  const auto done = concur::wait(fs, concur::return_when::all_completed, 30s);
  EXPECT_EQ(done.done.size(), 2u);
  EXPECT_EQ(busy.get(), 4);
  EXPECT_EQ(queued.get(), 9);
}

TEST(MpAsyncResult, ApplyAsyncOnAClosedPoolIsRefused) {
  mp::pool p(1);
  p.close();
  // Python raises ValueError("Pool not running"); concur keeps invalid_state_error (its row
  // in docs/python-to-cpp.md says why).
  EXPECT_THROW(p.apply_async(sqr, 1), concur::invalid_state_error);
  EXPECT_THROW(p.map_async(sqr, std::vector<int>{1}), concur::invalid_state_error);
  p.join();
}
