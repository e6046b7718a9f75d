#pragma once
// Internal: how stream coroutines wait for transport events without allocating. A coroutine
// parks on a park_slot (one waiter at a time) with an optional deadline; the transport's loop
// callbacks wake it. Built on aio's task hooks (suspend / wake / cancel hook / timer node).
#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <string>

#include "concur/aio.hpp"

namespace concur::net::detail {

struct park_awaiter;

struct park_slot {
  park_awaiter* waiter = nullptr;
  // Resumes the parked coroutine (if any) on the loop's next turn.
  void wake() noexcept;
};

// Suspends until the slot is woken, `deadline` passes (timeout_error "<what> <where> timed
// out") or the task is cancelled (aio::cancelled_error). A second waiter on a busy slot gets
// invalid_state_error, like asyncio's "read() called while another coroutine is waiting".
struct park_awaiter : aio::detail::timer_node {
  park_awaiter(park_slot& s, std::optional<aio::clock::time_point> d, const std::string* w,
               const char* what_) noexcept
      : slot(&s), deadline(d), where(w), what(what_) {}
  park_awaiter(const park_awaiter&) = delete;
  park_awaiter& operator=(const park_awaiter&) = delete;
  ~park_awaiter();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume();

  static void on_timer(aio::detail::timer_node* n) noexcept;
  static void on_cancel(void* p) noexcept;

  park_slot* slot;
  std::optional<aio::clock::time_point> deadline;
  const std::string* where;
  const char* what;
  aio::detail::task_base* task = nullptr;
  bool cancelled = false;
  bool timed_out = false;
};

class stream_core;

// co_await reader.fill(): ready at once at EOF or after a failure, else parks on the read side.
struct fill_awaiter {
  fill_awaiter(std::shared_ptr<stream_core> c) noexcept;
  fill_awaiter(const fill_awaiter&) = delete;
  fill_awaiter& operator=(const fill_awaiter&) = delete;
  ~fill_awaiter();
  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
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
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume();

  std::shared_ptr<stream_core> core;
  std::optional<park_awaiter> park;
};

}  // namespace concur::net::detail
