#pragma once
// The errors of concurrent.futures; the shared ones (error, timeout_error, cancelled_error,
// invalid_state_error, value_error, os_error) come from the core layer.
#include <string>

#include "concur/core/error.hpp"

namespace concur {

// concurrent.futures.BrokenExecutor and RuntimeError("cannot schedule new futures after shutdown").
class executor_shutdown_error : public error {
 public:
  using error::error;
  executor_shutdown_error() : error("cannot schedule new futures after shutdown") {}
};

// concurrent.futures.thread.BrokenThreadPool: a worker's initializer failed, so the pool
// refuses new work and fails the work it still held. Derives from executor_shutdown_error so
// that code which handles "this executor takes no more work" handles both.
class broken_executor_error : public executor_shutdown_error {
 public:
  explicit broken_executor_error(const std::string& what) : executor_shutdown_error(what) {}
};

// A promise was destroyed before it produced a result; its future completes with this so
// that nobody waits forever (std::future_errc::broken_promise; Python has no equivalent).
class broken_promise : public error {
 public:
  using error::error;
  broken_promise() : error("broken promise: the promise was destroyed without setting a result") {}
};

}  // namespace concur
