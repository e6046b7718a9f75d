#pragma once
#include <concur/aio/awaitable_traits.hpp>
#include <concur/aio/gather.hpp>
#include <concur/aio/task.hpp>

namespace concur::aio {

namespace detail {

// asyncio.Timeout (Lib/asyncio/timeouts.py): at the deadline a loop callback cancels the task
// (after whatever was already ready to run, as asyncio's timer handle does); leaving the scope
// with the cancellation it caused turns that into timeout_error. A cancellation from outside
// (more requests than the scope's own) stays a cancellation.
class timeout_scope {
 public:
  explicit timeout_scope(clock::time_point when)
      : task_(&running_task()), cancelling_(task_->cancelling()) {
    timer_ = task_->loop()->call_at(when, [this] { on_timeout(); });
  }
  timeout_scope(const timeout_scope&) = delete;
  timeout_scope& operator=(const timeout_scope&) = delete;
  // Also the exit without a cancellation in flight: a request of ours that never arrived is
  // withdrawn.
  ~timeout_scope() {
    timer_.cancel();
    if (state_ == state::expiring) {
      state_ = state::expired;
      task_->uncancel();
    }
  }
  // Leaving with cancelled_error in flight: true when it is ours (raise timeout_error).
  bool exit_cancelled() noexcept {
    timer_.cancel();
    if (state_ != state::expiring) return false;
    state_ = state::expired;
    return task_->uncancel() <= cancelling_;
  }

 private:
  enum class state : std::uint8_t { entered, expiring, expired };
  void on_timeout() {
    task_->cancel();
    state_ = state::expiring;
  }
  task_base* task_;
  int cancelling_;
  handle timer_;
  state state_ = state::entered;
};

template <class A>
struct is_task_handle : std::false_type {};
template <class T>
struct is_task_handle<task_handle<T>> : std::true_type {};

template <class A>
concept abandonable = requires(A& a) {
  a.abandon();
};

// The deadline has passed before the awaitable was awaited: a coroutine is not started at
// all; a task passed in is cancelled and awaited (its result is returned if it is done, or if
// it finishes anyway); a concur::future is cancelled. asyncio.wait_for(aw, 0) does the same.
template <class Aw>
task<await_result_t<Aw>> expired_before_start(Aw aw) {
  using R = await_result_t<Aw>;
  if constexpr (is_task_handle<Aw>::value) {
    if (!aw.done()) {
      aw.cancel();
      std::array<task_base*, 1> one{aw.base()};
      co_await children_wait(one, children_wait::until::all_done, false, std::nullopt,
                             "wait_for (cancelling)");
    }
    try {
      if constexpr (std::is_void_v<R>) {
        aw.result();
        co_return;
      } else {
        co_return R(aw.result());
      }
    } catch (const cancelled_error&) {
    }
  } else if constexpr (abandonable<Aw>) {
    aw.abandon();
  }
  throw timeout_error("aio::timeout: the deadline had already passed");
}

}  // namespace detail

// asyncio.timeout_at(when) around one awaitable: runs `aw` in the current task; at `deadline`
// the task is cancelled and the cancellation leaves as timeout_error. `aw` is anything
// co_await-able (task, task_handle, gather(...), sleep, readable, an event wait, ...). When the
// deadline has already passed, `aw` is not started: timeout_error at once (see
// detail::expired_before_start for tasks and futures). time_point::max() means no deadline
// (asyncio's timeout_at(None)).
template <class Aw>
task<detail::await_result_t<Aw>> timeout_at(clock::time_point deadline, Aw aw) {
  if (deadline == clock::time_point::max()) co_return co_await aw;
  if (deadline <= get_running_loop().now()) {
    co_return co_await detail::expired_before_start(std::move(aw));
  }
  detail::timeout_scope scope(deadline);
  try {
    co_return co_await aw;
  } catch (const cancelled_error&) {
    if (!scope.exit_cancelled()) throw;
  }
  throw timeout_error("aio::timeout: the deadline passed");
}

namespace detail {

// The deadline counts from when the timeout starts (asyncio's timeout() and wait_for() are
// coroutines too), on the loop's clock; duration::max() means none.
template <class Aw>
task<await_result_t<Aw>> timeout_after(clock::duration delay, Aw aw) {
  co_return co_await timeout_at(get_running_loop().deadline_in(delay), std::move(aw));
}

}  // namespace detail

// asyncio.timeout(delay) around one awaitable; duration::max() means no timeout.
template <class Aw, class Rep, class Period>
task<detail::await_result_t<Aw>> timeout(std::chrono::duration<Rep, Period> delay, Aw aw) {
  return detail::timeout_after(concur::saturating_ceil(delay), std::move(aw));
}

// asyncio.wait_for(aw, timeout): like timeout (Python 3.12 implements it the same way); a
// task_handle being awaited is cancelled on expiry, as in asyncio. A timeout <= 0 does not
// start a coroutine; duration::max() means no timeout (wait_for(aw, None)).
template <class Aw, class Rep, class Period>
task<detail::await_result_t<Aw>> wait_for(Aw aw, std::chrono::duration<Rep, Period> timeout) {
  return detail::timeout_after(concur::saturating_ceil(timeout), std::move(aw));
}

}  // namespace concur::aio
