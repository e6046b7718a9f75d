// wait() in its three modes and as_completed(), with and without timeouts.
#include <gtest/gtest.h>

#include <chrono>
#include <concur/futures.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct promises {
  explicit promises(int n) : ps(n) {
    for (auto& p : ps) fs.push_back(p.get_future());
  }
  std::vector<concur::promise<int>> ps;
  std::vector<concur::future<int>> fs;
};

// Completes promise `i` from another thread after `delay`.
std::thread later(concur::promise<int>& p, std::chrono::milliseconds delay, int value) {
  return std::thread([&p, delay, value] {
    std::this_thread::sleep_for(delay);
    p.set_value(value);
  });
}

}  // namespace

TEST(Wait, AllCompleted) {
  promises s(3);
  auto t0 = later(s.ps[0], 5ms, 0);
  auto t1 = later(s.ps[1], 10ms, 1);
  auto t2 = later(s.ps[2], 15ms, 2);
  auto r = concur::wait(s.fs);  // Python's default: ALL_COMPLETED
  EXPECT_EQ(r.done.size(), 3u);
  EXPECT_TRUE(r.not_done.empty());
  for (auto& f : r.done) EXPECT_TRUE(f.done());
  t0.join();
  t1.join();
  t2.join();
}

TEST(Wait, FirstCompleted) {
  promises s(3);
  auto t = later(s.ps[1], 10ms, 1);
  auto r = concur::wait(s.fs, concur::return_when::first_completed);
  ASSERT_EQ(r.done.size(), 1u);
  EXPECT_TRUE(r.done[0] == s.fs[1]);
  EXPECT_EQ(r.not_done.size(), 2u);
  t.join();
}

TEST(Wait, FirstExceptionStopsAtTheFailure) {
  promises s(3);
  s.ps[0].set_value(0);  // a plain completion does not end a first_exception wait
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    s.ps[2].set_exception(std::make_exception_ptr(std::runtime_error("bad")));
  });
  auto r = concur::wait(s.fs, concur::return_when::first_exception);
  EXPECT_EQ(r.done.size(), 2u);
  ASSERT_EQ(r.not_done.size(), 1u);
  EXPECT_TRUE(r.not_done[0] == s.fs[1]);
  t.join();
}

TEST(Wait, FirstExceptionWithoutFailuresWaitsForAll) {
  promises s(2);
  s.ps[1].get_future().cancel();  // cancelled does not count as an exception
  auto t = later(s.ps[0], 10ms, 0);
  auto r = concur::wait(s.fs, concur::return_when::first_exception);
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_TRUE(r.not_done.empty());
  t.join();
}

TEST(Wait, TimeoutReturnsWhatIsDone) {
  promises s(3);
  s.ps[0].set_value(0);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = concur::wait(s.fs, concur::return_when::all_completed, 20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_EQ(r.done.size(), 1u);
  EXPECT_EQ(r.not_done.size(), 2u);
}

TEST(Wait, AlreadySatisfiedReturnsAtOnce) {
  promises s(2);
  s.ps[0].set_value(0);
  auto r = concur::wait(s.fs, concur::return_when::first_completed, 10s);
  EXPECT_EQ(r.done.size(), 1u);
  EXPECT_EQ(r.not_done.size(), 1u);
  auto empty = concur::wait(std::vector<concur::future<int>>{});
  EXPECT_TRUE(empty.done.empty() && empty.not_done.empty());
}

TEST(Wait, DuplicatesCountOnce) {
  promises s(1);
  s.ps[0].set_value(1);
  std::vector<concur::future<int>> twice{s.fs[0], s.fs[0]};
  auto r = concur::wait(twice);
  EXPECT_EQ(r.done.size(), 1u);
}

TEST(Wait, InvalidFutureIsAClearError) {
  std::vector<concur::future<int>> fs(1);
  EXPECT_THROW(concur::wait(fs), concur::invalid_state_error);
  EXPECT_THROW(concur::as_completed(fs), concur::invalid_state_error);
}

TEST(Wait, WithAnExecutor) {
  concur::thread_pool_executor pool(2);
  std::vector<concur::future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([i] { return i; }));
  auto r = concur::wait(fs, concur::return_when::all_completed, 10s);
  EXPECT_EQ(r.done.size(), 20u);
}

