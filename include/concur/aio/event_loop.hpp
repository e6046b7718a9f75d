#pragma once
#include <atomic>
#include <chrono>
#include <concepts>
#include <concur/aio/errors.hpp>
#include <concur/aio/intrusive_list.hpp>
#include <concur/core/checked_mutex.hpp>
#include <concur/core/clock.hpp>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace concur {
class thread_pool_executor;
}

namespace concur::aio {

// aio counts on the one clock of concur (core/clock.hpp); aio::clock names it.
using concur::clock;

class event_loop;
namespace detail {
class signal_router;
}  // namespace detail
template <class T = void>
class task;
template <class T = void>
class task_handle;
class fd_watch;

namespace detail {

// One unit of work in the ready queue: two words, so scheduling never allocates.
struct ready_item {
  void (*run)(void*);
  void* arg;
};

// Ring buffer of ready items (asyncio's `_ready` deque); grows by doubling, never shrinks.
class ready_queue {
 public:
  ready_queue() = default;
  ready_queue(const ready_queue&) = delete;
  ready_queue& operator=(const ready_queue&) = delete;

  bool empty() const noexcept { return head_ == tail_; }
  std::size_t size() const noexcept { return tail_ - head_; }
  void push(ready_item item) {
    if (tail_ - head_ == capacity_) grow();
    buf_[tail_++ & (capacity_ - 1)] = item;
  }
  ready_item pop() noexcept { return buf_[head_++ & (capacity_ - 1)]; }

