#pragma once
// The errors every module of concur shares: one hierarchy under concur::error, and os_error
// for a system call that failed (Python's OSError), used wherever a syscall's failure reaches
// the caller.
#include <stdexcept>
#include <string>
#include <system_error>

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

// concurrent.futures.InvalidStateError / asyncio.InvalidStateError, and RuntimeError for
// misuse (e.g. setting the result of a finished future, running a closed loop).
class invalid_state_error : public error {
 public:
  using error::error;
};

// Python's ValueError: an argument is out of range (e.g. max_workers == 0).
class value_error : public error {
 public:
  using error::error;
};

// threading.BrokenBarrierError / asyncio.BrokenBarrierError: a barrier was aborted or reset
// under its waiters, or one of them timed out (aio::barrier and mp::barrier).
class broken_barrier_error : public error {
 public:
  broken_barrier_error() : error("barrier is broken") {}
};

// OSError: a system call failed. code() is its errno as a std::error_code (generic category:
// compare with std::errc), call() names what failed ("epoll_ctl", "connect to host:port").
class os_error : public error {
 public:
  // what(): "<call>: <the errno's text>".
  os_error(int err, std::string call);
  // what(): `message` as given, for callers whose message already names the call and cause.
  os_error(int err, std::string call, const std::string& message);
  std::error_code code() const noexcept { return {errno_, std::generic_category()}; }
  int errno_value() const noexcept { return errno_; }  // Python's OSError.errno
  const std::string& call() const noexcept { return call_; }

 private:
  int errno_;
  std::string call_;
};

// strerror(err), safe to call from any thread.
std::string errno_message(int err);

// Throws os_error for `err` (an errno value) and the call that failed.
[[noreturn]] void throw_os_error(int err, std::string call);
// Same, with the errno the failed call just left.
[[noreturn]] void throw_last_os_error(std::string call);

}  // namespace concur
