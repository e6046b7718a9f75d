#include "concur/net/sock_ops.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "concur/core/error.hpp"
#include "concur/net/errors.hpp"

namespace concur::net {

namespace {

void require_nonblocking(int fd, const char* call) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_last_os_error(call);
  if ((flags & O_NONBLOCK) == 0)
    throw value_error(std::string(call) + ": the socket must be non-blocking");
}

std::string fd_name(int fd) { return "socket " + std::to_string(fd); }

}  // namespace

aio::task<std::size_t> sock_recv_into(int fd, std::span<std::byte> buf) {
  require_nonblocking(fd, "sock_recv_into");
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (!would_block(errno)) throw_connection_error(errno, "cannot read from", fd_name(fd));
    co_await aio::readable(fd);
  }
}

aio::task<std::string> sock_recv(int fd, std::size_t n) {
  std::string out(n, '\0');
  const std::size_t got = co_await sock_recv_into(fd, std::as_writable_bytes(std::span(out)));
  out.resize(got);
  co_return out;
}

aio::task<void> sock_sendall(int fd, std::string data) {
  require_nonblocking(fd, "sock_sendall");
  std::string_view left = data;
  while (!left.empty()) {
    const ssize_t n = ::send(fd, left.data(), left.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      left.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (!would_block(errno)) throw_connection_error(errno, "cannot send to", fd_name(fd));
    co_await aio::writable(fd);
  }
}

aio::task<void> sock_connect(int fd, endpoint address) {
  require_nonblocking(fd, "sock_connect");
  const std::string where = address.str();
  int rc = ::connect(fd, address.addr(), address.length);
  while (rc != 0 && errno == EINTR) rc = ::connect(fd, address.addr(), address.length);
  if (rc == 0) co_return;
  if (errno != EINPROGRESS) throw_connection_error(errno, "cannot connect to", where);
  co_await aio::writable(fd);
  finish_connect(fd, where);
}

aio::task<std::pair<unique_fd, endpoint>> sock_accept(int fd) {
  require_nonblocking(fd, "sock_accept");
  for (;;) {
    endpoint peer;
    peer.length = sizeof peer.storage;
    const int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                            SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) co_return std::pair{unique_fd(c), peer};
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (!would_block(errno)) throw_last_os_error("sock_accept");
    co_await aio::readable(fd);
  }
}

aio::task<std::size_t> sock_sendto(int fd, std::string data, endpoint address) {
  require_nonblocking(fd, "sock_sendto");
  for (;;) {
    const ssize_t n =
        ::sendto(fd, data.data(), data.size(), MSG_NOSIGNAL, address.addr(), address.length);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (!would_block(errno)) throw_connection_error(errno, "cannot send to", address.str());
    co_await aio::writable(fd);
  }
}

aio::task<std::pair<std::string, endpoint>> sock_recvfrom(int fd, std::size_t bufsize) {
  require_nonblocking(fd, "sock_recvfrom");
  std::string buf(bufsize, '\0');
  for (;;) {
    endpoint from;
    from.length = sizeof from.storage;
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from.storage), &from.length);
    if (n >= 0) {
      buf.resize(static_cast<std::size_t>(n));
      co_return std::pair{std::move(buf), from};
    }
    if (errno == EINTR) continue;
    if (!would_block(errno)) throw_connection_error(errno, "cannot receive on", "a UDP socket");
    co_await aio::readable(fd);
  }
}

}  // namespace concur::net
