#pragma once
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace concur::mp::testing {

// ASan and TSan catch SIGSEGV, report it and exit with a status of their own.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitizer_handles_segv = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitizer_handles_segv = true;
#else
inline constexpr bool sanitizer_handles_segv = false;
#endif
#else
inline constexpr bool sanitizer_handles_segv = false;
#endif

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

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace concur::mp::testing {

// Pids whose parent is `parent` (zombies included), from /proc.
inline std::vector<int> children_of(int parent) {
  std::vector<int> out;
  if (parent <= 0) return out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace concur::mp::testing
