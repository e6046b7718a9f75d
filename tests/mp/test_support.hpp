#pragma once
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace concur::mp::testing {

// True once `pid` no longer exists (reaped), polling for at most `limit`.
inline bool process_gone(int pid, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace concur::mp::testing