TEST(AsCompleted, YieldsInCompletionOrder) {
  promises s(3);
  s.ps[2].set_value(2);  // already done: comes first
  auto range = concur::as_completed(s.fs);
  auto it = range.begin();
  EXPECT_EQ(it->result(), 2);
  std::thread(&concur::promise<int>::set_value<int>, &s.ps[1], 1).join();  // 1 before 0
  ++it;
  EXPECT_EQ(it->result(), 1);
  auto t = later(s.ps[0], 10ms, 0);  // the next step has to block for it
  ++it;
  EXPECT_EQ(it->result(), 0);
  ++it;
  EXPECT_TRUE(it == range.end());
  t.join();
}

TEST(AsCompleted, TimeoutThrows) {
  promises s(2);
  s.ps[0].set_value(0);
  auto range = concur::as_completed(s.fs, 20ms);
  auto it = range.begin();
  EXPECT_EQ(it->result(), 0);
  try {
    ++it;
    FAIL() << "expected timeout_error";
  } catch (const concur::timeout_error& e) {
    EXPECT_STREQ(e.what(), "as_completed: 1 (of 2) futures unfinished");
  }
}

TEST(AsCompleted, IncludesCancelledAndFailed) {
  promises s(3);
  s.fs[0].cancel();
  s.ps[1].set_exception(std::make_exception_ptr(std::logic_error("x")));
  s.ps[2].set_value(2);
  int n = 0;
  for (const auto& f : concur::as_completed(s.fs, 1s)) {
    EXPECT_TRUE(f.done());
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(AsCompleted, WithAnExecutor) {
  concur::thread_pool_executor pool(3);
  std::vector<concur::future<int>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(pool.submit([i] { return i; }));
  int sum = 0;
  int count = 0;
  for (const auto& f : concur::as_completed(fs, 10s)) {
    sum += f.result();
    ++count;
  }
  EXPECT_EQ(count, 50);
  EXPECT_EQ(sum, 49 * 50 / 2);
}

TEST(Wait, LoopOfFirstCompleted) {
  // The Python idiom `while not_done: done, not_done = wait(not_done, FIRST_COMPLETED)`
  // (each wait takes its callbacks off the futures it leaves pending; ASan checks that
  // the removed ones are freed).
  constexpr int n = 200;
  promises s(n);
  std::vector<concur::future<int>> not_done = s.fs;
  int waits = 0;
  std::thread producer([&] {
    for (int i = 0; i < n; ++i) {
      s.ps[i].set_value(i);
      if (i % 20 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  while (!not_done.empty() && waits < 10 * n) {
    auto r = concur::wait(not_done, concur::return_when::first_completed, 10s);
    ASSERT_FALSE(r.done.empty());
    not_done = std::move(r.not_done);
    ++waits;
  }
  producer.join();
  EXPECT_TRUE(not_done.empty());
}

// The ThreadPoolExecutor example of concurrent.futures' documentation: a dict from future to
// URL, read back in completion order.
TEST(AsCompleted, FuturesKeyAMapAsInPythonsExample) {
  concur::thread_pool_executor ex(4);
  std::vector<std::string> urls{"a", "bb", "ccc", "dddd"};
  std::unordered_map<concur::future<std::size_t>, std::string> future_to_url;
  for (const auto& url : urls) {
    future_to_url.emplace(ex.submit([](const std::string& u) { return u.size(); }, url), url);
  }
  std::size_t seen = 0;
  std::vector<concur::future<std::size_t>> fs;
  for (const auto& [f, url] : future_to_url) fs.push_back(f);
  for (const auto& f : concur::as_completed(fs)) {
    const std::string& url = future_to_url.at(f);
    EXPECT_EQ(f.result(), url.size());
    ++seen;
  }
  EXPECT_EQ(seen, urls.size());
  EXPECT_EQ(std::hash<concur::future<std::size_t>>()(fs[0]),
            std::hash<concur::future<std::size_t>>()(concur::future<std::size_t>(fs[0])));
}
