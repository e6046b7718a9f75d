// The process's MPI: which role this rank plays, the session of rank 0, and the executor's
// backend over the engine.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "concur/futures/errors.hpp"
#include "concur/mp/process.hpp"
#include "engine.hpp"

namespace concur::mpi {

namespace detail {

namespace {

// OpenMPI 4.1 on the external PMIx 4.x that Debian ships hangs now and then in MPI_Comm_spawn: a
// spawned rank waits forever in PMIx_Init (openpmix/openpmix#2735; here 3 runs in 76 of the
// dynamic tests under CPU load, none in 200 with it). PMIx's hash store avoids it. Set only
// for a program started without a launcher, whose PMIx server MPI_Init is about to start (and
// never over the user's own choice); under mpiexec the launcher's environment decides.
// The environment is read and written here as MPI_Init_thread, next, reads it itself: under the
// runtime's lock, at the one moment MPI starts.
void use_reliable_pmix_store() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): see above
  if (std::getenv("PMIX_RANK") == nullptr && std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr)
    ::setenv("PMIX_MCA_gds", "hash", 0);  // NOLINT(concurrency-mt-unsafe): see above
}

}  // namespace

void leave_process(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(code);
}

mpi_runtime& mpi_runtime::instance() {
  static mpi_runtime runtime;
  return runtime;
}

mpi_runtime::~mpi_runtime() { finish(); }

launch_mode mpi_runtime::start(int* argc, char*** argv) {
  checked_lock lock(m_);
  if (started_) return mode_;
  if (finished_) throw error("concur::mpi: MPI was already finalized; it cannot start again");
  initialize_mpi(argc, argv);
  started_ = true;
  MPI_Comm parent = MPI_COMM_NULL;
  check_mpi(MPI_Comm_get_parent(&parent), "MPI_Comm_get_parent");
  if (parent != MPI_COMM_NULL) {
    lock.unlock();
    serve_parent_and_exit(parent);
  }
  int rank = 0;
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &world_size_), "MPI_Comm_size");
  if (world_size_ > 1) {
    const std::vector<int> other = ranks_with_other_executable(MPI_COMM_WORLD);
    if (!other.empty()) {
      finished_ = true;
      MPI_Finalize();
      if (rank == 0) throw error(other_executable_message(other));
      // mpiexec may end rank 0 as soon as a rank fails, before it can say why: the odd ranks
      // say it too.
      if (std::find(other.begin(), other.end(), rank) != other.end())
        std::fprintf(stderr, "%s\n", other_executable_message(other).c_str());
      leave_process(1);
    }
  }
  if (rank != 0) {
    lock.unlock();
    serve_world_and_exit();
  }
  if (world_size_ > 1) {
    mode_ = launch_mode::static_ranks;
    MPI_Comm comm = MPI_COMM_NULL;
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
    check_mpi(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    world_ = std::make_shared<rank_pool>(launch_mode::static_ranks, comm, MPI_COMM_NULL,
                                         static_cast<std::size_t>(world_size_ - 1));
  }
  return mode_;
}

