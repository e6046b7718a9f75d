#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "concur/mp.hpp"
#include "mp/test_support.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

void exit_with(int code) { ::_exit(code); }
void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
void check_args(std::string s, std::vector<int> v, int expect_sum) {
  int sum = 0;
  for (int x : v) sum += x;
  std::exit(s == "hello" && sum == expect_sum ? 0 : 7);
}
void throws() { throw std::runtime_error("boom"); }

}  // namespace

TEST(MpProcess, RunsAndReportsExitCode) {
  mp::process p(exit_with, 3);
  EXPECT_EQ(p.pid(), 0);
  p.start();
  EXPECT_GT(p.pid(), 0);
  EXPECT_NE(p.pid(), ::getpid());
  p.join();
  ASSERT_TRUE(p.exitcode());
  EXPECT_EQ(*p.exitcode(), 3);
  EXPECT_FALSE(p.is_alive());
}

TEST(MpProcess, ArgumentsArrive) {
  mp::process p(check_args, "hello", std::vector<int>{1, 2, 3}, 6);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(MpProcess, CaptureLessLambda) {
  mp::process p([](int a, int b) { std::exit(a + b); }, 2, 3);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 5);
}

TEST(MpProcess, UncaughtExceptionGivesExitCodeOne) {
  mp::process p(throws);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
}

TEST(MpProcess, JoinTimeoutAndTerminate) {
  mp::process p(sleep_ms, 20000);
  p.start();
  EXPECT_FALSE(p.join(50ms));
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.exitcode());
  p.terminate();
  EXPECT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(MpProcess, Kill) {
  mp::process p(sleep_ms, 20000);
  p.start();
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(MpProcess, Crash) {
  mp::process p([] { std::abort(); });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGABRT);
}

TEST(MpProcess, StartTwiceAndJoinUnstartedAreErrors) {
  mp::process p(exit_with, 0);
  EXPECT_THROW(p.join(), concur::invalid_state_error);
  p.start();
  EXPECT_THROW(p.start(), concur::invalid_state_error);
  p.join();
  mp::process empty;
  EXPECT_THROW(empty.start(), concur::invalid_state_error);
}

TEST(MpProcess, DaemonIsKilledOnDestruction) {
  int pid = 0;
  {
    mp::process p(sleep_ms, 20000);
    p.set_daemon(true);
    p.start();
    pid = p.pid();
  }
  EXPECT_TRUE(mp::testing::process_gone(pid, 10s));
}

TEST(MpProcess, CpuCount) { EXPECT_GE(mp::cpu_count(), 1u); }
