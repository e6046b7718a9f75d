#pragma once
#include <concur/aio/task.hpp>

namespace concur::aio {

namespace detail {

// A task parked on a primitive: the node lives in the awaiter (in the waiting frame).
struct parked : waiter {
  bool cancelled = false;

  // Links into `list` and parks the running task; false (no suspension) when a cancellation
  // is already pending, which await_resume then raises.
  bool park(std::coroutine_handle<> h, waiter_list& list) {
    task = &running_task();
    if (task->take_cancel()) {
      cancelled = true;
      return false;
    }
    list.push_back(this);
    task->suspend(h, &on_cancel, this);
    return true;
  }
  void raise_if_cancelled() const {
    if (cancelled) throw cancelled_error();
  }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<parked*>(p);
    self->unlink();
    self->cancelled = true;
    self->task->wake();
  }
};

}  // namespace detail

// asyncio.Lock: not reentrant, FIFO; release() hands the lock straight to the first waiter,
// so a woken waiter can never lose it to a newcomer. Use the guard for RAII:
//   auto held = co_await lk.scoped();
class lock {
 public:
  lock() = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;

  struct acquire_awaiter {
    lock* l;
    detail::parked w{};
    bool await_ready() noexcept {
      if (l->locked_) return false;
      l->locked_ = true;
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, l->waiters_); }
    void await_resume() const { w.raise_if_cancelled(); }
  };
  // co_await lk.acquire(): true once held (asyncio returns True).
  acquire_awaiter acquire() noexcept { return acquire_awaiter{this}; }
  // invalid_state_error when not locked.
  void release() {
    if (!locked_) throw invalid_state_error("Lock is not acquired");
    if (detail::waiter* w = waiters_.pop_front()) {
      w->task->wake();  // ownership passes to it; locked_ stays true
    } else {
      locked_ = false;
    }
  }
  bool locked() const noexcept { return locked_; }

  class [[nodiscard]] guard {
   public:
    explicit guard(lock* l) noexcept : l_(l) {}
    guard(guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
    guard& operator=(guard&&) = delete;
    ~guard() {
      if (l_ != nullptr) l_->release();
    }
    // Releases early.
    void unlock() { std::exchange(l_, nullptr)->release(); }

   private:
    lock* l_;
  };
  struct scoped_awaiter : acquire_awaiter {
    guard await_resume() const {
      acquire_awaiter::await_resume();
      return guard(l);
    }
  };
  // `async with lock:` — the guard releases when it goes out of scope.
  scoped_awaiter scoped() noexcept { return scoped_awaiter{{this}}; }

 private:
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
    set_ = true;
    while (detail::waiter* w = waiters_.pop_front()) w->task->wake();
  }
  void clear() noexcept { set_ = false; }
  bool is_set() const noexcept { return set_; }

  struct wait_awaiter {
    event* e;
    detail::parked w{};
    bool await_ready() const noexcept { return e->set_; }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, e->waiters_); }
    void await_resume() const { w.raise_if_cancelled(); }
  };
  wait_awaiter wait() noexcept { return wait_awaiter{this}; }

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
  // cancelled, as asyncio does, so the caller's guard stays balanced).
  task<void> wait() {
    if (!lock_->locked()) throw invalid_state_error("cannot wait on un-acquired lock");
    lock_->release();
    std::exception_ptr err;
    try {
      co_await park_awaiter{this};
    } catch (const cancelled_error&) {
      err = std::current_exception();
    }
    for (;;) {
      try {
        co_await lock_->acquire();
        break;
      } catch (const cancelled_error&) {
        err = std::current_exception();
      }
    }
    if (err) std::rethrow_exception(err);
  }
  // Waits until pred() is true (checked with the lock held); returns its last value.
  template <class Pred>
  task<bool> wait_for(Pred pred) {
    auto result = pred();
    while (!result) {
      co_await wait();
      result = pred();
    }
    co_return static_cast<bool>(result);
  }
  // Wakes up to n waiters; the lock must be held.
  void notify(std::size_t n = 1) {
    if (!lock_->locked()) throw invalid_state_error("cannot notify on un-acquired lock");
    for (; n > 0; --n) {
      detail::waiter* w = waiters_.pop_front();
      if (w == nullptr) break;
      w->task->wake();
    }
  }
  void notify_all() { notify(static_cast<std::size_t>(-1)); }

 private:
  struct park_awaiter {
    condition* c;
    detail::parked w{};
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, c->waiters_); }
    void await_resume() const { w.raise_if_cancelled(); }
  };
  std::unique_ptr<lock> own_;
  lock* lock_;
  detail::waiter_list waiters_;
};

