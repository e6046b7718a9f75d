#pragma once
// mpi4py.futures.MPIPoolExecutor for C++: the process pool's interface over MPI ranks, on this
// machine or across a cluster.
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "concur/mp/process_pool_executor.hpp"
#include "concur/mpi/errors.hpp"
#include "concur/mpi/runtime.hpp"

namespace concur::mpi {

struct executor_options {
  // A task running longer than this (0: no limit) breaks the executor: that task's future and
  // every one not yet done fail with broken_executor_error, new work is refused, and the job
  // ends with MPI_Abort(abort_exit_code) where MPI would be finalized (a rank stuck in a call
  // cannot be stopped or replaced: Debian's OpenMPI has no fault-tolerance extension).
  std::chrono::milliseconds task_timeout{0};
};

namespace detail {

class rank_pool;
struct rank_client;

// mp::basic_pool_executor's Backend over MPI ranks: the world's ranks 1..N-1 in static mode
// (shared by every executor of the program), ranks spawned for this executor in dynamic mode.
class rank_backend {
 public:
  rank_backend(std::size_t max_workers, executor_options options);
  rank_backend(const rank_backend&) = delete;
  rank_backend& operator=(const rank_backend&) = delete;
  ~rank_backend();

  void submit_tasks(std::vector<mp::detail::pool_task> tasks);
  void close();
  void cancel_pending();
  void join();
  std::size_t size() const noexcept { return size_; }
  launch_mode mode() const noexcept { return mode_; }

 private:
  std::shared_ptr<rank_pool> pool_;
  std::shared_ptr<rank_client> client_;
  std::size_t size_ = 0;
  launch_mode mode_ = launch_mode::dynamic;
};

}  // namespace detail

// MPIPoolExecutor: submit, map (with chunksize and timeout), starmap, shutdown(wait,
// cancel_futures), max_workers, concur::future results (wait, as_completed work on them).
// Functions and arguments follow the process pool's rules (plain functions or captureless
// lambdas, sendable values); a task's exception comes back as mp::remote_error. In static mode
// (under `mpiexec -n N`, after concur::mpi::init) it uses ranks 1..N-1; otherwise it spawns
// max_workers ranks running this program (MPI_Comm_spawn), which concur::mpi::init turns into
// workers. A rank that dies ends the whole job (MPI's rule, as with mpi4py).
class mpi_pool_executor : public mp::basic_pool_executor<detail::rank_backend> {
 public:
  // max_workers = 0: every worker rank in static mode; in dynamic mode MPI's universe size less
  // one when mpiexec set it above 1, else cpu_count(). value_error when static mode has fewer.
  explicit mpi_pool_executor(std::size_t max_workers = 0, executor_options options = {})
      : basic_pool_executor(std::in_place, max_workers, options) {}

  launch_mode mode() const noexcept { return backend().mode(); }
};

}  // namespace concur::mpi

namespace concur {
using mpi::mpi_pool_executor;
}  // namespace concur
