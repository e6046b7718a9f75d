#pragma once
#include <chrono>
// deadline_after (a user timeout to a steady-clock deadline, safe for huge durations) is
// futures' own: one definition for the whole library.
#include <concur/futures/detail/state.hpp>

namespace concur::detail {

using steady = std::chrono::steady_clock;

// Longest wait honoured as such; anything longer means "forever" in practice and is clamped,
// because adding duration::max() to now() overflows (undefined behaviour for signed reps).
inline constexpr std::chrono::hours max_wait{24 * 365 * 100};

// Converts any user duration to the steady clock's, clamped to [0, max_wait].
// Negative and NaN durations mean "do not wait", as with std::condition_variable::wait_for.
template <class Rep, class Period>
steady::duration clamp_wait(std::chrono::duration<Rep, Period> d) {
  const std::chrono::duration<double> seconds = d;
  if (!(seconds.count() > 0.0)) {
    return steady::duration::zero();
  }
  if (seconds >= std::chrono::duration<double>(max_wait)) {
    return std::chrono::duration_cast<steady::duration>(max_wait);
  }
  return std::chrono::duration_cast<steady::duration>(d);
}

}  // namespace concur::detail
