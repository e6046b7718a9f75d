#include "concur/mp/detail/fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "concur/core/clock.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp::detail {

unique_fd dup_fd(int fd) {
  const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) throw_last_os_error("concur::mp: dup");
  return unique_fd(d);
}

std::pair<unique_fd, unique_fd> socket_pair(int type) {
  int sv[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0)
    throw_last_os_error("concur::mp: socketpair");
  return {unique_fd(sv[0]), unique_fd(sv[1])};
}

namespace {

void send_all(int fd, iovec* iov, int n) {
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    const ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_last_os_error("concur::mp: send");
    }
    auto left = static_cast<std::size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

// False on end of file before any byte.
bool recv_all(int fd, char* p, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    const ssize_t r = ::recv(fd, p + got, len - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET && got == 0) return false;
      throw_last_os_error("concur::mp: recv");
    }
    if (r == 0) {
      if (got == 0) return false;
      throw error("concur::mp: connection closed in the middle of a message");
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

void send_frame(int fd, std::string_view head, std::string_view body) {
  std::uint64_t len = head.size() + body.size();
  iovec iov[3] = {{&len, sizeof len},
                  {const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  send_all(fd, iov, 3);
}

std::optional<std::string> recv_frame(int fd) {
  std::uint64_t len = 0;
  if (!recv_all(fd, reinterpret_cast<char*>(&len), sizeof len)) return std::nullopt;
  if (len > (std::uint64_t{1} << 40)) throw error("concur::mp: corrupt message length");
  std::string s(static_cast<std::size_t>(len), '\0');
  if (len > 0 && !recv_all(fd, s.data(), s.size()))
    throw error("concur::mp: connection closed in the middle of a message");
  return s;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  const bool forever = timeout.count() < 0;
  const auto deadline = concur::deadline_after(timeout);
  for (;;) {
    int ms = -1;
    if (!forever) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - concur::clock::now());
      ms = static_cast<int>(
          std::max<std::int64_t>(0, std::min<std::int64_t>(left.count(), 1 << 30)));
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, ms);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) throw_last_os_error("concur::mp: poll");
  }
}

}  // namespace concur::mp::detail
