// Rank 0's progress thread: hands tasks to worker ranks with non-blocking sends, collects the
// replies, watches task timeouts, and runs the MPI calls other threads ask of it.
#include "engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "concur/futures/errors.hpp"

namespace concur::mpi::detail {

namespace {

// Tasks in flight per worker: the one running plus one waiting behind it, so a worker never
// idles for a round trip between two tasks.
constexpr std::size_t worker_depth = 2;

void fail_task(mp::detail::pool_task& t, const std::exception_ptr& why) {
  mp::detail::task_reply o;
  o.error = why;
  if (t.on_done) t.on_done(std::move(o));
}

// argv for the spawned ranks: this program's own arguments, read back from the kernel (so
// that spawning needs no argv from main).
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  if (!args.empty()) args.erase(args.begin());
  return args;
}

std::string own_executable() {
  std::string path(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) throw error("concur::mpi: cannot read /proc/self/exe to spawn workers");
  path.resize(static_cast<std::size_t>(n));
  return path;
}

}  // namespace

rank_pool::rank_pool(launch_mode m, MPI_Comm c, MPI_Comm i, std::size_t n)
    : mode(m), comm(c), inter(i), size(n) {
  workers.resize(n);
  for (std::size_t w = 0; w < n; ++w) workers[w].rank = static_cast<int>(w + 1);
}

rank_pool::~rank_pool() = default;

mpi_engine::mpi_engine() : thread_([this] { run(); }) {}