void mpi_runtime::initialize_mpi(int* argc, char*** argv) {
  int initialized = 0;
  check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
  if (initialized == 0) {
    use_reliable_pmix_store();
    int provided = MPI_THREAD_SINGLE;
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    we_initialized_ = true;
    if (provided < MPI_THREAD_SERIALIZED)
      throw error(
          "concur::mpi: this MPI library does not offer MPI_THREAD_SERIALIZED, which the "
          "progress thread needs");
  }
  // MPI_Comm_spawn is called on MPI_COMM_SELF: its failures must come back too.
  for (MPI_Comm c : {MPI_COMM_WORLD, MPI_COMM_SELF})
    check_mpi(MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

void mpi_runtime::serve_world_and_exit() {
  int code = 0;
  try {
    MPI_Comm comm = MPI_COMM_NULL;
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
    check_mpi(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    serve_tasks(comm);
    check_mpi(MPI_Comm_free(&comm), "MPI_Comm_free");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    code = 1;
  }
  MPI_Finalize();
  leave_process(code);
}

void mpi_runtime::serve_parent_and_exit(MPI_Comm parent) {
  int code = 0;
  try {
    check_mpi(MPI_Comm_set_errhandler(parent, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_Comm comm = MPI_COMM_NULL;
    check_mpi(MPI_Intercomm_merge(parent, 1, &comm), "MPI_Intercomm_merge");
    check_mpi(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    if (ranks_with_other_executable(comm).empty()) serve_tasks(comm);
    check_mpi(MPI_Comm_free(&comm), "MPI_Comm_free");
    check_mpi(MPI_Comm_disconnect(&parent), "MPI_Comm_disconnect");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    code = 1;
  }
  MPI_Finalize();
  leave_process(code);
}

void mpi_runtime::finish() noexcept {
  std::unique_ptr<mpi_engine> engine;
  std::shared_ptr<rank_pool> world;
  bool finalize = false;
  {
    const checked_lock lock(m_);
    if (!started_ || finished_) return;
    finished_ = true;
    engine = std::move(engine_);
    world = std::move(world_);
    finalize = we_initialized_;
  }
  if (engine && engine->must_abort()) {
    std::fprintf(stderr,
                 "concur::mpi: a task ran past its task_timeout; its rank cannot be stopped, so "
                 "the job ends with MPI_Abort(%d)\n",
                 abort_exit_code);
    std::cout.flush();
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, abort_exit_code);
  }
  try {
    if (engine && world) {
      engine->release(world);
    } else if (world) {
      for (const worker_rank& w : world->workers)
        check_mpi(MPI_Send(nullptr, 0, MPI_BYTE, w.rank, exit_tag, world->comm), "MPI_Send");
      check_mpi(MPI_Comm_free(&world->comm), "MPI_Comm_free");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  engine.reset();  // releases spawned pools still attached, joins the progress thread
  if (finalize) MPI_Finalize();
}

launch_mode mpi_runtime::mode() {
  const checked_lock lock(m_);
  return mode_;
}

int mpi_runtime::world_size() {
  const checked_lock lock(m_);
  return world_size_;
}

mpi_engine& mpi_runtime::engine() {
  const checked_lock lock(m_);
  if (finished_) throw error("concur::mpi: MPI was already finalized (the session has ended)");
  if (!engine_) {
    engine_ = std::make_unique<mpi_engine>();
    if (world_) engine_->attach(world_);
  }
  return *engine_;
}

mpi_engine* mpi_runtime::engine_if_running() {
  const checked_lock lock(m_);
  return finished_ ? nullptr : engine_.get();
}

std::shared_ptr<rank_pool> mpi_runtime::world_pool() {
  const checked_lock lock(m_);
  return world_;
}

std::size_t mpi_runtime::default_spawn_count() {
  void* value = nullptr;
  int found = 0;
  check_mpi(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &value, &found),
            "MPI_Comm_get_attr");
  if (found != 0 && value != nullptr) {
    const int universe = *static_cast<int*>(value);
    if (universe > 1) return static_cast<std::size_t>(universe - 1);
  }
  return mp::cpu_count();
}

rank_backend::rank_backend(std::size_t max_workers, executor_options options) {
  mpi_runtime& runtime = mpi_runtime::instance();
  mode_ = runtime.start(nullptr, nullptr);
  mpi_engine& engine = runtime.engine();
  if (mode_ == launch_mode::static_ranks) {
    pool_ = runtime.world_pool();
    if (max_workers > pool_->size)
      throw value_error("mpi_pool_executor: max_workers=" + std::to_string(max_workers) +
                        " but this job has only " + std::to_string(pool_->size) +
                        " worker ranks (mpiexec -n " + std::to_string(pool_->size + 1) + ")");
    size_ = max_workers == 0 ? pool_->size : max_workers;
  } else {
    size_ = max_workers == 0 ? runtime.default_spawn_count() : max_workers;
    pool_ = engine.spawn(size_);
  }
  client_ = std::make_shared<rank_client>();
  client_->task_timeout = options.task_timeout;
  client_->workers = size_;
}

rank_backend::~rank_backend() {
  try {
    join();
  } catch (...) {
    // MPI failed while releasing spawned workers; finalize reports what is left
  }
}

void rank_backend::submit_tasks(std::vector<mp::detail::pool_task> tasks) {
  mpi_runtime::instance().engine().submit(*pool_, client_, std::move(tasks));
}

void rank_backend::close() {}

void rank_backend::cancel_pending() {
  mpi_engine* engine = mpi_runtime::instance().engine_if_running();
  if (pool_ && engine != nullptr) engine->cancel_pending(*pool_, *client_);
}

void rank_backend::join() {
  mpi_engine* engine = mpi_runtime::instance().engine_if_running();
  if (!pool_ || engine == nullptr) return;  // the session's end already released the ranks
  engine->wait_done(*client_);
  if (mode_ == launch_mode::dynamic) {
    engine->release(pool_);
    pool_.reset();
  }
}

}  // namespace detail

session::~session() {
  if (active_) detail::mpi_runtime::instance().finish();
}

launch_mode session::mode() const noexcept {
  try {
    return detail::mpi_runtime::instance().mode();
  } catch (...) {
    return launch_mode::dynamic;
  }
}

int session::world_size() const noexcept {
  try {
    return detail::mpi_runtime::instance().world_size();
  } catch (...) {
    return 1;
  }
}

session init(int& argc, char**& argv) {
  detail::mpi_runtime::instance().start(&argc, &argv);
  return session();
}

}  // namespace concur::mpi
