#pragma once
// multiprocessing.synchronize: Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and
// Barrier for processes. Each lives in memory shared by the processes (a memfd segment); pass it
// to mp::process or to a pool initializer and the other side gets a handle to the same object.
// As in Python, they cannot be passed to a pool task (the workers already run): the codec
// refuses. Copies are handles to the same object.
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "concur/core/clock.hpp"
#include "concur/mp/detail/shared_segment.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp {

namespace detail {

// A robust, process-shared pthread mutex and its holder's token (random, one per thread, so
// unique across processes): release by another thread is refused, and a holder that dies is
// reported to the next one (EOWNERDEAD) instead of blocking everyone forever.
struct mutex_state {
  mutex_state();
  mutex_state(const mutex_state&) = delete;
  mutex_state& operator=(const mutex_state&) = delete;

  pthread_mutex_t mutex;
  std::atomic<std::uint64_t> owner{0};  // the holder's token, 0 when free
  std::uint32_t depth = 0;  // times the holder has acquired it (rlock); guarded by mutex
};

enum class lock_outcome { acquired, timed_out, owner_died };

// Takes the mutex (recursively when `recursive` and already held by this thread). With
// owner_died the mutex is consistent again and held by this thread.
lock_outcome lock_mutex(mutex_state& s, bool recursive, bool block, clock::time_point deadline);
// acquire() of Lock and RLock: owner_died releases it and throws owner_died_error.
bool acquire_mutex(mutex_state& s, bool recursive, bool block, clock::time_point deadline);
void release_mutex(mutex_state& s, bool recursive);
bool held_by_this_thread(const mutex_state& s);

struct semaphore_state {
  semaphore_state(std::uint32_t v, std::uint32_t m) : value(v), max(m) {}
  std::atomic<std::uint32_t> value;
  const std::uint32_t max;  // 0: unbounded
  std::atomic<std::uint32_t> sleepers{0};
};
bool acquire_semaphore(semaphore_state& s, bool block, clock::time_point deadline);
void release_semaphore(semaphore_state& s);

struct event_state {
  std::atomic<std::uint32_t> flag{0};
};

// Python's multiprocessing.Condition, made of three semaphores: notify(n) wakes exactly the
// waiters that were asleep (at most n) and returns once they are awake, so a waiter that has not
// slept yet is never counted and a timed-out one is never woken in another's place.
struct condition_state {
  semaphore_state sleeping{0, 0};
  semaphore_state woken{0, 0};
  semaphore_state wait_semaphore{0, 0};
};

// A condition's own lock and its state, in one segment.
struct condition_layout {
  mutex_state lock;
  condition_state cond;
};

// threading.Barrier's state, guarded by the condition's lock (Python's algorithm).
struct barrier_layout {
  explicit barrier_layout(std::uint32_t n, std::int64_t timeout_ns)
      : parties(n), timeout(timeout_ns) {}
  condition_layout cv;
  const std::uint32_t parties;
  const std::int64_t timeout;  // the default wait timeout in ns; < 0: none
  std::int32_t state = 0;      // 0 filling, 1 draining, -1 resetting, -2 broken
  std::uint32_t count = 0;     // threads inside wait()
};

}  // namespace detail

// multiprocessing.Lock (Recursive = false) and RLock (true), spelled as std::mutex and
// std::recursive_mutex are (threading.Lock maps to std::mutex too): lock()/unlock()/try_lock()/
// try_lock_for() for std::lock_guard and std::unique_lock (Python's `with lock:`), and Python's
// acquire(block) / acquire(timeout) / release(). A recursive one may be acquired again by its
// holder and is free once released as many times. Unlike Python's Lock (a semaphore) both have
// an owner: release() by a thread that does not hold it throws value_error; acquiring a
// non-recursive one again from the thread that holds it throws invalid_state_error instead of
// deadlocking; a holder that dies makes the next acquire throw owner_died_error (and frees the
// lock) instead of blocking every other process forever.
template <bool Recursive>
class basic_mutex {
 public:
  basic_mutex()
      : basic_mutex(detail::make_shared_state<detail::mutex_state>(Recursive ? "concur-mp-rlock"
                                                                             : "concur-mp-lock")) {}
  explicit basic_mutex(detail::shared_ref<detail::mutex_state> ref) : ref_(std::move(ref)) {}

  bool acquire(bool block = true) {
    return detail::acquire_mutex(*ref_, Recursive, block, clock::time_point::max());
  }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return detail::acquire_mutex(*ref_, Recursive, true, concur::deadline_after(timeout));
  }
  void release() { detail::release_mutex(*ref_, Recursive); }

  void lock() { acquire(true); }
  bool try_lock() { return acquire(false); }
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return acquire(timeout);
  }
  void unlock() { release(); }

  const detail::shared_ref<detail::mutex_state>& ref() const noexcept { return ref_; }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(ref_);
  }

 private:
  detail::shared_ref<detail::mutex_state> ref_;
};

using mutex = basic_mutex<false>;
using recursive_mutex = basic_mutex<true>;

// multiprocessing.Semaphore(value): acquire(block) / acquire(timeout) / release() and
// get_value(), plus std::counting_semaphore's try_acquire / try_acquire_for. It has no owner
// (any process may release), as in Python; a process that dies holding a count keeps it.
class semaphore {
 public:
  explicit semaphore(std::uint32_t value = 1) : semaphore(value, 0, "concur-mp-semaphore") {}

