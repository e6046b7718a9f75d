#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <exception>
#include <list>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "mp/test_support.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
int my_pid(int) { return ::getpid(); }
int add(int a, int b) { return a + b; }
bool is_odd(int x) { return x % 2 != 0; }
int from_bool(bool b) { return b ? 1 : 0; }
bool both(bool a, bool b) { return a && b; }
std::string greet(const std::string& name, int n) { return name + std::to_string(n); }

struct bad_input : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

int crash_on(int x) {
  if (x == 3) std::raise(SIGSEGV);
  if (x == 5) std::abort();
  if (x == 7) std::terminate();
  if (x == 9) ::_exit(42);
  return x;
}

int throw_on_odd(int x) {
  if (x % 2 != 0) throw bad_input("odd input " + std::to_string(x));
  return x;
}

double half(double x) { return x / 2; }
char upper(char c) { return static_cast<char>(c - 'a' + 'A'); }
long long widen(short s) { return s * 1'000'000'000'000LL; }
std::size_t length_of(const std::string& s) { return s.size(); }

int sleep_then(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

}  // namespace

TEST(MpPool, MapSquaresInOrder) {
  mp::pool p(3);
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  const std::vector<int> out = p.map(square, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[i], i * i);
}

TEST(MpPool, MapEmptyAndExplicitChunks) {
  mp::pool p(2);
  EXPECT_TRUE(p.map(square, std::vector<int>{}).empty());
  EXPECT_EQ(p.map(square, std::vector<int>{1, 2, 3}, 1), (std::vector<int>{1, 4, 9}));
  EXPECT_EQ(p.map(square, std::vector<int>{1, 2, 3}, 100), (std::vector<int>{1, 4, 9}));
}

// Chunks of bools travel packed as bytes (cereal would move them one at a time).
TEST(MpPool, BoolsInAndOutOfEveryMapForm) {
  mp::pool p(2);
  std::vector<int> in(1001);
  std::iota(in.begin(), in.end(), 0);
  const std::vector<bool> odd = p.map(is_odd, in);
  ASSERT_EQ(odd.size(), in.size());
  for (int i = 0; i <= 1000; ++i) EXPECT_EQ(odd[i], i % 2 != 0) << i;
  EXPECT_EQ(p.map(from_bool, std::vector<bool>{true, false, true}, 2), (std::vector<int>{1, 0, 1}));
  std::vector<bool> streamed;
  for (bool b : p.imap(is_odd, std::vector<int>{1, 2, 3}, 2)) streamed.push_back(b);
  EXPECT_EQ(streamed, (std::vector<bool>{true, false, true}));
  const std::vector<std::tuple<bool, bool>> pairs{{true, true}, {true, false}, {false, true}};
  EXPECT_EQ(p.starmap(both, pairs), (std::vector<bool>{true, false, false}));
}

// Arithmetic chunks travel as raw bytes; other ranges and element types go through cereal.
TEST(MpPool, EveryElementTypeAndRangeShapeMapsAlike) {
  mp::pool p(2);
  std::vector<double> d(777);
  std::iota(d.begin(), d.end(), -300.25);
  const std::vector<double> halves = p.map(half, d);
  ASSERT_EQ(halves.size(), d.size());
  for (std::size_t i = 0; i < d.size(); ++i) EXPECT_EQ(halves[i], d[i] / 2) << i;
  const std::vector<char> letters{'a', 'b', 'c', 'd', 'e'};
  EXPECT_EQ(p.map(upper, letters, 2), (std::vector<char>{'A', 'B', 'C', 'D', 'E'}));
  const std::list<int> linked{3, 1, 2};
  EXPECT_EQ(p.map(square, linked), (std::vector<int>{9, 1, 4}));
  const std::deque<int> spread{0, 1, 2, 3, 4};  // random access, not contiguous
  EXPECT_EQ(p.map(square, spread), (std::vector<int>{0, 1, 4, 9, 16}));
  const std::vector<short> shorts{-2, 7};
  EXPECT_EQ(p.map(widen, shorts),
            (std::vector<long long>{-2'000'000'000'000LL, 7'000'000'000'000LL}));
  const std::vector<std::string> words{"ab", "", "xyz"};
  EXPECT_EQ(p.map(length_of, words, 1), (std::vector<std::size_t>{2, 0, 3}));
}

