# Test helpers shared by tests/, examples/ and tools/.

# Runs PROGRAM (a target) with ARGS, optionally behind a LAUNCHER command (mpiexec -n 3), and
# checks its exit status and output through cmake/run_example.cmake.
function(concur_example_test name)
  cmake_parse_arguments(PARSE_ARGV 1 E "" "PROGRAM;TIMEOUT;RC;PREFIX" "ARGS;EXPECT;REJECT;EXPECT_ERR;LAUNCHER;ENVIRONMENT")
  set(_label ${E_PREFIX})
  if(NOT E_PREFIX)
    set(E_PREFIX example)
    set(_label examples)
  endif()
  if(NOT E_PROGRAM)
    set(E_PROGRAM ${name})
  endif()
  if(NOT E_TIMEOUT)
    set(E_TIMEOUT 30)
  endif()
  string(JOIN "@@" _args ${E_ARGS})
  string(JOIN "@@" _expect ${E_EXPECT})
  string(JOIN "@@" _reject ${E_REJECT})
  string(JOIN "@@" _expect_err ${E_EXPECT_ERR})
  string(JOIN "@@" _launcher ${E_LAUNCHER})
  add_test(NAME ${E_PREFIX}.${name}
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${E_PROGRAM}> "-DARGS=${_args}"
            "-DEXPECT=${_expect}" "-DREJECT=${_reject}" "-DEXPECT_ERR=${_expect_err}" "-DRC=${E_RC}"
            "-DLAUNCHER=${_launcher}"
            -P ${PROJECT_SOURCE_DIR}/cmake/run_example.cmake)
  set_tests_properties(${E_PREFIX}.${name} PROPERTIES LABELS "${_label}" TIMEOUT ${E_TIMEOUT})
  if(E_ENVIRONMENT)
    set_tests_properties(${E_PREFIX}.${name} PROPERTIES ENVIRONMENT "${E_ENVIRONMENT}")
  endif()
endfunction()
