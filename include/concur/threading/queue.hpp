#pragma once
// Python's queue module: Queue, LifoQueue, PriorityQueue and SimpleQueue.
//
// One implementation, basic_queue<Storage>, holds all the locking, blocking, task accounting
// and shutdown logic; the Storage policy only decides the order in which items come out.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <concur/core/checked_mutex.hpp>
#include <concur/threading/detail/deadline.hpp>
#include <concur/threading/errors.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace concur {

// What basic_queue needs from a container: add an item, take the next one out, count them,
// and hand over everything at once (for shutdown(immediate = true)).
template <class S>
concept queue_storage = requires(S s, const S cs, typename S::value_type v) {
  typename S::value_type;
  s.push(std::move(v));
  { s.pop() } -> std::same_as<typename S::value_type>;
  { cs.size() } -> std::convertible_to<std::size_t>;
  s.take_all();
};

// First in, first out (queue.Queue).
template <class T>
class fifo_storage {
 public:
  using value_type = T;

  template <class... A>
  void push(A&&... args) {
    items_.emplace_back(std::forward<A>(args)...);
  }
  T pop() {
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  std::size_t size() const noexcept { return items_.size(); }
  std::deque<T> take_all() {
    std::deque<T> all;
    all.swap(items_);
    return all;
  }

 private:
  std::deque<T> items_;
};

// Last in, first out (queue.LifoQueue).
template <class T>
class lifo_storage {
 public:
  using value_type = T;

  template <class... A>
  void push(A&&... args) {
    items_.emplace_back(std::forward<A>(args)...);
  }
  T pop() {
    T item = std::move(items_.back());
    items_.pop_back();
    return item;
  }
  std::size_t size() const noexcept { return items_.size(); }
  std::vector<T> take_all() {
    std::vector<T> all;
    all.swap(items_);
    return all;
  }

 private:
  std::vector<T> items_;
};

// Smallest first according to Compare (queue.PriorityQueue, which is a min-heap). Note that
// this is the opposite of std::priority_queue, where std::less puts the largest on top.
// Compare must not throw: a throwing comparison could leave the heap out of order.
template <class T, class Compare = std::less<T>>
class priority_storage {
 public:
  using value_type = T;

  priority_storage() = default;
  explicit priority_storage(Compare compare) : compare_(std::move(compare)) {}

  template <class... A>
  void push(A&&... args) {
    items_.emplace_back(std::forward<A>(args)...);
    std::push_heap(items_.begin(), items_.end(), inverted());
  }
  T pop() {
    std::pop_heap(items_.begin(), items_.end(), inverted());
    T item = std::move(items_.back());
    items_.pop_back();
    return item;
  }
  std::size_t size() const noexcept { return items_.size(); }
  std::vector<T> take_all() {
    std::vector<T> all;
    all.swap(items_);
    return all;
  }

 private:
  // The std heap algorithms keep the largest on top; inverting the order keeps the smallest.
  auto inverted() {
    return [this](const T& a, const T& b) { return compare_(b, a); };
  }

  std::vector<T> items_;
  [[no_unique_address]] Compare compare_{};
};

// A thread-safe queue with Python's queue.Queue semantics:
// - maxsize 0 means unbounded; otherwise put() blocks while qsize() == maxsize.
// - Every put() counts an unfinished task; task_done() finishes one; join() waits for none.
// - shutdown() like Python 3.13: put() then throws queue_shut_down_error; get() drains what is
//   left and throws once the queue is empty; shutdown(true) also discards the remaining items.
// Blocking calls have a timeout form; the *_nowait forms throw queue_full_error /
// queue_empty_error, and the try_* forms report the same outcome as false / std::nullopt.
// An item given to a put that fails (full, timed out, shut down) is not moved from.
// The queue must outlive every call made on it; destroy it only when no thread uses it.
template <class Storage>
class basic_queue {
 public:
  using value_type = typename Storage::value_type;
  using storage_type = Storage;

  explicit basic_queue(std::size_t maxsize = 0, Storage storage = Storage())
      : storage_(std::move(storage)), maxsize_(maxsize) {
    // Checked here rather than on the class so that an item type may mention its own queue
    // while still incomplete (e.g. a task that holds a pointer to the queue it came from).
    static_assert(queue_storage<Storage>);
  }

  basic_queue(const basic_queue&) = delete;
  basic_queue& operator=(const basic_queue&) = delete;

  // Blocks while the queue is full. Throws queue_shut_down_error after shutdown().
  template <class U = value_type>
  requires std::constructible_from<value_type, U&&>
  void put(U&& item) { put_impl(std::forward<U>(item), wait_mode::forever, {}); }

  // Throws queue_full_error if no slot frees up within timeout.
  template <class U = value_type, class Rep, class Period>
  requires std::constructible_from<value_type, U&&>
  void put(U&& item, std::chrono::duration<Rep, Period> timeout) {
    if (!put_impl(std::forward<U>(item), wait_mode::until, detail::wait_deadline(timeout))) {
      throw queue_full_error("queue is still full after the put timeout");
    }
  }

