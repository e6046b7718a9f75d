#include "concur/core/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>

namespace concur::detail {

namespace {

// The futex syscall reads the word as a plain 32-bit int; std::atomic<uint32_t> has that
// representation on every platform Linux runs on.
std::uint32_t* word_address(const std::atomic<std::uint32_t>& word) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(const_cast<std::atomic<std::uint32_t>*>(&word));
}

int op(int base, futex_scope scope) noexcept {
  return scope == futex_scope::process ? (base | FUTEX_PRIVATE_FLAG) : base;
}

}  // namespace

void futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                futex_scope scope) noexcept {
  syscall(SYS_futex, word_address(word), op(FUTEX_WAIT, scope), expected, nullptr, nullptr, 0);
}

bool futex_wait_until(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      clock::time_point deadline, futex_scope scope) noexcept {
  if (deadline == clock::time_point::max()) {
    futex_wait(word, expected, scope);
    return true;
  }
  if (clock::now() >= deadline) return false;
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time.
  const timespec ts = monotonic_timespec(deadline);
  const long rc = syscall(SYS_futex, word_address(word), op(FUTEX_WAIT_BITSET, scope), expected,
                          &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake(const std::atomic<std::uint32_t>& word, int count, futex_scope scope) noexcept {
  syscall(SYS_futex, word_address(word), op(FUTEX_WAKE, scope), count, nullptr, nullptr, 0);
}

}  // namespace concur::detail
