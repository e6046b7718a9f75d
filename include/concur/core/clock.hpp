#pragma once
// The one clock of concur: every timeout, deadline and elapsed time is counted on it.
#include <chrono>
#include <ctime>
#include <ratio>

namespace concur {

using clock = std::chrono::steady_clock;
using duration = clock::duration;
using time_point = clock::time_point;

// A user's duration in clock ticks, rounded up (waking early would only spin), saturating at
// duration::max() / min() instead of overflowing (hours::max() means "forever").
template <class Rep, class Period>
constexpr duration saturating_ceil(std::chrono::duration<Rep, Period> d) noexcept {
  using D = std::chrono::duration<Rep, Period>;
  if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
    using wide = std::chrono::duration<long double>;
    if (!(wide(d) < wide(duration::max()))) return duration::max();  // and NaN
    if (wide(d) <= wide(duration::min())) return duration::min();
    return std::chrono::ceil<duration>(d);
  } else if constexpr (std::ratio_greater_equal_v<Period, clock::period>) {
    // Coarser ticks (seconds, hours): only these can overflow when converted.
    constexpr D top = std::chrono::duration_cast<D>(duration::max());
    if (d > top) return duration::max();
    if (d < -top) return duration::min();
    return std::chrono::ceil<duration>(d);
  } else {
    return std::chrono::ceil<duration>(d);
  }
}

// `now + d`, saturating at time_point::max() (a deadline that never comes) and ::min().
constexpr time_point deadline_from(time_point now, duration d) noexcept {
  if (d > duration::zero() && now > time_point::max() - d) return time_point::max();
  if (d < duration::zero() && now < time_point::min() - d) return time_point::min();
  return now + d;
}

// The deadline `timeout` from now on the clock, for a timeout of any type, size or sign:
// negative, zero and NaN mean "do not wait" (now), a huge one "never" (time_point::max()).
template <class Rep, class Period>
time_point deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
  const time_point now = clock::now();
  if (!(timeout > timeout.zero())) return now;
  return deadline_from(now, saturating_ceil(timeout));
}

// A point on the clock as the kernel's CLOCK_MONOTONIC timespec (steady_clock is that clock on
// Linux), for absolute timeouts of futex and pthread calls.
inline timespec monotonic_timespec(time_point t) noexcept {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec =
      static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count());
  return ts;
}

}  // namespace concur
