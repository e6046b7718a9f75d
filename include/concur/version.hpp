#pragma once
#include <string>
#include <string_view>

namespace concur {
// The library's version as "major.minor.patch", for --version and bug reports.
std::string_view version() noexcept;
// The compiler and the libraries this build of concur runs with, for --version and bug
// reports: "built with GCC 12.2.0; OpenSSL 3.0.11, zlib 1.2.13, c-ares 1.19.1".
std::string dependency_versions();
}  // namespace concur
