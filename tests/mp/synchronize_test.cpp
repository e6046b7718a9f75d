// Process-shared locks, semaphores, events, conditions and barriers, translated from CPython's
// Lib/test/_test_multiprocessing.py (_TestLock, _TestSemaphore, _TestEvent, _TestCondition,
// _TestBarrier), plus processes killed while they hold a lock.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "concur/mp.hpp"
#include "mp/test_support.hpp"

namespace mp = concur::mp;
using namespace std::chrono_literals;

namespace {

// A negative check ("nobody else woke up") can only wait a while; it never fails a correct run.
constexpr auto settle = 50ms;

void take_and_signal(mp::mutex m, mp::event acquired) {
  m.acquire();
  acquired.set();
  m.release();
}

void hold_until_killed(mp::mutex m, mp::event holding) {
  m.acquire();
  holding.set();
  std::this_thread::sleep_for(60s);
}

void hold_rlock_until_killed(mp::recursive_mutex m, mp::event holding) {
  m.acquire();
  m.acquire();
  holding.set();
  std::this_thread::sleep_for(60s);
}

void release_after(mp::semaphore s, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  s.release();
}

void set_after(mp::event e, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  e.set();
}

// _TestCondition.f: announce, wait, report.
void condition_waiter(mp::condition cond, mp::semaphore sleeping, mp::semaphore woken,
                      long timeout_ms) {
  cond.acquire();
  sleeping.release();
  if (timeout_ms < 0) {
    cond.wait();
  } else {
    cond.wait(std::chrono::milliseconds(timeout_ms));
  }
  woken.release();
  cond.release();
}

void wait_for_four(mp::condition cond, mp::value<int> state) {
  std::lock_guard hold(cond);
  state.value() = 0;
  cond.notify();
  const bool ok = cond.wait_for([&] { return state.value() == 4; }, 30s);
  if (!ok || state.value() != 4) std::exit(1);
}

void notify_after(mp::condition cond, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::lock_guard hold(cond);
  cond.notify();
}

void barrier_rounds(mp::barrier b, mp::array<int> seen, int slot, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    const auto index = b.wait(30s);
    seen.get_lock().acquire();
    seen[static_cast<std::size_t>(slot * rounds + r)] = static_cast<int>(index);
    seen.get_lock().release();
  }
}

void barrier_wait_expect_broken(mp::barrier b, mp::semaphore done) {
  try {
    b.wait(30s);
    std::exit(2);
  } catch (const concur::broken_barrier_error&) {
    done.release();
  }
}

int wait_or_broken(mp::barrier b, std::chrono::milliseconds t) {
  try {
    return static_cast<int>(b.wait(t));
  } catch (const concur::broken_barrier_error&) {
    return -1;
  }
}

mp::process started(mp::process p) {
  p.start();
  return p;
}

void join_ok(mp::process& p) {
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

}  // namespace

// _TestLock.test_lock
TEST(MpLock, AcquireRelease) {
  mp::mutex lock;
  EXPECT_TRUE(lock.acquire());
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  EXPECT_THROW(lock.release(), concur::value_error);  // released too many times
}

// _TestLock.test_rlock
TEST(MpLock, RecursiveAcquireRelease) {
  mp::recursive_mutex lock;
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  lock.release();
  lock.release();
  lock.release();
  EXPECT_THROW(lock.release(), concur::value_error);
}

// _TestLock.test_lock_context, and the std spellings.
TEST(MpLock, WorksWithStdGuards) {
  mp::mutex lock;
  { const std::lock_guard hold(lock); }
  {
    std::unique_lock hold(lock, std::try_to_lock);
    EXPECT_TRUE(hold.owns_lock());
    EXPECT_FALSE(lock.try_lock());
  }
  EXPECT_TRUE(lock.try_lock_for(10ms));
  lock.unlock();
}

