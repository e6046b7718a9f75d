// The core layer's errors: one hierarchy under concur::error, os_error for failed syscalls.
#include <gtest/gtest.h>

#include <cerrno>
#include <concur/core.hpp>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

TEST(OsError, CarriesErrnoCallAndErrorCode) {
  const concur::os_error e(ENOENT, "open /nonexistent");
  EXPECT_EQ(e.errno_value(), ENOENT);
  EXPECT_EQ(e.call(), "open /nonexistent");
  EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(std::string(e.what()), "open /nonexistent: " + concur::errno_message(ENOENT));
}

TEST(OsError, KeepsAMessageGivenWhole) {
  const concur::os_error e(ECONNREFUSED, "connect", "cannot connect to 127.0.0.1:1: refused");
  EXPECT_EQ(std::string(e.what()), "cannot connect to 127.0.0.1:1: refused");
  EXPECT_EQ(e.call(), "connect");
  EXPECT_EQ(e.code(), std::errc::connection_refused);
}

TEST(OsError, IsAConcurErrorAndAStdException) {
  try {
    concur::throw_os_error(EBADF, "close");
  } catch (const concur::error& e) {
    const auto* os = dynamic_cast<const concur::os_error*>(&e);
    ASSERT_NE(os, nullptr);
    EXPECT_EQ(os->errno_value(), EBADF);
    return;
  }
  FAIL() << "throw_os_error did not throw a concur::error";
}

TEST(OsError, ThrowLastTakesErrnoAsLeftByTheCall) {
  errno = EAGAIN;
  try {
    concur::throw_last_os_error("read");
  } catch (const concur::os_error& e) {
    EXPECT_EQ(e.code(), std::errc::resource_unavailable_try_again);
    EXPECT_EQ(e.call(), "read");
    return;
  }
  FAIL() << "throw_last_os_error did not throw";
}

TEST(Errors, EveryKindDerivesFromConcurError) {
  EXPECT_THROW(throw concur::timeout_error(), concur::error);
  EXPECT_THROW(throw concur::cancelled_error(), concur::error);
  EXPECT_THROW(throw concur::invalid_state_error("x"), concur::error);
  EXPECT_THROW(throw concur::value_error("x"), concur::error);
  EXPECT_STREQ(concur::timeout_error().what(), "timed out");
  EXPECT_STREQ(concur::cancelled_error().what(), "cancelled");
}

TEST(ErrnoMessage, SameTextFromManyThreadsAndUnknownCodesStillDescribed) {
  const std::string expected = concur::errno_message(EPIPE);
  EXPECT_FALSE(expected.empty());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (concur::errno_message(t % 2 ? EPIPE : ENOENT) !=
            (t % 2 ? expected : concur::errno_message(ENOENT)))
          ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
  EXPECT_FALSE(concur::errno_message(123456).empty());
}

}  // namespace
