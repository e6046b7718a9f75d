#pragma once
// The two jobs of the lab and the function each unit of work runs. They are plain functions
// so that the process pool can name them in its workers.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace concur_cli {

// Trial division by 6k +/- 1: deliberately plain CPU work, the tutorials' is_prime.
bool is_prime(std::uint64_t n) noexcept;
// Primes in [range.first, range.second).
std::uint64_t count_primes(std::pair<std::uint64_t, std::uint64_t> range) noexcept;
// [lo, hi) cut into `parts` nearly equal pieces (fewer when the range is small).
std::vector<std::pair<std::uint64_t, std::uint64_t>> split_range(std::uint64_t lo, std::uint64_t hi,
                                                                 std::size_t parts);

// One GET with the blocking client: (status, body bytes); status 0 when the request failed
// (refused, timed out, bad URL), so a failure is counted, not thrown across a pool.
std::pair<int, std::uint64_t> fetch_blocking(std::string url);

}  // namespace concur_cli
