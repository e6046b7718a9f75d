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

// asyncio.Queue's machinery over a storage policy. Items are handed straight to a waiting
// getter, and a waiting putter's item goes straight into the freed slot, so a woken task
// never finds its item taken by a newcomer and cancellation never loses an item.
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
    add(std::move(item));
  }
  // Throws queue_empty, or queue_shut_down once shut down and drained.
  T get_nowait() {
    if (empty()) {
      if (shutdown_) throw queue_shut_down();
      throw queue_empty();
    }
    return take();
  }

  struct put_node : parked {
    std::optional<T> item;
    bool shut = false;
  };
  struct put_awaiter {
    basic_queue* q;
    put_node w{};
    bool await_ready() {
      if (q->shutdown_) throw queue_shut_down();
      if (q->full()) return false;
      q->add(std::move(*w.item));
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, q->putters_); }
    void await_resume() const {
      w.raise_if_cancelled();
      if (w.shut) throw queue_shut_down();
    }
  };
  // Waits while the queue is full.
  put_awaiter put(T item) {
    put_awaiter a{this};
    a.w.item.emplace(std::move(item));
    return a;
  }

  struct get_node : parked {
    std::optional<T> item;
  };
  struct get_awaiter {
    basic_queue* q;
    get_node w{};
    bool await_ready() {
      if (!q->empty()) {
        w.item.emplace(q->take());
        return true;
      }
      return q->shutdown_;
    }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, q->getters_); }
    T await_resume() {
      w.raise_if_cancelled();
      if (!w.item) throw queue_shut_down();
      return std::move(*w.item);
    }
  };
  // Waits while the queue is empty.
  get_awaiter get() noexcept { return get_awaiter{this}; }

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
        if (unfinished_ > 0 && --unfinished_ == 0) finished_.set();
      }
    }
    while (waiter* w = getters_.pop_front()) w->task->wake();  // their item stays empty
    while (waiter* w = putters_.pop_front()) {
      static_cast<put_node*>(w)->shut = true;
      w->task->wake();
    }
  }
  bool is_shut_down() const noexcept { return shutdown_; }

 private:
  void add(T item) {
    ++unfinished_;
    finished_.clear();
    if (waiter* g = getters_.pop_front()) {
      static_cast<get_node*>(g)->item.emplace(std::move(item));
      g->task->wake();
    } else {
      store_.push(std::move(item));
    }
  }
  T take() {
    T v = store_.pop();
    if (waiter* p = putters_.pop_front()) {
      auto* n = static_cast<put_node*>(p);
      store_.push(std::move(*n->item));
      ++unfinished_;
      p->task->wake();
    }
    return v;
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
