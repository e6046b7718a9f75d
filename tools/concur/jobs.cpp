#include "jobs.hpp"

#include <algorithm>
#include <concur/http.hpp>
#include <exception>

namespace concur_cli {

bool is_prime(std::uint64_t n) noexcept {
  if (n < 2) return false;
  if (n < 4) return true;
  if (n % 2 == 0 || n % 3 == 0) return false;
  for (std::uint64_t i = 5; i * i <= n; i += 6)
    if (n % i == 0 || n % (i + 2) == 0) return false;
  return true;
}

std::uint64_t count_primes(std::pair<std::uint64_t, std::uint64_t> range) noexcept {
  std::uint64_t count = 0;
  for (std::uint64_t n = range.first; n < range.second; ++n) count += is_prime(n);
  return count;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> split_range(std::uint64_t lo, std::uint64_t hi,
                                                                 std::size_t parts) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  if (hi <= lo) return out;
  parts = std::max<std::size_t>(1, std::min<std::uint64_t>(parts, hi - lo));
  const std::uint64_t size = hi - lo;
  for (std::size_t i = 0; i < parts; ++i)
    out.emplace_back(lo + size * i / parts, lo + size * (i + 1) / parts);
  return out;
}

std::pair<int, std::uint64_t> fetch_blocking(std::string url) {
  try {
    auto r = concur::http::get(url);
    return {r.status_code(), r.content().size()};
  } catch (const std::exception&) {
    return {0, 0};
  }
}

}  // namespace concur_cli