  bool acquire(bool block = true) {
    return detail::acquire_semaphore(*ref_, block, clock::time_point::max());
  }
  template <class Rep, class Period>
  bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return detail::acquire_semaphore(*ref_, true, concur::deadline_after(timeout));
  }
  bool try_acquire() { return acquire(false); }
  template <class Rep, class Period>
  bool try_acquire_for(std::chrono::duration<Rep, Period> timeout) {
    return acquire(timeout);
  }
  // bounded_semaphore: value_error above the initial value.
  void release() { detail::release_semaphore(*ref_); }
  std::uint32_t get_value() const noexcept { return ref_->value.load(); }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(ref_);
  }

 protected:
  semaphore(std::uint32_t value, std::uint32_t max, const char* what)
      : ref_(detail::make_shared_state<detail::semaphore_state>(what, value, max)) {}

 private:
  detail::shared_ref<detail::semaphore_state> ref_;
};

// multiprocessing.BoundedSemaphore(value): release() above the initial value throws
// value_error ("semaphore or lock released too many times"), as Python's ValueError.
class bounded_semaphore : public semaphore {
 public:
  explicit bounded_semaphore(std::uint32_t value = 1)
      : semaphore(value, value, "concur-mp-bounded-semaphore") {}
};

// multiprocessing.Event: set(), clear(), is_set(), wait() / wait(timeout) -> is_set().
class event {
 public:
  event() : ref_(detail::make_shared_state<detail::event_state>("concur-mp-event")) {}

  void set() noexcept;
  void clear() noexcept { ref_->flag.store(0); }
  bool is_set() const noexcept { return ref_->flag.load() != 0; }
  bool wait() { return wait_until(clock::time_point::max()); }
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_until(concur::deadline_after(timeout));
  }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(ref_);
  }

 private:
  bool wait_until(clock::time_point deadline);
  detail::shared_ref<detail::event_state> ref_;
};

// multiprocessing.Condition(lock=None): a condition with its lock (a new recursive_mutex unless
// one is given). acquire/release and lock/unlock take its lock; wait, wait_for and notify need
// it held (invalid_state_error otherwise, Python's RuntimeError). wait(timeout) returns false
// when the timeout passed; like Python's it may return early (spuriously), so wait for a
// predicate with wait_for.
class condition {
 public:
  condition();
  template <bool Recursive>
  explicit condition(const basic_mutex<Recursive>& m)
      : lock_(m.ref()),
        recursive_(Recursive),
        cond_(detail::make_shared_state<detail::condition_state>("concur-mp-condition")) {}

  bool acquire(bool block = true) {
    return detail::acquire_mutex(*lock_, recursive_, block, clock::time_point::max());
  }
  void release() { detail::release_mutex(*lock_, recursive_); }
  void lock() { acquire(true); }
  bool try_lock() { return acquire(false); }
  void unlock() { release(); }

  bool wait() { return wait_until(clock::time_point::max()); }
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_until(concur::deadline_after(timeout));
  }
  // Condition.wait_for(predicate, timeout): the predicate's last value.
  template <class Predicate>
  bool wait_for(Predicate pred) {
    return wait_for_until(pred, clock::time_point::max());
  }
  template <class Predicate, class Rep, class Period>
  bool wait_for(Predicate pred, std::chrono::duration<Rep, Period> timeout) {
    return wait_for_until(pred, concur::deadline_after(timeout));
  }
  void notify(int n = 1);
  void notify_all() { notify(-1); }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(lock_, recursive_, cond_);
  }

  // The timed forms with an absolute deadline (time_point::max(): none).
  bool wait_until(clock::time_point deadline);
  template <class Predicate>
  bool wait_for_until(Predicate pred, clock::time_point deadline) {
    bool ok = pred();
    while (!ok) {
      if (!wait_until(deadline)) return pred();
      ok = pred();
    }
    return ok;
  }

 private:
  detail::shared_ref<detail::mutex_state> lock_;
  friend class barrier;
  condition(detail::shared_ref<detail::mutex_state> lock, bool recursive,
            detail::shared_ref<detail::condition_state> cond)
      : lock_(std::move(lock)), recursive_(recursive), cond_(std::move(cond)) {}

  bool recursive_ = true;
  detail::shared_ref<detail::condition_state> cond_;
};

// multiprocessing.Barrier(parties, timeout=None): threading.Barrier for processes. wait()
// returns the arrival index (0 .. parties-1); broken_barrier_error when the barrier is aborted,
// reset under its waiters, or a wait times out (which breaks it for everyone, as in Python).
// Python's `action` is not offered: a function of the caller's cannot be named across
// processes here; run it after wait() in the process that got index 0.
class barrier {
 public:
  // One party (what a received barrier is loaded into).
  barrier() : barrier(1) {}
  explicit barrier(std::uint32_t parties);
  template <class Rep, class Period>
  barrier(std::uint32_t parties, std::chrono::duration<Rep, Period> timeout)
      : barrier(parties, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count()) {}

  std::uint32_t wait();
  template <class Rep, class Period>
  std::uint32_t wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_until(concur::deadline_after(timeout));
  }
  void reset();
  void abort();
  std::uint32_t parties() const noexcept { return ref_->parties; }
  std::uint32_t n_waiting();
  bool broken();

  template <class Archive>
  void serialize(Archive& ar) {
    ar(ref_);
  }

 private:
  barrier(std::uint32_t parties, std::int64_t timeout_ns);
  std::uint32_t wait_until(clock::time_point deadline);
  condition cond() const;
  detail::shared_ref<detail::barrier_layout> ref_;
};

}  // namespace concur::mp
