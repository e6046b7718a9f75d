#pragma once
// Blocking on a 32-bit word (Linux futex): the one way concur sleeps on a word, within a process
// (futures, executors) or on a word in memory shared between processes (mp's locks, events and
// semaphores).
#include <atomic>
#include <cstdint>

#include "concur/core/clock.hpp"

namespace concur::detail {

// Private futexes are cheaper; a word in memory mapped by several processes needs shared ones.
enum class futex_scope { process, shared };

// Returns when the word may no longer equal `expected` (spurious returns are allowed).
void futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                futex_scope scope = futex_scope::process) noexcept;
// Same; false once `deadline` has passed (time_point::max(): no deadline).
bool futex_wait_until(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      clock::time_point deadline,
                      futex_scope scope = futex_scope::process) noexcept;
// Wakes up to `count` waiters.
void futex_wake(const std::atomic<std::uint32_t>& word, int count,
                futex_scope scope = futex_scope::process) noexcept;

// One round of a spin-wait: tells the core that this thread is busy-waiting, before a futex
// sleep is worth its cost.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace concur::detail