TEST(MpPool, RunsInOtherProcesses) {
  mp::pool p(2);
  const auto pids = p.map(my_pid, std::vector<int>(50, 0), 1);
  const std::set<int> distinct(pids.begin(), pids.end());
  for (int pid : distinct) EXPECT_NE(pid, ::getpid());
  const auto workers = p.pids();
  for (int pid : distinct) EXPECT_NE(std::find(workers.begin(), workers.end(), pid), workers.end());
}

TEST(MpPool, LambdaAndStarmapAndApply) {
  mp::pool p(2);
  EXPECT_EQ(p.map([](int x) { return x + 1; }, std::vector<int>{1, 2}), (std::vector<int>{2, 3}));
  const std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(p.starmap(add, pairs), (std::vector<int>{3, 7, 11}));
  EXPECT_EQ(p.apply(add, 20, 22), 42);
  EXPECT_EQ(p.apply(greet, "n", 7), "n7");
}

TEST(MpPool, ImapOrderedAndUnordered) {
  mp::pool p(3);
  std::vector<int> in(100);
  std::iota(in.begin(), in.end(), 0);
  std::vector<int> ordered;
  for (int v : p.imap(square, in)) ordered.push_back(v);
  ASSERT_EQ(ordered.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ordered[i], i * i);
  auto unordered = p.imap_unordered(square, in, 7).to_vector();
  std::sort(unordered.begin(), unordered.end());
  EXPECT_EQ(unordered, ordered);
}

TEST(MpPool, RemoteExceptionCarriesTypeAndMessage) {
  mp::pool p(2);
  try {
    p.apply(throw_on_odd, 3);
    FAIL() << "expected remote_error";
  } catch (const mp::remote_error& e) {
    EXPECT_NE(e.type_name().find("bad_input"), std::string::npos) << e.type_name();
    EXPECT_EQ(e.message(), "odd input 3");
    EXPECT_NE(std::string(e.what()).find("odd input 3"), std::string::npos);
  }
  EXPECT_THROW(p.map(throw_on_odd, std::vector<int>{2, 4, 5}), mp::remote_error);
  // The pool still works afterwards.
  EXPECT_EQ(p.apply(throw_on_odd, 4), 4);
}

TEST(MpPool, EachKindOfCrashFailsOnlyItsTask) {
  mp::pool p(2);
  struct expectation {
    int input;
    int exitcode;
  };
  for (auto [input, exitcode] : {expectation{3, -SIGSEGV}, expectation{5, -SIGABRT},
                                 expectation{7, -SIGABRT}, expectation{9, 42}}) {
    try {
      p.apply(crash_on, input);
      ADD_FAILURE() << "input " << input << " should have crashed";
    } catch (const mp::process_crashed_error& e) {
      if (input == 3 && mp::testing::sanitizer_handles_segv) {
        EXPECT_NE(e.exitcode(), 0) << e.what();  // ASan reports the SEGV and exits with 1
      } else {
        EXPECT_EQ(e.exitcode(), exitcode) << e.what();
      }
      EXPECT_GT(e.pid(), 0);
    }
    EXPECT_EQ(p.apply(crash_on, 1), 1);  // the replacement works
  }
  EXPECT_EQ(p.pids().size(), 2u);
}

TEST(MpPool, CrashInsideMapFailsTheMapOnly) {
  mp::pool p(2);
  EXPECT_THROW(p.map(crash_on, std::vector<int>{1, 2, 3, 4}, 1), mp::process_crashed_error);
  EXPECT_EQ(p.map(square, std::vector<int>{1, 2}), (std::vector<int>{1, 4}));
}

