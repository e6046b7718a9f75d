#pragma once
#include <concur/aio/event_loop.hpp>

namespace concur::aio {

namespace detail {

// co_await aio::sleep(d): a timer node inside the sleeping frame, so a sleep allocates nothing.
class sleep_awaiter : private timer_node {
 public:
  explicit sleep_awaiter(clock::duration delay) noexcept : delay_(delay) {}
  // Awaited by the hundred thousand: keep each sleeping frame small.
  // Movable until awaited (so it can be handed to wait_for); never moved while registered.
  sleep_awaiter(sleep_awaiter&&) = default;
  sleep_awaiter& operator=(sleep_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    task_ = &running_task();
    if (task_->take_cancel()) {
      cancelled_ = true;
      return false;
    }
    if (delay_ <= clock::duration::zero()) {
      // sleep(0): just let every other ready callback run first.
      task_->suspend(h, &on_cancel_yield, this);
      task_->wake_keep_hook();
      return true;
    }
    fire = &on_fire;
    task_->loop()->add_timer(this, task_->loop()->now() + delay_);
    task_->suspend(h, &on_cancel, this);
    return true;
  }
  void await_resume() const {
    if (cancelled_) throw cancelled_error();
  }

 private:
  static void on_fire(timer_node* n) noexcept { static_cast<sleep_awaiter*>(n)->task_->wake(); }
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<sleep_awaiter*>(p);
    self->task_->loop()->remove_timer(self);
    self->cancelled_ = true;
    self->task_->wake();
  }
  static void on_cancel_yield(void* p) noexcept {
    // Already queued to run: only the outcome changes.
    static_cast<sleep_awaiter*>(p)->cancelled_ = true;
  }

  bool cancelled_ = false;  // first: it fits in timer_node's tail padding
  clock::duration delay_;
  task_base* task_ = nullptr;
};

}  // namespace detail

// asyncio.sleep: suspends the current task for `delay`; sleep(0) yields to the loop once.
// Cancellable: the timer is removed and cancelled_error raised.
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
  return detail::sleep_awaiter(std::chrono::ceil<clock::duration>(delay));
}
// asyncio.sleep(seconds) with a float, as in Python.
inline detail::sleep_awaiter sleep(double seconds) noexcept {
  return detail::sleep_awaiter(
      std::chrono::ceil<clock::duration>(std::chrono::duration<double>(seconds)));
}

}  // namespace concur::aio
