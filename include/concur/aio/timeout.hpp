#pragma once
#include <concur/aio/awaitable_traits.hpp>
#include <concur/aio/task.hpp>

namespace concur::aio {

namespace detail {

// The timer behind aio::timeout: when it fires it cancels the current task; leaving the scope
// with the cancellation it caused turns that into timeout_error (asyncio.Timeout).
class timeout_guard : private timer_node {
 public:
  explicit timeout_guard(clock::time_point deadline)
      : task_(&running_task()), base_(task_->cancelling()) {
    fire = &on_fire;
    task_->loop()->add_timer(this, deadline);
  }
  timeout_guard(const timeout_guard&) = delete;
  timeout_guard& operator=(const timeout_guard&) = delete;
  ~timeout_guard() {
    if (scheduled()) task_->loop()->remove_timer(this);
    // Expired but the body finished anyway: withdraw our request so it does not hit later.
    if (expired_ && !settled_) task_->uncancel();
  }
  bool expired() const noexcept { return expired_; }
  // Called with a cancelled_error in flight: true when it was ours (raise timeout_error).
  bool settle_cancelled() noexcept {
    if (!expired_ || settled_) return false;
    settled_ = true;
    return task_->uncancel() <= base_;
  }

 private:
  static void on_fire(timer_node* n) noexcept {
    auto* g = static_cast<timeout_guard*>(n);
    g->expired_ = true;
    g->task_->cancel();
  }
  task_base* task_;
  int base_;
  bool expired_ = false;
  bool settled_ = false;
};

}  // namespace detail

// asyncio.timeout_at(when) around one awaitable: runs `aw` in the current task; at `deadline`
// the task is cancelled and the cancellation leaves as timeout_error. `aw` is anything
// co_await-able (task, task_handle, gather(...), sleep, readable, an event wait, ...).
template <class Aw>
task<detail::await_result_t<Aw>> timeout_at(clock::time_point deadline, Aw aw) {
  detail::timeout_guard guard(deadline);
  bool ours = false;
  try {
    co_return co_await aw;
  } catch (const cancelled_error&) {
    ours = guard.settle_cancelled();
    if (!ours) throw;
  }
  throw timeout_error("aio::timeout: the deadline passed");
}

// asyncio.timeout(delay) around one awaitable.
template <class Aw, class Rep, class Period>
task<detail::await_result_t<Aw>> timeout(std::chrono::duration<Rep, Period> delay, Aw aw) {
  return timeout_at(get_running_loop().now() + std::chrono::ceil<clock::duration>(delay),
                    std::move(aw));
}

// asyncio.wait_for(aw, timeout): like timeout (Python 3.12 implements it the same way); a
// task_handle being awaited is cancelled on expiry, as in asyncio.
template <class Aw, class Rep, class Period>
task<detail::await_result_t<Aw>> wait_for(Aw aw, std::chrono::duration<Rep, Period> timeout) {
  return timeout_at(get_running_loop().now() + std::chrono::ceil<clock::duration>(timeout),
                    std::move(aw));
}

}  // namespace concur::aio