mpi_engine::~mpi_engine() {
  try {
    call([this] {
      while (!pools_.empty()) {
        const std::shared_ptr<rank_pool> last = pools_.back();  // release_now erases it
        release_now(last);
      }
    });
  } catch (...) {
    // an MPI error while releasing: MPI_Finalize reports what is left
  }
  {
    const checked_lock lock(m_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void mpi_engine::call(std::function<void()> fn) {
  command c{std::move(fn), nullptr, false};
  checked_lock lock(m_);
  commands_.push_back(&c);
  work_cv_.notify_all();
  while (!c.done) done_cv_.wait(lock.native());
  if (c.error) std::rethrow_exception(c.error);
}

void mpi_engine::attach(const std::shared_ptr<rank_pool>& pool) {
  call([this, pool] {
    if (std::find(pools_.begin(), pools_.end(), pool) == pools_.end()) pools_.push_back(pool);
  });
}

void mpi_engine::release(const std::shared_ptr<rank_pool>& pool) {
  call([this, pool] { release_now(pool); });
}

void mpi_engine::release_now(const std::shared_ptr<rank_pool>& pool) {
  const auto it = std::find(pools_.begin(), pools_.end(), pool);
  if (it == pools_.end()) return;
  pools_.erase(it);
  if (pool->dead) return;  // broken: a stuck rank would never answer
  for (const worker_rank& w : pool->workers)
    check_mpi(MPI_Send(nullptr, 0, MPI_BYTE, w.rank, exit_tag, pool->comm), "MPI_Send");
  if (pool->mode == launch_mode::dynamic) {
    // Disconnecting the merged communicator hangs in OpenMPI 4.1 (both sides wait in a PMIx
    // fence); freeing it and disconnecting the spawn's intercommunicator does not.
    check_mpi(MPI_Comm_free(&pool->comm), "MPI_Comm_free");
    check_mpi(MPI_Comm_disconnect(&pool->inter), "MPI_Comm_disconnect");
  } else {
    check_mpi(MPI_Comm_free(&pool->comm), "MPI_Comm_free");
  }
}

std::shared_ptr<rank_pool> mpi_engine::spawn(std::size_t workers) {
  std::shared_ptr<rank_pool> pool;
  call([&] {
    const std::string exe = own_executable();
    std::vector<std::string> args = own_arguments();
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    MPI_Comm inter = MPI_COMM_NULL;
    std::vector<int> codes(workers, MPI_SUCCESS);
    check_mpi(MPI_Comm_spawn(exe.c_str(), argv.data(), static_cast<int>(workers), MPI_INFO_NULL, 0,
                             MPI_COMM_SELF, &inter, codes.data()),
              "MPI_Comm_spawn");
    for (const int code : codes) check_mpi(code, "MPI_Comm_spawn (starting a worker rank)");
    check_mpi(MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_Comm comm = MPI_COMM_NULL;
    check_mpi(MPI_Intercomm_merge(inter, 0, &comm), "MPI_Intercomm_merge");
    check_mpi(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    const std::vector<int> other = ranks_with_other_executable(comm);
    if (!other.empty()) throw error(other_executable_message(other));
    pool = std::make_shared<rank_pool>(launch_mode::dynamic, comm, inter, workers);
    pools_.push_back(pool);
  });
  return pool;
}

void mpi_engine::submit(rank_pool& pool, const std::shared_ptr<rank_client>& client,
                        std::vector<mp::detail::pool_task> tasks) {
  std::vector<queued_mpi_task> named;
  named.reserve(tasks.size());
  {
    const checked_lock lock(codes_m_);
    for (mp::detail::pool_task& t : tasks) {
      queued_mpi_task q;
      q.head.invoker = codes_.name(static_cast<std::uintptr_t>(t.head.invoker));
      q.head.fn = codes_.name(static_cast<std::uintptr_t>(t.head.fn));
      q.task = std::move(t);
      q.owner = client;
      named.push_back(std::move(q));
    }
  }
  const checked_lock lock(m_);
  if (pool.broken) std::rethrow_exception(pool.broken);
  for (queued_mpi_task& q : named) {
    q.head.id = next_id_++;
    pool.pending.push_back(std::move(q));
  }
  client->outstanding += named.size();
  if (sleeping_) work_cv_.notify_all();
}

void mpi_engine::cancel_pending(rank_pool& pool, rank_client& client) {
  std::vector<queued_mpi_task> dropped;
  {
    const checked_lock lock(m_);
    auto keep =
        std::stable_partition(pool.pending.begin(), pool.pending.end(),
                              [&](const queued_mpi_task& q) { return q.owner.get() != &client; });
    std::move(keep, pool.pending.end(), std::back_inserter(dropped));
    pool.pending.erase(keep, pool.pending.end());
  }
  for (queued_mpi_task& q : dropped) {
    if (q.task.on_cancel) {
      q.task.on_cancel();
    } else {
      fail_task(q.task, std::make_exception_ptr(cancelled_error()));
    }
    finished(client);
  }
}

void mpi_engine::wait_done(rank_client& client) {
  checked_lock lock(m_);
  while (client.outstanding != 0) done_cv_.wait(lock.native());
}

bool mpi_engine::must_abort() {
  const checked_lock lock(m_);
  return must_abort_;
}

void mpi_engine::run() noexcept {
  // While tasks run, a reply is noticed within 50 us once the first 300 us have passed (a
  // reply inside them at once): bench_mpi_pool's figures on 2 cores chose these.
  idle_backoff idle(std::chrono::microseconds{300}, std::chrono::microseconds{50});
  std::vector<std::pair<rank_pool*, queued_mpi_task>> assigned;
  std::vector<command*> commands;
  for (;;) {
    if (!wait_for_work(idle)) return;
    take_work(assigned, commands);
    bool worked = !assigned.empty() || !commands.empty();
    for (command* c : commands) {
      try {
        c->fn();
      } catch (...) {
        c->error = std::current_exception();
      }
      const checked_lock lock(m_);
      c->done = true;
      done_cv_.notify_all();
    }
    commands.clear();
    for (auto& [pool, q] : assigned) start(*pool, std::move(q));
    assigned.clear();
    for (std::size_t i = 0; i < pools_.size(); ++i) {
      rank_pool& pool = *pools_[i];
      if (pool.dead) continue;
      try {
        worked = progress(pool) || worked;
      } catch (...) {
        break_pool(pool, std::current_exception(), false);
      }
      check_timeouts(pool);
    }
    if (worked) {
      idle.reset();
    } else {
      idle.pause();
    }
  }
}

// Sleeps while there is nothing to do at all (nothing in flight, queued or asked); false once
// the engine stops.
bool mpi_engine::wait_for_work(idle_backoff& idle) {
  checked_lock lock(m_);
  for (;;) {
    if (stop_ && commands_.empty()) return false;
    bool queued = !commands_.empty() || in_flight_ != 0;
    for (const auto& p : pools_) queued = queued || (!p->pending.empty() && !p->broken);
    if (queued) return true;
    sleeping_ = true;
    idle.reset();
    work_cv_.wait(lock.native());
    sleeping_ = false;
  }
}

void mpi_engine::take_work(std::vector<std::pair<rank_pool*, queued_mpi_task>>& assigned,
                           std::vector<command*>& commands) {
  const checked_lock lock(m_);
  commands.assign(commands_.begin(), commands_.end());
  commands_.clear();
  for (const auto& p : pools_) {
    if (p->broken) continue;
    std::size_t free = 0;
    for (const worker_rank& w : p->workers)
      free += w.tasks.size() < worker_depth ? worker_depth - w.tasks.size() : 0;
    while (free > 0 && !p->pending.empty()) {
      assigned.emplace_back(p.get(), std::move(p->pending.front()));
      p->pending.pop_front();
      --free;
    }
  }
}

void mpi_engine::start(rank_pool& pool, queued_mpi_task q) {
  if (q.task.on_start && !q.task.on_start()) {
    finished(*q.owner);  // cancelled while it waited: nothing to send
    return;
  }
  const std::size_t usable =
      std::min(pool.workers.size(), std::max<std::size_t>(q.owner->workers, 1));
  auto w = std::min_element(
      pool.workers.begin(), pool.workers.begin() + static_cast<std::ptrdiff_t>(usable),
      [](const worker_rank& a, const worker_rank& b) { return a.tasks.size() < b.tasks.size(); });
  inflight_mpi_task f;
  f.message.reserve(task_header::size + q.task.payload.size());
  q.head.encode_into(f.message);
  f.message += q.task.payload;
  q.task.payload = std::string();
  f.q = std::move(q);
  try {
    check_mpi(MPI_Isend(f.message.data(), mpi_count(f.message.size()), MPI_BYTE, w->rank, task_tag,
                        pool.comm, &f.request),
              "MPI_Isend");
  } catch (...) {
    rank_client& owner = *f.q.owner;
    fail_task(f.q.task, std::current_exception());
    finished(owner);
    return;
  }
  if (w->tasks.empty()) w->front_started = std::chrono::steady_clock::now();
  w->tasks.push_back(std::move(f));
  ++in_flight_;
}

bool mpi_engine::progress(rank_pool& pool) {
  if (pool.workers.empty()) return false;
  const bool sent = complete_sends(pool);
  return receive_replies(pool) || sent;
}

bool mpi_engine::complete_sends(rank_pool& pool) {
  bool any = false;
  for (worker_rank& w : pool.workers) {
    for (inflight_mpi_task& f : w.tasks) {
      if (f.request == MPI_REQUEST_NULL) continue;
      int done = 0;
      check_mpi(MPI_Test(&f.request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done != 0) {
        f.message = std::string();
        any = true;
      }
    }
  }
  return any;
}

bool mpi_engine::receive_replies(rank_pool& pool) {
  bool any = false;
  for (;;) {
    int ready = 0;
    MPI_Status status;
    check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, reply_tag, pool.comm, &ready, &status), "MPI_Iprobe");
    if (ready == 0) return any;
    any = true;
    int count = 0;
    check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
    std::string reply(static_cast<std::size_t>(count), '\0');
    check_mpi(MPI_Recv(reply.data(), count, MPI_BYTE, status.MPI_SOURCE, reply_tag, pool.comm,
                       MPI_STATUS_IGNORE),
              "MPI_Recv");
    const auto index = static_cast<std::size_t>(status.MPI_SOURCE - 1);
    if (status.MPI_SOURCE < 1 || index >= pool.workers.size() ||
        pool.workers[index].tasks.empty() || reply.size() < sizeof(std::uint64_t))
      throw error("concur::mpi: a reply from rank " + std::to_string(status.MPI_SOURCE) +
                  " that no task was waiting for");
    worker_rank& w = pool.workers[index];
    std::uint64_t id = 0;
    std::memcpy(&id, reply.data() + reply.size() - sizeof id, sizeof id);
    reply.resize(reply.size() - sizeof id);
    inflight_mpi_task f = std::move(w.tasks.front());
    w.tasks.pop_front();
    w.front_started = std::chrono::steady_clock::now();
    --in_flight_;
    if (f.request != MPI_REQUEST_NULL)
      check_mpi(MPI_Wait(&f.request, MPI_STATUS_IGNORE), "MPI_Wait");
    if (id != f.q.head.id)
      throw error("concur::mpi: rank " + std::to_string(w.rank) + " answered task " +
                  std::to_string(id) + " while task " + std::to_string(f.q.head.id) + " was due");
    finish(f.q.task, mp::detail::reply_from_frame(std::move(reply)), *f.q.owner);
  }
}

void mpi_engine::check_timeouts(rank_pool& pool) {
  const auto now = std::chrono::steady_clock::now();
  for (const worker_rank& w : pool.workers) {
    if (w.tasks.empty()) continue;
    const auto limit = w.tasks.front().q.owner->task_timeout;
    if (limit.count() == 0 || now - w.front_started < limit) continue;
    break_pool(pool,
               std::make_exception_ptr(broken_executor_error(
                   "mpi_pool_executor: a task ran longer than its task_timeout of " +
                   std::to_string(limit.count()) + " ms on rank " + std::to_string(w.rank) +
                   "; the executor is broken and the job will end with MPI_Abort")),
               true);
    return;
  }
}

void mpi_engine::break_pool(rank_pool& pool, const std::exception_ptr& why, bool timed_out) {
  pool.dead = true;
  std::deque<queued_mpi_task> pending;
  std::exception_ptr err;
  {
    const checked_lock lock(m_);
    if (!pool.broken) pool.broken = why;
    err = pool.broken;
    must_abort_ = must_abort_ || timed_out;
    pending.swap(pool.pending);
  }
  for (worker_rank& w : pool.workers) {
    for (inflight_mpi_task& f : w.tasks) {
      --in_flight_;
      finish(f.q.task, mp::detail::task_reply{{}, err}, *f.q.owner);
      if (f.request != MPI_REQUEST_NULL) pool.abandoned.push_back(std::move(f));
    }
    w.tasks.clear();
  }
  for (queued_mpi_task& q : pending) finish(q.task, mp::detail::task_reply{{}, err}, *q.owner);
}

void mpi_engine::finish(mp::detail::pool_task& task, mp::detail::task_reply&& reply,
                        rank_client& owner) {
  if (task.on_done) task.on_done(std::move(reply));
  finished(owner);
}

void mpi_engine::finished(rank_client& owner) {
  const checked_lock lock(m_);
  if (--owner.outstanding == 0) done_cv_.notify_all();
}

}  // namespace concur::mpi::detail
