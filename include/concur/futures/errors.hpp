#pragma once
#include <stdexcept>

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

// concurrent.futures.BrokenExecutor and RuntimeError("cannot schedule new futures after shutdown").
class executor_shutdown_error : public error {
 public:
  using error::error;
  executor_shutdown_error() : error("cannot schedule new futures after shutdown") {}
};

}  // namespace concur
