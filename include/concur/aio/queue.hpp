#pragma once
#include <algorithm>
#include <concur/aio/sync.hpp>
#include <deque>
#include <functional>
#include <vector>

namespace concur::aio {

namespace detail {

template <class T>
struct fifo_store {
  std::deque<T> items;
  void push(T v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.front());
    items.pop_front();
    return v;
  }
};
template <class T>
struct lifo_store {
  std::vector<T> items;
  void push(T v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};
template <class T, class Compare>
struct heap_store {
  std::vector<T> items;
  Compare comp;
  // Compare orders like std::priority_queue; we invert it so the smallest comes out first,
  // as Python's heapq-based PriorityQueue does.
  bool after(const T& a, const T& b) const { return comp(b, a); }
  void push(T v) {
    items.push_back(std::move(v));
    std::push_heap(items.begin(), items.end(),
                   [this](const T& a, const T& b) { return after(a, b); });
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(),
                  [this](const T& a, const T& b) { return after(a, b); });
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

// asyncio.Queue (Lib/asyncio/queues.py, 3.13) over a storage policy. put_nowait wakes the
// first getter, which takes an item when it runs (qsize() counts the item until then, as in
// asyncio); a getter woken for an item it can no longer take (cancelled before it ran) wakes
// the next one, so an item is never left behind with a getter blocked. Putters likewise.
template <class T, class Store>
class basic_queue {
 public:
  // The join() event starts set: nothing is unfinished yet.
  explicit basic_queue(std::size_t maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
  basic_queue(const basic_queue&) = delete;
  basic_queue& operator=(const basic_queue&) = delete;

  std::size_t qsize() const noexcept { return store_.items.size(); }
  std::size_t maxsize() const noexcept { return maxsize_; }
  bool empty() const noexcept { return store_.items.empty(); }
  bool full() const noexcept { return maxsize_ > 0 && store_.items.size() >= maxsize_; }

  // Throws queue_full or queue_shut_down.
  void put_nowait(T item) {
    if (shutdown_) throw queue_shut_down();
    if (full()) throw queue_full();
    store_.push(std::move(item));
    ++unfinished_;
    finished_.clear();
    wakeup_next(getters_);
  }
  // Throws queue_empty, or queue_shut_down once shut down and drained.
  T get_nowait() {
    if (empty()) {
      if (shutdown_) throw queue_shut_down();
      throw queue_empty();
    }
    T item = store_.pop();
    wakeup_next(putters_);
    return item;
  }

  // Waits while the queue is full; queue_shut_down once shut down.
  task<void> put(T item) {
    while (full()) {
      if (shutdown_) throw queue_shut_down();
      list_awaiter w(putters_, "queue put (full)");
      try {
        co_await w;
      } catch (const cancelled_error&) {
        // Woken for a free slot we will not use: pass it on.
        if (!full() && w.was_done()) wakeup_next(putters_);
        throw;
      }
    }
    put_nowait(std::move(item));
  }
  // Waits while the queue is empty; queue_shut_down once shut down and drained.
  task<T> get() {
    while (empty()) {
      if (shutdown_) throw queue_shut_down();
      list_awaiter w(getters_, "queue get (empty)");
      try {
        co_await w;
      } catch (const cancelled_error&) {
        // Woken for an item we will not take: pass it on.
        if (!empty() && w.was_done()) wakeup_next(getters_);
        throw;
      }
    }
    co_return get_nowait();
  }

  // Throws value_error when called more often than items were put.
  void task_done() {
    if (unfinished_ == 0) throw value_error("task_done() called too many times");
    if (--unfinished_ == 0) finished_.set();
  }
  // Waits until every item put has been marked task_done().
  event::wait_awaiter join() noexcept { return finished_.wait(); }

  // Python 3.13 Queue.shutdown: put raises queue_shut_down from now on; get raises once the
  // queue is empty; immediate=true also drops the items left (counting them as done).
  void shutdown(bool immediate = false) {
    shutdown_ = true;
    if (immediate) {
      while (!empty()) {
        store_.pop();
        if (unfinished_ > 0) --unfinished_;
      }
      if (unfinished_ == 0) finished_.set();
    }
    // Every waiter re-checks and raises queue_shut_down where it must.
    while (listed_node* g = getters_.pop_front()) g->set_done();
    while (listed_node* p = putters_.pop_front()) p->set_done();
  }
  bool is_shut_down() const noexcept { return shutdown_; }

 private:
  // Wakes the first waiter that is not cancelled; asyncio drops the cancelled ones on the way.
  static void wakeup_next(waiter_list& waiters) noexcept {
    while (listed_node* n = waiters.pop_front()) {
      if (n->set_done()) break;
    }
  }

  Store store_;
  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  waiter_list getters_;
  waiter_list putters_;
  event finished_;
  bool shutdown_ = false;
};

}  // namespace detail

// asyncio.Queue (FIFO); maxsize 0 means unbounded.
template <class T>
using queue = detail::basic_queue<T, detail::fifo_store<T>>;
// asyncio.LifoQueue.
template <class T>
using lifo_queue = detail::basic_queue<T, detail::lifo_store<T>>;
// asyncio.PriorityQueue: the smallest item (by Compare, default <) comes out first.
template <class T, class Compare = std::less<T>>
using priority_queue = detail::basic_queue<T, detail::heap_store<T, Compare>>;

}  // namespace concur::aio
