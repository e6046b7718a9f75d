#pragma once
// asyncio's synchronization primitives (Lib/asyncio/locks.py), each on the one awaiter
// protocol: a waiter is a listed_node that stays in the primitive's list until its task
// resumes, as asyncio's futures stay in their deques, and the code that runs when it resumes
// is asyncio's, including what a waiter that was woken and then cancelled hands back.
#include <concur/aio/task.hpp>

namespace concur::aio {

namespace detail {

// The awaiter every primitive's waits share: parks in `list`, leaves it when resumed.
struct listed_awaiter : listed_node {
  // `what` names the wait in a task dump ("lock", "queue get").
  listed_awaiter(waiter_list& l, const char* what) noexcept : list(&l), what(what) {}
  listed_awaiter(listed_awaiter&& o) noexcept : listed_node(), list(o.list), what(o.what) {}
  listed_awaiter(const listed_awaiter&) = delete;
  listed_awaiter& operator=(const listed_awaiter&) = delete;

  void enter(std::coroutine_handle<> h) {
    static constexpr wait_ops ops{.describe = &describe};
    list->push_back(this);
    park(h, &ops);
  }
  // `finally: waiters.remove(fut)`.
  void leave() noexcept { list_hook::unlink(); }

  static std::string describe(const wait_node& n) {
    return static_cast<const listed_awaiter&>(n).what;
  }

  waiter_list* list;
  const char* what;
};

// The plain wait in a list: parks until a source completes the node; cancelled_error if the
// task is cancelled meanwhile (was_done() then tells whether it had been woken).
struct list_awaiter : listed_awaiter {
  using listed_awaiter::listed_awaiter;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { enter(h); }
  void await_resume() {
    leave();
    raise_if_cancelled();
  }
};

}  // namespace detail

// asyncio.Lock: not reentrant, FIFO. release() wakes the first waiter, which takes the lock
// when it runs; until then locked() is false but newcomers still queue behind it. A woken
// waiter that is cancelled before it runs wakes the next one. Use the guard for RAII:
//   auto held = co_await lk.scoped();
class lock {
 public:
  lock() = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;

  class acquire_awaiter : detail::listed_awaiter {
   public:
    explicit acquire_awaiter(lock* l) noexcept : listed_awaiter(l->waiters_, "lock"), l_(l) {}
    bool await_ready() noexcept {
      if (l_->locked_ || detail::any_not_cancelled(l_->waiters_)) return false;
      l_->locked_ = true;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) { enter(h); }
    void await_resume() {
      if (!parked()) return;  // taken at once in await_ready
      leave();
      if (cancel_raised()) {
        // Whether woken or not, make sure the head of the queue runs if the lock is free.
        if (!l_->locked_) l_->wake_up_first();
        throw cancelled_error();
      }
      l_->locked_ = true;
    }

   protected:
    lock* l_;
  };
  // co_await lk.acquire(): returns once held.
  acquire_awaiter acquire() noexcept { return acquire_awaiter(this); }
  // invalid_state_error when not locked.
  void release() {
    if (!locked_) throw invalid_state_error("Lock is not acquired");
    locked_ = false;
    wake_up_first();
  }
  bool locked() const noexcept { return locked_; }

  class [[nodiscard]] guard {
   public:
    explicit guard(lock* l) noexcept : l_(l) {}
    guard(guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
    guard& operator=(guard&&) = delete;
    // release() throws only for a lock that is not held, which a live guard rules out.
    ~guard() {  // NOLINT(bugprone-exception-escape)
      if (l_ != nullptr) l_->release();
    }
    // Releases early.
    void unlock() { std::exchange(l_, nullptr)->release(); }

   private:
    lock* l_;
  };
  struct scoped_awaiter : acquire_awaiter {
    using acquire_awaiter::acquire_awaiter;
    guard await_resume() {
      acquire_awaiter::await_resume();
      return guard(l_);
    }
  };
  // `async with lock:` — the guard releases when it goes out of scope.
  scoped_awaiter scoped() noexcept { return scoped_awaiter(this); }

