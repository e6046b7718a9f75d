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