  template <class U = value_type>
  requires std::constructible_from<value_type, U&&>
  void put_nowait(U&& item) {
    if (!put_impl(std::forward<U>(item), wait_mode::no_wait, {})) {
      throw queue_full_error();
    }
  }

  // false instead of queue_full_error; still throws queue_shut_down_error.
  template <class U = value_type>
  requires std::constructible_from<value_type, U&&>
  [[nodiscard]] bool try_put(U&& item) {
    return put_impl(std::forward<U>(item), wait_mode::no_wait, {});
  }

  template <class U = value_type, class Rep, class Period>
  requires std::constructible_from<value_type, U&&>
  [[nodiscard]] bool try_put(U&& item, std::chrono::duration<Rep, Period> timeout) {
    return put_impl(std::forward<U>(item), wait_mode::until, detail::wait_deadline(timeout));
  }

  // Blocks while the queue is empty. Throws queue_shut_down_error once it is shut down and empty.
  value_type get() { return *get_impl(wait_mode::forever, {}); }

  // Throws queue_empty_error if nothing arrives within timeout.
  template <class Rep, class Period>
  value_type get(std::chrono::duration<Rep, Period> timeout) {
    auto item = get_impl(wait_mode::until, detail::wait_deadline(timeout));
    if (!item) {
      throw queue_empty_error("queue is still empty after the get timeout");
    }
    return std::move(*item);
  }

  value_type get_nowait() {
    auto item = get_impl(wait_mode::no_wait, {});
    if (!item) {
      throw queue_empty_error();
    }
    return std::move(*item);
  }

  // std::nullopt instead of queue_empty_error; still throws queue_shut_down_error.
  [[nodiscard]] std::optional<value_type> try_get() { return get_impl(wait_mode::no_wait, {}); }

  template <class Rep, class Period>
  [[nodiscard]] std::optional<value_type> try_get(std::chrono::duration<Rep, Period> timeout) {
    return get_impl(wait_mode::until, detail::wait_deadline(timeout));
  }

  // Throws task_done_error when called more often than items were put.
  void task_done() {
    const checked_lock lock(mutex_);
    if (unfinished_ == 0) {
      throw task_done_error();
    }
    if (--unfinished_ == 0) {
      all_tasks_done_.notify_all();
    }
  }

  // Waits until every item put has been matched by a task_done().
  void join() {
    checked_lock lock(mutex_);
    wait_ready(all_tasks_done_, lock, wait_mode::forever, {}, &basic_queue::all_done);
  }

  // false if tasks are still unfinished when the timeout expires.
  template <class Rep, class Period>
  [[nodiscard]] bool join(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = detail::wait_deadline(timeout);
    checked_lock lock(mutex_);
    return wait_ready(all_tasks_done_, lock, wait_mode::until, deadline, &basic_queue::all_done);
  }

  // Like Python's: a snapshot that may be stale by the time the caller looks at it.
  std::size_t qsize() const {
    const checked_lock lock(mutex_);
    return storage_.size();
  }
  bool empty() const { return qsize() == 0; }
  bool full() const {
    const checked_lock lock(mutex_);
    return maxsize_ > 0 && storage_.size() >= maxsize_;
  }
  std::size_t maxsize() const noexcept { return maxsize_; }
  std::size_t unfinished_tasks() const {
    const checked_lock lock(mutex_);
    return unfinished_;
  }

  // Python 3.13's Queue.shutdown. Wakes every blocked put() (they throw) and get() (they take
  // what is left, then throw). With immediate, the remaining items are discarded and count as
  // done, so join() returns once the items already taken are task_done() too. Idempotent.
  void shutdown(bool immediate = false) {
    decltype(std::declval<Storage&>().take_all()) discarded;
    {
      const checked_lock lock(mutex_);
      shut_down_ = true;
      not_empty_.notify_all();
      not_full_.notify_all();
      if (immediate) {
        discarded = storage_.take_all();
        unfinished_ -= std::min(unfinished_, discarded.size());
        all_tasks_done_.notify_all();
      }
    }
    // discarded items are destroyed here, outside the lock, in case their destructors are slow
    // or touch this queue.
  }

  bool is_shut_down() const {
    const checked_lock lock(mutex_);
    return shut_down_;
  }

 private:
  enum class wait_mode { no_wait, forever, until };

  // false: full (no_wait) or timed out (until).
  template <class U>
  bool put_impl(U&& item, wait_mode mode, concur::clock::time_point deadline) {
    checked_lock lock(mutex_);
    if (shut_down_) {
      throw queue_shut_down_error("put() on a shut-down queue");
    }
    if (maxsize_ > 0 && storage_.size() >= maxsize_) {
      if (mode == wait_mode::no_wait) {
        return false;
      }
      yield_before_blocking(lock.native(), &basic_queue::has_room_or_shut);
      const waiting counted(putters_waiting_);
      if (!wait_ready(not_full_, lock, mode, deadline, &basic_queue::has_room_or_shut)) {
        return false;
      }
      if (shut_down_) {
        throw queue_shut_down_error("queue shut down while put() waited for room");
      }
    }
    storage_.push(std::forward<U>(item));
    ++unfinished_;
    const bool wake = getters_waiting_ > 0;
    lock.unlock();
    if (wake) {
      not_empty_.notify_one();
    }
    return true;
  }

