#pragma once
#include <concur/futures/errors.hpp>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace concur::aio {

// asyncio.CancelledError. Deliberately NOT derived from std::exception (nor concur::error):
// since Python 3.8 CancelledError is a BaseException so that `except Exception:` cannot swallow
// a cancellation by accident; the C++ analogue of that catch-all is `catch (const
// std::exception&)`, which therefore lets cancellation through. Catch it by name (or `...`).
class cancelled_error {
 public:
  cancelled_error() = default;
  explicit cancelled_error(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept { return message_.empty() ? "cancelled" : message_.c_str(); }

 private:
  std::string message_;
};

// asyncio.TimeoutError is TimeoutError since 3.11: one type shared with concurrent.futures.
using timeout_error = concur::timeout_error;
// asyncio.InvalidStateError (e.g. the result of a task that is not done).
using invalid_state_error = concur::invalid_state_error;

// ValueError raised by asyncio primitives (BoundedSemaphore released too often, bad sizes):
// the core layer's, shared with every module.
using value_error = concur::value_error;

// asyncio.QueueEmpty / QueueFull / QueueShutDown (3.13).
class queue_empty : public concur::error {
 public:
  queue_empty() : error("queue is empty") {}
};
class queue_full : public concur::error {
 public:
  queue_full() : error("queue is full") {}
};
class queue_shut_down : public concur::error {
 public:
  queue_shut_down() : error("queue is shut down") {}
};

// asyncio.BrokenBarrierError: the one type of core, which mp's barrier raises too.
using concur::broken_barrier_error;

// ExceptionGroup as raised by asyncio.TaskGroup: every failure of the group's children.
class exception_group : public concur::error {
 public:
  exception_group(const std::string& message, std::vector<std::exception_ptr> exceptions)
      : error(message), exceptions_(std::move(exceptions)) {}
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

}  // namespace concur::aio