 private:
  void grow();
  std::unique_ptr<ready_item[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

// Anything the timer heap can hold. The node lives in its owner (a sleeping coroutine's frame
// or a callback handle) and knows its own heap slot, so removal on cancel is O(log n) and
// nothing is allocated per sleep.
struct timer_node {
  static constexpr std::uint32_t npos = static_cast<std::uint32_t>(-1);
  void (*fire)(timer_node*) = nullptr;  // moves the work to the ready queue when due
  std::uint32_t heap_index = npos;      // (derived awaiters keep small flags in the padding)
  bool scheduled() const noexcept { return heap_index != npos; }
};

class timer_heap {
 public:
  struct entry {
    std::int64_t when;  // steady_clock nanoseconds
    std::uint64_t seq;  // FIFO among equal deadlines, like asyncio
    timer_node* node;
  };
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  const entry& top() const noexcept { return heap_.front(); }
  // When a scheduled node is due (steady_clock nanoseconds).
  std::int64_t when(const timer_node* node) const noexcept { return heap_[node->heap_index].when; }
  void push(timer_node* node, std::int64_t when);
  void remove(timer_node* node) noexcept;
  timer_node* pop() noexcept;
  // Forgets every node (they become unscheduled); returns the nodes so owners can be released.
  std::vector<timer_node*> detach_all() noexcept;

 private:
  static bool less(const entry& a, const entry& b) noexcept {
    return a.when < b.when || (a.when == b.when && a.seq < b.seq);
  }
  void place(std::size_t i, const entry& e) noexcept {
    heap_[i] = e;
    e.node->heap_index = static_cast<std::uint32_t>(i);
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  std::vector<entry> heap_;
  std::uint64_t seq_ = 0;
};

// A callback scheduled with call_soon / call_later / add_reader (asyncio.Handle): reference
// counted because both the loop and the user's `handle` may hold it; only the loop's thread
// touches the count.
class callback_node : public timer_node {
 public:
  callback_node() noexcept = default;
  callback_node(const callback_node&) = delete;
  callback_node& operator=(const callback_node&) = delete;
  virtual ~callback_node() = default;
  virtual void invoke() = 0;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;  // the one owner of this intrusive count
  }

  bool cancelled = false;
  std::int64_t when = 0;
  event_loop* loop = nullptr;

 private:
  std::uint32_t refs_ = 1;
};

template <class F>
class callback_impl final : public callback_node {
 public:
  explicit callback_impl(F f) : f_(std::move(f)) {}
  void invoke() override { f_(); }

 private:
  F f_;
};

template <class F>
callback_node* make_callback(F&& f) {
  // Released by callback_node::release when the last of loop/handle lets go.
  return std::make_unique<callback_impl<std::decay_t<F>>>(std::forward<F>(f)).release();
}

// The loop's only cross-thread door (call_soon_threadsafe, bridges): a mutex-guarded list and
// an eventfd. Shared, so a thread that finishes work after the loop is gone finds it closed
// instead of touching freed memory.
class loop_inbox {
 public:
  explicit loop_inbox(int wake_fd) noexcept : wake_fd_(wake_fd) {}
  loop_inbox(const loop_inbox&) = delete;
  loop_inbox& operator=(const loop_inbox&) = delete;
  // Queues `node` and wakes the loop. False once the loop is closed (the node is released).
  bool post(callback_node* node) noexcept;
  // Interrupts epoll_wait (stop() from another thread).
  void wake() noexcept;
  bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }
  std::vector<callback_node*> take();
  // No more posts; returns what was queued.
  std::vector<callback_node*> close() noexcept;

 private:
  checked_mutex mutex_;
  std::vector<callback_node*> queue_ CONCUR_GUARDED_BY(mutex_);
  std::atomic<bool> pending_{false};
  bool closed_ CONCUR_GUARDED_BY(mutex_) = false;
  int wake_fd_;
};

// Posts f to the loop behind `inbox` from any thread; false when that loop is closed.
template <class F>
bool post_to(loop_inbox& inbox, F&& f) {
  return inbox.post(make_callback(std::forward<F>(f)));
}

class task_base;
class wait_node;

}  // namespace detail

// asyncio.Handle / asyncio.TimerHandle: lets a scheduled callback be cancelled. Copyable; only
// for use on the loop's own thread.
class handle {
 public:
  handle() = default;
  explicit handle(detail::callback_node* node) noexcept : node_(node) {
    if (node_ != nullptr) node_->add_ref();
  }
  handle(const handle& o) noexcept : handle(o.node_) {}
  handle(handle&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
  handle& operator=(handle o) noexcept {
    std::swap(node_, o.node_);
    return *this;
  }
  ~handle() {
    if (node_ != nullptr) node_->release();
  }
  // Stops the callback from running; harmless when it already ran or was cancelled.
  void cancel() noexcept;
  bool cancelled() const noexcept { return node_ != nullptr && node_->cancelled; }
  // TimerHandle.when(): the scheduled time (epoch of aio::clock); 0 for call_soon handles.
  clock::time_point when() const noexcept {
    return clock::time_point(clock::duration(node_ != nullptr ? node_->when : 0));
  }
  bool valid() const noexcept { return node_ != nullptr; }

 private:
  detail::callback_node* node_ = nullptr;
};

// What the loop's exception handler receives (asyncio's `context` dict).
struct exception_context {
  std::string message;
  std::exception_ptr exception;  // may be null (e.g. a slow-callback report)
  std::string task_name;         // empty when no task is involved
};

// asyncio's event loop: one per thread, epoll for readiness, a timer heap, a ring of ready
// callbacks and an eventfd so other threads can wake it. Everything except
// call_soon_threadsafe (and stop() through it) must be called on the loop's thread.
class event_loop;
event_loop* running_loop_or_null() noexcept;

class event_loop {
 public:
  using duration = clock::duration;
  using time_point = clock::time_point;
  using exception_handler = std::function<void(event_loop&, const exception_context&)>;

  event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  // Cancels nothing and waits for nothing: tasks still pending are destroyed (their frames
  // unwound, RAII runs); use aio::run for orderly cancellation.
  ~event_loop();

  // loop.time(): seconds on the loop's clock (monotonic; virtual when virtual time is on).
  double time() const noexcept {
    return std::chrono::duration<double>(now().time_since_epoch()).count();
  }
  // The loop's clock as a time point: every sleep, timeout and deadline of aio counts on it.
  time_point now() const noexcept {
    return virtual_time_ ? time_point(duration(virtual_now_)) : clock::now();
  }
  // now() + d, saturating at time_point::max() (a "never" such as duration::max() must not
  // overflow into the past).
  time_point deadline_in(duration d) const noexcept { return deadline_from(now(), d); }

