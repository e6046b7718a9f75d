#pragma once
#include <string_view>

namespace concur {
// The library's version as "major.minor.patch", for --version and bug reports.
std::string_view version() noexcept;
}  // namespace concur
