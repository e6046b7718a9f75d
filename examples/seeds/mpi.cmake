# CTest checks of the MPI example, in both launch modes (the environment: tests/mpi/CMakeLists.txt).
if(TARGET mpi_primes)
  set(_mpi_example_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none)
  if(CONCUR_SANITIZE MATCHES "address")
    list(APPEND _mpi_example_env ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0)
  endif()
  concur_example_test(mpi_primes_static PROGRAM mpi_primes TIMEOUT 120
    LAUNCHER ${MPIEXEC_EXECUTABLE} --bind-to none -n 3 ENVIRONMENT ${_mpi_example_env}
    EXPECT "^78498 primes below 1000000, counted by 2 worker ranks \\(static mode\\)\n$")
  concur_example_test(mpi_primes_dynamic PROGRAM mpi_primes TIMEOUT 120
    ENVIRONMENT ${_mpi_example_env}
    EXPECT "^78498 primes below 1000000, counted by 2 worker ranks \\(dynamic mode\\)\n$")
endif()
