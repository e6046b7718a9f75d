#pragma once
// concur::mpi: mpi4py.futures for C++ (the executor interface over MPI ranks, when one machine
// is not enough). Built when CMake finds MPI (Debian's OpenMPI).
#include "concur/mpi/errors.hpp"
#include "concur/mpi/mpi_pool_executor.hpp"
#include "concur/mpi/runtime.hpp"
