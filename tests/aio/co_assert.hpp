#pragma once
#include <gtest/gtest.h>

// ASSERT_* returns from the function, which a coroutine cannot do: this one co_returns
// (only inside task<void> coroutines).
#define CO_ASSERT_EQ(a, b) \
  do {                     \
    EXPECT_EQ(a, b);       \
    if (!((a) == (b))) {   \
      co_return;           \
    }                      \
  } while (0)
