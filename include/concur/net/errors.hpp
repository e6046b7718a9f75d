#pragma once
// Errors of concur::net, named after Python's OSError subclasses that asyncio raises
// (ConnectionError, ConnectionRefusedError, socket.gaierror, ssl.SSLError). Messages name
// the host and port involved.
#include <string>

#include "concur/core/error.hpp"

namespace concur::net {

// ConnectionError (an OSError): a socket operation failed. `code()` carries the errno (0 if
// none; a getaddrinfo code for dns_error); the message names the host and port.
class connection_error : public os_error {
 public:
  explicit connection_error(const std::string& what, int code = 0) : os_error(code, what, what) {}
};

// ConnectionRefusedError: nobody listens at the address.
class connection_refused_error : public connection_error {
 public:
  using connection_error::connection_error;
};

// ConnectionResetError / BrokenPipeError: the peer went away while we were talking.
class connection_reset_error : public connection_error {
 public:
  using connection_error::connection_error;
};

// socket.gaierror: the host name did not resolve.
class dns_error : public connection_error {
 public:
  using connection_error::connection_error;
};

// ssl.SSLError / ssl.SSLCertVerificationError: handshake, certificate or TLS record failure.
class tls_error : public connection_error {
 public:
  using connection_error::connection_error;
};

// asyncio.IncompleteReadError: the stream ended before `expected` bytes (or the separator)
// arrived; `partial` holds what did arrive.
class incomplete_read_error : public error {
 public:
  incomplete_read_error(std::string partial, std::size_t expected)
      : error(std::to_string(partial.size()) + " bytes read on a total of " +
              (expected ? std::to_string(expected) : std::string("undefined")) + " expected bytes"),
        partial_(std::move(partial)),
        expected_(expected) {}
  const std::string& partial() const noexcept { return partial_; }
  // 0 when the read waited for a separator rather than a count.
  std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

// asyncio.LimitOverrunError: readuntil() found no separator within the buffer limit.
class limit_overrun_error : public error {
 public:
  limit_overrun_error(const std::string& what, std::size_t consumed)
      : error(what), consumed_(consumed) {}
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

}  // namespace concur::net
