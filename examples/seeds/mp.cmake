# CTest checks of the multiprocessing examples (see concur_example_test in CMakeLists.txt).
if(TARGET mp_meta_tags)
  # RE2 only for this example, not for the library.
  find_path(RE2_INCLUDE_DIR re2/re2.h REQUIRED)
  find_library(RE2 re2 REQUIRED)
  target_include_directories(mp_meta_tags PRIVATE ${RE2_INCLUDE_DIR})
  target_link_libraries(mp_meta_tags PRIVATE ${RE2})
endif()

# The API calls through a process pool need the HTTP client as well: without the http module
# the program is left out of the build.
if(TARGET mp_api_calls)
  if("http" IN_LIST CONCUR_ENABLED_MODULES)
    concur_example_test(mp_api_calls PROGRAM mp_api_calls
      ARGS --scale 0.05
      EXPECT "Number of CPU cores: [0-9]+" "<Response \\[200\\]> http://127.0.0.1:[0-9]+/photos"
             "API calls from worker processes made in: [0-9.]+"
             "responses: 6 of 6 were 200, [0-9]+ bytes, from [0-9]+ worker process\\(es\\)\n")
  else()
    set_target_properties(mp_api_calls PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()
endif()

concur_example_test(mp_five_processes PROGRAM mp_five_processes
  ARGS --scale 0.01 --seed 7
  EXPECT "All Processes are queued, let's see when they finish!"
         "I am Worker 0, I slept for [1-9] seconds" "I am Worker 1, I slept for [1-9] seconds"
         "I am Worker 2, I slept for [1-9] seconds" "I am Worker 3, I slept for [1-9] seconds"
         "I am Worker 4, I slept for [1-9] seconds" "processes that exited cleanly: 5 of 5")

concur_example_test(mp_pids PROGRAM mp_pids
  ARGS --scale 0.01
  EXPECT "\\[Process-0\\] PID: [0-9]+" "\\[Process-3\\] PID: [0-9]+"
         "distinct worker PIDs: 4 of 4, main PID among them: no")

concur_example_test(mp_pool_map PROGRAM mp_pool_map
  ARGS --scale 0.01
  EXPECT "^\\[1, 4, 9\\]")

concur_example_test(mp_calculate_square PROGRAM mp_calculate_square
  ARGS --scale 0.05
  EXPECT "Sequential: [0-9.]+s" "Parallel: [0-9.]+s" "same results: yes"
         "parallel faster: (yes|no)")

concur_example_test(mp_primes_up_to_n PROGRAM mp_primes_up_to_n
  ARGS --n 1000000
  EXPECT "primes up to 1000000: 78498 \\(largest 999983\\)" "matches a sequential sieve: yes")

concur_example_test(mp_meta_tags PROGRAM mp_meta_tags
  ARGS --scale 0.01
  EXPECT "page0: 1 meta tags, first: <meta name=\"key0\" content=\"page 0 tag 0\">"
         "page5: 6 meta tags" "meta tags found: 21 \\(expected 21\\)")

concur_example_test(mp_executor_primes PROGRAM mp_executor_primes
  ARGS --scale 0.01
  EXPECT "^Primes found: \\[100003, 100019\\]")

# Compile-fail check: sending what cannot cross a process boundary stops the build with a
# readable message (the source ends in .cxx so the test glob does not pick it up).
add_test(NAME mp.compile_fail.unsendable
  COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER}
          -DSOURCE=${PROJECT_SOURCE_DIR}/tests/mp/compile_fail/unsendable.cxx
          "-DINCLUDES=${PROJECT_SOURCE_DIR}/include\;${PROJECT_BINARY_DIR}/include"
          -P ${PROJECT_SOURCE_DIR}/tests/mp/compile_fail/check.cmake)
set_tests_properties(mp.compile_fail.unsendable PROPERTIES LABELS mp TIMEOUT 180)

concur_example_test(mp_crash_isolation PROGRAM mp_crash_isolation
  ARGS --scale 0.01
  # Under ASan the segfault report (symbolised) can outlast the timeout: then doc 3 is
  # stopped as hung instead; either way only that document fails.
  EXPECT "doc 0: 5 words" "doc 3: the parser (crashed \\(|hung and was stopped)"
         "doc 6: the parser crashed \\("
         "doc 8: the parser hung and was stopped" "doc 9: 5 words"
         "parsed 7 of 10 documents; this program is still running")
