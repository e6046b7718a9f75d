#include "concur/net/socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "concur/net/errors.hpp"

namespace concur::net {

std::string endpoint::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
  } else if (family() == AF_UNIX) {
    return unix_path();
  }
  return buf;
}

std::string endpoint::unix_path() const {
  if (family() != AF_UNIX) return {};
  const auto* a = reinterpret_cast<const sockaddr_un*>(&storage);
  const auto offset = offsetof(sockaddr_un, sun_path);
  if (length <= offset) return {};  // unnamed
  std::string path(a->sun_path, length - offset);
  if (path.front() == '\0') {
    path.front() = '@';  // an abstract name, written the way ss(8) and /proc/net/unix show it
  } else if (const auto nul = path.find('\0'); nul != std::string::npos) {
    path.resize(nul);
  }
  return path;
}

std::uint16_t endpoint::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string endpoint::str() const {
  if (family() == AF_UNIX) return unix_path();
  return host_port(host(), port());
}

endpoint endpoint::unix_socket(std::string_view path) {
  endpoint e;
  auto* a = reinterpret_cast<sockaddr_un*>(&e.storage);
  a->sun_family = AF_UNIX;
  const bool abstract = !path.empty() && (path.front() == '@' || path.front() == '\0');
  if (path.empty() || (abstract && path.size() == 1))
    throw value_error("a Unix socket address must not be empty");
  if (path.size() + (abstract ? 0 : 1) > sizeof a->sun_path)
    throw value_error("Unix socket path too long (" + std::to_string(path.size()) +
                      " bytes; at most " + std::to_string(sizeof a->sun_path - 1) + ")");
  std::memcpy(a->sun_path, path.data(), path.size());
  if (abstract) a->sun_path[0] = '\0';
  e.length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return e;
}

bool endpoint::from_numeric(std::string_view host, std::uint16_t port, endpoint& out) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  out = endpoint{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return true;
  }
  out = endpoint{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

endpoint endpoint::local_of(int fd) {
  endpoint e;
  e.length = sizeof e.storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&e.storage), &e.length) != 0) e = {};
  return e;
}

endpoint endpoint::peer_of(int fd) {
  endpoint e;
  e.length = sizeof e.storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&e.storage), &e.length) != 0) e = {};
  return e;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos && host.front() != '[') {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

void throw_connection_error(int code, const std::string& what, const std::string& where) {
  std::string msg = what + " " + where + ": " + errno_message(code);
  switch (code) {
    case ECONNREFUSED:
      throw connection_refused_error(msg, code);
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      throw connection_reset_error(msg, code);
    default:
      throw connection_error(msg, code);
  }
}

std::vector<endpoint> resolve_blocking(std::string_view host, std::uint16_t port, bool passive) {
  std::vector<endpoint> out;
  endpoint numeric;
  if (!host.empty() && endpoint::from_numeric(host, port, numeric)) {
    out.push_back(numeric);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string h(host);
  std::string p = std::to_string(port);
  int rc = ::getaddrinfo(h.empty() ? nullptr : h.c_str(), p.c_str(), &hints, &res);
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? errno_message(errno) : gai_strerror(rc);
    throw dns_error("cannot resolve " + host_port(host, port) + ": " + why, rc);
  }
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    endpoint e;
    std::memcpy(&e.storage, ai->ai_addr, ai->ai_addrlen);
    e.length = static_cast<socklen_t>(ai->ai_addrlen);
    out.push_back(e);
  }
  ::freeaddrinfo(res);
  if (out.empty()) throw dns_error("cannot resolve " + host_port(host, port) + ": no address");
  return out;
}

unique_fd open_listener(const endpoint& ep, const listen_options& options) {
  unique_fd fd(::socket(ep.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_connection_error(errno, "cannot create a socket for", ep.str());
  int one = 1;
  if (options.reuse_address) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (options.reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw_connection_error(errno, "cannot set SO_REUSEPORT on", ep.str());
  if (ep.family() == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), ep.addr(), ep.length) != 0)
    throw_connection_error(errno, "cannot bind", ep.str());
  if (::listen(fd.get(), options.backlog) != 0)
    throw_connection_error(errno, "cannot listen on", ep.str());
  return fd;
}

unique_fd start_connect(const endpoint& ep, bool& in_progress, const std::string& where) {
  unique_fd fd(::socket(ep.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_connection_error(errno, "cannot create a socket to connect to", where);
  set_nodelay(fd.get());
  in_progress = false;
  if (::connect(fd.get(), ep.addr(), ep.length) != 0) {
    if (errno != EINPROGRESS) throw_connection_error(errno, "cannot connect to", where);
    in_progress = true;
  }
  return fd;
}

void finish_connect(int fd, const std::string& where) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) throw_connection_error(err, "cannot connect to", where);
}

void set_nodelay(int fd) noexcept {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace concur::net