TEST(MpLock, TheHolderCannotDeadlockItself) {
  mp::mutex lock;
  lock.acquire();
  EXPECT_FALSE(lock.acquire(20ms));
  EXPECT_THROW(lock.acquire(), concur::invalid_state_error);
  lock.release();
}

TEST(MpLock, ExcludesAnotherProcess) {
  mp::mutex lock;
  mp::event acquired;
  lock.acquire();
  auto child = started(mp::process(take_and_signal, lock, acquired));
  EXPECT_FALSE(acquired.wait(settle));
  lock.release();
  EXPECT_TRUE(acquired.wait(30s));
  join_ok(child);
}

TEST(MpLock, ReleaseByAnotherThreadIsRefused) {
  mp::mutex lock;
  lock.acquire();
  std::thread other([&] { EXPECT_THROW(lock.release(), concur::value_error); });
  other.join();
  lock.release();
}

// A process killed while it holds the lock: the next acquire says so and frees it, instead of
// every other process waiting forever (Python's would).
TEST(MpLock, HolderKilledIsReportedAndTheLockRecovers) {
  mp::mutex lock;
  mp::event holding;
  auto child = started(mp::process(hold_until_killed, lock, holding));
  ASSERT_TRUE(holding.wait(30s));
  child.kill();
  ASSERT_TRUE(child.join(30s));
  EXPECT_THROW(lock.acquire(), mp::owner_died_error);
  EXPECT_TRUE(lock.acquire(5s));
  lock.release();
}

TEST(MpLock, RecursiveHolderKilledIsReportedAndTheLockRecovers) {
  mp::recursive_mutex lock;
  mp::event holding;
  auto child = started(mp::process(hold_rlock_until_killed, lock, holding));
  ASSERT_TRUE(holding.wait(30s));
  child.kill();
  ASSERT_TRUE(child.join(30s));
  EXPECT_THROW(lock.acquire(5s), mp::owner_died_error);
  EXPECT_TRUE(lock.acquire(5s));
  lock.release();
}

// _TestSemaphore._test_semaphore and test_semaphore
TEST(MpSemaphore, CountsAsPython) {
  mp::semaphore sem(2);
  EXPECT_EQ(sem.get_value(), 2u);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 1u);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 0u);
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_EQ(sem.get_value(), 0u);
  sem.release();
  EXPECT_EQ(sem.get_value(), 1u);
  sem.release();
  EXPECT_EQ(sem.get_value(), 2u);
  sem.release();
  EXPECT_EQ(sem.get_value(), 3u);
  sem.release();
  EXPECT_EQ(sem.get_value(), 4u);
}

// test_bounded_semaphore, with the check Python leaves commented out for macOS.
TEST(MpSemaphore, BoundedRefusesReleaseAboveItsValue) {
  mp::bounded_semaphore sem(2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  sem.release();
  sem.release();
  EXPECT_THROW(sem.release(), concur::value_error);
  EXPECT_EQ(sem.get_value(), 2u);
}

// test_timeout, without the timings (they belong in benchmarks).
TEST(MpSemaphore, Timeout) {
  mp::semaphore sem(0);
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(20ms));
  EXPECT_FALSE(sem.try_acquire_for(0ms));
}

TEST(MpSemaphore, ReleasedByAnotherProcess) {
  mp::semaphore sem(0);
  auto child = started(mp::process(release_after, sem, 20));
  EXPECT_TRUE(sem.acquire(30s));
  join_ok(child);
}

// _TestEvent.test_event
TEST(MpEvent, AsPython) {
  mp::event event;
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(0ms));
  EXPECT_FALSE(event.wait(20ms));
  event.set();
  EXPECT_TRUE(event.is_set());
  EXPECT_TRUE(event.wait());
  EXPECT_TRUE(event.wait(20ms));
  event.clear();
  EXPECT_FALSE(event.is_set());
  auto child = started(mp::process(set_after, event, 20));
  EXPECT_TRUE(event.wait());
  join_ok(child);
}

