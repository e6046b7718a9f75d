// A worker built from other code than concur_mpi_test: started beside it under mpiexec, it must
// make rank 0's concur::mpi::init fail with a message that names this rank.
#include <iostream>

#include "concur/mpi.hpp"

int main(int argc, char** argv) {
  try {
    const concur::mpi::session session = concur::mpi::init(argc, argv);
    std::cout << "other_executable: rank 0 should not have started\n";
    return 0;
  } catch (const concur::mpi::error& e) {
    std::cerr << e.what() << "\n";
    return 4;
  }
}