 private:
  // Only the head of the queue: one that is already woken (or cancelled) wakes the next itself.
  void wake_up_first() noexcept {
    if (detail::listed_node* n = waiters_.front()) n->set_done();
  }
  detail::waiter_list waiters_;
  bool locked_ = false;
};

// asyncio.Event.
class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  // Wakes every waiter.
  void set() noexcept {
    if (set_) return;
    set_ = true;
    waiters_.for_each([](detail::listed_node& n) { n.set_done(); });
  }
  void clear() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }

  class wait_awaiter : detail::listed_awaiter {
   public:
    explicit wait_awaiter(event* e) noexcept : listed_awaiter(e->waiters_, "event"), e_(e) {}
    bool await_ready() const noexcept { return e_->set_; }
    void await_suspend(std::coroutine_handle<> h) { enter(h); }
    void await_resume() {
      leave();
      raise_if_cancelled();
    }

   private:
    event* e_;
  };
  wait_awaiter wait() noexcept { return wait_awaiter(this); }

 private:
  detail::waiter_list waiters_;
  bool set_ = false;
};

// asyncio.Condition, bound to an aio::lock (its own unless one is given).
class condition {
 public:
  condition() : own_(std::make_unique<lock>()), lock_(own_.get()) {}
  explicit condition(lock& l) : lock_(&l) {}
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;

  lock::acquire_awaiter acquire() noexcept { return lock_->acquire(); }
  lock::scoped_awaiter scoped() noexcept { return lock_->scoped(); }
  void release() { lock_->release(); }
  bool locked() const noexcept { return lock_->locked(); }

  // Releases the lock, waits for notify, re-acquires the lock before returning (also when
  // cancelled, so the caller's guard stays balanced). Leaving with an error, after a notify
  // or not, passes a notification on to another waiter (a spurious wake-up is allowed).
  task<void> wait() {
    if (!lock_->locked()) throw invalid_state_error("cannot wait on un-acquired lock");
    lock_->release();
    std::exception_ptr err;
    try {
      co_await detail::list_awaiter(waiters_, "condition");
    } catch (const cancelled_error&) {
      err = std::current_exception();
    }
    // Must re-acquire the lock even if the wait was cancelled.
    for (;;) {
      try {
        co_await lock_->acquire();
        break;
      } catch (const cancelled_error&) {
        err = std::current_exception();
      }
    }
    if (err) {
      notify_some(1);
      std::rethrow_exception(err);
    }
  }
  // Waits until pred() is true (checked with the lock held); returns its last value.
  template <class Pred>
  task<std::decay_t<std::invoke_result_t<Pred&>>> wait_for(Pred pred) {
    auto result = pred();
    while (!result) {
      co_await wait();
      result = pred();
    }
    co_return result;
  }
  // Wakes up to n waiters; the lock must be held.
  void notify(std::size_t n = 1) {
    if (!lock_->locked()) throw invalid_state_error("cannot notify on un-acquired lock");
    notify_some(n);
  }
  void notify_all() { notify(static_cast<std::size_t>(-1)); }

 private:
  void notify_some(std::size_t n) noexcept {
    waiters_.for_each([&n](detail::listed_node& w) {
      if (n > 0 && w.set_done()) --n;
    });
  }
  std::unique_ptr<lock> own_;
  lock* lock_;
  detail::waiter_list waiters_;
};

// asyncio.Semaphore: FIFO, also towards newcomers: a release() wakes the first waiter and
// locked() stays true until every woken waiter has run, so an acquire() right after a
// release() queues behind them. A woken waiter that is cancelled before it runs gives its
// unit back and wakes the next one.
class semaphore {
 public:
  explicit semaphore(std::size_t value = 1) : value_(value) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  virtual ~semaphore() = default;

  class acquire_awaiter : detail::listed_awaiter {
   public:
    explicit acquire_awaiter(semaphore* s) noexcept
        : listed_awaiter(s->waiters_, "semaphore"), s_(s) {}
    bool await_ready() noexcept {
      if (s_->locked()) return false;
      --s_->value_;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) { enter(h); }
    void await_resume() {
      if (!parked()) return;  // taken at once in await_ready
      leave();
      bool cancelled = cancel_raised();
      // Woken (given a unit) but not going to take it: undo that.
      if (cancelled && was_done()) ++s_->value_;
      // New waiters may have queued behind us: wake as many as there are units.
      while (s_->value_ > 0 && s_->wake_up_next()) {
      }
      if (cancelled) throw cancelled_error();
    }

