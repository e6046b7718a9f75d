#pragma once
// Internal: name resolution on the loop through c-ares (asyncio's loop.getaddrinfo, without a
// thread per lookup). One resolver per loop (an aio loop service): c-ares's sockets are
// watched by the loop like any descriptor, its timeouts are a loop timer, and answers are
// kept in a small cache for as long as their TTL says (at most five minutes). /etc/hosts is
// read first, as getaddrinfo does ("files" before "dns").
#include <ares.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "concur/aio.hpp"
#include "concur/net/detail/park.hpp"
#include "concur/net/socket.hpp"

namespace concur::net::detail {

// One lookup in flight: c-ares's callback fills it and wakes the task waiting on it (if that
// task is still there: a cancelled or timed-out wait just leaves).
struct lookup {
  std::vector<endpoint> result;
  std::exception_ptr error;
  std::chrono::seconds ttl{0};
  bool done = false;
  park_slot slot;
};

class resolver {
 public:
  explicit resolver(aio::event_loop& loop);
  resolver(const resolver&) = delete;
  resolver& operator=(const resolver&) = delete;
  ~resolver();

  // The addresses of host:port (TCP), from the cache or a new lookup; dns_error naming
  // host:port, timeout_error when `deadline` passes first.
  aio::task<std::vector<endpoint>> resolve(std::string host, std::uint16_t port,
                                           std::optional<aio::clock::time_point> deadline);

  std::size_t cached() const noexcept { return cache_.size(); }

 private:
  struct cache_entry {
    std::vector<endpoint> addresses;
    aio::clock::time_point expires;
  };

  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable) noexcept;
  static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* result) noexcept;
  void process(ares_socket_t read_fd, ares_socket_t write_fd) noexcept;
  void arm_timer() noexcept;
  std::optional<std::vector<endpoint>> from_cache(const std::string& key);
  void remember(const std::string& key, const lookup& l);

  aio::event_loop& loop_;
  ares_channel channel_ = nullptr;
  aio::handle timer_;
  std::unordered_map<std::string, cache_entry> cache_;
};

}  // namespace concur::net::detail
