#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "concur/core/fd.hpp"

namespace concur::mp::detail {

using concur::unique_fd;

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

}  // namespace concur::mp::detail
