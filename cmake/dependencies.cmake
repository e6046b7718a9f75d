# Every dependency is a Debian package (scripts/install-deps). Only the modules
# that are enabled pull theirs in, so `-DCONCUR_MODULES=futures` needs nothing else.
set(CONCUR_PUBLIC_DEPS Threads::Threads)
set(CONCUR_PRIVATE_DEPS "")

if("net" IN_LIST CONCUR_ENABLED_MODULES)
  find_package(OpenSSL 3 REQUIRED)
  find_path(CARES_INCLUDE_DIR ares.h)
  find_library(CARES_LIBRARY cares)
  list(APPEND CONCUR_PUBLIC_DEPS OpenSSL::SSL OpenSSL::Crypto)
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