   protected:
    semaphore* s_;
  };
  acquire_awaiter acquire() noexcept { return acquire_awaiter(this); }
  virtual void release() {
    ++value_;
    wake_up_next();
  }
  // True when acquire() would suspend: no unit, or waiters (woken or not) ahead.
  bool locked() const noexcept { return value_ == 0 || detail::any_not_cancelled(waiters_); }
  std::size_t value() const noexcept { return value_; }

  class [[nodiscard]] guard {
   public:
    explicit guard(semaphore* s) noexcept : s_(s) {}
    guard(guard&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    guard& operator=(guard&&) = delete;
    ~guard() {
      if (s_ != nullptr) s_->release();
    }

   private:
    semaphore* s_;
  };
  struct scoped_awaiter : acquire_awaiter {
    using acquire_awaiter::acquire_awaiter;
    guard await_resume() {
      acquire_awaiter::await_resume();
      return guard(s_);
    }
  };
  // `async with sem:`.
  scoped_awaiter scoped() noexcept { return scoped_awaiter(this); }

 protected:
  // Hands a unit to the first waiter that is not woken yet; false when there is none.
  bool wake_up_next() noexcept {
    detail::listed_node* n = detail::first_pending(waiters_);
    if (n == nullptr) return false;
    --value_;
    n->set_done();
    return true;
  }
  std::size_t value_;
  detail::waiter_list waiters_;
};

// asyncio.BoundedSemaphore: releasing more often than acquired throws value_error.
class bounded_semaphore : public semaphore {
 public:
  explicit bounded_semaphore(std::size_t value = 1) : semaphore(value), bound_(value) {}
  void release() override {
    if (value_ >= bound_) throw value_error("BoundedSemaphore released too many times");
    semaphore::release();
  }

 private:
  std::size_t bound_;
};

// asyncio.Barrier (3.11): `co_await b.wait()` returns this task's arrival index once `parties`
// tasks have arrived. The barrier then drains (tasks arriving meanwhile wait for the next
// round) and fills again. abort() breaks it: waiters, draining tasks that have not run yet and
// later callers get broken_barrier_error. reset() breaks the current round for its waiters
// and makes the barrier usable again once they have left.
class barrier {
 public:
  explicit barrier(std::size_t parties) : parties_(parties) {
    if (parties == 0) throw value_error("parties must be > 0");
  }
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  task<std::size_t> wait() {
    // Block while the barrier drains or resets.
    while (state_ == state::draining || state_ == state::resetting) co_await changed();
    if (state_ == state::broken) throw broken_barrier_error();
    std::size_t index = count_++;
    try {
      if (index + 1 == parties_) {
        state_ = state::draining;
        notify_all();
      } else {
        while (state_ == state::filling) co_await changed();
        if (state_ == state::broken || state_ == state::resetting) throw broken_barrier_error();
      }
    } catch (...) {
      leave();
      throw;
    }
    leave();
    co_return index;
  }
  void abort() noexcept {
    state_ = state::broken;
    notify_all();
  }
  void reset() noexcept {
    if (count_ > 0) {
      if (state_ != state::resetting) state_ = state::resetting;
    } else {
      state_ = state::filling;
    }
    notify_all();
  }
  std::size_t parties() const noexcept { return parties_; }
  // Tasks waiting for the barrier to fill (0 while it drains, resets or is broken).
  std::size_t n_waiting() const noexcept { return state_ == state::filling ? count_ : 0; }
  bool broken() const noexcept { return state_ == state::broken; }

 private:
  enum class state : std::uint8_t { filling, draining, resetting, broken };
  detail::list_awaiter changed() noexcept { return detail::list_awaiter(waiters_, "barrier"); }
  void notify_all() noexcept {
    waiters_.for_each([](detail::listed_node& n) { n.set_done(); });
  }
  // The last task to leave ends the draining (or resetting) and lets the next round fill.
  void leave() noexcept {
    if (--count_ == 0) {
      if (state_ == state::resetting || state_ == state::draining) state_ = state::filling;
      notify_all();
    }
  }

  std::size_t parties_;
  std::size_t count_ = 0;
  detail::waiter_list waiters_;
  state state_ = state::filling;
};

}  // namespace concur::aio
