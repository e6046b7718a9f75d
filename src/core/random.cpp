#include "concur/core/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <vector>

#include "concur/core/error.hpp"

namespace concur {

void fill_random(std::span<std::byte> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::getrandom(out.data() + got, out.size() - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_last_os_error("getrandom");
    }
    got += static_cast<std::size_t>(r);
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<std::byte> raw(bytes);
  fill_random(raw);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (std::byte b : raw) {
    const auto v = std::to_integer<unsigned>(b);
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

std::uint64_t random_nonzero_u64() {
  std::uint64_t v = 0;
  while (v == 0) fill_random(std::as_writable_bytes(std::span(&v, 1)));
  return v;
}

}  // namespace concur
