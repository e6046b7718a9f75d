#pragma once
#include <cmath>
#include <concur/aio/awaiter.hpp>

namespace concur::aio {

namespace detail {

// co_await aio::sleep(d): the node's own deadline timer wakes it, so a sleep allocates nothing
// and a sleeping frame holds 32 bytes for it (awaited by the hundred thousand).
class sleep_awaiter : public wait_node {
 public:
  explicit sleep_awaiter(clock::duration delay) noexcept : delay_(delay) {}
  sleep_awaiter(sleep_awaiter&&) = default;
  sleep_awaiter& operator=(sleep_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    if (delay_ <= clock::duration::zero()) {
      // sleep(0): a bare yield; every other ready callback runs first.
      park_done(h);
      return;
    }
    static constexpr wait_ops ops{.what = "sleep"};
    task_base& t = running_task();
    park_until(h, t.loop()->deadline_in(delay_), &ops);
  }
  void await_resume() const { raise_if_cancelled(); }

 private:
  clock::duration delay_;
};

// Out of line, so that sleep(seconds) stays small enough to inline.
[[noreturn]] void throw_nan_delay();

}  // namespace detail

// asyncio.sleep: suspends the current task for `delay`; sleep(0) yields to the loop once.
// Cancellable: the timer is removed and cancelled_error raised.
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
  return detail::sleep_awaiter(concur::saturating_ceil(delay));
}
// asyncio.sleep(seconds) with a float, as in Python; value_error for NaN (3.13). Seconds
// beyond what the clock can count mean "forever".
inline detail::sleep_awaiter sleep(double seconds) {
  if (seconds <= 0) return detail::sleep_awaiter(clock::duration::zero());  // the common sleep(0)
  if (std::isnan(seconds)) detail::throw_nan_delay();
  return detail::sleep_awaiter(concur::saturating_ceil(std::chrono::duration<double>(seconds)));
}

}  // namespace concur::aio
