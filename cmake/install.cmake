include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS concur EXPORT concurTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/concur DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/concur/config.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/concur)
install(EXPORT concurTargets NAMESPACE concur:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/concur)

set(CONCUR_CONFIG_ENABLED_MODULES "${CONCUR_ENABLED_MODULES}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/concurConfig.cmake.in
  ${PROJECT_BINARY_DIR}/concurConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/concur)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/concurConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/concurConfig.cmake ${PROJECT_BINARY_DIR}/concurConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/concur)

# pkg-config: what the enabled modules need (cereal is header-only and has no .pc file).
set(CONCUR_PC_REQUIRES "")
set(CONCUR_PC_REQUIRES_PRIVATE "")
if("net" IN_LIST CONCUR_ENABLED_MODULES)
  list(APPEND CONCUR_PC_REQUIRES openssl)
  list(APPEND CONCUR_PC_REQUIRES_PRIVATE libcares)
endif()
if("http" IN_LIST CONCUR_ENABLED_MODULES)
  list(APPEND CONCUR_PC_REQUIRES nlohmann_json)
  list(APPEND CONCUR_PC_REQUIRES_PRIVATE zlib)
endif()
if("mpi" IN_LIST CONCUR_ENABLED_MODULES)
  list(APPEND CONCUR_PC_REQUIRES_PRIVATE ompi-c)
endif()
list(JOIN CONCUR_PC_REQUIRES " " CONCUR_PC_REQUIRES)
list(JOIN CONCUR_PC_REQUIRES_PRIVATE " " CONCUR_PC_REQUIRES_PRIVATE)
file(RELATIVE_PATH CONCUR_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" CONCUR_PC_TO_PREFIX "${CONCUR_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/concur.pc.in ${PROJECT_BINARY_DIR}/concur.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/concur.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