TEST(MpPool, KilledFromOutsideIsReplaced) {
  mp::pool p(1);
  const int victim = p.pids().at(0);
  std::thread killer([victim] {
    std::this_thread::sleep_for(50ms);
    ::kill(victim, SIGKILL);
  });
  try {
    p.apply(sleep_then, 10000);
    ADD_FAILURE() << "expected a crash";
  } catch (const mp::process_crashed_error& e) {
    EXPECT_EQ(e.exitcode(), -SIGKILL);
    EXPECT_EQ(e.pid(), victim);
    EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
  }
  killer.join();
  EXPECT_EQ(p.apply(square, 6), 36);
  EXPECT_NE(p.pids().at(0), victim);
}

TEST(MpPool, TaskTimeoutKillsAndReplaces) {
  mp::pool p(1, mp::pool_options{.max_tasks_per_child = 0, .task_timeout = 200ms});
  const int before = p.pids().at(0);
  EXPECT_THROW(p.apply(sleep_then, 20000), concur::timeout_error);
  EXPECT_EQ(p.apply(sleep_then, 1), 1);
  EXPECT_NE(p.pids().at(0), before);
  EXPECT_TRUE(mp::testing::process_gone(before, 10s));
}

TEST(MpPool, MaxTasksPerChild) {
  mp::pool p(1, mp::pool_options{.max_tasks_per_child = 2});
  std::set<int> seen;
  for (int i = 0; i < 6; ++i) seen.insert(p.apply(my_pid, 0));
  EXPECT_EQ(seen.size(), 3u);
}

namespace {
int init_value = 0;
void set_init_value(int v) { init_value = v; }
int read_init_value(int) { return init_value; }
void failing_init() { throw std::runtime_error("no config"); }
}  // namespace

TEST(MpPool, InitializerRunsInEveryWorker) {
  mp::pool p(2, mp::initializer(set_init_value, 17));
  const auto values = p.map(read_init_value, std::vector<int>(20, 0), 1);
  for (int v : values) EXPECT_EQ(v, 17);
  EXPECT_EQ(init_value, 0);  // the parent's copy is untouched
}

TEST(MpPool, FailingInitializerBreaksThePoolWithAClearError) {
  mp::pool p(1, mp::initializer(failing_init));
  try {
    p.apply(square, 2);
    ADD_FAILURE() << "expected an error";
  } catch (const mp::error& e) {
    EXPECT_NE(std::string(e.what()).find("no config"), std::string::npos) << e.what();
  }
}

TEST(MpPool, CloseJoinLeavesNoZombies) {
  std::vector<int> pids;
  {
    mp::pool p(3);
    EXPECT_EQ(p.map(square, std::vector<int>{1, 2, 3}), (std::vector<int>{1, 4, 9}));
    pids = p.pids();
    EXPECT_THROW(p.join(), concur::invalid_state_error);
    p.close();
    EXPECT_THROW(p.apply(square, 1), concur::invalid_state_error);
    p.join();
  }
  ASSERT_EQ(pids.size(), 3u);
  for (int pid : pids) EXPECT_TRUE(mp::testing::process_gone(pid, 10s)) << pid;
  EXPECT_EQ(mp::testing::children_of(mp::detail::fork_server_pid()), std::vector<int>{});
}

TEST(MpPool, TerminateFailsUnfinishedWork) {
  mp::pool p(1);
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    p.terminate();
  });
  EXPECT_THROW(p.apply(sleep_then, 20000), concur::cancelled_error);
  t.join();
  EXPECT_EQ(mp::testing::children_of(mp::detail::fork_server_pid()), std::vector<int>{});
}

TEST(MpPool, ThreadsSubmitConcurrently) {
  mp::pool p(2);
  std::vector<std::thread> threads;
  std::vector<int> sums(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) sums[t] += p.apply(add, t, i);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(sums[t], 25 * t + 300);
}

TEST(MpPool, ZeroProcessesMeansCpuCount) {
  mp::pool p;
  EXPECT_EQ(p.size(), mp::cpu_count());
}
