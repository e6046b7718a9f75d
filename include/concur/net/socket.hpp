#pragma once
// Socket plumbing under the streams (descriptors are concur::unique_fd): socket addresses, name
// resolution (blocking form; streams call it off the loop), listening and connecting sockets.
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concur/core/fd.hpp"

namespace concur::net {

// An IPv4 or IPv6 socket address; also an AF_UNIX one where a server listens on a socket the
// caller made (start_server with sock=).
struct endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const noexcept { return storage.ss_family; }
  const sockaddr* addr() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string host() const;  // "127.0.0.1" / "::1"
  std::uint16_t port() const noexcept;
  std::string str() const;  // "127.0.0.1:80" / "[::1]:80" / "/run/x.sock" / "@abstract"
  // AF_UNIX: the path, or "@name" for an abstract name; empty for other families.
  std::string unix_path() const;

  // An AF_UNIX address: a path, or an abstract name given as "@name" or "\0name".
  // value_error when it is empty or longer than sun_path allows.
  static endpoint unix_socket(std::string_view path);
  // A numeric address, without DNS; false if `host` is not an IP literal.
  static bool from_numeric(std::string_view host, std::uint16_t port, endpoint& out);
  static endpoint local_of(int fd);  // getsockname
  static endpoint peer_of(int fd);   // getpeername
};

// "host:port" (with brackets for IPv6) for messages.
std::string host_port(std::string_view host, std::uint16_t port);

// getaddrinfo for TCP; blocks, so streams run it on a worker thread. `passive` for servers
// (an empty host then means every interface). Throws dns_error naming host:port.
std::vector<endpoint> resolve_blocking(std::string_view host, std::uint16_t port,
                                       bool passive = false);

struct listen_options {
  int backlog = 1024;
  // SO_REUSEPORT: several sockets (one per loop/core) share the port; the kernel spreads
  // connections between them.
  bool reuse_port = false;
  bool reuse_address = true;
};

// A non-blocking listening TCP socket bound to `ep`. Throws connection_error naming it.
unique_fd open_listener(const endpoint& ep, const listen_options& options = {});

// A non-blocking TCP socket with connect() started; `in_progress` tells whether the caller
// must wait for writability and then call finish_connect(). Throws connection_error /
// connection_refused_error naming `where`.
unique_fd start_connect(const endpoint& ep, bool& in_progress, const std::string& where);
// Reads SO_ERROR after writability; throws the matching connection error naming `where`.
void finish_connect(int fd, const std::string& where);

// A non-blocking socket call's errno that means "nothing now; wait for readiness".
inline bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

// Sets TCP_NODELAY (requests and responses are written whole, so Nagle only adds latency).
void set_nodelay(int fd) noexcept;

// Throws the connection_error (an os_error) that matches errno `code`, as Python picks
// ConnectionRefusedError and friends for an OSError ("<what> <where>: <strerror>").
[[noreturn]] void throw_connection_error(int code, const std::string& what,
                                         const std::string& where);

}  // namespace concur::net
