#pragma once
#include <string>

#include "concur/core/error.hpp"

namespace concur::mpi {

// An MPI call failed (its error string is in the message), or the ranks cannot work together:
// they run different executables, or a function cannot be named on another rank.
class error : public concur::error {
 public:
  using concur::error::error;
};

// The exit status of a job ended with MPI_Abort because a task ran past task_timeout (its rank
// cannot be stopped any other way, and MPI_Finalize would wait for it forever). EX_SOFTWARE.
inline constexpr int abort_exit_code = 70;

}  // namespace concur::mpi
