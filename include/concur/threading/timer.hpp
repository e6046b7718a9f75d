#pragma once
// threading.Timer: call a function once, on its own thread, after an interval, unless
// cancelled first.
#include <chrono>
#include <concepts>
#include <concur/core/checked_mutex.hpp>
#include <concur/futures/errors.hpp>
#include <concur/threading/detail/deadline.hpp>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

namespace concur {

class timer {
 public:
  // The function and arguments are copied or moved in (move-only ones work); the interval is
  // counted from start(). Negative intervals fire at once; absurdly long ones are clamped to
  // a century rather than overflowing.
  template <class Rep, class Period, class F, class... Args>
  timer(std::chrono::duration<Rep, Period> interval, F&& f, Args&&... args)
      : interval_(detail::clamp_wait(interval)),
        call_(make_callback(std::forward<F>(f), std::forward<Args>(args)...)) {}

  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  // Cancels, then waits for the thread; if the function is already running, that means
  // waiting for it to return. Must not run on the timer's own thread (from its function).
  // An exception from the function that nobody asked for through exception() is reported on
  // stderr here, as Python's default threading.excepthook would, rather than lost silently.
  ~timer() {
    cancel();
    if (thread_.joinable()) {
      thread_.join();
    }
    if (error_ && !error_seen_) {
      report_unseen(error_);
    }
  }

  // Starts the countdown on a new thread. A second start() throws invalid_state_error.
  void start() {
    const checked_lock lock(mutex_);
    if (started_) {
      throw invalid_state_error("a timer can only be started once");
    }
    thread_ = std::thread([this, deadline = concur::clock::now() + interval_] { run(deadline); });
    worker_id_ = thread_.get_id();
    started_ = true;
  }

  // Stops the timer if the function has not started running. Returns true if the function
  // will never run (cancelled now, earlier, or before start()), false if it already started.
  bool cancel() {
    const checked_lock lock(mutex_);
    if (fired_) {
      return false;
    }
    cancelled_ = true;
    cv_.notify_all();
    return true;
  }

  // Waits until the timer has fired and the function returned, or was cancelled.
  // Throws invalid_state_error before start() or when called from the function itself.
  void join() {
    checked_lock lock(mutex_);
    check_joinable();
    while (!finished_) {
      cv_.wait(lock.native());
    }
  }

  template <class Rep, class Period>
  [[nodiscard]] bool join(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = detail::wait_deadline(timeout);
    checked_lock lock(mutex_);
    check_joinable();
    while (!finished_) {
      if (cv_.wait_until(lock.native(), deadline) == std::cv_status::timeout) {
        return finished_;
      }
    }
    return true;
  }

  bool is_alive() const {
    const checked_lock lock(mutex_);
    return started_ && !finished_;
  }
  // The function was called (it may still be running).
  bool fired() const {
    const checked_lock lock(mutex_);
    return fired_;
  }
  bool cancelled() const {
    const checked_lock lock(mutex_);
    return cancelled_;
  }
  // What the function threw, once it has returned; null if it returned normally or has not
  // run. Python hands such exceptions to threading.excepthook; here they are kept for the
  // owner instead of terminating the program.
  std::exception_ptr exception() const {
    const checked_lock lock(mutex_);
    error_seen_ = true;
    return error_;
  }

 private:
  struct callback_base {
    virtual ~callback_base() = default;
    virtual void run() = 0;
  };
  template <class Fn>
  struct callback final : callback_base {
    explicit callback(Fn f) : fn(std::move(f)) {}
    void run() override { fn(); }
    Fn fn;
  };
  template <class F, class... Args>
  static std::unique_ptr<callback_base> make_callback(F&& f, Args&&... args) {
    static_assert(std::invocable<std::decay_t<F>&, std::decay_t<Args>...>,
                  "concur::timer: the function cannot be called with these arguments");
    auto bound = [fn = std::forward<F>(f), ... as = std::forward<Args>(args)]() mutable {
      std::invoke(fn, std::move(as)...);
    };
    return std::make_unique<callback<decltype(bound)>>(std::move(bound));
  }

  static void report_unseen(const std::exception_ptr& error) noexcept {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "concur::timer: the timer's function threw (never retrieved): %s\n",
                   e.what());
    } catch (...) {
      std::fprintf(stderr,
                   "concur::timer: the timer's function threw a non-std exception (never "
                   "retrieved)\n");
    }
  }

  void check_joinable() const CONCUR_REQUIRES(mutex_) {
    if (!started_) {
      throw invalid_state_error("cannot join a timer before it is started");
    }
    if (worker_id_ == std::this_thread::get_id()) {
      throw invalid_state_error("a timer's function cannot join its own timer");
    }
  }

  void run(concur::clock::time_point deadline) {
    checked_lock lock(mutex_);
    if (!wait_for_cancel(lock, deadline)) {
      fired_ = true;
      lock.unlock();
      std::exception_ptr error;
      try {
        call_->run();
      } catch (...) {
        error = std::current_exception();
      }
      // Release the function and its arguments now rather than with the timer.
      call_.reset();
      lock.lock();
      error_ = error;
    }
    finished_ = true;
    cv_.notify_all();
  }

  // true if cancel() came before the deadline.
  bool wait_for_cancel(checked_lock& lock, concur::clock::time_point deadline)
      CONCUR_REQUIRES(mutex_) {
    while (!cancelled_) {
      if (cv_.wait_until(lock.native(), deadline) == std::cv_status::timeout) {
        return cancelled_;
      }
    }
    return true;
  }

  const concur::clock::duration interval_;
  // Only the timer's thread touches it once started (and the destructor after the join).
  std::unique_ptr<callback_base> call_;
  mutable checked_mutex mutex_;
  std::condition_variable cv_;
  bool started_ CONCUR_GUARDED_BY(mutex_) = false;
  bool cancelled_ CONCUR_GUARDED_BY(mutex_) = false;
  bool fired_ CONCUR_GUARDED_BY(mutex_) = false;
  bool finished_ CONCUR_GUARDED_BY(mutex_) = false;
  std::exception_ptr error_ CONCUR_GUARDED_BY(mutex_);
  mutable bool error_seen_ CONCUR_GUARDED_BY(mutex_) = false;
  std::thread::id worker_id_ CONCUR_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace concur
