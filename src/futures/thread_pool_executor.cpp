#include <algorithm>
#include <atomic>
#include <climits>
#include <concur/core/checked_mutex.hpp>
#include <concur/futures/thread_pool_executor.hpp>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace concur {
namespace detail {

// The shared part of a thread_pool_executor. Workers hold it by shared_ptr so that a pool
// whose last owner goes away on one of its own workers stays alive until that worker ends.
//
// Work distribution: one queue per worker; submitters spread tasks over the queues round
// robin, a worker takes from its own queue first and steals from the others when it is
// empty. Each queue is a segmented FIFO under its own mutex, so the main thread feeding two
// workers contends with one worker at a time instead of all of them. (Measured: a spin lock
// instead of std::mutex made no difference we could see on this 2-core machine, and
// spinning on a lock whose holder was preempted is worse on an overloaded one.)
//
// Sleeping: a worker with nothing to do searches (polls) for a while, then publishes that it
// sleeps (its `sleeping` futex word and the `idle_` count), re-checks the queues and sleeps.
// A submitter wakes a sleeper only when no worker is searching, so a stream of work that
// the workers keep up with costs no syscalls (see search()). Both sides write and then check with
// seq_cst operations (queue size, idle count, sleeping word), so at least one of them sees the
// other: no lost wake-up. (Not fences: TSan does not model them.)
//
// Shutdown: `gate_` holds the shutdown/broken/cancel bits and the number of submits in
// flight. A submit counts itself in before checking the bits and out after pushing; workers
// exit only when shutdown is set, no submit is in flight and the queues are empty, so no
// task can be pushed after the last worker looked.
class thread_pool_core {
 public:
  thread_pool_core(std::size_t workers, std::function<void()> initializer)
      : queues_(workers), initializer_(std::move(initializer)) {}

  thread_pool_core(const thread_pool_core&) = delete;
  thread_pool_core& operator=(const thread_pool_core&) = delete;

  ~thread_pool_core() {
    // Only reached once every worker ended, so the queues are empty; cancel anything left
    // over all the same rather than leak it.
    drain(nullptr);
  }

  void start(const std::shared_ptr<thread_pool_core>& self) {
    try {
      const checked_lock lock(join_mutex_);
      threads_.reserve(queues_.size());
      for (std::size_t i = 0; i < queues_.size(); ++i)
        threads_.emplace_back([self, i] { self->worker_main(i); });
    } catch (...) {
      shutdown(true);
      join_all(false);
      throw;
    }
  }

  void enter() {
    const std::uint64_t g = gate_.fetch_add(in_flight_unit, std::memory_order_acquire);
    if (g & (shutdown_bit | broken_bit)) {
      leave_without_push();
      if (g & broken_bit) throw broken_executor_error(broken_message_);
      throw executor_shutdown_error("submit: cannot schedule new work after shutdown()");
    }
  }

  void leave_without_push() noexcept {
    const std::uint64_t g = gate_.fetch_sub(in_flight_unit);
    if ((g & shutdown_bit) && (g >> in_flight_shift) == 1) wake_all();
  }

  void push_and_leave(executor_task* task) {
    const std::size_t n = queues_.size();
    std::size_t index = 0;
    if (n > 1) {
      index = next_queue_.load(std::memory_order_relaxed);
      next_queue_.store(index + 1 == n ? 0 : index + 1, std::memory_order_relaxed);
    }
    try {
      queues_[index].push(task);
    } catch (...) {
      leave_without_push();
      task->abandon(std::current_exception());
      throw;
    }
    const std::uint64_t g = gate_.fetch_sub(in_flight_unit);
    if (g & (broken_bit | cancel_bit)) {
      // Raced with the pool breaking or cancelling: the drain may have missed this task.
      drain(g & broken_bit ? broken_error() : nullptr);
    }
    if ((g & shutdown_bit) && (g >> in_flight_shift) == 1) {
      wake_all();
      return;
    }
    if (searching_.load() == 0 && idle_.load() != 0) wake_one(index);
  }

  void shutdown(bool cancel_futures) {
    gate_.fetch_or(shutdown_bit | (cancel_futures ? cancel_bit : 0));
    if (cancel_futures) drain(nullptr);
    wake_all();
  }

  // Joins every worker but the calling one. Returns false if the caller is a worker (it is
  // detached when `detach_self`, so the shared state outlives it).
  bool join_all(bool detach_self) {
    const checked_lock lock(join_mutex_);
    bool self_found = false;
    for (auto& t : threads_) {
      if (!t.joinable()) continue;
      if (t.get_id() == std::this_thread::get_id()) {
        self_found = true;
        if (detach_self) t.detach();
        continue;
      }
      t.join();
    }
    return !self_found;
  }

  bool is_worker_thread() const {
    const checked_lock lock(join_mutex_);
    for (const auto& t : threads_)
      if (t.joinable() && t.get_id() == std::this_thread::get_id()) return true;
    return false;
  }