// _TestCondition.test_notify: one waiter in a process, one in a thread; each notify wakes one.
TEST(MpCondition, NotifyWakesOneAtATime) {
  mp::condition cond;
  mp::semaphore sleeping(0);
  mp::semaphore woken(0);
  auto child = started(mp::process(condition_waiter, cond, sleeping, woken, -1L));
  std::thread thread(condition_waiter, cond, sleeping, woken, -1L);
  ASSERT_TRUE(sleeping.acquire(30s));
  ASSERT_TRUE(sleeping.acquire(30s));
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(woken.get_value(), 0u);
  cond.acquire();
  cond.notify();
  cond.release();
  ASSERT_TRUE(woken.acquire(30s));
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(woken.get_value(), 0u);  // only one
  cond.acquire();
  cond.notify();
  cond.release();
  ASSERT_TRUE(woken.acquire(30s));
  thread.join();
  join_ok(child);
}

// test_notify_all and test_notify_n: waiters with a timeout time out on their own; the others
// wait for notify_all, or for notify(n) n at a time.
TEST(MpCondition, NotifyAllAndNotifyN) {
  mp::condition cond;
  mp::semaphore sleeping(0);
  mp::semaphore woken(0);
  std::vector<mp::process> procs;
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    procs.push_back(started(mp::process(condition_waiter, cond, sleeping, woken, 20L)));
    threads.emplace_back(condition_waiter, cond, sleeping, woken, 20L);
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sleeping.acquire(30s));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(woken.acquire(30s));  // they time out
  for (auto& t : threads) t.join();
  threads.clear();
  for (auto& p : procs) join_ok(p);
  procs.clear();

  for (int i = 0; i < 3; ++i) {
    procs.push_back(started(mp::process(condition_waiter, cond, sleeping, woken, -1L)));
    threads.emplace_back(condition_waiter, cond, sleeping, woken, -1L);
  }
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(sleeping.acquire(30s));
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(woken.get_value(), 0u);
  cond.acquire();
  cond.notify(2);
  cond.release();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(woken.acquire(30s));
  std::this_thread::sleep_for(settle);
  EXPECT_EQ(woken.get_value(), 0u);
  cond.acquire();
  cond.notify_all();
  cond.release();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(woken.acquire(30s));
  for (auto& t : threads) t.join();
  for (auto& p : procs) join_ok(p);
}

// test_wait_result
TEST(MpCondition, WaitResult) {
  mp::condition cond;
  std::lock_guard hold(cond);
  EXPECT_FALSE(cond.wait(0ms));
  EXPECT_FALSE(cond.wait(10ms));
  auto child = started(mp::process(notify_after, cond, 20));
  EXPECT_TRUE(cond.wait(30s));
  join_ok(child);
}

// test_waitfor
TEST(MpCondition, WaitFor) {
  mp::condition cond;
  mp::value<int> state(-1);
  auto child = started(mp::process(wait_for_four, cond, state));
  {
    std::lock_guard hold(cond);
    EXPECT_TRUE(cond.wait_for([&] { return state.value() == 0; }, 30s));
    EXPECT_EQ(state.value(), 0);
  }
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(10ms);
    std::lock_guard hold(cond);
    state.value() += 1;
    cond.notify();
  }
  join_ok(child);
}

TEST(MpCondition, NeedsTheLockHeld) {
  mp::condition cond;
  EXPECT_THROW(cond.wait(1ms), concur::invalid_state_error);
  EXPECT_THROW(cond.notify(), concur::invalid_state_error);
  mp::mutex m;
  mp::condition on_m(m);
  std::lock_guard hold(m);
  EXPECT_FALSE(on_m.wait(1ms));  // the condition's lock is m
}

