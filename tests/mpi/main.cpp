// The MPI tests run under mpiexec (static mode) or alone (dynamic mode): concur::mpi::init
// turns every rank but 0, and every spawned rank, into a worker before the tests start.
#include <gtest/gtest.h>

#include <iostream>

#include "concur/mpi.hpp"

int main(int argc, char** argv) {
  try {
    const concur::mpi::session session = concur::mpi::init(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  } catch (const concur::mpi::error& e) {
    std::cerr << "mpi::error: " << e.what() << "\n";
    return 3;
  }
}
