#pragma once
// File descriptors, once for every module: the owning handle, and passing descriptors over a
// Unix socket (SCM_RIGHTS).
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

namespace concur {

// Owns one file descriptor; closes it on destruction.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;
  // A close-on-exec duplicate; os_error if the descriptor table is full.
  unique_fd dup() const;

 private:
  int fd_ = -1;
};

// The most descriptors one message carries.
inline constexpr std::size_t max_passed_fds = 64;

// One sendmsg of `data` with `fds` attached (SCM_RIGHTS; at most max_passed_fds), MSG_NOSIGNAL
// plus `flags` (MSG_DONTWAIT, say); EINTR is retried. sendmsg's result: -1 with errno set on
// failure. The descriptors stay the caller's.
ssize_t send_with_fds(int sock, std::span<const iovec> data, std::span<const int> fds,
                      int flags = 0) noexcept;

// One recvmsg into `data`; the descriptors that came with it are appended to `fds`, owned and
// close-on-exec. EINTR is retried. recvmsg's result: -1 with errno set on failure.
ssize_t recv_with_fds(int sock, std::span<const iovec> data, std::vector<unique_fd>& fds,
                      int flags = 0);

}  // namespace concur
