#pragma once
// threading.Event: a flag that threads can wait on.
#include <chrono>
#include <concur/threading/detail/deadline.hpp>
#include <condition_variable>
#include <mutex>

namespace concur {

class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  // Wakes every thread waiting now; later waits return at once until clear().
  void set() {
    std::lock_guard lock(mutex_);
    flag_ = true;
    ++sets_;
    cv_.notify_all();
  }

  void clear() {
    std::lock_guard lock(mutex_);
    flag_ = false;
  }

  bool is_set() const {
    std::lock_guard lock(mutex_);
    return flag_;
  }

  // Returns the flag, which is always true here (Python's wait() returns True too).
  bool wait() const {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, woken{this, sets_});
    return true;
  }

  // false if the flag was still clear when the timeout expired.
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_until(lock, detail::wait_deadline(timeout), woken{this, sets_});
  }

  // Measured on the steady clock from now: a far deadline such as time_point::max() is
  // clamped instead of overflowing in the conversion between clocks.
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> deadline) const {
    const auto now = Clock::now();
    if (deadline <= now) {  // also keeps time_point::min() from overflowing the subtraction
      return wait(std::chrono::seconds(0));
    }
    return wait(deadline - now);
  }

 private:
  // A set() that happened while we waited counts even if clear() followed before this thread
  // ran again: like Python, a set-then-clear pulse releases everyone who was waiting.
  struct woken {
    const event* self;
    unsigned long long sets_at_start;
    bool operator()() const { return self->flag_ || self->sets_ != sets_at_start; }
  };

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool flag_ = false;
  unsigned long long sets_ = 0;
};

}  // namespace concur