// asyncio.Semaphore; release() hands a unit straight to the first waiter (FIFO, no barging).
class semaphore {
 public:
  explicit semaphore(std::size_t value = 1) : value_(value) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  virtual ~semaphore() = default;

  struct acquire_awaiter {
    semaphore* s;
    detail::parked w{};
    bool await_ready() noexcept {
      if (s->value_ == 0 || !s->waiters_.empty()) return false;
      --s->value_;
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, s->waiters_); }
    void await_resume() const { w.raise_if_cancelled(); }
  };
  acquire_awaiter acquire() noexcept { return acquire_awaiter{this}; }
  virtual void release() {
    if (detail::waiter* w = waiters_.pop_front()) {
      w->task->wake();
    } else {
      ++value_;
    }
  }
  // True when acquire() would suspend.
  bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
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
    guard await_resume() const {
      acquire_awaiter::await_resume();
      return guard(s);
    }
  };
  // `async with sem:`.
  scoped_awaiter scoped() noexcept { return scoped_awaiter{{this}}; }

 protected:
  std::size_t value_;
  detail::waiter_list waiters_;
};

// asyncio.BoundedSemaphore: releasing more often than acquired throws value_error.
class bounded_semaphore : public semaphore {
 public:
  explicit bounded_semaphore(std::size_t value = 1) : semaphore(value), bound_(value) {}
  void release() override {
    if (waiters_.empty() && value_ >= bound_) {
      throw value_error("bounded_semaphore released too many times");
    }
    semaphore::release();
  }

 private:
  std::size_t bound_;
};

// asyncio.Barrier: `co_await b.wait()` returns this task's arrival index once `parties`
// tasks have arrived. abort() breaks it (waiters and later callers get broken_barrier_error);
// reset() breaks the current round and makes it usable again.
class barrier {
 public:
  explicit barrier(std::size_t parties) : parties_(parties) {
    if (parties == 0) throw value_error("barrier: parties must be > 0");
  }
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  struct node : detail::parked {
    bool broken = false;
  };
  struct wait_awaiter {
    barrier* b;
    node w{};
    std::size_t index = 0;
    bool await_ready() {
      if (b->broken_) throw broken_barrier_error();
      index = b->count_++;
      if (b->count_ == b->parties_) {
        b->trip(false);
        return true;
      }
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      w.task = &detail::running_task();
      if (w.task->take_cancel()) {
        --b->count_;
        w.cancelled = true;
        return false;
      }
      b->waiters_.push_back(&w);
      w.task->suspend(h, &on_cancel, this);
      return true;
    }
    std::size_t await_resume() const {
      w.raise_if_cancelled();
      if (w.broken) throw broken_barrier_error();
      return index;
    }
    static void on_cancel(void* p) noexcept {
      auto* self = static_cast<wait_awaiter*>(p);
      self->w.unlink();
      --self->b->count_;
      self->w.cancelled = true;
      self->w.task->wake();
    }
  };
  wait_awaiter wait() noexcept { return wait_awaiter{this}; }

  void abort() noexcept {
    broken_ = true;
    trip(true);
  }
  void reset() noexcept {
    trip(true);
    broken_ = false;
  }
  std::size_t parties() const noexcept { return parties_; }
  std::size_t n_waiting() const noexcept { return count_; }
  bool broken() const noexcept { return broken_; }

 private:
  void trip(bool broken) noexcept {
    count_ = 0;
    while (detail::waiter* w = waiters_.pop_front()) {
      static_cast<node*>(w)->broken = broken;
      w->task->wake();
    }
  }
  std::size_t parties_;
  std::size_t count_ = 0;
  detail::waiter_list waiters_;
  bool broken_ = false;
};

}  // namespace concur::aio
