// mpi_pool_executor in static mode (mpiexec -n 3: rank 0 runs these, ranks 1 and 2 serve) and in
// dynamic mode (started alone: the executor spawns its ranks). The cases follow
// test_concurrent_futures (executor, wait, as_completed, shutdown) and mpi4py's
// test_futures.py (starmap, chunksize, remote exceptions).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "concur/futures.hpp"
#include "concur/mp.hpp"
#include "concur/mpi.hpp"

namespace mp = concur::mp;
namespace mpi = concur::mpi;
using namespace std::chrono_literals;

namespace {

int square(int x) { return x * x; }
bool is_odd(int x) { return x % 2 != 0; }
int add(int a, int b) { return a + b; }
int own_pid(int) { return static_cast<int>(::getpid()); }
int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<int>(::getpid());
}
int fail_with(int x) { throw std::runtime_error("boom " + std::to_string(x)); }
std::string reverse(std::string s) {
  std::reverse(s.begin(), s.end());
  return s;
}
std::vector<char> grow(std::vector<char> v) {
  v.push_back('!');
  return v;
}

// Encoded, one byte more than one MPI message can carry.
std::string over_two_gib(int) { return std::string(static_cast<std::size_t>(INT_MAX) + 1, 'x'); }

template <class Range>
std::vector<int> collect(Range&& results) {
  std::vector<int> out;
  for (int r : results) out.push_back(r);
  return out;
}

