#pragma once
// Internal: how stream coroutines wait for transport events: aio's wait_slot (one waiter at a
// time, an optional deadline, the one awaiter protocol), with net's error messages.
#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <string>

#include "concur/aio.hpp"

namespace concur::net::detail {

using park_slot = aio::detail::wait_slot;

// Suspends until the slot is woken, `deadline` passes (timeout_error "<what> <where> timed
// out") or the task is cancelled (aio::cancelled_error). A second waiter on a busy slot gets
// invalid_state_error, like asyncio's "read() called while another coroutine is waiting".
class park_awaiter : public park_slot::awaiter {
 public:
  park_awaiter(park_slot& s, std::optional<aio::clock::time_point> d, const std::string* where,
               const char* what) noexcept
      : awaiter(s, d, &ops), where_(where), what_(what) {}
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  // "read from 127.0.0.1:8080" in a task dump.
  static std::string describe(const aio::detail::wait_node& n);
  static constexpr aio::detail::wait_ops ops{.on_cancel = &awaiter::on_cancel,
                                             .describe = &describe};

  const std::string* where_;
  const char* what_;
};

class stream_core;

// co_await reader.fill(): ready at once at EOF or after a failure, else parks on the read side.
struct fill_awaiter {
  fill_awaiter(std::shared_ptr<stream_core> c) noexcept;
  fill_awaiter(const fill_awaiter&) = delete;
  fill_awaiter& operator=(const fill_awaiter&) = delete;
  ~fill_awaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  bool await_resume();

  std::shared_ptr<stream_core> core;
  std::size_t before = 0;
  std::optional<park_awaiter> park;
};

// co_await writer.drain(): ready at once below the high-water mark, else parks on the write
// side until the buffer drops to the low-water mark.
struct drain_awaiter {
  drain_awaiter(std::shared_ptr<stream_core> c) noexcept;
  drain_awaiter(const drain_awaiter&) = delete;
  drain_awaiter& operator=(const drain_awaiter&) = delete;
  ~drain_awaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();

  std::shared_ptr<stream_core> core;
  std::optional<park_awaiter> park;
};

}  // namespace concur::net::detail
