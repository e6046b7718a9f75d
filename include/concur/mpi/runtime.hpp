#pragma once
// The MPI side of a concur program: MPI is initialized once per process, and one thread of it
// (the progress thread) makes every MPI call once an executor runs.
#include <cstddef>

namespace concur::mpi {

enum class launch_mode {
  // One process, or rank 0 of an `mpiexec -n 1` job: executors spawn their worker ranks.
  dynamic,
  // Rank 0 of `mpiexec -n N` (N > 1): ranks 1..N-1 are the workers of every executor.
  static_ranks,
};

// What concur::mpi::init returns on the rank that runs main: keep it alive until the end of
// main. Its destructor releases the worker ranks and finalizes MPI (or, when a task ran past
// its task_timeout, ends the job with MPI_Abort(abort_exit_code), since MPI_Finalize would
// wait for that rank forever).
class [[nodiscard]] session {
 public:
  session(session&& other) noexcept : active_(other.active_) { other.active_ = false; }
  session& operator=(session&&) = delete;
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  launch_mode mode() const noexcept;
  // Ranks in MPI_COMM_WORLD (1 in dynamic mode without mpiexec).
  int world_size() const noexcept;

 private:
  friend session init(int& argc, char**& argv);
  session() noexcept = default;
  bool active_ = true;
};

// mpi4py.futures' entry point for C++: call it first in main. Under `mpiexec -n N prog` ranks
// 1..N-1 (and in dynamic mode the ranks an executor spawned, which run this same program) never
// return from it: they serve tasks until rank 0 is done, then exit the process with status 0.
// On rank 0 it returns the session. Every rank checks that all run the same executable (the
// ELF build-id) and mpi::error says which rank does not. Call it at most once.
session init(int& argc, char**& argv);

}  // namespace concur::mpi
