#include "concur/mp/detail/process_pool_core.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "concur/core/clock.hpp"
#include "concur/futures/errors.hpp"
#include "concur/mp/detail/fork_server.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp::detail {

struct process_pool_core::worker {
  spawned proc;
  unique_fd channel;
  // Sent and not yet answered, oldest first. The worker runs them in order; the second is
  // already in its socket so it starts without waiting for a round trip through this thread
  // (Python's executor queues one extra call per pool the same way).
  std::deque<pool_task> tasks;
  clock::time_point deadline{};
  std::size_t done = 0;
  bool initializing = false;

  bool alive() const noexcept { return static_cast<bool>(channel); }
  bool busy() const noexcept { return !tasks.empty() || initializing; }
};

namespace {

// Tasks in flight per worker: the one running plus one queued behind it.
constexpr std::size_t worker_depth = 2;
// Largest task queued behind a running one (well under the socket buffer, about 200 KiB).
constexpr std::size_t prefetch_limit = 32 * 1024;

// How long a worker whose channel closed gets to finish exiting before it is killed.
constexpr std::chrono::milliseconds exit_grace{2000};

void fail(pool_task& t, std::exception_ptr e) {
  task_reply o;
  o.error = std::move(e);
  if (t.on_done) t.on_done(std::move(o));
}

}  // namespace

task_reply reply_from_frame(std::string&& frame) {
  task_reply o;
  if (frame.empty()) {
    o.error = std::make_exception_ptr(error("concur::mp: empty reply from a worker"));
    return o;
  }
  if (static_cast<reply_status>(frame[0]) == reply_status::ok) {
    o.reply = std::move(frame);
    return o;
  }
  std::string type;
  std::string message;
  try {
    fd_table none;
    decode_from(std::string_view(frame).substr(1), none, type, message);
    o.error = std::make_exception_ptr(remote_error(std::move(type), std::move(message)));
  } catch (...) {
    o.error = std::current_exception();
  }
  return o;
}

process_pool_core::process_pool_core(pool_config cfg) : cfg_(std::move(cfg)) {
  if (cfg_.processes == 0)
    throw std::invalid_argument("concur::mp: a pool needs at least one process");
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) throw_last_os_error("concur::mp: eventfd");
  workers_.reserve(cfg_.processes);
  try {
    for (std::size_t i = 0; i < cfg_.processes; ++i) {
      workers_.push_back(std::make_unique<worker>());
      start_worker(*workers_.back());
    }
  } catch (...) {
    shut_down_workers(true);
    throw;
  }
  manager_ = std::thread([this] { run(); });
}

// join() throws only before close() or terminate(), and the manager never owns its pool.
process_pool_core::~process_pool_core() {  // NOLINT(bugprone-exception-escape)
  terminate();
  join();
}

void process_pool_core::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_.get(), &one, sizeof one);
}

void process_pool_core::submit(std::vector<pool_task> tasks) {
  std::exception_ptr broken;
  {
    const checked_lock lock(m_);
    if (closed_ || terminating_) throw invalid_state_error("concur::mp: pool is not running");
    broken = broken_;
    if (!broken) {
      for (auto& t : tasks) pending_.push_back(std::move(t));
      tasks.clear();
    }
  }
  for (auto& t : tasks) fail(t, broken);
  wake();
}

void process_pool_core::close() {
  {
    const checked_lock lock(m_);
    closed_ = true;
  }
  wake();
}

void process_pool_core::terminate() {
  {
    const checked_lock lock(m_);
    closed_ = true;
    terminating_ = true;
  }
  wake();
}

bool process_pool_core::closed() const {
  const checked_lock lock(m_);
  return closed_;
}

void process_pool_core::join() {
  {
    const checked_lock lock(m_);
    if (!closed_)
      throw invalid_state_error("concur::mp: call close() or terminate() before join()");
  }
  const checked_lock lock(join_m_);
  if (manager_.joinable()) manager_.join();
}

void process_pool_core::cancel_pending() {
  std::deque<pool_task> dropped;
  {
    const checked_lock lock(m_);
    dropped.swap(pending_);
  }
  for (auto& t : dropped) {
    if (t.on_cancel && !t.started) {
      t.on_cancel();
    } else {
      auto e = std::make_exception_ptr(cancelled_error());
      fail(t, std::move(e));
    }
  }
}

std::vector<int> process_pool_core::pids() const {
  const checked_lock lock(m_);
  return pids_;
}

