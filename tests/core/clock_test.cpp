// The one clock and its saturating deadline helpers.
#include <gtest/gtest.h>

#include <chrono>
#include <concur/core/clock.hpp>
#include <limits>

namespace {

using namespace std::chrono_literals;

TEST(Clock, IsSteady) { EXPECT_TRUE(concur::clock::is_steady); }

TEST(SaturatingCeil, RoundsUpAndSaturates) {
  EXPECT_EQ(concur::saturating_ceil(1500ns), 1500ns);
  EXPECT_EQ(concur::saturating_ceil(std::chrono::duration<double>(1e-9 / 2)), concur::duration(1));
  EXPECT_EQ(concur::saturating_ceil(std::chrono::hours::max()), concur::duration::max());
  EXPECT_EQ(concur::saturating_ceil(std::chrono::hours::min()), concur::duration::min());
  EXPECT_EQ(concur::saturating_ceil(
                std::chrono::duration<double>(std::numeric_limits<double>::infinity())),
            concur::duration::max());
  EXPECT_EQ(concur::saturating_ceil(
                std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())),
            concur::duration::max());
  static_assert(concur::saturating_ceil(2s) == 2s);
}

TEST(DeadlineFrom, SaturatesAtBothEnds) {
  const auto now = concur::clock::now();
  EXPECT_EQ(concur::deadline_from(now, concur::duration::max()), concur::time_point::max());
  EXPECT_EQ(concur::deadline_from(concur::time_point::min() + 1s, -2s), concur::time_point::min());
  EXPECT_EQ(concur::deadline_from(concur::time_point::max() - 1s, 2s), concur::time_point::max());
  EXPECT_EQ(concur::deadline_from(now, concur::duration::min()), now + concur::duration::min());
  EXPECT_EQ(concur::deadline_from(now, 5s), now + 5s);
  EXPECT_EQ(concur::deadline_from(now, -5s), now - 5s);
}

TEST(DeadlineAfter, NonPositiveAndNaNMeanNowHugeMeansNever) {
  const auto before = concur::clock::now();
  for (const auto d : {concur::deadline_after(0s), concur::deadline_after(-1h),
                       concur::deadline_after(
                           std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())),
                       concur::deadline_after(std::chrono::hours::min())}) {
    EXPECT_GE(d, before);
    EXPECT_LE(d, concur::clock::now());
  }
  EXPECT_EQ(concur::deadline_after(std::chrono::hours::max()), concur::time_point::max());
  EXPECT_EQ(concur::deadline_after(concur::duration::max()), concur::time_point::max());
  const auto soon = concur::deadline_after(10ms);
  EXPECT_GE(soon, before + 10ms);
}

}  // namespace
