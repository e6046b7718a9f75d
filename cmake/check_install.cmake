# CTest check that `cmake --install` gives a package a separate project can use:
# install this build into a scratch prefix, configure tests/consumer against it, build, run.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE}/tests/consumer -B ${WORK}/build -G Ninja
  -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK}/prefix
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${WORK}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "the consumer did not run correctly (${rc})")
endif()

# The exported targets name their dependencies as imported targets, never a path of this
# machine's build or source tree.
file(GLOB_RECURSE target_files ${WORK}/prefix/concurTargets*.cmake)
foreach(f IN LISTS target_files)
  file(READ ${f} text)
  if(text MATCHES "${BUILD}|${SOURCE}")
    message(FATAL_ERROR "${f} holds a path of the build machine")
  endif()
endforeach()
if(NOT target_files)
  message(FATAL_ERROR "no concurTargets.cmake was installed")
endif()

# The same program built with what the installed concur.pc says (a static libconcur needs
# --static for the libraries it uses inside).
file(GLOB pc_file ${WORK}/prefix/*/pkgconfig/concur.pc ${WORK}/prefix/*/*/pkgconfig/concur.pc)
if(NOT pc_file)
  message(FATAL_ERROR "no concur.pc was installed")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir}
  pkg-config --cflags --libs --static concur
  RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config concur failed: ${err}")
endif()
string(REPLACE "${pc_dir}" "" outside_prefix "${flags}")
if(outside_prefix MATCHES "${BUILD}|${SOURCE}")
  message(FATAL_ERROR "concur.pc points into the build machine's trees: ${flags}")
endif()
separate_arguments(flag_list UNIX_COMMAND "${flags}")
execute_process(COMMAND ${CXX} ${SOURCE}/tests/consumer/main.cpp -o ${WORK}/consumer_pc ${flag_list}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer with pkg-config's flags failed:\n${flags}\n${err}")
endif()
execute_process(COMMAND ${WORK}/consumer_pc RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "the pkg-config consumer did not run correctly (${rc})")
endif()
message("pkg-config consumer ok: ${flags}")