  // Virtual time (asyncio has none; like Trio's MockClock and Tokio's paused time): from now
  // on the loop's clock stands still while anything can run and, whenever the loop would
  // otherwise wait for its next timer, jumps straight to it. A test of a 30 s timeout then
  // takes microseconds and cannot flake. The clock does not jump while a task awaits work in
  // another thread (to_thread, run_in_executor, a concur::future): the loop waits for that
  // work in real time. Ready I/O is always taken first; with `autojump_threshold` above zero
  // the loop also waits that long in real time for I/O (a peer in another thread or process)
  // before it jumps. Call before the loop runs, or from its own thread.
  void use_virtual_time(duration autojump_threshold = duration::zero()) noexcept {
    if (!virtual_time_) virtual_now_ = clock::now().time_since_epoch().count();
    virtual_time_ = true;
    autojump_ms_ = threshold_ms(autojump_threshold);
  }
  bool uses_virtual_time() const noexcept { return virtual_time_; }
  // Moves virtual time forward by `d` (the timers that fall due run on the next iteration);
  // invalid_state_error when virtual time is off.
  void advance_time(duration d);

  template <class F>
  handle call_soon(F&& f) {
    check_open();
    check_thread();
    auto* node = detail::make_callback(std::forward<F>(f));
    node->loop = this;
    handle h(node);                           // user's reference
    ready_.push({&run_callback_item, node});  // the queue keeps the initial one
    return h;
  }
  template <class Rep, class Period, class F>
  handle call_later(std::chrono::duration<Rep, Period> delay, F&& f) {
    return call_at(now() + std::chrono::duration_cast<duration>(delay), std::forward<F>(f));
  }
  template <class F>
  handle call_later(double seconds, F&& f) {
    return call_later(std::chrono::duration<double>(seconds), std::forward<F>(f));
  }
  template <class F>
  handle call_at(time_point when, F&& f) {
    check_open();
    check_thread();
    auto* node = detail::make_callback(std::forward<F>(f));
    node->loop = this;
    node->fire = &fire_callback_timer;
    node->when = when.time_since_epoch().count();
    handle h(node);
    add_timer(node, when);  // the heap keeps the initial reference
    return h;
  }
  // The only thread-safe entry point: queues `f` and wakes the loop. Throws
  // invalid_state_error once the loop is closed.
  template <class F>
  void call_soon_threadsafe(F&& f) {
    if (!inbox_->post(detail::make_callback(std::forward<F>(f)))) {
      throw invalid_state_error("Event loop is closed");
    }
  }
  // For bridges that may outlive the loop (see detail::post_to).
  const std::shared_ptr<detail::loop_inbox>& inbox() const noexcept { return inbox_; }

  template <class T>
  T run_until_complete(task<T> t);
  // Runs the loop until `h` is done, leaving its result in it (aio::run takes it from there).
  template <class T>
  void run_until_done(const task_handle<T>& h);
  template <class T>
  T run_until_complete(task_handle<T> h);
  // Cancels every task still pending and runs the loop until they are all done (asyncio.run's
  // _cancel_all_tasks); failures other than cancellation go to the exception handler.
  void cancel_all_and_wait() noexcept;
  // Runs until stop(); stop() lets the current iteration finish, like asyncio.
  void run_forever();
  // Thread-safe (goes through the eventfd when called from another thread).
  void stop();
  bool is_running() const noexcept { return running_; }
  bool is_closed() const noexcept { return closed_; }
  // Closes the loop; pending tasks are dropped as in the destructor. Not while running.
  void close();

  // loop.add_reader / add_writer: level-triggered; `cb` runs on every iteration while the fd
  // is ready, until removed. A new callback replaces the previous one for that fd.
  template <class F>
  void add_reader(int fd, F&& cb) {
    check_open();
    set_fd_callback(fd, false, detail::make_callback(std::forward<F>(cb)));
  }
  template <class F>
  void add_writer(int fd, F&& cb) {
    check_open();
    set_fd_callback(fd, true, detail::make_callback(std::forward<F>(cb)));
  }
  // True when a callback was registered.
  bool remove_reader(int fd) { return clear_fd_callback(fd, false); }
  bool remove_writer(int fd) { return clear_fd_callback(fd, true); }

