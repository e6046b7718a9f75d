#pragma once
#include <stdexcept>
#include <string>

namespace concur {

// Base of every exception concur throws for its own reasons, so callers can catch them all.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// concurrent.futures.TimeoutError / asyncio.TimeoutError (both are TimeoutError since 3.11).
class timeout_error : public error {
 public:
  using error::error;
  timeout_error() : error("timed out") {}
};

// concurrent.futures.CancelledError: the result of a cancelled future was asked for.
class cancelled_error : public error {
 public:
  using error::error;
  cancelled_error() : error("cancelled") {}
};

// concurrent.futures.InvalidStateError: e.g. setting the result of a finished future.
class invalid_state_error : public error {
 public:
  using error::error;
};

// Python's ValueError: an argument is out of range (e.g. max_workers == 0).
class value_error : public error {
 public:
  using error::error;
};

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