 private:
  static constexpr std::uint64_t shutdown_bit = 1;
  static constexpr std::uint64_t broken_bit = 2;
  static constexpr std::uint64_t cancel_bit = 4;
  static constexpr unsigned in_flight_shift = 3;
  static constexpr std::uint64_t in_flight_unit = std::uint64_t{1} << in_flight_shift;
  // Rounds an idle worker polls the queues before it sleeps: busy, then yielding.
  static constexpr int pause_spins = 64;
  static constexpr int yield_spins = 64;

  // A FIFO of task pointers in a chain of fixed-size segments. A segment stays under 1 KiB:
  // glibc's malloc consolidates its fast bins (and then hands the freed task blocks back to
  // the kernel, so the next tasks page-fault) on every request of 1 KiB or more. A few
  // spares are kept so a queue that fills and empties does not allocate at all.
  class segment_fifo {
   public:
    segment_fifo() : head_(std::make_unique<segment>()), tail_(head_.get()) {}

    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }

    void push(executor_task* task) {
      if (tail_pos_ == segment_slots) {
        std::unique_ptr<segment> fresh;
        if (spare_) {
          fresh = std::move(spare_);
          spare_ = std::move(fresh->next);
          --spares_;
        } else {
          fresh = std::make_unique<segment>();
        }
        tail_->next = std::move(fresh);
        tail_ = tail_->next.get();
        tail_pos_ = 0;
      }
      tail_->slots[tail_pos_++] = task;
      ++count_;
    }

    executor_task* pop() noexcept {
      if (count_ == 0) return nullptr;
      executor_task* task = head_->slots[head_pos_++];
      --count_;
      if (head_pos_ == segment_slots) {
        std::unique_ptr<segment> used = std::exchange(head_, std::move(head_->next));
        if (!head_) {  // it was the only segment
          head_ = std::move(used);
          tail_ = head_.get();
          tail_pos_ = 0;
        } else if (spares_ < max_spares) {
          used->next = std::move(spare_);
          spare_ = std::move(used);
          ++spares_;
        }
        head_pos_ = 0;
      } else if (count_ == 0) {
        head_pos_ = tail_pos_ = 0;  // both in the same segment: start over
      }
      return task;
    }

   private:
    static constexpr std::size_t segment_slots = 123;  // 1000 bytes with the link
    static constexpr std::size_t max_spares = 1024;    // up to ~1 MiB kept per queue
    struct segment {
      executor_task* slots[segment_slots];
      std::unique_ptr<segment> next;
    };
    std::unique_ptr<segment> head_;
    segment* tail_;
    std::size_t head_pos_ = 0;
    std::size_t tail_pos_ = 0;
    std::size_t count_ = 0;
    std::unique_ptr<segment> spare_;  // a stack of unused segments
    std::size_t spares_ = 0;
  };

  struct alignas(64) worker_queue {
    checked_mutex mutex;
    segment_fifo fifo CONCUR_GUARDED_BY(mutex);
    // Lets empty queues be skipped without taking their lock.
    std::atomic<std::size_t> approx_size{0};
    // 1 while this queue's worker sleeps; a waker swaps it to 0 and futex-wakes it.
    std::atomic<std::uint32_t> sleeping{0};

    void push(executor_task* task) {
      const checked_lock lock(mutex);
      fifo.push(task);
      approx_size.store(fifo.size());
    }
    executor_task* pop() {
      if (approx_size.load() == 0) return nullptr;
      const checked_lock lock(mutex);
      executor_task* task = fifo.pop();
      approx_size.store(fifo.size());
      return task;
    }
    std::vector<executor_task*> take_all() {
      std::vector<executor_task*> out;
      const checked_lock lock(mutex);
      out.reserve(fifo.size());
      while (executor_task* t = fifo.pop()) out.push_back(t);
      approx_size.store(0);
      return out;
    }
  };

  executor_task* find_work(std::size_t me) {
    if (executor_task* t = queues_[me].pop()) return t;
    const std::size_t n = queues_.size();
    for (std::size_t k = 1; k < n; ++k) {
      std::size_t i = me + k;
      if (i >= n) i -= n;
      if (executor_task* t = queues_[i].pop()) return t;
    }
    return nullptr;
  }

  bool all_empty() const {
    return std::all_of(queues_.begin(), queues_.end(),
                       [](const worker_queue& q) { return q.approx_size.load() == 0; });
  }

  bool exit_allowed() const {
    const std::uint64_t g = gate_.load();
    if (!(g & shutdown_bit) || (g >> in_flight_shift) != 0) return false;
    return all_empty();
  }

  void worker_main(std::size_t me) {
    if (initializer_) {
      try {
        initializer_();
      } catch (...) {
        break_pool(std::current_exception());
        return;
      }
    }
    for (;;) {
      executor_task* task = find_work(me);
      if (task == nullptr) task = search(me);
      if (task == nullptr) return;
      task->run();
    }
  }

