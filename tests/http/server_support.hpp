#pragma once
// Test helpers for the server tests: a blocking raw-socket client with deadlines (so a broken
// server fails the test instead of hanging it) and a runner for external programs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "concur/http/parser.hpp"

namespace server_test {

struct response {
  int status = 0;
  concur::http::headers headers;
  std::string body;
  bool keep_alive = true;
};

class raw_client {
 public:
  explicit raw_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  ~raw_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

  // Sends all of `data`; false if the peer reset or closed.
  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (nothing when the connection closed or the deadline passed first).
  std::optional<response> read_response(
      std::chrono::milliseconds deadline = std::chrono::seconds(10), bool head = false) {
    concur::http::parser p(concur::http::message_kind::response);
    if (head) p.expect_no_body();
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      if (!buffer_.empty()) {
        std::size_t used = 0;
        try {
          used = p.feed(buffer_);
        } catch (const concur::http::parse_error&) {
          return std::nullopt;
        }
        buffer_.erase(0, used);
        if (p.message_complete()) {
          response r{p.status(), p.headers(), p.body(), p.keep_alive()};
          return r;
        }
      }
      if (!fill(until)) {
        if (eof_) {
          try {
            if (p.feed_eof()) return response{p.status(), p.headers(), p.body(), false};
          } catch (const concur::http::parse_error&) {
          }
        }
        return std::nullopt;
      }
    }
  }

  // True when the server closed the connection (EOF or reset) within the deadline.
  bool closed_by_peer(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (fill(until)) {
    }
    return eof_;
  }
  const std::string& pending() const { return buffer_; }

 private:
  // Reads what is there; false at EOF/error/deadline.
  bool fill(std::chrono::steady_clock::time_point until) {
    if (eof_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r <= 0) return false;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

inline std::string get_request(std::string_view path, std::string_view extra = {}) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(extra) +
         "\r\n";
}

// Runs a shell command and returns its exit status and stdout.
inline std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace server_test
