#pragma once
#include <concur/aio/awaiter.hpp>
#include <optional>

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
    static constexpr wait_ops ops{.on_cancel = &on_cancel, .describe = &describe};
    running_task().loop()->wait_fd(fd_, write_, this);
    park(h, &ops);
  }
  void await_resume() const { raise_if_cancelled(); }

 private:
  static void on_cancel(wait_node& n) noexcept {
    auto& self = static_cast<fd_awaiter&>(n);
    self.task()->loop()->cancel_wait_fd(self.fd_, self.write_);
  }
  static std::string describe(const wait_node& n) {
    const auto& self = static_cast<const fd_awaiter&>(n);
    return "fd " + std::to_string(self.fd_) + (self.write_ ? " writable" : " readable");
  }

  int fd_;
  bool write_;
};

}  // namespace detail

// A descriptor the loop watches for as long as this object lives (the one readiness path for
// descriptors the caller owns: net's streams and servers, the HTTP server). Registered once,
// edge-triggered, for input, output and the peer's hang-up; the loop records readiness as the
// edges arrive. An operation tries its syscall first and parks only when the syscall said
// EAGAIN: it then calls read_blocked() (write_blocked()) and awaits readable() (writable()).
// After the peer's hang-up (EPOLLRDHUP, EPOLLHUP, EPOLLERR) reading stays "ready" for good, so
// the next recv() sees the end of the stream even when it arrived together with data. One
// task at a time per direction. Destroy it before closing the descriptor.
class fd_watch {
 public:
  fd_watch(event_loop& loop, int fd) : loop_(&loop), fd_(fd) { loop.add_watch(fd, this); }
  fd_watch(const fd_watch&) = delete;
  fd_watch& operator=(const fd_watch&) = delete;
  virtual ~fd_watch() { loop_->remove_watch(fd_); }

  int fd() const noexcept { return fd_; }
  event_loop& loop() const noexcept { return *loop_; }
  bool read_ready() const noexcept { return read_ready_ || hung_up_; }
  bool write_ready() const noexcept { return write_ready_; }
  // The peer shut down its sending side, or the connection failed: reads will reach the end.
  bool hung_up() const noexcept { return hung_up_; }
  // A read or write said EAGAIN (or a short read emptied the socket): wait for the next edge.
  void read_blocked() noexcept { read_ready_ = false; }
  void write_blocked() noexcept { write_ready_ = false; }

  class ready_awaiter : public detail::wait_slot::awaiter {
   public:
    ready_awaiter(fd_watch& w, bool write, std::optional<clock::time_point> deadline) noexcept
        : awaiter(write ? w.writer_ : w.reader_, deadline, &ops), w_(w), write_(write) {}
    bool await_ready() const noexcept {
      return w_.interrupted_ || (write_ ? w_.write_ready() : w_.read_ready());
    }

   private:
    static std::string describe(const wait_node& n) {
      const auto& self = static_cast<const ready_awaiter&>(n);
      return "fd " + std::to_string(self.w_.fd()) + (self.write_ ? " writable" : " readable");
    }
    static constexpr detail::wait_ops ops{.on_cancel = &awaiter::on_cancel, .describe = &describe};
    fd_watch& w_;
    bool write_;
  };
  // co_await w.readable(): at once when read_ready() (or interrupted); otherwise until the next
  // edge, the deadline (false) or a cancellation (cancelled_error).
  ready_awaiter readable(std::optional<clock::time_point> deadline = std::nullopt) noexcept {
    return {*this, false, deadline};
  }
  ready_awaiter writable(std::optional<clock::time_point> deadline = std::nullopt) noexcept {
    return {*this, true, deadline};
  }
  // Ends every wait, now and later (an owner giving up: shutdown, an expired timeout); the
  // waiter checks interrupted() and leaves.
  void interrupt() noexcept {
    interrupted_ = true;
    reader_.wake();
    writer_.wake();
  }
  bool interrupted() const noexcept { return interrupted_; }

 protected:
  // Called on each edge after the flags are updated. The default wakes the waiting tasks; an
  // owner that reacts to edges itself (a stream's read pump) overrides it.
  virtual void on_ready(bool readable, bool writable) noexcept {
    if (readable) reader_.wake();
    if (writable) writer_.wake();
  }

 private:
  friend class event_loop;
  void on_events(std::uint32_t events) noexcept;

  event_loop* loop_;
  int fd_;
  detail::wait_slot reader_;
  detail::wait_slot writer_;
  bool read_ready_ = false;
  bool write_ready_ = false;
  bool hung_up_ = false;
  bool interrupted_ = false;
};

// Suspends the current task until `fd` is readable (or has an error / hang-up). One task at a
// time per fd and direction; a second waiter, or an add_reader callback on the same fd, is an
// invalid_state_error. Cancellation removes the registration.
inline detail::fd_awaiter readable(int fd) noexcept { return {fd, false}; }
// Suspends the current task until `fd` is writable (or has an error / hang-up).
inline detail::fd_awaiter writable(int fd) noexcept { return {fd, true}; }

}  // namespace concur::aio
