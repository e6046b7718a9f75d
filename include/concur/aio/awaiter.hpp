#pragma once
// The one awaiter protocol of concur::aio. Every operation that suspends a task (sleep, fd
// readiness, lock, semaphore, condition, barrier, queue, awaiting a task or a concur::future,
// gather, wait, task groups, net streams, the HTTP server) parks the task on a wait_node and
// wakes it through that node. asyncio's cancellation rules live here and in task_base, once:
//
//  - cancel() while the node is pending: the node is cancelled (or, for a node that waits on
//    other tasks, the cancellation is forwarded to them) and the await raises cancelled_error.
//  - cancel() after the node is done but before the task resumed: the task resumes with
//    cancelled_error at that await anyway (asyncio's _must_cancel); the operation sees
//    was_done() and hands back what it was given (the lock, the unit, the item, the slot).
//  - cancel() while the task runs: the next node it parks on is cancelled at once (a task it
//    awaits is cancelled too); if it returns without parking again, it ends cancelled.
//
// docs/architecture.md draws the states of a task and of a node.
#include <concur/aio/event_loop.hpp>
#include <concur/aio/intrusive_list.hpp>
#include <optional>

namespace concur::aio::detail {

// ------------------------------------------------------------------ tasks

class task_base;
class wait_node;

// Something told when a task completes: a task awaiting it, a gather counting its children.
// A deferred listener is told on the loop's next iteration, as asyncio runs a future's done
// callbacks through call_soon (gather, wait, as_completed, shield and TaskGroup see a child's
// end one iteration later; a task awaiting it is woken at once, which is that same delay).
struct done_listener : list_hook {
  void (*notify)(done_listener&) noexcept = nullptr;
  bool deferred = false;
};

// How one kind of waiting operation reacts when its task is cancelled while it is pending.
struct wait_ops {
  // Passes the cancellation on instead (to the task being awaited, to a gather's children):
  // true when they took it; the node then stays pending and completes with their outcome.
  bool (*forward_cancel)(wait_node&) noexcept = nullptr;
  // Undoes the registration of a node that is being cancelled (an fd watch, a slot, a
  // listener). Nodes in a primitive's list stay linked until their task resumes, as
  // asyncio's futures stay in their deques, so primitives need no hook.
  void (*on_cancel)(wait_node&) noexcept = nullptr;
  // For introspection (event_loop::dump_tasks, any_task::awaiting): what the task waits for,
  // in a few words; describe, when set, says it with the node's details instead.
  const char* what = nullptr;
  std::string (*describe)(const wait_node&) = nullptr;
  // The tasks this wait is waiting on (asyncio 3.14's "awaited by" links, seen from the
  // waiting side); appends them to the vector.
  void (*awaited)(const wait_node&, std::vector<task_base*>&) = nullptr;
};

struct task_extra;

// The state of a coroutine of ours. For a task scheduled on a loop (create_task) it is also the
// asyncio.Task: done flag, cancellation requests, what it is parked on, who waits for it, name,
// callbacks. It sits inside the coroutine frame (the promise), so a task costs one allocation.
class task_base {
 public:
  task_base() = default;
  task_base(const task_base&) = delete;
  task_base& operator=(const task_base&) = delete;
  ~task_base();

  // --- asyncio.Task ---
  bool done() const noexcept { return done_; }
  bool cancelled() const noexcept { return done_ && cancelled_; }
  bool cancel();
  int cancelling() const noexcept { return cancel_requests_; }
  int uncancel() noexcept;
  std::string name() const;
  void set_name(std::string name);
  event_loop* loop() const noexcept { return loop_; }
  std::exception_ptr exception_ptr() const noexcept { return exception_; }
  void mark_retrieved() noexcept { retrieved_ = true; }
  bool retrieved() const noexcept { return retrieved_; }
  void add_done_callback(std::function<void(task_base*)> f);
  void add_ref() noexcept { ++refs_; }
  void release() noexcept;
  bool is_root() const noexcept { return root_; }
  // Tells `l` when this task completes (at once, from complete_root; l is unlinked first).
  void add_done_listener(done_listener& l) noexcept { done_listeners_.push_back(&l); }

  // --- introspection (event_loop::dump_tasks) ---
  std::uint32_t id() const noexcept { return id_; }
  bool started() const noexcept { return started_; }
  // The node the task is parked on and how that wait behaves; null while it runs or is ready.
  const wait_node* parked_on() const noexcept { return parked_on_; }
  const wait_ops* parked_ops() const noexcept { return parked_ops_; }

  // Called by the loop; public for the loop's implementation file only.
  static void step(void* self) noexcept;
  void attach(event_loop* loop, std::coroutine_handle<> self);
  void complete_root() noexcept;
  void teardown_mark() noexcept;

