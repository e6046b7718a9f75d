#include <ares.h>
#include <openssl/crypto.h>
#include <zlib.h>

#include <concur/config.hpp>
#include <concur/version.hpp>

#if CONCUR_HAS_MPI
#include <mpi.h>
#endif

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
  std::string text = "built with " + compiler + "; OpenSSL " +
                     OpenSSL_version(OPENSSL_VERSION_STRING) + ", zlib " + zlibVersion() +
                     ", c-ares " + ares_version(nullptr);
#if CONCUR_HAS_MPI
  // Callable before MPI_Init; the first line is the library and its version ("Open MPI v4.1.4").
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(mpi, &length) == MPI_SUCCESS) {
    const std::string first(mpi, static_cast<std::size_t>(length));
    text += ", " + first.substr(0, first.find_first_of(",\n"));
  }
#endif
  return text;
}

}  // namespace concur
