#pragma once
#include <chrono>
// deadline_after (a deadline from a timeout) is the core layer's: one definition for the whole
// library. threading feeds it durations already clamped by clamp_wait below, which also turns
// NaN into "don't wait" (a NaN converted to an integer duration is undefined).
#include <concur/core/clock.hpp>

namespace concur::detail {

// Longest wait honoured as such; anything longer means "forever" in practice and is clamped,
// because adding duration::max() to now() overflows (undefined behaviour for signed reps).
inline constexpr std::chrono::hours max_wait{24 * 365 * 100};

// Converts any user duration to the steady clock's, clamped to [0, max_wait].
// Negative and NaN durations mean "do not wait", as with std::condition_variable::wait_for.
template <class Rep, class Period>
clock::duration clamp_wait(std::chrono::duration<Rep, Period> d) {
  const std::chrono::duration<double> seconds = d;
  if (!(seconds.count() > 0.0)) {
    return clock::duration::zero();
  }
  if (seconds >= std::chrono::duration<double>(max_wait)) {
    return std::chrono::duration_cast<clock::duration>(max_wait);
  }
  return std::chrono::duration_cast<clock::duration>(d);
}

// The deadline for a user timeout of any type, sign or size (NaN included).
template <class Rep, class Period>
clock::time_point wait_deadline(std::chrono::duration<Rep, Period> d) {
  return deadline_after(clamp_wait(d));
}

}  // namespace concur::detail