void process_pool_core::start_worker(worker& w) {
  auto [mine, theirs] = socket_pair(SOCK_STREAM);
  std::vector<int> extra;
  for (const auto& fd : cfg_.initializer.fds) extra.push_back(fd.get());
  w.proc = spawn(theirs.get(), extra);
  w.channel = std::move(mine);
  w.tasks.clear();
  w.done = 0;
  w.initializing = false;
  {
    const checked_lock lock(m_);
    pids_.clear();
    for (const auto& p : workers_)
      if (p->proc.pid > 0) pids_.push_back(p->proc.pid);
  }
  if (!cfg_.initializer.empty()) {
    w.initializing = true;
    const task_head head{task_kind::init, cfg_.initializer.invoker, cfg_.initializer.fn};
    try {
      send_frame(w.channel.get(), head.encode(), cfg_.initializer.payload);
    } catch (const concur::os_error&) {
      // It died at once; the poll loop sees the exit and reports it.
    }
  }
}

void process_pool_core::run() noexcept {
  try {
    manage();
  } catch (...) {
    // Nothing may be lost: whatever is left fails with the manager's error.
    auto e = std::current_exception();
    std::deque<pool_task> left;
    {
      const checked_lock lock(m_);
      broken_ = e;
      closed_ = true;
      left.swap(pending_);
    }
    for (auto& w : workers_) fail_all(*w, e);
    for (auto& t : left) fail(t, e);
    try {
      shut_down_workers(true);
    } catch (...) {
    }
  }
}

void process_pool_core::manage() {
  std::vector<pollfd> fds;
  for (;;) {
    turn_plan plan = plan_turn();
    for (auto& t : plan.to_fail) fail(t, plan.why);
    if (plan.terminating || plan.finished) {
      for (auto& w : workers_) fail_all(*w, plan.why);
      shut_down_workers(plan.terminating);
      return;
    }
    const bool requeued = dispatch(plan.assigned);
    if (wait_for_events(fds, requeued)) handle_events(fds);
  }
}

process_pool_core::turn_plan process_pool_core::plan_turn() {
  turn_plan plan;
  const checked_lock lock(m_);
  plan.terminating = terminating_;
  if (terminating_ || broken_) {
    plan.to_fail.swap(pending_);
    plan.why =
        broken_ ? broken_ : std::make_exception_ptr(cancelled_error("concur::mp: pool terminated"));
  } else {
    assign_pending(plan.assigned);
  }
  const bool busy =
      std::any_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->busy(); });
  plan.finished =
      closed_ && pending_.empty() && plan.assigned.empty() && (!busy || terminating_ || broken_);
  return plan;
}

void process_pool_core::assign_pending(std::vector<std::pair<worker*, pool_task>>& assigned) {
  // Free workers first, then one queued task each.
  for (std::size_t depth = 0; depth < worker_depth; ++depth) {
    for (auto& w : workers_) {
      if (pending_.empty()) return;
      if (!can_take(*w, depth)) continue;
      // A queued task must fit in the socket buffer at once: the worker may be writing a
      // large result and not reading, and a blocked send here would deadlock with it.
      if (depth > 0 && pending_.front().payload.size() > prefetch_limit) continue;
      assigned.emplace_back(w.get(), std::move(pending_.front()));
      pending_.pop_front();
    }
  }
}

bool process_pool_core::dispatch(std::vector<std::pair<worker*, pool_task>>& assigned) {
  bool requeued = false;
  for (auto& [w, t] : assigned) {
    if (!t.started) {
      if (t.on_start && !t.on_start()) {
        requeued = true;  // cancelled while pending: the worker stays free for the next one
        continue;
      }
      t.started = true;
    }
    try {
      send_frame(w->channel.get(), t.head.encode(), t.payload);
    } catch (const concur::os_error&) {
      // The worker died between tasks: it never held this one, so it goes back to the queue.
      {
        const checked_lock lock(m_);
        pending_.push_front(std::move(t));
      }
      on_exit(*w, false);
      requeued = true;
      continue;
    }
    // The payload stays until the answer: a queued task whose worker dies is sent again.
    w->tasks.push_back(std::move(t));
    if (w->tasks.size() == 1 && cfg_.task_timeout.count() > 0)
      w->deadline = concur::deadline_after(cfg_.task_timeout);
  }
  return requeued;
}

