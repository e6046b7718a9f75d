#pragma once
#include <concur/aio/event_loop.hpp>

namespace concur::aio {

namespace detail {

// One-shot readiness wait on a file descriptor through the loop's epoll set.
class fd_awaiter {
 public:
  fd_awaiter(int fd, bool write) noexcept : fd_(fd), write_(write) {}
  // Movable until awaited (so it can be handed to wait_for); never moved while registered.
  fd_awaiter(fd_awaiter&&) = default;
  fd_awaiter& operator=(fd_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    task_ = &running_task();
    if (task_->take_cancel()) {
      cancelled_ = true;
      return false;
    }
    task_->loop()->wait_fd(fd_, write_, task_);
    task_->suspend(h, &on_cancel, this);
    return true;
  }
  void await_resume() const {
    if (cancelled_) throw cancelled_error();
  }

 private:
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<fd_awaiter*>(p);
    self->task_->loop()->cancel_wait_fd(self->fd_, self->write_);
    self->cancelled_ = true;
    self->task_->wake();
  }

  int fd_;
  bool write_;
  bool cancelled_ = false;
  task_base* task_ = nullptr;
};

}  // namespace detail

// Suspends the current task until `fd` is readable (or has an error / hang-up). One task at a
// time per fd and direction; a second waiter, or an add_reader callback on the same fd, is an
// invalid_state_error. Cancellation removes the registration.
inline detail::fd_awaiter readable(int fd) noexcept { return {fd, false}; }
// Suspends the current task until `fd` is writable (or has an error / hang-up).
inline detail::fd_awaiter writable(int fd) noexcept { return {fd, true}; }

}  // namespace concur::aio
