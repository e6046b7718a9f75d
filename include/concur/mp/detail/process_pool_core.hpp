#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "concur/core/checked_mutex.hpp"
#include "concur/core/clock.hpp"
#include "concur/mp/detail/call.hpp"
#include "concur/mp/detail/wire.hpp"

struct pollfd;

namespace concur::mp::detail {

// What came back for one task: the encoded result, or the error that replaced it.
struct task_reply {
  std::string reply;  // the worker's whole reply: a status byte, then the encoded result
  std::exception_ptr error;

  // The result without copying the reply (a map chunk can be megabytes).
  std::string_view bytes() const noexcept {
    return reply.empty() ? std::string_view{} : std::string_view(reply).substr(1);
  }
};

// A worker's reply as the program receives it: the result, or the exception it raised as
// mp::remote_error (run_call writes the other side).
task_reply reply_from_frame(std::string&& frame);

struct pool_task {
  task_head head{};
  std::string payload;
  // Called just before the task goes to a worker; false means it was cancelled meanwhile.
  std::function<bool()> on_start;
  // Called exactly once, on the pool's manager thread, with the result or the error.
  std::function<void(task_reply&&)> on_done;
  // Called instead of on_done when cancel_pending() drops the task, if set.
  std::function<void()> on_cancel;
  // on_start has run: a task put back in the queue (its worker died before reaching it) is
  // not started twice.
  bool started = false;
};

struct pool_config {
  std::size_t processes = 0;
  std::size_t max_tasks_per_child = 0;
  std::chrono::milliseconds task_timeout{0};
  prepared_call initializer;
};

// The process-owning half of mp::pool: one manager thread polls every worker's channel and
// pidfd, hands out tasks, collects results, and replaces workers that die or time out.
class process_pool_core {
 public:
  explicit process_pool_core(pool_config cfg);
  process_pool_core(const process_pool_core&) = delete;
  process_pool_core& operator=(const process_pool_core&) = delete;
  ~process_pool_core();  // NOLINT(bugprone-exception-escape): see its definition

  void submit(std::vector<pool_task> tasks);
  void close();
  void join();
  void terminate();
  // Cancels every task not yet handed to a worker (on_cancel, else cancelled_error).
  void cancel_pending();
  bool closed() const;
  std::size_t size() const noexcept { return cfg_.processes; }
  // The current workers' pids (they change as workers are replaced).
  std::vector<int> pids() const;

 private:
  struct worker;
  // What one turn of the manager does, decided under the lock.
  struct turn_plan {
    std::vector<std::pair<worker*, pool_task>> assigned;
    std::deque<pool_task> to_fail;
    std::exception_ptr why;
    bool terminating = false;
    bool finished = false;
  };
  void run() noexcept;
  void manage();
  turn_plan plan_turn();
  void assign_pending(std::vector<std::pair<worker*, pool_task>>& assigned) CONCUR_REQUIRES(m_);
  bool dispatch(std::vector<std::pair<worker*, pool_task>>& assigned);
  int poll_timeout_ms(bool requeued) const;
  bool wait_for_events(std::vector<pollfd>& fds, bool requeued);
  void handle_events(const std::vector<pollfd>& fds);
  void handle_worker(worker& w, short channel_events, short exit_events, concur::time_point now);
  void start_worker(worker& w);
  void on_frame(worker& w, std::string frame);
  void on_exit(worker& w, bool timed_out);
  void retire(worker& w);
  bool can_take(const worker& w, std::size_t depth) const noexcept;
  void fail_all(worker& w, const std::exception_ptr& why);
  void shut_down_workers(bool kill);
  void wake() noexcept;

  pool_config cfg_;
  unique_fd wake_fd_;
  std::vector<std::unique_ptr<worker>> workers_;  // touched by the manager thread only

  mutable checked_mutex m_;
  std::deque<pool_task> pending_ CONCUR_GUARDED_BY(m_);
  std::vector<int> pids_ CONCUR_GUARDED_BY(m_);
  std::exception_ptr broken_ CONCUR_GUARDED_BY(m_);
  bool closed_ CONCUR_GUARDED_BY(m_) = false;
  bool terminating_ CONCUR_GUARDED_BY(m_) = false;
  checked_mutex join_m_;
  std::thread manager_ CONCUR_GUARDED_BY(join_m_);
};

// Results of many chunks arriving in any order, read in order (map, imap) or in completion
// order (imap_unordered). One reader at a time (the map call or the imap iterator).
class chunk_collector {
 public:
  explicit chunk_collector(std::size_t chunks) : chunks_(chunks), slots_(chunks) {}
  void deliver(std::size_t index, task_reply&& o);
  // Blocks until chunk `index` is in; moves it out.
  task_reply take(std::size_t index);
  // Blocks until some not yet taken chunk is in; moves it out.
  task_reply take_next_completed();
  // Blocks until every chunk is in or one failed: the failure first in order among those in,
  // or null when all succeeded (then take() never blocks). One wake-up instead of one a chunk.
  std::exception_ptr wait_all_or_failure();
  std::size_t size() const noexcept { return chunks_; }
  // How many items the chunks hold together (known to map, so its result is sized once).
  void set_items(std::size_t n) noexcept { items_ = n; }
  std::size_t items() const noexcept { return items_; }

 private:
  // What the blocked reader waits for: a chunk index, or one of these.
  static constexpr std::size_t want_none = static_cast<std::size_t>(-1);
  static constexpr std::size_t want_any = want_none - 1;
  static constexpr std::size_t want_all = want_none - 2;

  const std::size_t chunks_;
  checked_mutex m_;
  std::condition_variable cv_;
  std::vector<std::optional<task_reply>> slots_ CONCUR_GUARDED_BY(m_);
  std::deque<std::size_t> completed_ CONCUR_GUARDED_BY(m_);
  std::size_t arrived_ CONCUR_GUARDED_BY(m_) = 0;
  bool any_failed_ CONCUR_GUARDED_BY(m_) = false;
  std::size_t want_ CONCUR_GUARDED_BY(m_) = want_none;
  std::size_t items_ = 0;
};

// The chunks of one map_async, as Python's MapResult: the first failure is handed over as it
// arrives (later chunks are then dropped); otherwise every chunk, in order, once the last is in.
// Called on the manager thread, or on the thread that cancels pending work.
class chunk_gatherer {
 public:
  using all_in = std::function<void(std::vector<task_reply>&&)>;
  using failed = std::function<void(const std::exception_ptr&)>;
  chunk_gatherer(std::size_t chunks, all_in on_all, failed on_failure)
      : slots_(chunks), on_all_(std::move(on_all)), on_failure_(std::move(on_failure)) {}
  void deliver(std::size_t index, task_reply&& o);

 private:
  checked_mutex m_;
  std::vector<task_reply> slots_ CONCUR_GUARDED_BY(m_);
  std::size_t arrived_ CONCUR_GUARDED_BY(m_) = 0;
  bool finished_ CONCUR_GUARDED_BY(m_) = false;
  all_in on_all_;
  failed on_failure_;
};

}  // namespace concur::mp::detail
