#pragma once
// threading.Event: a flag that threads can wait on.
#include <chrono>
#include <concur/core/checked_mutex.hpp>
#include <concur/threading/detail/deadline.hpp>
#include <condition_variable>

namespace concur {

class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  // Wakes every thread waiting now; later waits return at once until clear().
  void set() {
    const checked_lock lock(mutex_);
    flag_ = true;
    ++sets_;
    cv_.notify_all();
  }

  void clear() {
    const checked_lock lock(mutex_);
    flag_ = false;
  }

  bool is_set() const {
    const checked_lock lock(mutex_);
    return flag_;
  }

  // Returns the flag, which is always true here (Python's wait() returns True too).
  bool wait() const {
    checked_lock lock(mutex_);
    const auto sets_at_start = sets_;
    while (!woken(sets_at_start)) {
      cv_.wait(lock.native());
    }
    return true;
  }

  // false if the flag was still clear when the timeout expired.
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    const auto deadline = detail::wait_deadline(timeout);
    checked_lock lock(mutex_);
    const auto sets_at_start = sets_;
    while (!woken(sets_at_start)) {
      if (cv_.wait_until(lock.native(), deadline) == std::cv_status::timeout) {
        return woken(sets_at_start);
      }
    }
    return true;
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
  bool woken(unsigned long long sets_at_start) const CONCUR_REQUIRES(mutex_) {
    return flag_ || sets_ != sets_at_start;
  }

  mutable checked_mutex mutex_;
  mutable std::condition_variable cv_;
  bool flag_ CONCUR_GUARDED_BY(mutex_) = false;
  unsigned long long sets_ CONCUR_GUARDED_BY(mutex_) = 0;
};

}  // namespace concur
