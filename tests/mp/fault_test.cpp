// Parent death, a threaded parent starting a pool, and the fork server itself.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "mp/test_support.hpp"
#include "support/temp_dir.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
int sleep_long(int) {
  std::this_thread::sleep_for(60s);
  return 0;
}

// Leaves a file named after this worker's pid in `dir`, then runs until killed: the test knows
// the task is in a worker, not in a queue, when the file is there.
int announce_then_sleep(std::string dir) {
  std::ofstream(dir + "/" + std::to_string(::getpid())) << "running";
  std::this_thread::sleep_for(60s);
  return 0;
}

// True once `n` tasks have announced themselves in `dir`, polling for at most `limit`.
bool wait_for_announcements(const std::filesystem::path& dir, std::size_t n,
                            std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    std::size_t seen = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++seen;
    if (seen >= n) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

void sleep_a_minute() { std::this_thread::sleep_for(60s); }

// Kills this program's fork server: its pid, 0 if none ran.
int kill_fork_server() {
  const int server = mp::detail::fork_server_pid();
  if (server <= 0) return server;
  ::kill(server, SIGKILL);
  return server;
}

void expect_killed_by_the_server_death(const concur::future<int>& f) {
  try {
    f.result(30s);
    ADD_FAILURE() << "expected process_crashed_error";
  } catch (const mp::process_crashed_error& e) {
    EXPECT_EQ(e.exitcode(), -SIGKILL) << e.what();
  }
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

// The fork server dies under a pool whose workers are running tasks: those tasks fail with
// process_crashed_error, and the pool starts a new server and new workers and goes on (it used
// to fail every later call with "pool is not running").
TEST(MpFaults, PoolSurvivesItsForkServer) {
  mp::pool p(2);
  const std::vector<int> before = p.pids();
  concur_test::temp_dir dir;
  auto a = p.apply_async(announce_then_sleep, dir.path().native());
  auto b = p.apply_async(announce_then_sleep, dir.path().native());
  ASSERT_TRUE(wait_for_announcements(dir.path(), 2, 20s));
  const int server = kill_fork_server();
  ASSERT_GT(server, 0);
  expect_killed_by_the_server_death(a.future());
  expect_killed_by_the_server_death(b.future());
  for (int round = 0; round < 2; ++round) {
    std::vector<int> in(100);
    std::iota(in.begin(), in.end(), 0);
    const auto out = p.map(square, in, 7);
    ASSERT_EQ(out.size(), in.size());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i * i);
  }
  EXPECT_EQ(p.apply(square, 12), 144);
  EXPECT_EQ(p.size(), 2u);
  const std::vector<int> after = p.pids();
  EXPECT_EQ(after.size(), 2u);
  for (int pid : after) EXPECT_EQ(std::count(before.begin(), before.end(), pid), 0) << pid;
  EXPECT_NE(mp::detail::fork_server_pid(), server);
  EXPECT_TRUE(mp::testing::process_gone(server, 10s));
  for (int pid : before) EXPECT_TRUE(mp::testing::process_gone(pid, 10s)) << pid;
  p.close();
  p.join();
  EXPECT_EQ(mp::testing::children_of(mp::detail::fork_server_pid()), std::vector<int>{});
}

// The same while every worker is idle: the deaths are seen between tasks.
TEST(MpFaults, IdlePoolSurvivesItsForkServer) {
  mp::pool p(2);
  EXPECT_EQ(p.apply(square, 3), 9);
  const int server = kill_fork_server();
  ASSERT_GT(server, 0);
  ASSERT_TRUE(mp::testing::process_gone(server, 10s));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(p.apply(square, i), i * i);
}

TEST(MpFaults, ExecutorSurvivesItsForkServer) {
  mp::process_pool_executor ex(2);
  concur_test::temp_dir dir;
  auto a = ex.submit(announce_then_sleep, dir.path().native());
  auto b = ex.submit(announce_then_sleep, dir.path().native());
  auto queued = ex.submit(square, 5);  // behind a running task: never started, so not lost
  ASSERT_TRUE(wait_for_announcements(dir.path(), 2, 20s));
  const int server = kill_fork_server();
  ASSERT_GT(server, 0);
  expect_killed_by_the_server_death(a);
  expect_killed_by_the_server_death(b);
  EXPECT_EQ(queued.result(30s), 25);
  std::vector<int> in(50);
  std::iota(in.begin(), in.end(), 0);
  int i = 0;
  for (int v : ex.map(square, in)) {
    EXPECT_EQ(v, i * i);
    ++i;
  }
  EXPECT_EQ(i, 50);
  ex.shutdown(true);
}

// A Process whose fork server dies is killed with it (PDEATHSIG); join() returns and says so.
TEST(MpFaults, ProcessOrphanedByItsForkServerJoins) {
  mp::process child(sleep_a_minute);
  child.start();
  const int server = kill_fork_server();
  ASSERT_GT(server, 0);
  ASSERT_TRUE(child.join(30s));
  EXPECT_EQ(child.exitcode(), -SIGKILL);
  EXPECT_FALSE(child.is_alive());
  mp::process next(sleep_a_minute);  // a new server, a new child
  next.start();
  EXPECT_TRUE(next.is_alive());
  next.kill();
  ASSERT_TRUE(next.join(30s));
  EXPECT_EQ(next.exitcode(), -SIGKILL);
}
