#pragma once
// The shared state behind future<T> / promise<T>: one reference-counted block holding the
// status word, the result or exception, and the done-callbacks. Tasks of an executor derive
// from it so that a task costs one allocation (state and callable together).
#include <atomic>
#include <chrono>
#include <concur/core/clock.hpp>
#include <concur/core/futex.hpp>
#include <concur/futures/errors.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace concur::detail {

// A done-callback that threw: Python logs it and goes on with the other callbacks; so do we.
void report_callback_error(const std::exception_ptr& error) noexcept;

// Status word layout: the low 3 bits are the phase, bit 3 says someone sleeps on the word.
enum : std::uint32_t {
  phase_pending = 0,
  phase_running = 1,
  phase_completing = 2,  // a producer claimed the right to store the result
  phase_finished = 3,
  phase_cancelled = 4,
  phase_mask = 7,
  waiters_bit = 8,
};

class state_base;

struct done_callback_node {
  done_callback_node* next = nullptr;
  virtual ~done_callback_node() = default;
  virtual void invoke(state_base& state) noexcept = 0;
};

class state_base {
 public:
  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;

  void add_ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The block is reference counted by its handles; the last one frees it.
      delete this;
    }
  }

  std::uint32_t phase() const noexcept {
    return status_.load(std::memory_order_acquire) & phase_mask;
  }
  bool done() const noexcept { return phase() >= phase_finished; }
  bool cancelled() const noexcept { return phase() == phase_cancelled; }
  bool running() const noexcept {
    const auto p = phase();
    return p == phase_running || p == phase_completing;
  }
  // Only meaningful once done() and not cancelled().
  const std::exception_ptr& stored_exception() const noexcept { return error_; }

  bool cancel() noexcept;
  bool set_running_or_notify_cancel();
  void wait() const noexcept {
    if (!done()) wait_slow();
  }
  bool wait_until(clock::time_point deadline) const noexcept {
    return done() || wait_until_slow(deadline);
  }
  // Returns the node while it waits in the list (for remove_callback), or nullptr if it
  // already ran.
  done_callback_node* add_callback(std::unique_ptr<done_callback_node> node) noexcept;
  // Unlinks and frees a node add_callback returned, unless the callbacks are already being
  // run. True if it was removed (it will never run). Call at most once per node.
  bool remove_callback(done_callback_node* node) noexcept;

 protected:
  explicit state_base(std::uint32_t refs) noexcept : refs_(refs) {}
  virtual ~state_base();

  // pending/running -> completing; false when cancelled or already completed.
  bool try_claim() noexcept;
  // completing (or running, for an executor's own task) -> finished; wakes and calls back.
  void publish_finished() noexcept;
  // pending -> running for an executor's task; false when it was cancelled first.
  bool start_task() noexcept;

  std::exception_ptr error_;

 private:
  void wait_slow() const noexcept;
  bool wait_until_slow(clock::time_point deadline) const noexcept;
  void after_done(std::uint32_t old_status) noexcept;
  void run_callbacks() noexcept;
  static constexpr std::uintptr_t locked_bit = 1;
  static constexpr std::uintptr_t closed_word = 2;  // never a node address (nodes are aligned)

  mutable std::atomic<std::uint32_t> status_{phase_pending};
  mutable std::atomic<std::uint32_t> refs_;
  std::atomic<std::uintptr_t> callbacks_{0};
};

// Result storage: a union so that T needs no default constructor and is built in place.
// Whether it holds a value is known from the state (finished without an exception), so it
// keeps no flag of its own; state<T> destroys the value.
template <class T>
class value_holder {
 public:
  value_holder() noexcept {}
  value_holder(const value_holder&) = delete;
  value_holder& operator=(const value_holder&) = delete;
  ~value_holder() {}
  template <class... A>
  void emplace(A&&... args) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<A>(args)...);
  }
  template <class F>
  void emplace_from(F&& make) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<F>(make)());
  }
  void destroy() noexcept { value_.~T(); }
  const T& get() const noexcept { return value_; }

 private:
  union {
    T value_;
  };
};

template <>
class value_holder<void> {
 public:
  void emplace() noexcept {}
  void destroy() noexcept {}
  template <class F>
  void emplace_from(F&& make) {
    std::forward<F>(make)();
  }
};

template <class T>
class state : public state_base {
 public:
  static_assert(!std::is_reference_v<T>, "concur::future<T&> is not supported: use a pointer");

  // Only valid after done() and without an exception.
  decltype(auto) value() const noexcept {
    if constexpr (!std::is_void_v<T>) return value_.get();
  }

  template <class... A>
  void set_value(A&&... args) {
    if (!try_claim()) throw invalid_state_error(already_done_message());
    try {
      value_.emplace(std::forward<A>(args)...);
    } catch (...) {
      error_ = std::current_exception();
    }
    publish_guarded();
  }

  void set_exception(const std::exception_ptr& error) {
    if (!error) throw invalid_state_error("set_exception: the exception_ptr is null");
    if (!try_claim()) throw invalid_state_error(already_done_message());
    error_ = error;
    publish_guarded();
  }

  // For a producer going away: completes with `error` unless something already completed it.
  void fail_if_pending(const std::exception_ptr& error) noexcept {
    if (!try_claim()) return;
    error_ = error;
    publish_guarded();
  }

 protected:
  explicit state(std::uint32_t refs) noexcept : state_base(refs) {}
  ~state() override {
    if (phase() == phase_finished && !error_) value_.destroy();
  }

  // A woken waiter may drop the last handle (and the promise object with it) while this
  // thread is still waking others; an own reference keeps the block alive until then.
  void publish_guarded() noexcept {
    add_ref();
    publish_finished();
    release();
  }

  template <class F>
  void store_result_of(F& fn) noexcept {
    try {
      value_.emplace_from(fn);
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  const char* already_done_message() const noexcept {
    return cancelled() ? "the future was cancelled" : "the future already has a result";
  }

  value_holder<T> value_;
};

// A state a promise produces into; the promise holds the first reference.
template <class T>
class promise_state final : public state<T> {
 public:
  promise_state() noexcept : state<T>(1) {}
};

// The unit an executor queues. run() and abandon() are called exactly once between them.
class executor_task {
 public:
  virtual void run() noexcept = 0;
  // The executor will not run it: cancel it, or fail it with `error` when given.
  virtual void abandon(std::exception_ptr error) noexcept = 0;

 protected:
  ~executor_task() = default;
};

// One block: the shared state, the callable and its arguments. Starts with two references,
// the returned future's and the queue's.
template <class T, class F>
class task_state final : public state<T>, public executor_task {
 public:
  explicit task_state(F&& fn) : state<T>(2) {
    ::new (static_cast<void*>(std::addressof(fn_))) F(std::move(fn));
  }
  ~task_state() override {}

  void run() noexcept override {
    if (this->start_task()) {
      this->store_result_of(fn_);
      fn_.~F();  // captured arguments go away before waiters wake, as Python drops them
      this->publish_finished();
    } else {
      fn_.~F();
    }
    this->release();
  }

  void abandon(std::exception_ptr error) noexcept override {
    fn_.~F();
    if (error)
      this->fail_if_pending(error);
    else
      this->cancel();
    this->release();
  }

 private:
  // Alive from construction until run() or abandon(), exactly one of which the executor
  // calls; a union so that it can end before the block does.
  union {
    F fn_;
  };
};

}  // namespace concur::detail
