// epoll_floor_server --port P: the floor of bench/http_server_vs.sh. One thread, one
// level-triggered epoll set, and per request only what any HTTP/1.1 keep-alive server must do:
// read, find the end of the head ("\r\n\r\n"), send a fixed answer of the same size as
// bench_http_server's to GET /posts/1. No parsing, routing, Date header or allocation per
// request, so the CPU it spends per request is the syscalls' share; what a real server spends
// above it is user space (see bench/README.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

// bench_http_server's headers, with a Date that never changes.
constexpr std::string_view answer =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 24\r\n"
    "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
    "Server: concur\r\n"
    "\r\n"
    "{\"id\":1,\"title\":\"hello\"}";

struct connection {
  std::string in;   // bytes after the last complete head
  std::string out;  // answers the socket did not take yet
  bool watching_out = false;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "epoll_floor_server: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// Appends one answer per complete head in c.in and keeps the partial rest.
void answer_heads(connection& c) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = c.in.find("\r\n\r\n", start);
    if (end == std::string::npos) break;
    c.out.append(answer);
    start = end + 4;
  }
  c.in.erase(0, start);
}

// false: the connection is done (closed by the peer, or an error).
bool flush(int epfd, int fd, connection& c) {
  std::size_t sent = 0;
  while (sent < c.out.size()) {
    const ssize_t n = ::send(fd, c.out.data() + sent, c.out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  c.out.erase(0, sent);
  const bool want_out = !c.out.empty();
  if (want_out == c.watching_out) return true;
  epoll_event ev{};
  ev.data.fd = fd;
  ev.events = want_out ? EPOLLIN | EPOLLOUT : EPOLLIN;
  if (::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0) return false;
  c.watching_out = want_out;
  return true;
}

// false: the connection is done.
bool on_readable(int epfd, int fd, connection& c) {
  char buf[16384];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  c.in.append(buf, static_cast<std::size_t>(n));
  answer_heads(c);
  if (c.in.size() > 65536) return false;  // no head that long is ours
  return flush(epfd, fd, c);
}

int listen_on(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) die("bind");
  if (::listen(fd, SOMAXCONN) < 0) die("listen");
  return fd;
}

void accept_all(int epfd, int listener,
                std::unordered_map<int, std::unique_ptr<connection>>& conns) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = EPOLLIN;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
      ::close(fd);
      continue;
    }
    conns[fd] = std::make_unique<connection>();
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--port") port = std::atoi(argv[i + 1]);
  std::signal(SIGPIPE, SIG_IGN);
  const int listener = listen_on(port);
  const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  epoll_event lev{};
  lev.data.fd = listener;
  lev.events = EPOLLIN;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &lev) < 0) die("epoll_ctl");
  std::unordered_map<int, std::unique_ptr<connection>> conns;
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        accept_all(epfd, listener, conns);
        continue;
      }
      const auto it = conns.find(fd);
      if (it == conns.end()) continue;
      bool alive = true;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        alive = on_readable(epfd, fd, *it->second);
      if (alive && (events[i].events & EPOLLOUT)) alive = flush(epfd, fd, *it->second);
      if (!alive) {
        ::close(fd);  // also takes it out of the epoll set
        conns.erase(it);
      }
    }
  }
}