  // A loop-scoped service of a higher layer (net's DNS resolver): made on first use as
  // T(event_loop&), kept until the loop closes, destroyed then before anything else the loop
  // owns (while its epoll set and callbacks still work). Loop thread only.
  template <class T>
  T& service() {
    const std::type_info& key = typeid(T);
    for (auto& s : services_) {
      if (*s.first == key) return *static_cast<T*>(s.second.get());
    }
    check_open();
    auto made = std::make_shared<T>(*this);
    T& ref = *made;
    services_.emplace_back(&key, std::move(made));
    return ref;
  }

  // loop.add_signal_handler(sig, callback): `cb` runs on the loop each time `sig` arrives,
  // until removed; a new callback replaces the old one. Call it from the thread that runs
  // the loop. Through a signalfd: the loop's thread blocks `sig`, and a handler in every other
  // thread passes the signal on to it, so the signal reaches the loop whichever thread the
  // kernel picks. value_error for a number that is not a signal, or SIGKILL / SIGSTOP (Python:
  // ValueError / RuntimeError). One loop per signal in a process: the last one to add it gets
  // it. Removing the handler, or closing the loop, restores what was there before.
  template <class F>
  void add_signal_handler(int sig, F&& cb) {
    check_open();
    add_signal_callback(sig, std::function<void()>(std::forward<F>(cb)));
  }
  // True when a handler was registered.
  bool remove_signal_handler(int sig);

  template <class T>
  task_handle<T> create_task(task<T> t, std::string name = {});
  // How many tasks created on this loop are not done yet (aio::all_tasks() lists them).
  std::size_t pending_task_count() const noexcept { return pending_tasks_; }
  // Every task of this loop that is not done, as a tree like Python 3.14's
  // `python -m asyncio pstree`: a task that nobody awaits is a root, under it the tasks it
  // awaits, and each line gives the task's name, id, state and what it waits for ("sleep,
  // 1.50 s left", "queue get (empty)", "read from 127.0.0.1:8080"). Loop thread only (a
  // signal handler or a call_soon_threadsafe callback may call it: see http::server).
  void dump_tasks(std::ostream& os) const;

  // The executor behind aio::to_thread (asyncio's default executor), created on first use.
  thread_pool_executor& default_executor();
  // Waits for the default executor's running work and stops it (asyncio.run does this).
  void shutdown_default_executor() noexcept;

  void set_exception_handler(exception_handler h) { handler_ = std::move(h); }
  // Resets to the default (prints to stderr).
  void reset_exception_handler() { handler_ = nullptr; }
  void call_exception_handler(const exception_context& ctx) noexcept;
  static void default_exception_handler(const exception_context& ctx) noexcept;

  // Debug mode: a step or callback that holds the loop longer than slow_callback_duration
  // (100 ms by default) is reported through the exception handler with the task's name.
  void set_debug(bool on) noexcept { debug_ = on; }
  bool get_debug() const noexcept { return debug_; }
  void set_slow_callback_duration(duration d) noexcept { slow_callback_ = d; }
  duration slow_callback_duration() const noexcept { return slow_callback_; }

  // --- for awaitables and the rest of the module ---
  void push_ready(detail::ready_item item) { ready_.push(item); }
  void add_timer(detail::timer_node* node, time_point when) {
    timers_.push(node, when.time_since_epoch().count());
  }
  void remove_timer(detail::timer_node* node) noexcept {
    if (node->scheduled()) timers_.remove(node);
  }
  // One-shot readiness wait for aio::readable / aio::writable: `node` is completed when the
  // fd is ready. Throws invalid_state_error if the fd already has a reader (writer).
  void wait_fd(int fd, bool write, detail::wait_node* node);
  void cancel_wait_fd(int fd, bool write) noexcept;
  std::size_t timer_count() const noexcept { return timers_.size(); }
  // When a node scheduled with add_timer is due; nullopt when it is not scheduled.
  std::optional<time_point> timer_deadline(const detail::timer_node* node) const noexcept {
    if (!node->scheduled()) return std::nullopt;
    return time_point(duration(timers_.when(node)));
  }
  // The tasks not done yet, newest first (aio::all_tasks, dump_tasks).
  std::vector<detail::task_base*> pending_task_list() const;
  // Runs `l` (a task's done_listener) on the next iteration, with every other listener
  // deferred meanwhile: one ready item a batch, as asyncio's call_soon'd done callbacks.
  void defer_listener(detail::list_hook* l);
  // A task starts (ends) waiting for work done in another thread: while any such wait is
  // outstanding, virtual time does not jump (see use_virtual_time).
  void begin_external_wait() noexcept { ++external_waits_; }
  void end_external_wait() noexcept { --external_waits_; }
  std::uint32_t next_task_id() noexcept { return ++task_ids_; }

