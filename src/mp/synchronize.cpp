#include "concur/mp/synchronize.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <mutex>
#include <thread>

#include "concur/core/futex.hpp"
#include "concur/core/random.hpp"

namespace concur::mp {

namespace detail {

namespace {

constexpr auto shared = concur::detail::futex_scope::shared;

// Who holds a lock: a random 64-bit token per thread, drawn once. Not the kernel's thread id:
// that is recycled once its thread (or the process holding the lock) has died, and a new thread
// with the dead holder's id would take the lock for its own; and asking the kernel for it on
// every acquire and release cost more than the lock. A forked child's only thread is another
// thread, so fork draws a new token (pthread_atfork's child handler runs in that thread).
thread_local std::uint64_t cached_token = 0;

void forget_token() noexcept { cached_token = 0; }

std::uint64_t this_thread_token() {
  if (cached_token == 0) {
    static const int registered = ::pthread_atfork(nullptr, nullptr, forget_token);
    (void)registered;
    cached_token = random_nonzero_u64();
  }
  return cached_token;
}

// How many times a contended acquire retries before it sleeps in the kernel: the holder of a
// shared lock usually runs on another core and lets go within a few hundred cycles, and a
// sleep and a wake-up cost microseconds each.
constexpr int spin_rounds = 100;

int take_pthread_mutex(pthread_mutex_t* m, bool block, clock::time_point deadline) noexcept {
  const int first = ::pthread_mutex_trylock(m);
  if (first != EBUSY || !block) return first;
  for (int i = 0; i < spin_rounds; ++i) {
    concur::detail::cpu_relax();
    const int rc = ::pthread_mutex_trylock(m);
    if (rc != EBUSY) return rc;
  }
  if (deadline == clock::time_point::max()) return ::pthread_mutex_lock(m);
  const timespec ts = concur::monotonic_timespec(deadline);
  return ::pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
}

void check(int rc, const char* call) {
  if (rc != 0) throw_os_error(rc, call);
}

}  // namespace

mutex_state::mutex_state() {
  pthread_mutexattr_t attr;
  check(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  check(::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
        "pthread_mutexattr_setpshared");
  check(::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
  const int rc = ::pthread_mutex_init(&mutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
  check(rc, "pthread_mutex_init");
}

lock_outcome lock_mutex(mutex_state& s, bool recursive, bool block, clock::time_point deadline) {
  const std::uint64_t me = this_thread_token();
  if (s.owner.load(std::memory_order_relaxed) == me) {
    if (recursive) {
      ++s.depth;
      return lock_outcome::acquired;
    }
    if (!block) return lock_outcome::timed_out;
    if (deadline == clock::time_point::max())
      throw invalid_state_error(
          "concur::mp: mutex::acquire: this thread already holds it (it would wait forever)");
    std::this_thread::sleep_until(deadline);
    return lock_outcome::timed_out;
  }
  const int rc = take_pthread_mutex(&s.mutex, block, deadline);
  if (rc == EBUSY || rc == ETIMEDOUT) return lock_outcome::timed_out;
  lock_outcome out = lock_outcome::acquired;
  if (rc == EOWNERDEAD) {
    check(::pthread_mutex_consistent(&s.mutex), "pthread_mutex_consistent");
    out = lock_outcome::owner_died;
  } else {
    check(rc, "pthread_mutex_lock");
  }
  s.owner.store(me, std::memory_order_relaxed);
  s.depth = 1;
  return out;
}

bool acquire_mutex(mutex_state& s, bool recursive, bool block, clock::time_point deadline) {
  switch (lock_mutex(s, recursive, block, deadline)) {
    case lock_outcome::acquired:
      return true;
    case lock_outcome::timed_out:
      return false;
    case lock_outcome::owner_died:
      release_mutex(s, false);
      throw owner_died_error();
  }
  return false;
}

void release_mutex(mutex_state& s, bool recursive) {
  if (!held_by_this_thread(s))
    throw value_error(recursive ? "concur::mp: recursive_mutex::release: not held by this thread"
                                : "concur::mp: mutex::release: not held by this thread");
  if (recursive && --s.depth > 0) return;
  s.depth = 0;
  s.owner.store(0, std::memory_order_relaxed);
  check(::pthread_mutex_unlock(&s.mutex), "pthread_mutex_unlock");
}

bool held_by_this_thread(const mutex_state& s) {
  return s.owner.load(std::memory_order_relaxed) == this_thread_token();
}

namespace {
bool try_take_one(semaphore_state& s) noexcept {
  std::uint32_t v = s.value.load();
  while (v > 0)
    if (s.value.compare_exchange_weak(v, v - 1)) return true;
  return false;
}
}  // namespace

bool acquire_semaphore(semaphore_state& s, bool block, clock::time_point deadline) {
  if (try_take_one(s)) return true;
  if (!block) return false;
  // As a contended lock: a release from another core is often a few hundred cycles away.
  for (int i = 0; i < spin_rounds; ++i) {
    concur::detail::cpu_relax();
    if (try_take_one(s)) return true;
  }
  for (;;) {
    if (try_take_one(s)) return true;
    if (!block) return false;
    s.sleepers.fetch_add(1);
    const bool in_time = concur::detail::futex_wait_until(s.value, 0, deadline, shared);
    s.sleepers.fetch_sub(1);
    if (!in_time) block = false;  // one last try, then give up
  }
}

void release_semaphore(semaphore_state& s) {
  std::uint32_t v = s.value.load();
  do {
    if (s.max != 0 && v >= s.max)
      throw value_error("concur::mp: semaphore or lock released too many times");
    if (v == UINT32_MAX) throw value_error("concur::mp: semaphore value would overflow");
  } while (!s.value.compare_exchange_weak(v, v + 1));
  if (s.sleepers.load() > 0) concur::detail::futex_wake(s.value, 1, shared);
}

}  // namespace detail

void event::set() noexcept {
  ref_->flag.store(1);
  concur::detail::futex_wake(ref_->flag, INT_MAX, detail::shared);
}

bool event::wait_until(clock::time_point deadline) {
  while (ref_->flag.load() == 0)
    if (!concur::detail::futex_wait_until(ref_->flag, 0, deadline, detail::shared))
      return ref_->flag.load() != 0;
  return true;
}

condition::condition() {
  auto layout = detail::make_shared_state<detail::condition_layout>("concur-mp-condition");
  lock_ = layout.member(&detail::condition_layout::lock);
  cond_ = layout.member(&detail::condition_layout::cond);
}

bool condition::wait_until(clock::time_point deadline) {
  detail::mutex_state& s = *lock_;
  detail::condition_state& c = *cond_;
  if (!detail::held_by_this_thread(s))
    throw invalid_state_error("concur::mp: condition::wait: the lock is not held");
  detail::release_semaphore(c.sleeping);
  const std::uint32_t depth = s.depth;
  s.depth = 1;
  detail::release_mutex(s, false);
  const bool notified = detail::acquire_semaphore(c.wait_semaphore, true, deadline);
  detail::release_semaphore(c.woken);
  // Python reacquires however long it takes, notified or timed out.
  const auto got = detail::lock_mutex(s, false, true, clock::time_point::max());
  s.depth = depth;
  // Held either way: the caller's scope releases it.
  if (got == detail::lock_outcome::owner_died) throw owner_died_error();
  return notified;
}

void condition::notify(int n) {
  if (!detail::held_by_this_thread(*lock_))
    throw invalid_state_error("concur::mp: condition::notify: the lock is not held");
  detail::condition_state& c = *cond_;
  const auto now = clock::time_point::max();
  // Waiters that timed out since the last notify are no longer asleep.
  while (detail::acquire_semaphore(c.woken, false, now))
    detail::acquire_semaphore(c.sleeping, false, now);
  int sleepers = 0;
  while ((n < 0 || sleepers < n) && detail::acquire_semaphore(c.sleeping, false, now)) {
    detail::release_semaphore(c.wait_semaphore);
    ++sleepers;
  }
  for (int i = 0; i < sleepers; ++i) detail::acquire_semaphore(c.woken, true, now);
  // A waiter that timed out just as it was released leaves a count behind: drop it.
  while (detail::acquire_semaphore(c.wait_semaphore, false, now)) {
  }
}

barrier::barrier(std::uint32_t parties) : barrier(parties, std::int64_t{-1}) {}

barrier::barrier(std::uint32_t parties, std::int64_t timeout_ns) {
  if (parties == 0) throw value_error("concur::mp: a barrier needs at least one party");
  ref_ =
      detail::make_shared_state<detail::barrier_layout>("concur-mp-barrier", parties, timeout_ns);
}

condition barrier::cond() const {
  auto cv = ref_.member(&detail::barrier_layout::cv);
  return condition(cv.member(&detail::condition_layout::lock), true,
                   cv.member(&detail::condition_layout::cond));
}

std::uint32_t barrier::wait() {
  if (ref_->timeout < 0) return wait_until(clock::time_point::max());
  return wait_until(concur::deadline_after(std::chrono::nanoseconds(ref_->timeout)));
}

// Python's threading.Barrier.wait, step for step (_enter, _release / _wait, _exit).
std::uint32_t barrier::wait_until(clock::time_point deadline) {
  condition cv = cond();
  std::unique_lock<condition> hold(cv);
  detail::barrier_layout& b = *ref_;
  while (b.state == 1 || b.state == -1) cv.wait();  // a previous round drains or resets
  if (b.state < 0) throw broken_barrier_error();
  const std::uint32_t index = b.count++;
  auto leave = [&] {
    --b.count;
    if (b.count == 0 && (b.state == 1 || b.state == -1)) {
      b.state = 0;
      cv.notify_all();
    }
  };
  try {
    if (index + 1 == b.parties) {
      b.state = 1;
      cv.notify_all();
    } else {
      if (!cv.wait_for_until([&] { return b.state != 0; }, deadline)) {
        b.state = -2;
        cv.notify_all();
        throw broken_barrier_error();
      }
      if (b.state < 0) throw broken_barrier_error();
    }
  } catch (...) {
    leave();
    throw;
  }
  leave();
  return index;
}

void barrier::reset() {
  condition cv = cond();
  const std::lock_guard<condition> hold(cv);
  detail::barrier_layout& b = *ref_;
  if (b.count > 0) {
    if (b.state == 0 || b.state == -2) b.state = -1;
  } else {
    b.state = 0;
  }
  cv.notify_all();
}

void barrier::abort() {
  condition cv = cond();
  const std::lock_guard<condition> hold(cv);
  ref_->state = -2;
  cv.notify_all();
}

std::uint32_t barrier::n_waiting() {
  condition cv = cond();
  const std::lock_guard<condition> hold(cv);
  return ref_->state == 0 ? ref_->count : 0;
}

bool barrier::broken() {
  condition cv = cond();
  const std::lock_guard<condition> hold(cv);
  return ref_->state == -2;
}

}  // namespace concur::mp
