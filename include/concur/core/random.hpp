#pragma once
// Unpredictable bytes from the kernel (getrandom), for names and keys other processes must not
// guess: shared-memory names, a manager's address and authentication key, lock-holder tokens.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace concur {

// Fills `out`; throws os_error if the kernel cannot.
void fill_random(std::span<std::byte> out);
// `bytes` random bytes as 2 * bytes lowercase hex digits.
std::string random_hex(std::size_t bytes);
// A random 64-bit value other than 0.
std::uint64_t random_nonzero_u64();

}  // namespace concur