  // std::nullopt: empty (no_wait) or timed out (until).
  std::optional<value_type> get_impl(wait_mode mode, concur::clock::time_point deadline) {
    checked_lock lock(mutex_);
    if (storage_.size() == 0) {
      if (shut_down_) {
        throw queue_shut_down_error("get() on a shut-down, empty queue");
      }
      if (mode == wait_mode::no_wait) {
        return std::nullopt;
      }
      yield_before_blocking(lock.native(), &basic_queue::has_item_or_shut);
      const waiting counted(getters_waiting_);
      if (!wait_ready(not_empty_, lock, mode, deadline, &basic_queue::has_item_or_shut)) {
        return std::nullopt;
      }
      if (storage_.size() == 0) {
        throw queue_shut_down_error("queue shut down while get() waited for an item");
      }
    }
    std::optional<value_type> item(storage_.pop());
    const bool wake = putters_waiting_ > 0;
    lock.unlock();
    if (wake) {
      not_full_.notify_one();
    }
    return item;
  }

  // With more threads than cores, the thread that would fill or drain the queue often only
  // needs the CPU for a moment: yielding a few times first avoids most futex sleeps and
  // wake-ups (bench_queue, 4 producers + 4 consumers, maxsize 64, 2 cores: 0.35M -> 3.5M
  // items/s). The caller re-checks the condition under the lock afterwards either way.
  using condition = bool (basic_queue::*)() const;

  bool has_room_or_shut() const CONCUR_REQUIRES(mutex_) {
    return shut_down_ || storage_.size() < maxsize_;
  }
  bool has_item_or_shut() const CONCUR_REQUIRES(mutex_) {
    return shut_down_ || storage_.size() > 0;
  }
  bool all_done() const CONCUR_REQUIRES(mutex_) { return unfinished_ == 0; }

  // Takes the std::unique_lock under the checked_lock: the analysis cannot follow a scoped
  // lock passed by reference, and the mutex is held again whenever a guarded member is read.
  void yield_before_blocking(std::unique_lock<std::mutex>& lock, condition ready)
      CONCUR_REQUIRES(mutex_) {
    for (int i = 0; i < 4 && !(this->*ready)(); ++i) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
  }

  // Waits on cv until ready holds (forever, or until the deadline); false if it timed out.
  bool wait_ready(std::condition_variable& cv, checked_lock& lock, wait_mode mode,
                  concur::clock::time_point deadline, condition ready) CONCUR_REQUIRES(mutex_) {
    while (!(this->*ready)()) {
      if (mode == wait_mode::forever) {
        cv.wait(lock.native());
      } else if (cv.wait_until(lock.native(), deadline) == std::cv_status::timeout) {
        return (this->*ready)();
      }
    }
    return true;
  }

  // Counts the threads blocked on a condition (changed only under the lock), so that the
  // other side signals only when someone waits: a busy queue then makes no futex calls.
  class waiting {
   public:
    explicit waiting(std::size_t& count) : count_(count) { ++count_; }
    ~waiting() { --count_; }
    waiting(const waiting&) = delete;
    waiting& operator=(const waiting&) = delete;

   private:
    std::size_t& count_;
  };

  mutable checked_mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::condition_variable all_tasks_done_;
  Storage storage_ CONCUR_GUARDED_BY(mutex_);
  const std::size_t maxsize_;
  std::size_t unfinished_ CONCUR_GUARDED_BY(mutex_) = 0;
  std::size_t getters_waiting_ CONCUR_GUARDED_BY(mutex_) = 0;
  std::size_t putters_waiting_ CONCUR_GUARDED_BY(mutex_) = 0;
  bool shut_down_ CONCUR_GUARDED_BY(mutex_) = false;
};

template <class T>
using queue = basic_queue<fifo_storage<T>>;

template <class T>
using lifo_queue = basic_queue<lifo_storage<T>>;

// Smallest item first, like Python (use std::greater<T> for largest first).
template <class T, class Compare = std::less<T>>
using priority_queue = basic_queue<priority_storage<T, Compare>>;

// queue.SimpleQueue: unbounded FIFO without task tracking or shutdown.
template <class T>
class simple_queue {
 public:
  using value_type = T;

  template <class U = T>
  requires std::constructible_from<T, U&&>
  void put(U&& item) { impl_.put(std::forward<U>(item)); }
  template <class U = T>
  requires std::constructible_from<T, U&&>
  void put_nowait(U&& item) { impl_.put(std::forward<U>(item)); }

  T get() { return impl_.get(); }
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    return impl_.get(timeout);
  }
  T get_nowait() { return impl_.get_nowait(); }
  [[nodiscard]] std::optional<T> try_get() { return impl_.try_get(); }
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> try_get(std::chrono::duration<Rep, Period> timeout) {
    return impl_.try_get(timeout);
  }

  std::size_t qsize() const { return impl_.qsize(); }
  bool empty() const { return impl_.empty(); }

 private:
  queue<T> impl_;
};

}  // namespace concur