// _TestBarrier.test_barrier and test_wait_return: rounds across processes, one index of each.
TEST(MpBarrier, RoundsAcrossProcesses) {
  constexpr int parties = 4;
  constexpr int rounds = 3;
  mp::barrier b(parties);
  mp::array<int> seen(static_cast<std::size_t>(parties * rounds));
  std::vector<mp::process> procs;
  for (int slot = 1; slot < parties; ++slot)
    procs.push_back(started(mp::process(barrier_rounds, b, seen, slot, rounds)));
  barrier_rounds(b, seen, 0, rounds);
  for (auto& p : procs) join_ok(p);
  for (int r = 0; r < rounds; ++r) {
    std::set<int> indices;
    for (int slot = 0; slot < parties; ++slot)
      indices.insert(seen[static_cast<std::size_t>(slot * rounds + r)]);
    EXPECT_EQ(indices, (std::set<int>{0, 1, 2, 3})) << "round " << r;
  }
  EXPECT_EQ(b.n_waiting(), 0u);
  EXPECT_FALSE(b.broken());
}

// test_abort
TEST(MpBarrier, AbortBreaksTheWaiters) {
  mp::barrier b(3);
  mp::semaphore done(0);
  auto child = started(mp::process(barrier_wait_expect_broken, b, done));
  for (int i = 0; i < 2000 && b.n_waiting() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(b.n_waiting(), 1u);
  b.abort();
  EXPECT_TRUE(done.acquire(30s));
  join_ok(child);
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(b.wait(1s), concur::broken_barrier_error);
  b.reset();
  EXPECT_FALSE(b.broken());
}

// test_timeout and test_default_timeout: a wait that times out breaks the barrier for all.
TEST(MpBarrier, TimeoutBreaksIt) {
  mp::barrier b(2);
  EXPECT_EQ(wait_or_broken(b, 20ms), -1);
  EXPECT_TRUE(b.broken());
  b.reset();
  mp::barrier with_default(2, 20ms);
  EXPECT_THROW(with_default.wait(), concur::broken_barrier_error);
  EXPECT_THROW(mp::barrier(0), concur::value_error);
}

namespace {
// The Python idiom: the pool initializer keeps the shared objects in a worker's global.
std::optional<mp::value<long long>> counter;
std::optional<mp::mutex> pool_lock;
void init_counter(mp::value<long long> v, mp::mutex m) {
  counter = std::move(v);
  pool_lock = std::move(m);
}
int add_under_lock(int n) {
  for (int i = 0; i < n; ++i) {
    const std::lock_guard hold(*counter);
    counter->value() += 1;
  }
  return n;
}
int die_holding_the_lock(int) {
  pool_lock->acquire();
  std::raise(SIGKILL);
  return 0;
}
}  // namespace

TEST(MpSharedState, PoolWorkersShareAValueThroughTheInitializer) {
  mp::value<long long> total(0);
  mp::mutex m;
  mp::pool p(2, mp::initializer(init_counter, total, m));
  const auto done = p.map(add_under_lock, std::vector<int>(8, 2500), 1);
  EXPECT_EQ(done, std::vector<int>(8, 2500));
  EXPECT_EQ(total.value(), 20000);
}

// A pool worker killed while it holds a shared lock: its task fails, the next acquire reports
// the death, and the lock works again for the parent and the replacement workers.
TEST(MpSharedState, PoolWorkerKilledHoldingALock) {
  mp::value<long long> total(0);
  mp::mutex m;
  mp::pool p(1, mp::initializer(init_counter, total, m));
  EXPECT_THROW(p.apply(die_holding_the_lock, 0), mp::process_crashed_error);
  EXPECT_THROW(m.acquire(5s), mp::owner_died_error);
  EXPECT_TRUE(m.acquire(5s));
  m.release();
  EXPECT_EQ(p.apply(add_under_lock, 10), 10);
  EXPECT_EQ(total.value(), 10);
}

TEST(MpSharedState, LocksCannotGoToPoolTasks) {
  mp::pool p(1);
  mp::mutex m;
  EXPECT_THROW(p.apply([](mp::mutex) { return 0; }, m), mp::error);  // Python: RuntimeError
}