int process_pool_core::poll_timeout_ms(bool requeued) const {
  if (requeued) return 0;  // a free worker and a queue that may hold work for it
  if (cfg_.task_timeout.count() <= 0) return -1;
  std::optional<clock::time_point> earliest;
  for (const auto& w : workers_)
    if (!w->tasks.empty() && (!earliest || w->deadline < *earliest)) earliest = w->deadline;
  if (!earliest) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*earliest - clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1 << 30));
}

bool process_pool_core::wait_for_events(std::vector<pollfd>& fds, bool requeued) {
  fds.clear();
  fds.push_back({wake_fd_.get(), POLLIN, 0});
  for (auto& w : workers_) {
    fds.push_back({w->alive() ? w->channel.get() : -1, POLLIN, 0});
    fds.push_back({w->proc.pidfd ? w->proc.pidfd.get() : -1, POLLIN, 0});
  }
  if (::poll(fds.data(), fds.size(), poll_timeout_ms(requeued)) >= 0) return true;
  if (errno == EINTR) return false;
  throw_last_os_error("concur::mp: poll");
}

void process_pool_core::handle_events(const std::vector<pollfd>& fds) {
  if (fds[0].revents != 0) {
    std::uint64_t v;
    [[maybe_unused]] auto r = ::read(wake_fd_.get(), &v, sizeof v);
  }
  const auto now = clock::now();
  for (std::size_t i = 0; i < workers_.size(); ++i)
    handle_worker(*workers_[i], fds[1 + 2 * i].revents, fds[2 + 2 * i].revents, now);
}

void process_pool_core::handle_worker(worker& w, short channel_events, short exit_events,
                                      clock::time_point now) {
  if (channel_events != 0 && w.alive()) {
    std::optional<std::string> frame;
    try {
      frame = recv_frame(w.channel.get());
    } catch (const std::exception&) {
      frame.reset();  // torn message: the worker died while writing
    }
    if (frame) {
      on_frame(w, std::move(*frame));
    } else {
      on_exit(w, false);
    }
    return;
  }
  if (exit_events != 0 && w.alive()) {
    // It exited; a reply it wrote just before may not have been seen by this poll yet.
    if (!wait_readable(w.channel.get(), std::chrono::milliseconds(0))) on_exit(w, false);
    return;
  }
  if (!w.tasks.empty() && cfg_.task_timeout.count() > 0 && now >= w.deadline) on_exit(w, true);
}

bool process_pool_core::can_take(const worker& w, std::size_t depth) const noexcept {
  if (!w.alive() || w.initializing || w.tasks.size() != depth) return false;
  // A worker due for replacement gets no task it would not live to run.
  return cfg_.max_tasks_per_child == 0 || w.done + w.tasks.size() < cfg_.max_tasks_per_child;
}

void process_pool_core::fail_all(worker& w, const std::exception_ptr& why) {
  for (auto& t : w.tasks) fail(t, why);
  w.tasks.clear();
}

void process_pool_core::on_frame(worker& w, std::string frame) {
  task_reply o = reply_from_frame(std::move(frame));
  if (w.initializing) {
    w.initializing = false;
    if (o.error) {
      // An initializer that fails would fail in every replacement too: the pool is broken.
      try {
        std::rethrow_exception(o.error);
      } catch (const std::exception& e) {
        const checked_lock lock(m_);
        broken_ = std::make_exception_ptr(
            error(std::string("concur::mp: the pool initializer failed: ") + e.what()));
      }
    }
    return;
  }
  if (w.tasks.empty()) return;
  pool_task t = std::move(w.tasks.front());
  w.tasks.pop_front();
  if (!w.tasks.empty() && cfg_.task_timeout.count() > 0)
    w.deadline = concur::deadline_after(cfg_.task_timeout);
  ++w.done;
  if (t.on_done) t.on_done(std::move(o));
  if (cfg_.max_tasks_per_child > 0 && w.done >= cfg_.max_tasks_per_child) retire(w);
}

void process_pool_core::retire(worker& w) {
  w.channel.reset();  // the worker reads EOF and exits
  if (!wait_exit(w.proc, exit_grace)) kill_and_reap(w.proc);
  w.proc = spawned{};
  bool replace;
  {
    const checked_lock lock(m_);
    replace = !terminating_ && !broken_;
  }
  if (replace) start_worker(w);
}

