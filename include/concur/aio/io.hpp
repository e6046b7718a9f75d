#pragma once
#include <concur/aio/awaiter.hpp>

namespace concur::aio {

namespace detail {

// One-shot readiness wait on a file descriptor through the loop's epoll set.
class fd_awaiter : public wait_node {
 public:
  fd_awaiter(int fd, bool write) noexcept : fd_(fd), write_(write) {}
  fd_awaiter(fd_awaiter&&) = default;
  fd_awaiter& operator=(fd_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    static constexpr wait_ops ops{nullptr, &on_cancel};
    running_task().loop()->wait_fd(fd_, write_, this);
    park(h, &ops);
  }
  void await_resume() const { raise_if_cancelled(); }

 private:
  static void on_cancel(wait_node& n) noexcept {
    auto& self = static_cast<fd_awaiter&>(n);
    self.task()->loop()->cancel_wait_fd(self.fd_, self.write_);
  }

  int fd_;
  bool write_;
};

}  // namespace detail

// Suspends the current task until `fd` is readable (or has an error / hang-up). One task at a
// time per fd and direction; a second waiter, or an add_reader callback on the same fd, is an
// invalid_state_error. Cancellation removes the registration.
inline detail::fd_awaiter readable(int fd) noexcept { return {fd, false}; }
// Suspends the current task until `fd` is writable (or has an error / hang-up).
inline detail::fd_awaiter writable(int fd) noexcept { return {fd, true}; }

}  // namespace concur::aio
