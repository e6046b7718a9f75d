#include <ares.h>
#include <openssl/crypto.h>
#include <zlib.h>

#include <concur/config.hpp>
#include <concur/version.hpp>

namespace concur {

std::string_view version() noexcept { return CONCUR_VERSION; }

std::string dependency_versions() {
#if defined(__clang__)
  const std::string compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = "GCC " __VERSION__;
#else
  const std::string compiler = "an unknown compiler";
#endif
  return "built with " + compiler + "; OpenSSL " + OpenSSL_version(OPENSSL_VERSION_STRING) +
         ", zlib " + zlibVersion() + ", c-ares " + ares_version(nullptr);
}

}  // namespace concur
