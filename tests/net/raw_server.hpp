#pragma once
// Test support: a tiny blocking TCP server on 127.0.0.1 written with plain sockets and
// threads, for peers that misbehave on purpose (close mid-body, never answer, send garbage).
// Each accepted connection runs `handler(fd)` on its own thread; the destructor stops
// accepting, shuts every connection down and joins, with no unbounded waits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace concur_test {

class raw_server {
 public:
  using handler = std::function<void(int fd)>;

  explicit raw_server(handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0)
      throw std::runtime_error("raw_server: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;
  ~raw_server() {
    stop_ = true;
    acceptor_.join();
    {
      std::lock_guard lk(mu_);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int fd : conns_) ::close(fd);
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Reads until "\r\n\r\n" (plus Content-Length bytes of body); "" on EOF or after 5 s.
  static std::string read_request(int fd) {
    std::string data;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      auto end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t want = end + 4;
        auto cl = data.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) want += std::stoul(data.substr(cl + 16));
        if (data.size() >= want) return data;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return {};
      data.append(buf, static_cast<std::size_t>(n));
    }
    return {};
  }
  static void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
  // Waits (bounded) until the peer closes or `limit` passes.
  static void wait_peer_close(int fd, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
    }
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard lk(mu_);
      conns_.push_back(fd);
      workers_.emplace_back([this, fd] {
        handler_(fd);
        ::shutdown(fd, SHUT_WR);
      });
    }
  }

  handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
};

}  // namespace concur_test