  // The slow path of a worker whose queues ran dry: poll (first with pause, then yielding
  // the CPU to the submitter), then sleep until woken. Returns nullptr when the worker must
  // exit. While here the worker counts as `searching_`; a submitter only wakes a sleeper
  // when nobody searches, and a searcher that finds work while more is queued passes the
  // baton by waking one sleeper (the scheme Go's scheduler uses), so queued work is never
  // left behind a worker that got stuck in a long task.
  executor_task* search(std::size_t me) {
    worker_queue& own = queues_[me];
    searching_.fetch_add(1);
    for (;;) {
      for (int i = 0; i < pause_spins + yield_spins; ++i) {
        if (executor_task* t = find_work(me)) {
          stop_searching(me);
          return t;
        }
        if (i < pause_spins)
          cpu_relax();
        else
          std::this_thread::yield();
      }
      idle_.fetch_add(1);
      own.sleeping.store(1);
      searching_.fetch_sub(1);
      executor_task* task = find_work(me);
      if (task == nullptr && exit_allowed()) {
        own.sleeping.store(0);
        idle_.fetch_sub(1);
        return nullptr;
      }
      if (task == nullptr) {
        while (own.sleeping.load() == 1) futex_wait(own.sleeping, 1);
      } else {
        own.sleeping.store(0);
      }
      idle_.fetch_sub(1);
      if (task != nullptr) {
        if (searching_.load() == 0) pass_baton(me);
        return task;
      }
      searching_.fetch_add(1);
    }
  }

  void stop_searching(std::size_t me) {
    if (searching_.fetch_sub(1) == 1) pass_baton(me);
  }
  void pass_baton(std::size_t me) {
    if (idle_.load() != 0 && !all_empty()) wake_one(me + 1 == queues_.size() ? 0 : me + 1);
  }

  void wake_one(std::size_t preferred) noexcept {
    const std::size_t n = queues_.size();
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t i = preferred + k;
      if (i >= n) i -= n;
      auto& word = queues_[i].sleeping;
      std::uint32_t one = 1;
      if (word.load() == 1 && word.compare_exchange_strong(one, 0)) {
        futex_wake(word, 1);
        return;
      }
    }
  }

  void wake_all() noexcept {
    for (auto& q : queues_) {
      q.sleeping.store(0);
      futex_wake(q.sleeping, 1);
    }
  }

  std::exception_ptr broken_error() const {
    return std::make_exception_ptr(broken_executor_error(broken_message_));
  }

  void break_pool(const std::exception_ptr& cause) {
    bool expected = false;
    if (!broken_claimed_.compare_exchange_strong(expected, true)) return;
    std::string what = "not a std::exception";
    try {
      std::rethrow_exception(cause);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    broken_message_ =
        "a thread initializer failed, the thread pool is not usable anymore (" + what + ")";
    gate_.fetch_or(broken_bit);
    drain(broken_error());
  }

  // Takes every queued task off the queues and cancels it (error == null) or fails it.
  void drain(const std::exception_ptr& error) noexcept {
    for (auto& q : queues_) {
      std::vector<executor_task*> tasks;
      try {
        tasks = q.take_all();
      } catch (...) {
        // Out of memory for the list: fall back to taking them one at a time.
        while (executor_task* t = q.pop()) t->abandon(error);
        continue;
      }
      for (executor_task* t : tasks) t->abandon(error);
    }
  }

  std::vector<worker_queue> queues_;
  std::vector<std::thread> threads_ CONCUR_GUARDED_BY(join_mutex_);
  std::function<void()> initializer_;
  alignas(64) std::atomic<std::uint64_t> gate_{0};
  std::atomic<std::size_t> next_queue_{0};
  alignas(64) std::atomic<std::uint32_t> idle_{0};
  std::atomic<std::uint32_t> searching_{0};
  mutable checked_mutex join_mutex_;
  std::atomic<bool> broken_claimed_{false};
  std::string broken_message_;
};

}  // namespace detail

std::size_t thread_pool_executor::default_max_workers() noexcept {
  const std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
  return std::min<std::size_t>(32, cpus + 4);
}

thread_pool_executor::thread_pool_executor(std::size_t max_workers,
                                           std::function<void()> initializer)
    : max_workers_(max_workers) {
  if (max_workers == 0)
    throw value_error("thread_pool_executor: max_workers must be greater than 0");
  core_ = std::make_shared<detail::thread_pool_core>(max_workers, std::move(initializer));
  core_->start(core_);
}

thread_pool_executor::~thread_pool_executor() {
  core_->shutdown(false);
  core_->join_all(true);
}

void thread_pool_executor::shutdown(bool wait, bool cancel_futures) {
  if (wait && core_->is_worker_thread())
    throw invalid_state_error(
        "thread_pool_executor::shutdown(wait=true) called from one of the pool's own "
        "workers, which would wait for itself; use shutdown(false)");
  core_->shutdown(cancel_futures);
  if (wait) core_->join_all(false);
}

void thread_pool_executor::enter() { core_->enter(); }
void thread_pool_executor::push_and_leave(detail::executor_task* task) {
  core_->push_and_leave(task);
}
void thread_pool_executor::leave_without_push() noexcept { core_->leave_without_push(); }

}  // namespace concur