 protected:
  std::exception_ptr exception_;
  // Inline await: who resumes when this coroutine ends. Root task (never awaited inline):
  // where its next step resumes.
  std::coroutine_handle<> continuation_;
  std::coroutine_handle<> self_;

 private:
  friend class concur::aio::event_loop;
  friend class wait_node;
  void schedule() noexcept;
  void run_done_callbacks() noexcept;
  static void run_done_callbacks_item(void* self) noexcept;

  event_loop* loop_ = nullptr;
  task_base* all_prev_ = nullptr;
  task_base* all_next_ = nullptr;
  wait_node* parked_on_ = nullptr;
  const wait_ops* parked_ops_ = nullptr;
  intrusive_list<done_listener> done_listeners_;
  std::unique_ptr<task_extra> extra_;
  std::uint32_t refs_ = 0;
  std::uint32_t id_ = 0;
  std::uint16_t cancel_requests_ = 0;
  bool root_ = false;
  bool started_ = false;
  bool done_ = false;
  bool cancelled_ = false;
  bool must_cancel_ = false;
  // Two rarely touched flags share a byte, so a task frame stays at 104 bytes of state.
  bool retrieved_ : 1 = false;
  bool forwarding_cancel_ : 1 = false;
};

// The task whose step is running on this thread (asyncio.current_task), or null.
task_base*& current_task_slot() noexcept;
// The running task, or throws: our awaitables only make sense inside a task.
task_base& running_task();

// ------------------------------------------------------------------ the node

// What a task is parked on: asyncio's Future as the waiting task sees it (pending, then done
// or cancelled), with a deadline timer built in (sleep, stream timeouts). It lives in the
// awaiter, inside the waiting frame; its states fit in the timer's padding, so a sleeping
// task's awaiter is 32 bytes.
class wait_node : public timer_node {
 public:
  enum class state : std::uint8_t { idle, pending, done, cancelled };

  wait_node() noexcept { fire = &on_deadline; }
  // Movable until awaited (so it can be handed to wait_for); never moved while parked.
  wait_node(wait_node&& o) noexcept : timer_node() { fire = o.fire; }
  wait_node(const wait_node&) = delete;
  wait_node& operator=(const wait_node&) = delete;
  ~wait_node() { drop_deadline(); }

  // --- await_suspend ---
  // Parks the running task on this node until a source calls set_done() (or the deadline
  // passes, or the task is cancelled). A cancellation already pending is applied now, as if it
  // arrived while parked: the task then resumes on the next iteration with cancelled_error.
  void park(std::coroutine_handle<> h, const wait_ops* ops = nullptr) {
    task_base& t = running_task();
    task_ = &t;
    state_ = state::pending;
    t.continuation_ = h;
    t.parked_on_ = this;
    t.parked_ops_ = ops;
    if (t.must_cancel_ && cancel(ops)) t.must_cancel_ = false;
  }
  // Parks and completes at once: the task steps again on the next iteration (asyncio's bare
  // `yield`). A cancellation pending or arriving meanwhile is raised at that step.
  void park_done(std::coroutine_handle<> h) {
    task_base* t = &running_task();
    task_ = t;
    state_ = state::done;
    t->continuation_ = h;
    t->parked_on_ = this;
    t->parked_ops_ = &yield_ops;
    t->schedule();
  }
  // Like park(), and done at `deadline` unless woken first (timed_out() then says so).
  void park_until(std::coroutine_handle<> h, clock::time_point deadline,
                  const wait_ops* ops = nullptr) {
    park(h, ops);
    if (state_ == state::pending) task_->loop()->add_timer(this, deadline);
  }

  // --- the source ---
  bool pending() const noexcept { return state_ == state::pending; }
  // asyncio's fut.done(): woken, timed out or cancelled.
  bool done() const noexcept { return state_ == state::done || state_ == state::cancelled; }
  bool cancelled() const noexcept { return state_ == state::cancelled; }
  // Completes a pending node: its task resumes on the loop's next iteration. False (and
  // nothing happens) when the node is not pending.
  bool set_done() noexcept {
    if (state_ != state::pending) return false;
    drop_deadline();
    state_ = state::done;
    task_->schedule();
    return true;
  }
  task_base* task() const noexcept { return task_; }

