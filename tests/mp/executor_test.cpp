#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/futures.hpp"
#include "concur/mp.hpp"
#include "mp/test_support.hpp"
#include "support/temp_dir.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
int add(int a, int b) { return a + b; }
bool is_prime(int n) {
  if (n < 2) return false;
  for (int i = 2; i * i <= n; ++i)
    if (n % i == 0) return false;
  return true;
}
int crash(int) {
  std::raise(SIGKILL);
  return 0;
}
int sleep_then(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
void nothing() {}
int thrower(int) { throw std::out_of_range("index 9"); }

// Code written against the executor concept runs on threads or processes alike.
template <concur::executor E>
int sum_of_squares(E& ex, const std::vector<int>& in) {
  int total = 0;
  for (int v : ex.map(square, in)) total += v;
  return total;
}

}  // namespace

static_assert(concur::executor<mp::process_pool_executor>);

TEST(MpExecutor, SubmitAndMap) {
  mp::process_pool_executor ex(2);
  auto f = ex.submit(add, 2, 3);
  EXPECT_EQ(f.result(10s), 5);
  const std::vector<int> numbers{100000, 100001, 100002, 100003, 100019};
  std::vector<int> primes;
  auto results = ex.map(is_prime, numbers);
  std::size_t i = 0;
  for (bool p : results) {
    if (p) primes.push_back(numbers[i]);
    ++i;
  }
  EXPECT_EQ(primes, (std::vector<int>{100003, 100019}));
  std::vector<int> sums;
  for (int v : ex.map(add, std::vector<int>{1, 2, 3}, std::vector<int>{10, 20})) sums.push_back(v);
  EXPECT_EQ(sums, (std::vector<int>{11, 22}));
  auto v = ex.submit(nothing);
  v.result();
  EXPECT_TRUE(v.done());
}

TEST(MpExecutor, SameCodeForThreadsAndProcesses) {
  const std::vector<int> in{1, 2, 3, 4};
  concur::thread_pool_executor threads(2);
  mp::process_pool_executor processes(2);
  EXPECT_EQ(sum_of_squares(threads, in), 30);
  EXPECT_EQ(sum_of_squares(processes, in), 30);
}

TEST(MpExecutor, CrashFailsOnlyItsFuture) {
  mp::process_pool_executor ex(2);
  auto bad = ex.submit(crash, 1);
  auto good = ex.submit(square, 9);
  EXPECT_THROW(bad.result(10s), mp::process_crashed_error);
  EXPECT_EQ(good.result(10s), 81);
  EXPECT_EQ(ex.submit(square, 4).result(10s), 16);
}

TEST(MpExecutor, ExceptionTypeNameComesBack) {
  mp::process_pool_executor ex(1);
  auto f = ex.submit(thrower, 1);
  try {
    f.result(10s);
    FAIL();
  } catch (const mp::remote_error& e) {
    EXPECT_EQ(e.type_name(), "std::out_of_range");
    EXPECT_EQ(e.message(), "index 9");
  }
  ASSERT_TRUE(f.exception());
}

TEST(MpExecutor, DoneCallbackRunsOnce) {
  mp::process_pool_executor ex(1);
  std::atomic<int> calls{0};
  auto f = ex.submit(square, 3);
  f.add_done_callback([&](const concur::future<int>& g) {
    if (g.result() == 9) ++calls;
  });
  f.wait();
  ex.shutdown();
  EXPECT_EQ(calls.load(), 1);
}

