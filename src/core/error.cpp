#include "concur/core/error.hpp"

#include <cerrno>
#include <cstring>

namespace concur {

std::string errno_message(int err) {
  char buf[256];
  // The GNU strerror_r returns the message (perhaps not in buf).
  return ::strerror_r(err, buf, sizeof buf);
}

namespace {

std::string describe(int err, const std::string& call) { return call + ": " + errno_message(err); }

}  // namespace

os_error::os_error(int err, std::string call)
    : error(describe(err, call)), errno_(err), call_(std::move(call)) {}

os_error::os_error(int err, std::string call, const std::string& message)
    : error(message), errno_(err), call_(std::move(call)) {}

void throw_os_error(int err, std::string call) { throw os_error(err, std::move(call)); }

void throw_last_os_error(std::string call) { throw_os_error(errno, std::move(call)); }

}  // namespace concur
