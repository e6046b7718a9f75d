#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <concur/aio/io.hpp>
#include <concur/aio/sleep.hpp>
#include <concur/aio/task.hpp>
#include <concur/futures/thread_pool_executor.hpp>
#include <cstdio>
#include <typeinfo>

#include "signal_router.hpp"

namespace concur::aio {

namespace {

event_loop*& running_loop_slot() noexcept {
  thread_local event_loop* loop = nullptr;
  return loop;
}

}  // namespace

namespace detail {

// ---------------------------------------------------------------- ready queue / timer heap

void ready_queue::grow() {
  std::size_t cap = capacity_ == 0 ? 256 : capacity_ * 2;
  auto buf = std::make_unique<ready_item[]>(cap);
  std::size_t n = size();
  for (std::size_t i = 0; i < n; ++i) buf[i] = buf_[(head_ + i) & (capacity_ - 1)];
  buf_ = std::move(buf);
  capacity_ = cap;
  head_ = 0;
  tail_ = n;
}

void timer_heap::push(timer_node* node, std::int64_t when) {
  heap_.push_back({when, seq_++, node});
  node->heap_index = static_cast<std::uint32_t>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
}

// A 4-ary heap: half the depth of a binary one, and the four children share cache lines,
// which matters because every level moved also rewrites that node's heap_index.
void timer_heap::sift_up(std::size_t i) noexcept {
  entry e = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 4;
    if (!less(e, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void timer_heap::sift_down(std::size_t i) noexcept {
  entry e = heap_[i];
  std::size_t n = heap_.size();
  for (;;) {
    std::size_t first = 4 * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    std::size_t last = first + 4 < n ? first + 4 : n;
    for (std::size_t c = first + 1; c < last; ++c) {
      if (less(heap_[c], heap_[best])) best = c;
    }
    if (!less(heap_[best], e)) break;
    place(i, heap_[best]);
    i = best;
  }
  place(i, e);
}

void timer_heap::remove(timer_node* node) noexcept {
  std::size_t i = node->heap_index;
  node->heap_index = timer_node::npos;
  std::size_t last = heap_.size() - 1;
  if (i != last) {
    place(i, heap_[last]);
    heap_.pop_back();
    if (i > 0 && less(heap_[i], heap_[(i - 1) / 4])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  } else {
    heap_.pop_back();
  }
}

timer_node* timer_heap::pop() noexcept {
  timer_node* node = heap_.front().node;
  remove(node);
  return node;
}

std::vector<timer_node*> timer_heap::detach_all() noexcept {
  std::vector<timer_node*> nodes;
  nodes.reserve(heap_.size());
  for (auto& e : heap_) {
    e.node->heap_index = timer_node::npos;
    nodes.push_back(e.node);
  }
  heap_.clear();
  return nodes;
}

// ---------------------------------------------------------------- tasks

void throw_nan_delay() { throw value_error("Invalid delay: NaN (not a number)"); }

task_base*& current_task_slot() noexcept {
  thread_local task_base* task = nullptr;
  return task;
}

task_base& running_task() {
  task_base* t = current_task_slot();
  if (t == nullptr) {
    throw invalid_state_error(
        "aio: this awaitable must be awaited inside a task (aio::run, create_task)");
  }
  return *t;
}

task_base::~task_base() = default;

void task_base::schedule() noexcept {
  if (loop_ != nullptr) loop_->ready_.push({&task_base::step, this});
}

void task_base::step(void* self) noexcept {
  auto* t = static_cast<task_base*>(self);
  if (!t->started_) {
    t->started_ = true;
    if (t->must_cancel_) {
      // Cancelled before its first step: asyncio never enters the coroutine body either.
      t->must_cancel_ = false;
      t->exception_ = std::make_exception_ptr(cancelled_error());
      t->complete_root();
      t->release();
      return;
    }
  }
  if (wait_node* n = std::exchange(t->parked_on_, nullptr)) {
    t->parked_ops_ = nullptr;
    // Cancelled after the node was done, before this step: the await raises anyway.
    if (t->must_cancel_) {
      t->must_cancel_ = false;
      n->late_cancel_ = true;
    }
  }
  task_base*& current = current_task_slot();
  current = t;
  std::exchange(t->continuation_, {}).resume();
  current = nullptr;
  if (t->done_) t->release();  // the loop's reference, held while the task was pending
}

bool task_base::cancel() {
  if (done_) {
    retrieved_ = true;  // asyncio's cancel() clears _log_traceback first
    return false;
  }
  if (cancel_requests_ < UINT16_MAX) ++cancel_requests_;
  if (parked_on_ != nullptr && parked_on_->pending()) {
    // Tasks that await one another in a cycle bring the cancellation back here: this time the
    // task's own wait is cancelled instead of passing it on again (Python recurses until
    // RecursionError).
    const bool forward = !forwarding_cancel_;
    forwarding_cancel_ = true;
    const bool taken = parked_on_->cancel(parked_ops_, forward);
    forwarding_cancel_ = !forward;  // still set while an outer call of this cycle runs
    if (taken) return true;
  }
  must_cancel_ = true;
  return true;
}

int task_base::uncancel() noexcept {
  if (cancel_requests_ > 0) --cancel_requests_;
  if (cancel_requests_ == 0) must_cancel_ = false;  // Python 3.13 semantics
  return cancel_requests_;
}

std::string task_base::name() const {
  if (extra_ && !extra_->name.empty()) return extra_->name;
  return "Task-" + std::to_string(id_);
}

void task_base::set_name(std::string name) {
  if (!extra_) extra_ = std::make_unique<task_extra>();
  extra_->name = std::move(name);
}

void task_base::add_done_callback(std::function<void(task_base*)> f) {
  if (!extra_) extra_ = std::make_unique<task_extra>();
  extra_->callbacks.push_back(std::move(f));
  if (done_ && loop_ != nullptr) {
    add_ref();
    loop_->ready_.push({&run_done_callbacks_item, this});
  }
}

void task_base::run_done_callbacks() noexcept {
  if (!extra_) return;
  auto callbacks = std::move(extra_->callbacks);
  extra_->callbacks.clear();
  for (auto& cb : callbacks) {
    try {
      cb(this);
    } catch (...) {
      exception_context ctx{"Exception in task done callback", std::current_exception(), name()};
      if (loop_ != nullptr) {
        loop_->call_exception_handler(ctx);
      } else {
        event_loop::default_exception_handler(ctx);
      }
    }
  }
}

void task_base::run_done_callbacks_item(void* self) noexcept {
  auto* t = static_cast<task_base*>(self);
  t->run_done_callbacks();
  t->release();
}

void task_base::attach(event_loop* loop, std::coroutine_handle<> self) {
  loop_ = loop;
  self_ = self;
  continuation_ = self;
  root_ = true;
  refs_ = 1;
  id_ = loop->next_task_id();
  loop->register_task(this);
  loop->ready_.push({&task_base::step, this});
}

void task_base::complete_root() noexcept {
  done_ = true;
  parked_on_ = nullptr;
  parked_ops_ = nullptr;
  if (must_cancel_ && !exception_) {
    // Cancelled while it ran, and it returned without parking again: asyncio drops the result.
    exception_ = std::make_exception_ptr(cancelled_error());
  }
  must_cancel_ = false;
  if (exception_) {
    try {
      std::rethrow_exception(exception_);
    } catch (const cancelled_error&) {
      cancelled_ = true;
    } catch (...) {
    }
  }
  if (loop_ != nullptr) --loop_->pending_tasks_;
  while (done_listener* l = done_listeners_.pop_front()) {
    if (!l->deferred) {
      l->notify(*l);
    } else if (loop_ != nullptr) {
      loop_->defer_listener(l);  // it unlinks itself from there if it goes away first
    }
  }
  if (extra_ && !extra_->callbacks.empty() && loop_ != nullptr) {
    add_ref();
    loop_->ready_.push({&run_done_callbacks_item, this});
  }
}

void task_base::teardown_mark() noexcept {
  done_ = true;
  cancelled_ = true;
  retrieved_ = true;
  must_cancel_ = false;
  parked_on_ = nullptr;
  parked_ops_ = nullptr;
  exception_ = std::make_exception_ptr(cancelled_error("event loop closed with the task pending"));
  while (done_listeners_.pop_front() != nullptr) {
  }
}

void task_base::release() noexcept {
  if (--refs_ != 0) return;
  if (done_ && exception_ && !cancelled_ && !retrieved_) {
    exception_context ctx{"Task exception was never retrieved", exception_, name()};
    if (loop_ != nullptr) {
      loop_->call_exception_handler(ctx);
    } else {
      event_loop::default_exception_handler(ctx);
    }
  }
  if (loop_ != nullptr) loop_->unregister_task(this);
  self_.destroy();
}

}  // namespace detail

// ---------------------------------------------------------------- any_task

std::exception_ptr any_task::exception() const {
  check_done();
  t_->mark_retrieved();
  if (t_->cancelled()) std::rethrow_exception(t_->exception_ptr());
  return t_->exception_ptr();
}

// ---------------------------------------------------------------- handle

void handle::cancel() noexcept {
  if (node_ == nullptr || node_->cancelled) return;
  node_->cancelled = true;
  if (node_->scheduled()) {
    node_->loop->remove_timer(node_);
    node_->release();  // the heap's reference
  }
}

// ---------------------------------------------------------------- event loop

event_loop& get_running_loop() {
  event_loop* loop = running_loop_slot();
  if (loop == nullptr) throw invalid_state_error("no running event loop");
  return *loop;
}

event_loop* running_loop_or_null() noexcept { return running_loop_slot(); }

event_loop::event_loop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_last_os_error("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int e = errno;
    ::close(epoll_fd_);
    throw_os_error(e, "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = table_key(wake_fd_);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
    int e = errno;
    ::close(wake_fd_);
    ::close(epoll_fd_);
    throw_os_error(e, "epoll_ctl(eventfd)");
  }
  inbox_ = std::make_shared<detail::loop_inbox>(wake_fd_);
}

thread_pool_executor& event_loop::default_executor() {
  check_open();
  if (!default_executor_) default_executor_ = std::make_unique<thread_pool_executor>();
  return *default_executor_;
}

void event_loop::shutdown_default_executor() noexcept {
  if (default_executor_) {
    try {
      default_executor_->shutdown(true);
    } catch (...) {
    }
  }
}

event_loop::~event_loop() {
  if (!closed_) {
    teardown();
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }
}

void event_loop::close() {
  if (running_) throw invalid_state_error("Cannot close a running event loop");
  if (closed_) return;
  teardown();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void event_loop::throw_wrong_thread() {
  throw invalid_state_error(
      "Non-thread-safe operation invoked on an event loop other than the current one "
      "(use call_soon_threadsafe)");
}

void event_loop::check_open() const {
  if (closed_) throw invalid_state_error("Event loop is closed");
}

void event_loop::register_task(detail::task_base* t) noexcept {
  t->all_next_ = all_tasks_;
  if (all_tasks_ != nullptr) all_tasks_->all_prev_ = t;
  all_tasks_ = t;
  ++pending_tasks_;
}

void event_loop::unregister_task(detail::task_base* t) noexcept {
  if (t->all_prev_ != nullptr) {
    t->all_prev_->all_next_ = t->all_next_;
  } else if (all_tasks_ == t) {
    all_tasks_ = t->all_next_;
  }
  if (t->all_next_ != nullptr) t->all_next_->all_prev_ = t->all_prev_;
  t->all_prev_ = t->all_next_ = nullptr;
}

void event_loop::teardown() noexcept {
  // Services first, newest first, while the epoll set, the callbacks and the tasks still work.
  while (!services_.empty()) services_.pop_back();
  signals_.reset();  // restores the signals' dispositions while the epoll set still exists
  closed_ = true;
  std::vector<detail::callback_node*> posted = inbox_->close();
  // Every task forgets the loop first, so destructors that run below (frames unwinding,
  // captured handles) cannot reach back into half-destroyed loop state.
  std::vector<detail::task_base*> tasks;
  std::vector<detail::task_base*> pending;
  for (auto* t = all_tasks_; t != nullptr; t = t->all_next_) tasks.push_back(t);
  for (auto* t : tasks) {
    t->add_ref();
    if (!t->done_) {
      t->teardown_mark();
      pending.push_back(t);
    }
    t->loop_ = nullptr;
    t->all_prev_ = t->all_next_ = nullptr;
  }
  all_tasks_ = nullptr;
  pending_tasks_ = 0;
  while (detail::list_hook* h = deferred_listeners_.front()) deferred_listeners_.remove(h);
  deferred_scheduled_ = false;

  std::vector<detail::task_base*> callback_refs;
  while (!ready_.empty()) {
    auto item = ready_.pop();
    if (item.run == &run_callback_item) {
      static_cast<detail::callback_node*>(item.arg)->release();
    } else if (item.run == &detail::task_base::run_done_callbacks_item) {
      callback_refs.push_back(static_cast<detail::task_base*>(item.arg));
    }
  }
  for (auto* node : timers_.detach_all()) {
    // Callback timers are owned by the heap (one reference); awaiter nodes live in frames.
    if (node->fire == &fire_callback_timer) static_cast<detail::callback_node*>(node)->release();
  }
  for (auto& e : fds_) {
    for (fd_slot* s : {&e.read, &e.write}) {
      if (s->cb != nullptr) {
        s->cb->cancelled = true;
        s->cb->release();
      }
      s->cb = nullptr;
      s->node = nullptr;
    }
  }
  fds_.clear();
  fds_registered_ = 0;
  for (auto* n : posted) n->release();
  for (auto* t : pending) t->release();
  for (auto* t : callback_refs) t->release();
  for (auto* t : tasks) t->release();
  // Work still running there may post results: the inbox is closed, so they are dropped.
  shutdown_default_executor();
  default_executor_.reset();
}

void event_loop::enter_running() {
  check_open();
  event_loop*& slot = running_loop_slot();
  if (slot != nullptr) {
    throw invalid_state_error("Cannot run the event loop while another loop is running");
  }
  slot = this;
  running_ = true;
}

void event_loop::leave_running() noexcept {
  running_loop_slot() = nullptr;
  running_ = false;
  stopping_.store(false, std::memory_order_relaxed);
}

void event_loop::run_forever() {
  enter_running();
  struct guard {
    event_loop* loop;
    ~guard() { loop->leave_running(); }
  } g{this};
  for (;;) {
    run_once();
    if (stopping_.load(std::memory_order_relaxed)) break;
  }
}

void event_loop::stop() {
  stopping_.store(true, std::memory_order_relaxed);
  // From another thread: interrupt epoll_wait.
  if (running_loop_slot() != this) inbox_->wake();
}

namespace detail {

bool loop_inbox::post(callback_node* node) noexcept {
  {
    const checked_lock lock(mutex_);
    if (!closed_) {
      try {
        queue_.push_back(node);
      } catch (...) {
        node->release();
        return false;
      }
      if (!pending_.exchange(true, std::memory_order_acq_rel)) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
      }
      return true;
    }
  }
  node->release();
  return false;
}

void loop_inbox::wake() noexcept {
  const checked_lock lock(mutex_);
  if (!closed_) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
}

std::vector<callback_node*> loop_inbox::take() {
  pending_.store(false, std::memory_order_release);
  std::vector<callback_node*> batch;
  const checked_lock lock(mutex_);
  batch.swap(queue_);
  return batch;
}

std::vector<callback_node*> loop_inbox::close() noexcept {
  const checked_lock lock(mutex_);
  closed_ = true;
  return std::move(queue_);
}

}  // namespace detail

void event_loop::drain_threadsafe() {
  for (auto* n : inbox_->take()) {
    n->loop = this;
    ready_.push({&run_callback_item, n});
  }
}

void event_loop::run_callback_item(void* p) noexcept {
  auto* n = static_cast<detail::callback_node*>(p);
  if (!n->cancelled) {
    try {
      n->invoke();
    } catch (...) {
      n->loop->call_exception_handler({"Exception in callback", std::current_exception(), {}});
    }
  }
  n->release();
}

void event_loop::fire_callback_timer(detail::timer_node* node) noexcept {
  auto* n = static_cast<detail::callback_node*>(node);
  // The heap's reference moves to the ready queue.
  n->loop->ready_.push({&run_callback_item, n});
}

void event_loop::run_once() {
  int timeout_ms = poll_timeout_ms();
  if (timeout_ms == 0 && fds_registered_ == 0) {
    // Nothing to poll for: skip the syscall, only look at the cross-thread queue.
    if (inbox_->pending()) drain_threadsafe();
  } else {
    poll(timeout_ms);
  }
  if (virtual_time_) jump_virtual_time();
  fire_due_timers();
  run_ready();
}

void event_loop::defer_listener(detail::list_hook* l) {
  deferred_listeners_.push_back(l);
  if (!deferred_scheduled_) {
    deferred_scheduled_ = true;
    ready_.push({&run_deferred_listeners, this});
  }
}

void event_loop::run_deferred_listeners(void* p) noexcept {
  auto* loop = static_cast<event_loop*>(p);
  loop->deferred_scheduled_ = false;
  // A notify only counts and schedules; nothing it does completes a task (that happens in a
  // step), so no listener joins this batch while it runs.
  while (detail::list_hook* h = loop->deferred_listeners_.front()) {
    loop->deferred_listeners_.remove(h);
    auto* l = static_cast<detail::done_listener*>(h);
    l->notify(*l);
  }
}

void event_loop::run_last_iteration() {
  bool was_stopping = stopping_.exchange(true, std::memory_order_relaxed);
  struct restore {
    std::atomic<bool>& flag;
    bool value;
    ~restore() { flag.store(value, std::memory_order_relaxed); }
  } r{stopping_, was_stopping};
  run_once();
}

int event_loop::poll_timeout_ms() const noexcept {
  if (!ready_.empty() || stopping_.load(std::memory_order_relaxed)) return 0;
  if (timers_.empty()) return -1;
  std::int64_t d = timers_.top().when - now().time_since_epoch().count();
  if (d <= 0) return 0;
  // Virtual time waits in real time only for other threads' work, or for the threshold.
  if (virtual_time_) return external_waits_ > 0 ? -1 : autojump_ms_;
  // Round up: waking early would only spin.
  std::int64_t ms = (d + 999'999) / 1'000'000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

bool event_loop::jump_virtual_time() noexcept {
  if (!ready_.empty() || timers_.empty() || external_waits_ > 0 ||
      stopping_.load(std::memory_order_relaxed)) {
    return false;
  }
  virtual_now_ = std::max(virtual_now_, timers_.top().when);
  return true;
}

void event_loop::advance_time(duration d) {
  if (!virtual_time_) throw invalid_state_error("advance_time: the loop is not on virtual time");
  if (d < duration::zero()) throw value_error("advance_time: the duration is negative");
  virtual_now_ += d.count();
}

int event_loop::threshold_ms(duration d) noexcept {
  if (d <= duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

void event_loop::fire_due_timers() noexcept {
  if (timers_.empty()) return;
  std::int64_t now_ns = now().time_since_epoch().count();
  while (!timers_.empty() && timers_.top().when <= now_ns) {
    detail::timer_node* node = timers_.pop();
    node->fire(node);
  }
}

void event_loop::run_ready() noexcept {
  // Only what is ready now runs in this iteration; work it schedules waits for the next one.
  std::size_t n = ready_.size();
  if (!debug_) {
    while (n-- > 0) {
      auto item = ready_.pop();
      item.run(item.arg);
    }
  } else {
    while (n-- > 0) run_step(ready_.pop());
  }
}

void event_loop::run_step(detail::ready_item item) noexcept {
  std::string what;
  try {
    if (item.run == &detail::task_base::step) {
      what = "<Task " + static_cast<detail::task_base*>(item.arg)->name() + ">";
    } else {
      what = "<callback>";
    }
  } catch (...) {
  }
  auto t0 = clock::now();
  item.run(item.arg);
  auto took = clock::now() - t0;
  if (took >= slow_callback_) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " took %.3f seconds",
                  std::chrono::duration<double>(took).count());
    try {
      call_exception_handler({"Executing " + what + buf, nullptr, what});
    } catch (...) {
    }
  }
}

void event_loop::poll(int timeout_ms) {
  epoll_event events[128];
  int n = ::epoll_wait(epoll_fd_, events, 128, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    throw_last_os_error("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    std::uint64_t key = events[i].data.u64;
    if ((key & 1u) == 0) {
      reinterpret_cast<fd_watch*>(static_cast<std::uintptr_t>(key))->on_events(events[i].events);
      continue;
    }
    int fd = static_cast<int>(key >> 1);
    if (fd == wake_fd_) {
      std::uint64_t count;
      [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
    } else {
      dispatch_fd(fd, events[i].events);
    }
  }
  if (inbox_->pending()) drain_threadsafe();
}

void event_loop::dispatch_fd(int fd, std::uint32_t events) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  fd_entry& e = fds_[static_cast<std::size_t>(fd)];
  bool changed = false;
  // Errors and hang-ups make both directions "ready" so the user's read/write sees them.
  bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0;
  bool writable = (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0;
  for (auto [ready, slot] : {std::pair{readable, &e.read}, std::pair{writable, &e.write}}) {
    if (!ready) continue;
    if (slot->cb != nullptr) {
      slot->cb->add_ref();
      ready_.push({&run_callback_item, slot->cb});
    } else if (slot->node != nullptr) {
      std::exchange(slot->node, nullptr)->set_done();
      changed = true;
    }
  }
  if (changed) {
    try {
      update_fd(fd, e);
    } catch (...) {
    }
  }
}

event_loop::fd_entry& event_loop::entry_for(int fd) {
  if (fd < 0) throw value_error("invalid file descriptor " + std::to_string(fd));
  auto i = static_cast<std::size_t>(fd);
  if (i >= fds_.size()) {
    // Grow only for a real descriptor: a wild number must not allocate a huge table.
    if (::fcntl(fd, F_GETFD) < 0) {
      throw_last_os_error("fd " + std::to_string(fd) + " is not an open file descriptor");
    }
    fds_.resize(i + 1);
  }
  return fds_[i];
}

void event_loop::update_fd(int fd, fd_entry& e) {
  std::uint32_t want = ((e.read.cb != nullptr || e.read.node != nullptr) ? EPOLLIN : 0u) |
                       ((e.write.cb != nullptr || e.write.node != nullptr) ? EPOLLOUT : 0u);
  if (want == e.mask) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = table_key(fd);
  if (want == 0) {
    // The fd may already be closed (epoll dropped it then): nothing to undo.
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
    e.mask = 0;
    --fds_registered_;
    return;
  }
  int op = e.mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (::epoll_ctl(epoll_fd_, op, fd, &ev) < 0) {
    // A stale registration (fd number reused) or one epoll dropped when the fd was closed.
    int alt = (op == EPOLL_CTL_ADD && errno == EEXIST)   ? EPOLL_CTL_MOD
              : (op == EPOLL_CTL_MOD && errno == ENOENT) ? EPOLL_CTL_ADD
                                                         : -1;
    if (alt < 0 || ::epoll_ctl(epoll_fd_, alt, fd, &ev) < 0) {
      throw_last_os_error("epoll_ctl(fd " + std::to_string(fd) + ")");
    }
  }
  if (e.mask == 0) ++fds_registered_;
  e.mask = want;
}

void event_loop::set_fd_callback(int fd, bool write, detail::callback_node* node) {
  node->loop = this;
  if (debug_ && running_ && running_loop_or_null() != this) {
    node->release();
    throw_wrong_thread();
  }
  fd_entry* e = nullptr;
  try {
    e = &entry_for(fd);
  } catch (...) {
    node->release();
    throw;
  }
  fd_slot& slot = write ? e->write : e->read;
  if (slot.node != nullptr || e->watched) {
    node->release();
    throw invalid_state_error("fd " + std::to_string(fd) + " is already awaited by a task");
  }
  detail::callback_node* old = std::exchange(slot.cb, node);
  try {
    update_fd(fd, *e);
  } catch (...) {
    slot.cb = old;
    node->release();
    throw;
  }
  if (old != nullptr) {
    old->cancelled = true;
    old->release();
  }
}

bool event_loop::clear_fd_callback(int fd, bool write) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return false;
  fd_entry& e = fds_[static_cast<std::size_t>(fd)];
  fd_slot& slot = write ? e.write : e.read;
  if (slot.cb == nullptr) return false;
  detail::callback_node* old = std::exchange(slot.cb, nullptr);
  old->cancelled = true;
  old->release();
  try {
    update_fd(fd, e);
  } catch (...) {
  }
  return true;
}

void event_loop::wait_fd(int fd, bool write, detail::wait_node* node) {
  check_open();
  fd_entry& e = entry_for(fd);
  fd_slot& slot = write ? e.write : e.read;
  if (slot.cb != nullptr || slot.node != nullptr || e.watched) {
    throw invalid_state_error("fd " + std::to_string(fd) + " already has a " +
                              (write ? "writer" : "reader"));
  }
  slot.node = node;
  try {
    update_fd(fd, e);
  } catch (...) {
    slot.node = nullptr;
    throw;
  }
}

void fd_watch::on_events(std::uint32_t events) noexcept {
  bool hangup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  bool readable = hangup || (events & EPOLLIN) != 0;
  bool writable = (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
  if (hangup) hung_up_ = true;
  if (readable) read_ready_ = true;
  if (writable) write_ready_ = true;
  on_ready(readable, writable);
}

void event_loop::add_watch(int fd, fd_watch* w) {
  check_open();
  fd_entry& e = entry_for(fd);
  if (e.mask != 0 || e.watched) {
    throw invalid_state_error("fd " + std::to_string(fd) + " is already watched by the loop");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = reinterpret_cast<std::uintptr_t>(w);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    throw_last_os_error("epoll_ctl(add fd " + std::to_string(fd) + ")");
  }
  e.watched = true;
  ++fds_registered_;
}

void event_loop::remove_watch(int fd) noexcept {
  // The loop may already have torn its table down (the watch's owner is a frame it destroys).
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  fd_entry& e = fds_[static_cast<std::size_t>(fd)];
  if (!e.watched) return;
  e.watched = false;
  --fds_registered_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void event_loop::cancel_wait_fd(int fd, bool write) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  fd_entry& e = fds_[static_cast<std::size_t>(fd)];
  fd_slot& slot = write ? e.write : e.read;
  if (slot.node == nullptr) return;
  slot.node = nullptr;
  try {
    update_fd(fd, e);
  } catch (...) {
  }
}

void event_loop::call_exception_handler(const exception_context& ctx) noexcept {
  try {
    if (handler_) {
      handler_(*this, ctx);
      return;
    }
  } catch (...) {
    default_exception_handler(
        {"Unhandled error in exception handler", std::current_exception(), ctx.task_name});
  }
  default_exception_handler(ctx);
}

void event_loop::default_exception_handler(const exception_context& ctx) noexcept {
  std::string text = ctx.message;
  if (!ctx.task_name.empty()) text += "\n  task: " + ctx.task_name;
  if (ctx.exception) {
    try {
      std::rethrow_exception(ctx.exception);
    } catch (const std::exception& e) {
      text += std::string("\n  exception: ") + typeid(e).name() + ": " + e.what();
    } catch (const cancelled_error& e) {
      text += std::string("\n  exception: cancelled_error: ") + e.what();
    } catch (...) {
      text += "\n  exception: (not a std::exception)";
    }
  }
  std::fprintf(stderr, "%s\n", text.c_str());
}

}  // namespace concur::aio

namespace concur::aio {

void event_loop::cancel_all_and_wait() noexcept {
  if (closed_) return;
  try {
    std::vector<detail::task_base*> tasks;
    for (auto* t = all_tasks_; t != nullptr; t = t->all_next_) {
      if (!t->done_) tasks.push_back(t);
    }
    for (auto* t : tasks) t->add_ref();
    struct unref {
      std::vector<detail::task_base*>& tasks;
      ~unref() {
        for (auto* t : tasks) t->release();
      }
    } u{tasks};
    if (!tasks.empty()) {
      for (auto* t : tasks) t->cancel();
      enter_running();
      struct guard {
        event_loop* loop;
        ~guard() { loop->leave_running(); }
      } g{this};
      while (pending_tasks_ > 0) run_once();
    }
    for (auto* t : tasks) {
      if (t->done_ && t->exception_ && !t->cancelled_) {
        t->retrieved_ = true;
        call_exception_handler(
            {"unhandled exception during aio::run() shutdown", t->exception_, t->name()});
      }
    }
  } catch (...) {
    call_exception_handler(
        {"error while cancelling the remaining tasks", std::current_exception(), {}});
  }
}

}  // namespace concur::aio