TEST(MpExecutor, ShutdownCancelsPendingAndRefusesNewWork) {
  mp::process_pool_executor ex(1);
  auto running = ex.submit(sleep_then, 300);
  for (int i = 0; i < 2000 && !running.running(); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(running.running());
  std::vector<concur::future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(ex.submit(sleep_then, 1));
  ASSERT_TRUE(queued.back().cancel());  // still pending: cancellable
  ex.shutdown(true, true);
  EXPECT_EQ(running.result(), 300);
  // Like Python's call queue, a worker holds one task queued behind the running one; that task
  // counts as started (not cancellable) and completes. Every other pending one is cancelled.
  int ran = 0;
  for (auto& q : queued) {
    if (q.cancelled()) continue;
    ++ran;
    EXPECT_EQ(q.result(), 1);
  }
  EXPECT_LE(ran, 1);
  EXPECT_TRUE(queued.back().cancelled());
  EXPECT_THROW(ex.submit(square, 1), concur::executor_shutdown_error);
  EXPECT_EQ(mp::testing::children_of(mp::detail::fork_server_pid()), std::vector<int>{});
}

TEST(MpExecutor, MapTimeout) {
  mp::process_pool_executor ex(1);
  auto results = ex.map(50ms, sleep_then, std::vector<int>{400});
  EXPECT_THROW(*results.begin(), concur::timeout_error);
  ex.shutdown(false, true);
}

TEST(MpExecutor, ApplyAsyncOnPool) {
  mp::pool p(2);
  std::vector<mp::async_result<int>> rs;
  for (int i = 0; i < 20; ++i) rs.push_back(p.apply_async(square, i));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(rs[static_cast<std::size_t>(i)].get(10s), i * i);
}

TEST(MpExecutor, TaskQueuedBehindACrashRunsOnTheReplacement) {
  mp::process_pool_executor ex(1);  // one worker: the second task waits in its socket
  auto bad = ex.submit(crash, 1);
  std::vector<concur::future<int>> after;
  for (int i = 0; i < 5; ++i) after.push_back(ex.submit(square, i));
  EXPECT_THROW(bad.result(10s), mp::process_crashed_error);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(after[static_cast<std::size_t>(i)].result(10s), i * i);
}

namespace {
// pow(a, b) mod a prime: test_map_chunksize's pow over range(40), without overflow.
int pow_mod(int a, int b) {
  long long r = 1;
  for (int i = 0; i < b; ++i) r = r * a % 1000003;
  return static_cast<int>(r);
}
int divide(int a, int b) {
  if (b == 0) throw std::domain_error("division by zero");
  return a / b;
}
int announce_then_sleep(std::string dir, int ms) {
  std::ofstream(dir + "/" + std::to_string(ms) + "-" + std::to_string(::getpid())) << "ran";
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
template <class Range>
std::vector<int> drain(Range&& r) {
  std::vector<int> out;
  for (int v : r) out.push_back(v);
  return out;
}
}  // namespace

// test_concurrent_futures' ProcessPoolExecutorTest.test_map_chunksize.
TEST(MpExecutor, MapChunksize) {
  mp::process_pool_executor ex(2);
  std::vector<int> a(40);
  std::iota(a.begin(), a.end(), 0);
  std::vector<int> ref;
  for (int i = 0; i < 40; ++i) ref.push_back(pow_mod(i, i));
  for (std::size_t chunk : {1U, 6U, 40U, 50U}) {
    auto r = ex.map({.chunksize = chunk}, pow_mod, a, a);
    EXPECT_EQ(r.size(), 40u);
    EXPECT_EQ(drain(r), ref) << chunk;
  }
  EXPECT_THROW(ex.map({.chunksize = 0}, pow_mod, a, a), concur::value_error);
  // One range, stopping at the shortest of several, and an empty one.
  std::vector<int> squares;
  for (int x : a) squares.push_back(x * x);
  EXPECT_EQ(drain(ex.map({.chunksize = 7}, square, a)), squares);
  EXPECT_EQ(drain(ex.map({.chunksize = 3}, add, a, std::vector<int>{5, 6})),
            (std::vector<int>{5, 7}));
  EXPECT_EQ(drain(ex.map({.chunksize = 3}, square, std::vector<int>{})), std::vector<int>{});
}

// test_map_exception: the results before the failing one come out, then its error.
TEST(MpExecutor, MapChunkedException) {
  mp::process_pool_executor ex(2);
  auto r =
      ex.map({.chunksize = 2}, divide, std::vector<int>{1, 1, 1, 1}, std::vector<int>{2, 3, 0, 5});
  auto it = r.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  EXPECT_EQ(*it, 0);
  ++it;
  try {
    (void)*it;
    ADD_FAILURE() << "expected the worker's error";
  } catch (const mp::remote_error& e) {
    EXPECT_EQ(e.type_name(), "std::domain_error");
  }
}

TEST(MpExecutor, MapChunkedTimeout) {
  mp::process_pool_executor ex(1);
  auto results = ex.map({.timeout = 50ms, .chunksize = 2}, sleep_then, std::vector<int>{400, 1});
  EXPECT_THROW(*results.begin(), concur::timeout_error);
  ex.shutdown(false, true);
}

// Closing the map cancels the chunks no worker has started: with one worker, at most the
// running chunk and the one queued behind it run.
TEST(MpExecutor, DroppingAChunkedMapCancelsWhatHasNotStarted) {
  mp::process_pool_executor ex(1);
  concur_test::temp_dir dir;
  const std::string d = dir.path().native();
  auto files = [&] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++n;
    return n;
  };
  {
    auto r = ex.map({.chunksize = 1}, announce_then_sleep, std::vector<std::string>(6, d),
                    std::vector<int>{200, 201, 202, 203, 204, 205});
    // Bounded wait until the first chunk runs, so that the drop happens mid-map.
    for (int i = 0; i < 4000 && files() == 0; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_GE(files(), 1u);
  }
  ex.shutdown(true);
  EXPECT_GE(files(), 1u);
  EXPECT_LE(files(), 2u);
  EXPECT_THROW(ex.map({.chunksize = 2}, square, std::vector<int>{1}),
               concur::executor_shutdown_error);
}
