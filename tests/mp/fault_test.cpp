// Parent death, a threaded parent starting a pool, and the fork server itself.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "mp/test_support.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
int sleep_long(int) {
  std::this_thread::sleep_for(60s);
  return 0;
}

// Runs in a child process: starts a pool (its own fork server), reports the pids, waits to die.
void pool_owner(mp::connection<std::vector<int>> report) {
  mp::pool p(2);
  std::vector<int> pids = p.pids();
  pids.push_back(mp::detail::fork_server_pid());
  report.send(pids);
  p.map(sleep_long, std::vector<int>{1, 2}, 1);
}

// Runs in a child process with busy threads and no fork server yet: the lazy start must work.
void threaded_parent() {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      while (!stop.load()) {
        std::vector<int> churn(64);  // keeps malloc's locks busy across the fork
        churn[0] = 1;
      }
    });
  int status = 0;
  {
    std::vector<int> in(200);
    std::iota(in.begin(), in.end(), 0);
    mp::pool p(2);
    const auto out = p.map(square, in);
    for (int i = 0; i < 200; ++i)
      if (out[static_cast<std::size_t>(i)] != i * i) status = 3;
  }
  stop = true;
  for (auto& t : threads) t.join();
  std::exit(status);
}

}  // namespace

TEST(MpFaults, WorkersExitWhenTheParentDies) {
  auto [r, w] = mp::pipe<std::vector<int>>(false);
  mp::process owner(pool_owner, std::move(w));
  owner.start();
  ASSERT_TRUE(r.poll(20s));
  const std::vector<int> pids = r.recv();
  ASSERT_EQ(pids.size(), 3u);
  owner.kill();
  owner.join();
  EXPECT_EQ(owner.exitcode(), -SIGKILL);
  for (int pid : pids) EXPECT_TRUE(mp::testing::process_gone(pid, 20s)) << pid;
}

TEST(MpFaults, ThreadedParentStartsAPoolLazily) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support fork() from a multi-threaded process";
#endif
  mp::process p(threaded_parent);
  p.start();
  ASSERT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(MpFaults, ThreadedParentWithEarlyInitStartsPools) {
  // This test binary started the fork server before main; threads now run while pools start.
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      while (!stop.load()) std::this_thread::sleep_for(1ms);
    });
  for (int round = 0; round < 3; ++round) {
    mp::pool p(2);
    EXPECT_EQ(p.map(square, std::vector<int>{2, 3}), (std::vector<int>{4, 9}));
  }
  stop = true;
  for (auto& t : threads) t.join();
}

TEST(MpFaults, KilledForkServerIsRestarted) {
  const int server = mp::detail::fork_server_pid();
  ASSERT_GT(server, 0);
  ::kill(server, SIGKILL);
  mp::pool p(1);
  EXPECT_EQ(p.apply(square, 5), 25);
  EXPECT_NE(mp::detail::fork_server_pid(), server);
  EXPECT_TRUE(mp::testing::process_gone(server, 10s));  // the dead server was reaped
}
