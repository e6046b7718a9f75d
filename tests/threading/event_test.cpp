#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <concur/threading/event.hpp>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

TEST(Event, SetClearIsSet) {
  concur::event e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.set();  // setting twice is fine
  EXPECT_TRUE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
}

TEST(Event, WaitWithTimeout) {
  concur::event e;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(e.wait(10ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 10ms);
  EXPECT_FALSE(e.wait(-1s));
  EXPECT_FALSE(e.wait_until(std::chrono::steady_clock::now() + 1ms));
  e.set();
  EXPECT_TRUE(e.wait());
  EXPECT_TRUE(e.wait(0s));
  EXPECT_TRUE(e.wait(std::chrono::hours::max()));
  EXPECT_TRUE(e.wait_until(std::chrono::system_clock::now() - 1h));
  EXPECT_TRUE(e.wait_until(std::chrono::system_clock::time_point::max()));
  EXPECT_TRUE(e.wait_until(std::chrono::steady_clock::time_point::max()));
}

TEST(Event, FarDeadlinesWaitRatherThanOverflow) {
  concur::event e;
  std::jthread setter([&] {
    std::this_thread::sleep_for(10ms);
    e.set();
  });
  EXPECT_TRUE(e.wait_until(std::chrono::system_clock::time_point::max()));
  e.clear();
  EXPECT_FALSE(e.wait_until(std::chrono::system_clock::time_point::min() + 1h));
  EXPECT_FALSE(e.wait(std::chrono::nanoseconds::min()));
}

TEST(Event, SetWakesEveryWaiter) {
  concur::event go;
  constexpr int waiters = 16;
  std::atomic<int> woke{0};
  std::atomic<int> woke_true{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < waiters; ++i) {
      threads.emplace_back([&, i] {
        const bool r = (i % 2 == 0) ? go.wait() : go.wait(1h);
        ++woke;
        if (r) {
          ++woke_true;
        }
      });
    }
    std::this_thread::sleep_for(10ms);
    EXPECT_EQ(woke.load(), 0);
    go.set();
  }
  EXPECT_EQ(woke.load(), waiters);
  EXPECT_EQ(woke_true.load(), waiters);
}

TEST(Event, SetThenClearPulseStillReleasesWaiters) {
  // Python: a waiter that was waiting when set() was called returns True even if clear()
  // ran before it woke. Waiters that start late catch a later pulse; the loop is bounded.
  concur::event e;
  constexpr int waiters = 8;
  std::atomic<int> returned{0};
  std::atomic<int> returned_true{0};
  std::vector<std::jthread> threads;
  for (int i = 0; i < waiters; ++i) {
    threads.emplace_back([&] {
      if (e.wait(30s)) {
        ++returned_true;
      }
      ++returned;
    });
  }
  for (int pulse = 0; pulse < 5000 && returned.load() < waiters; ++pulse) {
    e.set();
    e.clear();
    std::this_thread::sleep_for(1ms);
  }
  threads.clear();
  EXPECT_EQ(returned_true.load(), waiters);
  EXPECT_FALSE(e.is_set());
}

TEST(Event, HandshakeBetweenTwoThreadsManyRounds) {
  // Ping-pong with two events: each round needs both wake-ups to work.
  concur::event ping;
  concur::event pong;
  constexpr int rounds = 2000;
  int counter = 0;  // only touched by the side that holds the turn; events order the accesses
  std::jthread other([&] {
    for (int i = 0; i < rounds; ++i) {
      ASSERT_TRUE(ping.wait(10s));
      ping.clear();
      ++counter;
      pong.set();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    ++counter;
    ping.set();
    ASSERT_TRUE(pong.wait(10s));
    pong.clear();
  }
  other.join();
  EXPECT_EQ(counter, 2 * rounds);
}

TEST(Event, ConcurrentSettersClearersAndWaiters) {
  concur::event e;
  std::atomic<bool> stop{false};
  std::atomic<int> waits_done{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int n = 0; n < 2000 && !stop; ++n) {
          e.set();
          e.clear();
        }
      });
    }
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        for (int n = 0; n < 200; ++n) {
          (void)e.wait(1ms);
          (void)e.is_set();
          ++waits_done;
        }
      });
    }
  }
  e.set();
  EXPECT_TRUE(e.wait());
  EXPECT_EQ(waits_done.load(), 800);
}

}  // namespace
