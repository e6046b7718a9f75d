#pragma once
// Rank 0's side: the pools of worker ranks and the one progress thread that makes every MPI
// call for them (MPI_THREAD_SERIALIZED: one thread at a time, and here always the same one).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "concur/core/checked_mutex.hpp"
#include "concur/mp/detail/process_pool_core.hpp"
#include "concur/mpi/mpi_pool_executor.hpp"
#include "internal.hpp"

namespace concur::mpi::detail {

// One executor's share of a pool: its options and how much of its work is not done yet.
struct rank_client {
  std::chrono::milliseconds task_timeout{0};
  std::size_t workers = 0;      // the first `workers` ranks of the pool are its to use
  std::size_t outstanding = 0;  // guarded by the engine's mutex
};

struct queued_mpi_task {
  mp::detail::pool_task task;
  task_header head;
  std::shared_ptr<rank_client> owner;
};

// A task sent to a worker: its message stays alive until MPI says the send is complete.
struct inflight_mpi_task {
  queued_mpi_task q;
  std::string message;
  MPI_Request request = MPI_REQUEST_NULL;
};

struct worker_rank {
  int rank = 0;
  std::deque<inflight_mpi_task> tasks;  // in the order the worker runs them
  std::chrono::steady_clock::time_point front_started{};
};

// The workers of one communicator: ranks 1..n of `comm`, where rank 0 is this process.
class rank_pool {
 public:
  rank_pool(launch_mode mode, MPI_Comm comm, MPI_Comm inter, std::size_t workers);
  rank_pool(const rank_pool&) = delete;
  rank_pool& operator=(const rank_pool&) = delete;
  ~rank_pool();

  const launch_mode mode;
  MPI_Comm comm;   // intracommunicator of rank 0 and the workers
  MPI_Comm inter;  // dynamic mode: the spawn's intercommunicator (else MPI_COMM_NULL)
  const std::size_t size;

  // Guarded by the engine's mutex.
  std::deque<queued_mpi_task> pending;
  std::exception_ptr broken;

  // The progress thread's alone.
  std::vector<worker_rank> workers;
  bool dead = false;                         // broken: no more sends, receives or timeouts
  std::vector<inflight_mpi_task> abandoned;  // sends of a broken pool, kept until it goes
  std::string inbox;
};

class mpi_engine {
 public:
  mpi_engine();
  mpi_engine(const mpi_engine&) = delete;
  mpi_engine& operator=(const mpi_engine&) = delete;
  ~mpi_engine();  // releases the pools still attached, then stops the thread

  // Runs fn on the progress thread and waits for it; its exception is rethrown here.
  void call(std::function<void()> fn);
  void attach(const std::shared_ptr<rank_pool>& pool);
  // Sends the workers away (exit, then disconnect for spawned ones) and forgets the pool. A
  // pool broken by a task timeout is only forgotten: its stuck rank would never answer.
  void release(const std::shared_ptr<rank_pool>& pool);
  std::shared_ptr<rank_pool> spawn(std::size_t workers);

  void submit(rank_pool& pool, const std::shared_ptr<rank_client>& client,
              std::vector<mp::detail::pool_task> tasks);
  void cancel_pending(rank_pool& pool, rank_client& client);
  void wait_done(rank_client& client);
  // Whether a task ran past its timeout: MPI_Finalize would then wait forever.
  bool must_abort();

 private:
  struct command {
    std::function<void()> fn;
    std::exception_ptr error;
    bool done = false;
  };
  void release_now(const std::shared_ptr<rank_pool>& pool);
  void run() noexcept;
  bool wait_for_work(idle_backoff& idle);
  void take_work(std::vector<std::pair<rank_pool*, queued_mpi_task>>& assigned,
                 std::vector<command*>& commands);
  void start(rank_pool& pool, queued_mpi_task q);
  bool progress(rank_pool& pool);
  bool complete_sends(rank_pool& pool);
  bool receive_replies(rank_pool& pool);
  void check_timeouts(rank_pool& pool);
  void break_pool(rank_pool& pool, const std::exception_ptr& why, bool timed_out);
  void finish(mp::detail::pool_task& task, mp::detail::task_reply&& reply, rank_client& owner);
  void finished(rank_client& owner);

  checked_mutex m_;
  std::condition_variable work_cv_;  // the progress thread sleeps on it when nothing is in flight
  std::condition_variable done_cv_;  // callers of wait_done and call sleep on it
  std::deque<command*> commands_ CONCUR_GUARDED_BY(m_);
  bool sleeping_ CONCUR_GUARDED_BY(m_) = false;
  bool stop_ CONCUR_GUARDED_BY(m_) = false;
  bool must_abort_ CONCUR_GUARDED_BY(m_) = false;
  std::uint64_t next_id_ CONCUR_GUARDED_BY(m_) = 1;

  checked_mutex codes_m_;
  code_table codes_ CONCUR_GUARDED_BY(codes_m_);

  // The progress thread's alone.
  std::vector<std::shared_ptr<rank_pool>> pools_;
  std::size_t in_flight_ = 0;

  std::thread thread_;
};

// The process's MPI: initialized once (by concur::mpi::init or the first executor), finalized
// once (by the session, or at exit). MPI itself is one per process, so this is too.
class mpi_runtime {
 public:
  static mpi_runtime& instance();
  mpi_runtime(const mpi_runtime&) = delete;
  mpi_runtime& operator=(const mpi_runtime&) = delete;

  // Initializes MPI if nobody has. On a worker rank this serves tasks and ends the process.
  launch_mode start(int* argc, char*** argv);
  // Releases the workers, stops the progress thread and finalizes MPI (or MPI_Abort after a
  // task timeout). Idempotent.
  void finish() noexcept;

  launch_mode mode();
  int world_size();
  mpi_engine& engine();
  // The engine while MPI runs, else null (after finish(): nothing is left to wait for).
  mpi_engine* engine_if_running();
  std::shared_ptr<rank_pool> world_pool();
  std::size_t default_spawn_count();

 private:
  mpi_runtime() = default;
  ~mpi_runtime();
  void initialize_mpi(int* argc, char*** argv) CONCUR_REQUIRES(m_);
  [[noreturn]] void serve_world_and_exit();
  [[noreturn]] void serve_parent_and_exit(MPI_Comm parent);

  checked_mutex m_;
  bool started_ CONCUR_GUARDED_BY(m_) = false;
  bool finished_ CONCUR_GUARDED_BY(m_) = false;
  bool we_initialized_ CONCUR_GUARDED_BY(m_) = false;
  launch_mode mode_ CONCUR_GUARDED_BY(m_) = launch_mode::dynamic;
  int world_size_ CONCUR_GUARDED_BY(m_) = 1;
  std::shared_ptr<rank_pool> world_ CONCUR_GUARDED_BY(m_);
  std::unique_ptr<mpi_engine> engine_ CONCUR_GUARDED_BY(m_);
};

// Ends the process the way a worker rank does: streams flushed, no static destructors (they
// belong to the program rank 0 runs).
[[noreturn]] void leave_process(int code);

}  // namespace concur::mpi::detail