void process_pool_core::on_exit(worker& w, bool timed_out) {
  w.channel.reset();
  std::optional<int> exited;
  if (!timed_out) exited = wait_exit(w.proc, exit_grace);
  const int code = exited ? *exited : kill_and_reap(w.proc);
  const int pid = w.proc.pid;
  w.proc = spawned{};
  if (w.initializing) {
    w.initializing = false;
    const checked_lock lock(m_);
    broken_ = std::make_exception_ptr(process_crashed_error(pid, code));
  }
  if (!w.tasks.empty()) {
    pool_task t = std::move(w.tasks.front());
    w.tasks.pop_front();
    // The ones queued behind it never started: they go back to the front of the queue.
    {
      const checked_lock lock(m_);
      for (auto it = w.tasks.rbegin(); it != w.tasks.rend(); ++it)
        pending_.push_front(std::move(*it));
    }
    w.tasks.clear();
    // The exception is made in its own statement so that its temporary is gone before the
    // result is handed over (libstdc++'s string refcount is invisible to ThreadSanitizer).
    std::exception_ptr e;
    if (timed_out) {
      e = std::make_exception_ptr(
          timeout_error("concur::mp: task ran longer than the pool's task_timeout of " +
                        std::to_string(cfg_.task_timeout.count()) + " ms; worker " +
                        std::to_string(pid) + " was killed and replaced"));
    } else {
      e = std::make_exception_ptr(process_crashed_error(pid, code));
    }
    fail(t, std::move(e));
  }
  bool replace;
  {
    const checked_lock lock(m_);
    replace = !terminating_ && !broken_;
  }
  if (replace) {
    try {
      start_worker(w);
    } catch (...) {
      const checked_lock lock(m_);
      broken_ = std::current_exception();
    }
  }
}

void process_pool_core::shut_down_workers(bool kill) {
  for (auto& w : workers_) {
    if (!w->proc.pidfd) continue;
    if (kill) send_signal(w->proc, SIGKILL);
    w->channel.reset();
  }
  for (auto& w : workers_) {
    if (!w->proc.pidfd) continue;
    if (!wait_exit(w->proc, exit_grace)) kill_and_reap(w->proc);
    w->proc = spawned{};
  }
  const checked_lock lock(m_);
  pids_.clear();
}

void chunk_collector::deliver(std::size_t index, task_reply&& o) {
  bool wake;
  {
    const checked_lock lock(m_);
    const bool failed = static_cast<bool>(o.error);
    slots_[index] = std::move(o);
    completed_.push_back(index);
    ++arrived_;
    any_failed_ = any_failed_ || failed;
    // Waking the reader costs a context switch that a worker on this core pays for: only when
    // it is waiting for this chunk.
    wake = want_ == index || want_ == want_any ||
           (want_ == want_all && (arrived_ == slots_.size() || failed));
  }
  if (wake) cv_.notify_all();
}

task_reply chunk_collector::take(std::size_t index) {
  checked_lock lock(m_);
  want_ = index;
  while (!slots_[index].has_value()) cv_.wait(lock.native());
  want_ = want_none;
  task_reply o = std::move(*slots_[index]);
  slots_[index].reset();
  completed_.erase(std::find(completed_.begin(), completed_.end(), index));
  return o;
}

task_reply chunk_collector::take_next_completed() {
  checked_lock lock(m_);
  want_ = want_any;
  while (completed_.empty()) cv_.wait(lock.native());
  want_ = want_none;
  const std::size_t index = completed_.front();
  completed_.pop_front();
  task_reply o = std::move(*slots_[index]);
  slots_[index].reset();
  return o;
}

std::exception_ptr chunk_collector::wait_all_or_failure() {
  checked_lock lock(m_);
  want_ = want_all;
  while (arrived_ != slots_.size() && !any_failed_) cv_.wait(lock.native());
  want_ = want_none;
  for (const auto& s : slots_)
    if (s && s->error) return s->error;
  return nullptr;
}

void chunk_gatherer::deliver(std::size_t index, task_reply&& o) {
  std::vector<task_reply> all;
  std::exception_ptr error;
  {
    const checked_lock lock(m_);
    if (finished_) return;
    if (o.error) {
      finished_ = true;
      error = o.error;
    } else {
      slots_[index] = std::move(o);
      finished_ = ++arrived_ == slots_.size();
      if (finished_) all.swap(slots_);
    }
  }
  // Outside the lock: the callbacks are the user's.
  if (error) {
    on_failure_(error);
  } else if (!all.empty()) {
    on_all_(std::move(all));
  }
}

}  // namespace concur::mp::detail