 private:
  friend class detail::task_base;
  friend class fd_watch;

  struct fd_slot {
    detail::callback_node* cb = nullptr;  // add_reader/add_writer callback
    detail::wait_node* node = nullptr;    // or one task awaiting readable/writable
  };
  struct fd_entry {
    fd_slot read;
    fd_slot write;
    std::uint32_t mask = 0;  // events currently registered with epoll
    bool watched = false;    // registered for good by an fd_watch
  };
  // What epoll hands back: an fd_watch (a pointer, low bit 0) or an entry of the fd table
  // (fd << 1 | 1), so a watch's edge reaches it without a table lookup.
  static std::uint64_t table_key(int fd) noexcept {
    return (static_cast<std::uint64_t>(fd) << 1) | 1u;
  }
  void add_watch(int fd, fd_watch* w);
  void add_signal_callback(int sig, std::function<void()> cb);
  void remove_watch(int fd) noexcept;

  static void run_callback_item(void* node) noexcept;
  static void fire_callback_timer(detail::timer_node* node) noexcept;
  void check_open() const;
  // Debug mode only (like asyncio): non-thread-safe calls from a thread other than the one
  // running the loop raise invalid_state_error instead of racing.
  void check_thread() const {
    if (debug_ && running_ && running_loop_or_null() != this) throw_wrong_thread();
  }
  [[noreturn]] static void throw_wrong_thread();
  void drain_threadsafe();
  void run_once();
  void run_last_iteration();
  static void run_deferred_listeners(void* loop) noexcept;
  int poll_timeout_ms() const noexcept;
  bool jump_virtual_time() noexcept;
  void fire_due_timers() noexcept;
  void run_ready() noexcept;
  static int threshold_ms(duration d) noexcept;
  void poll(int timeout_ms);
  void dispatch_fd(int fd, std::uint32_t events);
  void set_fd_callback(int fd, bool write, detail::callback_node* node);
  bool clear_fd_callback(int fd, bool write);
  fd_entry& entry_for(int fd);
  void update_fd(int fd, fd_entry& e);
  void register_task(detail::task_base* t) noexcept;
  void unregister_task(detail::task_base* t) noexcept;
  void run_step(detail::ready_item item) noexcept;
  void teardown() noexcept;
  void enter_running();
  void leave_running() noexcept;

  detail::ready_queue ready_;
  detail::timer_heap timers_;
  std::vector<fd_entry> fds_;
  std::size_t fds_registered_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  std::shared_ptr<detail::loop_inbox> inbox_;
  std::unique_ptr<detail::signal_router> signals_;
  std::vector<std::pair<const std::type_info*, std::shared_ptr<void>>> services_;
  std::unique_ptr<thread_pool_executor> default_executor_;
  std::atomic<bool> stopping_{false};

  detail::task_base* all_tasks_ = nullptr;
  detail::hook_list deferred_listeners_;
  bool deferred_scheduled_ = false;
  std::size_t pending_tasks_ = 0;
  std::uint32_t task_ids_ = 0;
  exception_handler handler_;
  duration slow_callback_ = std::chrono::milliseconds(100);
  std::int64_t virtual_now_ = 0;  // the virtual clock, aio::clock nanoseconds
  std::size_t external_waits_ = 0;
  int autojump_ms_ = 0;
  bool virtual_time_ = false;
  bool debug_ = false;
  bool running_ = false;
  bool closed_ = false;
};

// asyncio.get_running_loop(): the loop running on this thread; throws invalid_state_error
// ("no running event loop") otherwise.
event_loop& get_running_loop();
// Null when no loop runs on this thread (asyncio._get_running_loop).
event_loop* running_loop_or_null() noexcept;

}  // namespace concur::aio
