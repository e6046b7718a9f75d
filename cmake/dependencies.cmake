# Every dependency is a Debian package (scripts/install-deps). Only the modules
# that are enabled pull theirs in, so `-DCONCUR_MODULES=futures` needs nothing else.
set(CONCUR_PUBLIC_DEPS Threads::Threads)
set(CONCUR_PRIVATE_DEPS "")

if("net" IN_LIST CONCUR_ENABLED_MODULES)
  find_package(OpenSSL 3 REQUIRED)
  # c-ares (libc-ares-dev) has no CMake package in Debian; its pkg-config file gives an
  # imported target, found the same way by the installed package's config.
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)
  list(APPEND CONCUR_PUBLIC_DEPS OpenSSL::SSL OpenSSL::Crypto)
  list(APPEND CONCUR_PRIVATE_DEPS PkgConfig::CARES)
endif()

if("http" IN_LIST CONCUR_ENABLED_MODULES)
  find_package(ZLIB REQUIRED)
  find_package(nlohmann_json 3 REQUIRED)
  list(APPEND CONCUR_PUBLIC_DEPS nlohmann_json::nlohmann_json)
  list(APPEND CONCUR_PRIVATE_DEPS ZLIB::ZLIB)
endif()

if("mp" IN_LIST CONCUR_ENABLED_MODULES)
  find_package(cereal REQUIRED)
  list(APPEND CONCUR_PUBLIC_DEPS cereal::cereal)
endif()

if("mpi" IN_LIST CONCUR_ENABLED_MODULES)
  # Debian's OpenMPI (openmpi-bin, libopenmpi-dev). The deprecated C++ bindings are skipped:
  # concur calls the C API, and mpicxx's bindings fail to link outside the mpicxx wrapper.
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    list(APPEND CONCUR_PRIVATE_DEPS MPI::MPI_CXX)
  else()
    message(STATUS "concur: MPI not found (install openmpi-bin libopenmpi-dev): module mpi left out")
    list(REMOVE_ITEM CONCUR_ENABLED_MODULES mpi)
  endif()
endif()