std::vector<int> iota(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// ---------------------------------------------------------------- static mode (mpiexec -n 3)

TEST(MpiStatic, UsesTheWorldsOtherRanks) {
  mpi::mpi_pool_executor ex;
  EXPECT_EQ(ex.mode(), mpi::launch_mode::static_ranks);
  EXPECT_EQ(ex.max_workers(), 2U);
  EXPECT_EQ(ex.submit(square, 7).result(), 49);
  EXPECT_EQ(ex.submit(add, 2, 40).result(), 42);
  EXPECT_EQ(ex.submit([](int x) { return x + 1; }, 1).result(), 2);
}

TEST(MpiStatic, WorkRunsInTheWorkerRanks) {
  mpi::mpi_pool_executor ex;
  std::vector<concur::future<int>> fs;
  for (int i = 0; i < 8; ++i) fs.push_back(ex.submit(sleep_ms, 50));
  std::set<int> pids;
  for (auto& f : fs) pids.insert(f.result());
  EXPECT_EQ(pids.size(), 2U) << "both worker ranks should have taken tasks";
  EXPECT_EQ(pids.count(static_cast<int>(::getpid())), 0U);
}

TEST(MpiStatic, MapKeepsOrderWithAndWithoutChunks) {
  mpi::mpi_pool_executor ex;
  const std::vector<int> xs = iota(10'000);
  std::vector<int> want;
  for (int x : xs) want.push_back(x * x);
  EXPECT_EQ(collect(ex.map(square, std::vector<int>{1, 2, 3})), (std::vector<int>{1, 4, 9}));
  for (std::size_t chunk : {7U, 1000U, 20'000U})
    EXPECT_EQ(collect(ex.map({.chunksize = chunk}, square, xs)), want) << "chunksize " << chunk;
  // One message each way per item: fewer items, so the test stays short on a loaded machine.
  const std::vector<int> few(xs.begin(), xs.begin() + 500);
  EXPECT_EQ(collect(ex.map({.chunksize = 1}, square, few)),
            std::vector<int>(want.begin(), want.begin() + 500));
  auto results = ex.map({.chunksize = 100}, square, xs);
  EXPECT_EQ(results.size(), xs.size());
  // In step over two ranges, stopping at the shorter one (Python's zip).
  EXPECT_EQ(
      collect(ex.map({.chunksize = 2}, add, std::vector<int>{1, 2, 3}, std::vector<int>{10, 20})),
      (std::vector<int>{11, 22}));
  EXPECT_TRUE(collect(ex.map({.chunksize = 5}, square, std::vector<int>{})).empty());
  // Results that std::vector<bool> packs come back by value.
  std::vector<bool> odd;
  for (bool b : ex.map({.chunksize = 3}, is_odd, iota(10))) odd.push_back(b);
  EXPECT_EQ(odd,
            (std::vector<bool>{false, true, false, true, false, true, false, true, false, true}));
}

TEST(MpiStatic, MapRejectsChunksizeZero) {
  mpi::mpi_pool_executor ex;
  EXPECT_THROW((void)ex.map({.chunksize = 0}, square, iota(3)), concur::value_error);
}

TEST(MpiStatic, StarmapAppliesTuples) {
  mpi::mpi_pool_executor ex;
  const std::vector<std::pair<int, int>> pairs = {{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(collect(ex.starmap(add, pairs)), (std::vector<int>{3, 7, 11}));
  const std::vector<std::tuple<int, int>> tuples = {{10, 1}, {20, 2}};
  EXPECT_EQ(collect(ex.starmap(add, tuples, {.chunksize = 2})), (std::vector<int>{11, 22}));
}

TEST(MpiStatic, ATasksExceptionComesBackAsRemoteError) {
  mpi::mpi_pool_executor ex;
  auto f = ex.submit(fail_with, 7);
  try {
    (void)f.result();
    FAIL() << "expected remote_error";
  } catch (const mp::remote_error& e) {
    EXPECT_EQ(e.type_name(), "std::runtime_error");
    EXPECT_EQ(e.message(), "boom 7");
  }
  EXPECT_NE(f.exception(), nullptr);
  // The worker that raised goes on serving.
  EXPECT_EQ(ex.submit(square, 3).result(), 9);
  // In a map, the failed item's chunk raises when its first item is reached.
  auto results = ex.map({.chunksize = 2}, fail_with, iota(4));
  EXPECT_THROW((void)*results.begin(), mp::remote_error);
}

TEST(MpiStatic, AFunctionInASharedLibraryIsFoundByItsBuildId) {
  mpi::mpi_pool_executor ex;
  // ::labs lives in libc.so.6, loaded at another address in each rank.
  long (*in_libc)(long) = &::labs;
  EXPECT_EQ(ex.submit(in_libc, -5L).result(), 5L);
}

TEST(MpiStatic, ValuesOfManyTypesTravel) {
  mpi::mpi_pool_executor ex;
  EXPECT_EQ(ex.submit(reverse, "abc").result(), "cba");
  // Well above OpenMPI's eager limit both ways, while the other worker sends results too.
  std::vector<concur::future<std::vector<char>>> big;
  for (int i = 0; i < 4; ++i)
    big.push_back(ex.submit(grow, std::vector<char>(8u << 20, static_cast<char>('a' + i))));
  for (int i = 0; i < 4; ++i) {
    const std::vector<char> v = big[static_cast<std::size_t>(i)].result();
    ASSERT_EQ(v.size(), (8u << 20) + 1);
    EXPECT_EQ(v.front(), static_cast<char>('a' + i));
    EXPECT_EQ(v.back(), '!');
  }
}

// Its own CTest test, in the plain build only: the worker touches 4 GiB (20 s here).
TEST(MpiOversized, AResultOverTwoGibFailsItsTaskAndTheRankGoesOn) {
  mpi::mpi_pool_executor ex(1);
  try {
    (void)ex.submit(over_two_gib, 0).result();
    FAIL() << "a result over 2 GiB came back";
  } catch (const mp::remote_error& e) {
    EXPECT_EQ(e.type_name(), "concur::mpi::error");
    EXPECT_NE(std::string(e.what()).find("over MPI's 2 GiB message limit"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ex.submit(square, 9).result(), 81);
}

TEST(MpiStatic, WaitAndAsCompletedWorkOnItsFutures) {
  mpi::mpi_pool_executor ex;
  std::vector<concur::future<int>> fs;
  fs.push_back(ex.submit(sleep_ms, 400));
  fs.push_back(ex.submit(sleep_ms, 1));
  const auto first = concur::wait(fs, concur::return_when::first_completed);
  EXPECT_GE(first.done.size(), 1U);
  std::size_t seen = 0;
  for (auto& f : concur::as_completed(fs, 30s)) {
    EXPECT_TRUE(f.done());
    ++seen;
  }
  EXPECT_EQ(seen, 2U);
}

TEST(MpiStatic, MapTimeoutRaisesTimeoutError) {
  mpi::mpi_pool_executor ex;
  auto results = ex.map({.timeout = 50ms, .chunksize = 1}, sleep_ms, std::vector<int>{1000, 1000});
  EXPECT_THROW((void)*results.begin(), concur::timeout_error);
}

TEST(MpiStatic, ShutdownCancelFuturesCancelsWhatNoWorkerHas) {
  std::vector<concur::future<int>> fs;
  {
    mpi::mpi_pool_executor ex;
    for (int i = 0; i < 12; ++i) fs.push_back(ex.submit(sleep_ms, 150));
    std::this_thread::sleep_for(50ms);
    ex.shutdown(true, true);
    EXPECT_THROW((void)ex.submit(square, 1), concur::executor_shutdown_error);
  }
  std::size_t cancelled = 0;
  std::size_t ran = 0;
  for (auto& f : fs) {
    ASSERT_TRUE(f.done());
    if (f.cancelled()) {
      ++cancelled;
    } else {
      (void)f.result();
      ++ran;
    }
  }
  // Two workers, each with one task running and one waiting behind it, at most.
  EXPECT_GE(cancelled, 8U);
  EXPECT_GE(ran, 2U);
  EXPECT_EQ(cancelled + ran, 12U);
  // The world's workers outlive one executor: the next one uses them.
  mpi::mpi_pool_executor again;
  EXPECT_EQ(again.submit(square, 5).result(), 25);
}

TEST(MpiStatic, ShutdownWithoutWaitLetsRunningWorkFinish) {
  mpi::mpi_pool_executor ex;
  auto f = ex.submit(sleep_ms, 100);
  ex.shutdown(false);
  EXPECT_GT(f.result(), 0);
}

TEST(MpiStatic, MaxWorkersAboveTheWorldIsAValueError) {
  EXPECT_THROW(mpi::mpi_pool_executor(3), concur::value_error);
  mpi::mpi_pool_executor one(1);
  EXPECT_EQ(one.max_workers(), 1U);
  std::set<int> pids;
  for (int i = 0; i < 4; ++i) pids.insert(one.submit(own_pid, i).result());
  EXPECT_EQ(pids.size(), 1U) << "max_workers=1 uses one rank";
}

TEST(MpiStatic, SatisfiesTheExecutorConcept) {
  static_assert(concur::executor<mpi::mpi_pool_executor>);
  SUCCEED();
}

// ---------------------------------------------------------------- dynamic mode (spawned ranks)

TEST(MpiDynamic, SpawnsItsWorkers) {
  mpi::mpi_pool_executor ex(2);
  EXPECT_EQ(ex.mode(), mpi::launch_mode::dynamic);
  EXPECT_EQ(ex.max_workers(), 2U);
  std::vector<concur::future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(ex.submit(sleep_ms, 50));
  std::set<int> pids;
  for (auto& f : fs) pids.insert(f.result());
  EXPECT_EQ(pids.size(), 2U);
  EXPECT_EQ(pids.count(static_cast<int>(::getpid())), 0U);
  EXPECT_EQ(collect(ex.map({.chunksize = 10}, square, iota(100))).back(), 99 * 99);
  EXPECT_THROW((void)ex.submit(fail_with, 1).result(), mp::remote_error);
  // Started alone or by the test's mpiexec: either way PMIx's hash store (the spawn-hang guard).
  const char* store = std::getenv("PMIX_MCA_gds");
  ASSERT_NE(store, nullptr);
  EXPECT_STREQ(store, "hash");
}

TEST(MpiDynamic, EachExecutorSpawnsAndReleasesItsOwn) {
  for (int round = 0; round < 2; ++round) {
    mpi::mpi_pool_executor ex(1);
    EXPECT_EQ(ex.submit(add, round, 1).result(), round + 1);
    ex.shutdown();
    EXPECT_THROW((void)ex.submit(square, 1), concur::executor_shutdown_error);
  }
}

// ---------------------------------------------------------------- spawning refused (own CTest)

// Run without oversubscription: MPI has no slots for that many ranks and says so.
TEST(MpiSpawnRefused, TooManyRanksIsAnMpiError) {
  try {
    mpi::mpi_pool_executor ex(10'000);
    FAIL() << "expected mpi::error";
  } catch (const mpi::error& e) {
    EXPECT_NE(std::string(e.what()).find("MPI_Comm_spawn"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- ends the job (own CTest)

TEST(MpiAbortJob, TaskTimeoutBreaksTheExecutor) {
  mpi::mpi_pool_executor ex(0, {.task_timeout = 300ms});
  auto stuck = ex.submit(sleep_ms, 60'000);
  auto queued = ex.submit(square, 2);
  auto queued2 = ex.submit(square, 3);
  EXPECT_THROW((void)stuck.result(), concur::broken_executor_error);
  // The other worker may have answered its task before the timeout; a task still waiting fails.
  for (auto* f : {&queued, &queued2}) {
    try {
      (void)f->result();
    } catch (const concur::broken_executor_error& e) {
      EXPECT_NE(std::string(e.what()).find("task_timeout"), std::string::npos);
    }
  }
  EXPECT_THROW((void)ex.submit(square, 1), concur::broken_executor_error);
  std::cout << "executor broken by the timeout" << std::endl;
}

}  // namespace