  // --- await_resume ---
  // The await ends in cancellation: the node was cancelled, or the task was cancelled after
  // the node was done and before it resumed.
  bool cancel_raised() const noexcept { return state_ == state::cancelled || late_cancel_; }
  // The source completed this node (asyncio's `fut.done() and not fut.cancelled()`), even if
  // the task was then cancelled: what the source gave must be handed back.
  bool was_done() const noexcept { return state_ == state::done; }
  bool timed_out() const noexcept { return timed_out_; }
  // False when the awaiter completed in await_ready and never parked.
  bool parked() const noexcept { return state_ != state::idle; }
  void raise_if_cancelled() const {
    if (cancel_raised()) throw cancelled_error();
  }

 private:
  friend class task_base;
  // task_base::cancel() found this node pending (`forward` false: cancel it here even if it
  // would pass the cancellation on).
  bool cancel(const wait_ops* ops, bool forward = true) noexcept {
    if (forward && ops != nullptr && ops->forward_cancel != nullptr && ops->forward_cancel(*this)) {
      return true;
    }
    if (state_ != state::pending) return false;
    drop_deadline();
    state_ = state::cancelled;
    if (ops != nullptr && ops->on_cancel != nullptr) ops->on_cancel(*this);
    task_->schedule();
    return true;
  }
  static void on_deadline(timer_node* t) noexcept {
    auto* n = static_cast<wait_node*>(t);
    n->timed_out_ = true;
    n->set_done();
  }
  void drop_deadline() noexcept {
    if (scheduled() && task_ != nullptr && task_->loop() != nullptr) {
      task_->loop()->remove_timer(this);
    }
  }

  static constexpr wait_ops yield_ops{.what = "sleep(0)"};

  // (state_, late_cancel_ and timed_out_ sit in timer_node's tail padding)
  state state_ = state::idle;
  bool late_cancel_ = false;
  bool timed_out_ = false;
  task_base* task_ = nullptr;
};

// A wait_node that a primitive keeps in its list of waiters (lock, condition, queue, ...).
struct listed_node : wait_node, list_hook {};
using waiter_list = intrusive_list<listed_node>;

// The first pending node of `list` (asyncio's "first waiter that is not done").
inline listed_node* first_pending(const waiter_list& list) noexcept {
  for (listed_node* n = list.front(); n != nullptr; n = waiter_list::next(n)) {
    if (n->pending()) return n;
  }
  return nullptr;
}
// Whether any node of `list` is not cancelled (asyncio's `any(not w.cancelled() ...)`).
inline bool any_not_cancelled(const waiter_list& list) noexcept {
  for (listed_node* n = list.front(); n != nullptr; n = waiter_list::next(n)) {
    if (!n->cancelled()) return true;
  }
  return false;
}

// A place where one task at a time waits for an event source (a stream's read side, a
// socket's readiness): the source calls wake(). A node parked here leaves the slot when it is
// woken, times out or is cancelled.
class wait_slot {
 public:
  wait_slot() = default;
  wait_slot(const wait_slot&) = delete;
  wait_slot& operator=(const wait_slot&) = delete;

  bool busy() const noexcept { return node_ != nullptr; }
  // Completes the waiting node, if any.
  void wake() noexcept {
    if (wait_node* n = std::exchange(node_, nullptr)) n->set_done();
  }
  void hold(wait_node& n) noexcept { node_ = &n; }
  void let_go(const wait_node& n) noexcept {
    if (node_ == &n) node_ = nullptr;
  }

  class awaiter;

 private:
  wait_node* node_ = nullptr;
};

// co_await on a wait_slot, with an optional deadline; the caller checks busy() first.
// Resumes with true when woken, false when the deadline passed; cancelled_error if cancelled.
class wait_slot::awaiter : public wait_node {
 public:
  // `ops` (a derived awaiter's introspection) must keep on_cancel = &awaiter::on_cancel.
  awaiter(wait_slot& s, std::optional<clock::time_point> deadline,
          const wait_ops* ops = &default_ops) noexcept
      : slot_(&s), deadline_(deadline), ops_(ops) {}
  awaiter(const awaiter&) = delete;
  awaiter& operator=(const awaiter&) = delete;
  ~awaiter() { slot_->let_go(*this); }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    slot_->hold(*this);
    if (deadline_) {
      park_until(h, *deadline_, ops_);
    } else {
      park(h, ops_);
    }
  }
  bool await_resume() {
    slot_->let_go(*this);
    raise_if_cancelled();
    return !timed_out();
  }

 protected:
  static void on_cancel(wait_node& n) noexcept {
    auto& self = static_cast<awaiter&>(n);
    self.slot_->let_go(self);
  }
  wait_slot* slot_;

 private:
  static constexpr wait_ops default_ops{.on_cancel = &on_cancel, .what = "an event"};
  std::optional<clock::time_point> deadline_;
  const wait_ops* ops_;
};

}  // namespace concur::aio::detail
