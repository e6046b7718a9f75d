#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace concur::mp::detail {

// Owns one file descriptor.
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
  // A close-on-exec duplicate.
  unique_fd dup() const;

 private:
  int fd_ = -1;
};

// A close-on-exec duplicate of a descriptor this process does not own.
unique_fd dup_fd(int fd);

// A connected AF_UNIX socket pair, close-on-exec.
std::pair<unique_fd, unique_fd> socket_pair(int type);

// Length-prefixed frames over a stream socket. send_frame writes header + body with one
// sendmsg so that a chunk of a million items costs one syscall, not one per item.
void send_frame(int fd, std::string_view head, std::string_view body = {});
// nullopt on a clean end of file before the first byte; throws on a torn frame or error.
std::optional<std::string> recv_frame(int fd);

// poll() for POLLIN with a timeout (negative: forever), EINTR-safe. True when readable.
bool wait_readable(int fd, std::chrono::milliseconds timeout);

[[noreturn]] void throw_errno(const char* what);

}  // namespace concur::mp::detail
