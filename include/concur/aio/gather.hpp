#pragma once
#include <array>
#include <concur/aio/task.hpp>
#include <optional>
#include <span>
#include <tuple>
#include <variant>

namespace concur::aio {

// asyncio.wait's return_when (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED).
enum class return_when { first_completed, first_exception, all_completed };

// gather(return_exceptions, ...) yields one of these per child: its value or its exception
// (Python puts the exception object in the result list).
template <class T>
class outcome {
 public:
  outcome() = default;
  explicit outcome(std::exception_ptr e) noexcept : exception_(std::move(e)) {}
  template <class U>
  explicit outcome(std::in_place_t, U&& v) : value_(std::forward<U>(v)) {}
  bool has_value() const noexcept { return !exception_; }
  std::exception_ptr exception() const noexcept { return exception_; }
  // The value, or rethrows the exception.
  T& value() & {
    if (exception_) std::rethrow_exception(exception_);
    return *value_;
  }
  T&& value() && {
    if (exception_) std::rethrow_exception(exception_);
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
  std::exception_ptr exception_;
};
template <>
class outcome<void> {
 public:
  outcome() = default;
  explicit outcome(std::exception_ptr e) noexcept : exception_(std::move(e)) {}
  bool has_value() const noexcept { return !exception_; }
  std::exception_ptr exception() const noexcept { return exception_; }
  void value() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::exception_ptr exception_;
};

// Tag: gather(aio::return_exceptions, ...) collects failures instead of raising the first.
struct return_exceptions_t {
  explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

// A gathered void child shows up as std::monostate in gather's tuple (Python's None).
template <class T>
using gathered_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

namespace detail {

// One listener per child of a wait over several tasks.
template <class Owner>
struct child_listener : done_listener {
  Owner* owner = nullptr;
  task_base* child = nullptr;
};

// Suspends the current task until a condition over a set of tasks holds (gather, wait,
// shield). Cancelling the waiting task either cancels the children (gather: the wait then
// ends with their outcome and raises cancelled_error) or only this wait (wait, shield: the
// children go on).
class children_wait : public wait_node {
 public:
  // first_exception counts a cancelled child as a failure (gather), first_error does not
  // (asyncio.wait's FIRST_EXCEPTION).
  enum class until : std::uint8_t { all_done, first_exception, first_error, first_done };

  // `label` names the wait in a task dump ("gather", "wait", "shield").
  children_wait(std::span<task_base* const> children, until cond, bool cancel_children_on_cancel,
                std::optional<clock::time_point> deadline = std::nullopt,
                const char* label = "gather")
      : children_(children),
        deadline_(deadline),
        label_(label),
        cond_(cond),
        cancel_children_(cancel_children_on_cancel) {}
  children_wait(const children_wait&) = delete;
  children_wait& operator=(const children_wait&) = delete;

  bool await_ready() {
    remaining_ = 0;
    for (auto* c : children_) {
      if (!c->done()) {
        ++remaining_;
      } else {
        note_failure(c);
      }
    }
    return met();
  }
  void await_suspend(std::coroutine_handle<> h) {
    static constexpr wait_ops forward{.forward_cancel = &cancel_children,
                                      .on_cancel = &stop_listening,
                                      .describe = &describe,
                                      .awaited = &awaited};
    static constexpr wait_ops stop{
        .on_cancel = &stop_listening, .describe = &describe, .awaited = &awaited};
    listeners_ = std::make_unique<child_listener<children_wait>[]>(children_.size());
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i]->done()) continue;
      listeners_[i].owner = this;
      listeners_[i].child = children_[i];
      listeners_[i].notify = &on_child_done;
      listeners_[i].deferred = true;
      children_[i]->add_done_listener(listeners_[i]);
    }
    const wait_ops* ops = cancel_children_ ? &forward : &stop;
    if (deadline_) {
      park_until(h, *deadline_, ops);
    } else {
      park(h, ops);
    }
  }
  void await_resume() {
    listeners_.reset();
    if (cancel_raised() || cancel_requested_) throw cancelled_error();
  }
  // The child whose failure (exception or cancellation) came first, or null.
  task_base* first_failed() const noexcept { return first_failed_; }

 private:
  bool met() const noexcept {
    switch (cond_) {
      case until::all_done:
        return remaining_ == 0;
      case until::first_exception:
      case until::first_error:
        return remaining_ == 0 || first_failed_ != nullptr;
      case until::first_done:
        return remaining_ < children_.size() || children_.empty();
    }
    return true;
  }
  static void on_child_done(done_listener& l) noexcept {
    auto& n = static_cast<child_listener<children_wait>&>(l);
    children_wait* self = n.owner;
    --self->remaining_;
    self->note_failure(n.child);
    if (self->met()) self->set_done();
  }
  void note_failure(task_base* c) noexcept {
    if (first_failed_ != nullptr || !c->exception_ptr()) return;
    if (cond_ == until::first_error && c->cancelled()) return;
    first_failed_ = c;
  }
  // asyncio's _GatheringFuture.cancel: true when some child took the cancellation.
  static bool cancel_children(wait_node& n) noexcept {
    auto& self = static_cast<children_wait&>(n);
    bool any = false;
    for (auto* c : self.children_) {
      try {
        any = c->cancel() || any;
      } catch (...) {
      }
    }
    if (any) self.cancel_requested_ = true;
    return any;
  }
  static void stop_listening(wait_node& n) noexcept {
    static_cast<children_wait&>(n).listeners_.reset();
  }
  static std::string describe(const wait_node& n) {
    const auto& self = static_cast<const children_wait&>(n);
    return std::string(self.label_) + " (" + std::to_string(self.remaining_) + " of " +
           std::to_string(self.children_.size()) + " tasks pending)";
  }
  static void awaited(const wait_node& n, std::vector<task_base*>& out) {
    for (auto* c : static_cast<const children_wait&>(n).children_) {
      if (!c->done()) out.push_back(c);
    }
  }

  std::span<task_base* const> children_;
  std::unique_ptr<child_listener<children_wait>[]> listeners_;
  std::optional<clock::time_point> deadline_;
  const char* label_;
  std::size_t remaining_ = 0;
  task_base* first_failed_ = nullptr;
  until cond_;
  bool cancel_children_;
  bool cancel_requested_ = false;
};

// Owned: created by gather from a task<T>, so nobody else sees it and the value can be
// moved out; otherwise the caller's task_handle, whose value is copied.
template <class T, bool Owned>
struct gather_child {
  task_handle<T> handle;
};

template <class T>
gather_child<T, true> to_child(task<T>&& t) {
  return {create_task(std::move(t))};
}
template <class T>
gather_child<T, false> to_child(const task_handle<T>& h) {
  return {h};
}
template <class T>
gather_child<T, false> to_child(task_handle<T>&& h) {
  return {std::move(h)};
}

template <class X>
struct child_value;
template <class T, bool Owned>
struct child_value<gather_child<T, Owned>> {
  using type = T;
};

template <class T, bool Owned>
gathered_t<T> extract(gather_child<T, Owned>& c) {
  if constexpr (std::is_void_v<T>) {
    c.handle.take_result();
    return {};
  } else if constexpr (Owned || !std::is_copy_constructible_v<T>) {
    return c.handle.take_result();
  } else {
    return c.handle.result();
  }
}

template <class T, bool Owned>
outcome<T> extract_outcome(gather_child<T, Owned>& c) {
  auto* b = c.handle.base();
  b->mark_retrieved();
  if (b->exception_ptr()) return outcome<T>(b->exception_ptr());
  if constexpr (std::is_void_v<T>) {
    return outcome<void>();
  } else {
    return outcome<T>(std::in_place, extract(c));
  }
}

// Failures that nobody will look at once gather has raised the first one are not "never
// retrieved" (asyncio marks them retrieved in gather's done callback).
inline void mark_all_retrieved(std::span<task_base* const> children) noexcept {
  for (auto* c : children) c->mark_retrieved();
}

template <class... Cs>
task<std::tuple<gathered_t<typename child_value<Cs>::type>...>> gather_children(Cs... cs) {
  std::array<task_base*, sizeof...(Cs)> bases{cs.handle.base()...};
  {
    children_wait w(bases, children_wait::until::first_exception, true);
    co_await w;
    if (task_base* failed = w.first_failed()) {
      mark_all_retrieved(bases);
      std::rethrow_exception(failed->exception_ptr());
    }
  }
  co_return std::tuple<gathered_t<typename child_value<Cs>::type>...>{extract(cs)...};
}

template <class... Cs>
task<std::tuple<outcome<typename child_value<Cs>::type>...>> gather_children_settled(Cs... cs) {
  std::array<task_base*, sizeof...(Cs)> bases{cs.handle.base()...};
  co_await children_wait(bases, children_wait::until::all_done, true);
  co_return std::tuple<outcome<typename child_value<Cs>::type>...>{extract_outcome(cs)...};
}

// gather over a vector: each child's listener is linked right after the child is created,
// while its frame is still in cache, and the children, their listeners and the counters share
// one allocation. (The hot path of "spawn 200k tasks and gather them".) It is the node the
// gathering task parks on. Children are counted as they end; only the wake-up of the gathering
// task is deferred (once, not once a child), so it resumes when asyncio's would: one
// iteration for the done callbacks, one for the outer future's.
template <class T, bool Owned>
class range_gather : public wait_node {
 public:
  explicit range_gather(std::size_t n) { slots_.reserve(n); }
  range_gather(const range_gather&) = delete;
  range_gather& operator=(const range_gather&) = delete;

  void add(gather_child<T, Owned> c) {
    slot& s = slots_.emplace_back();
    s.handle = std::move(c.handle);
    task_base* child = s.handle.base();
    if (child->done()) {
      if (first_failed_ == nullptr && child->exception_ptr()) first_failed_ = child;
      return;
    }
    s.owner = this;
    s.notify = &on_child_done;
    child->add_done_listener(s);
    ++remaining_;
  }

  bool finished() const noexcept { return remaining_ == 0 || first_failed_ != nullptr; }
  // co_await g->wait(): until every child is done, or the first failure.
  struct wait_awaiter {
    range_gather* g;
    bool await_ready() const noexcept { return g->finished(); }
    void await_suspend(std::coroutine_handle<> h) { g->park_here(h); }
    void await_resume() const { g->check(); }
  };
  wait_awaiter wait() noexcept { return wait_awaiter{this}; }

 private:
  void park_here(std::coroutine_handle<> h) {
    static constexpr wait_ops ops{
        .forward_cancel = &cancel_children, .describe = &describe, .awaited = &awaited};
    park(h, &ops);
  }
  void check() const {
    if (cancel_raised()) throw cancelled_error();
    if (first_failed_ != nullptr) {
      for (auto& s : slots_) s.handle.base()->mark_retrieved();
      std::rethrow_exception(first_failed_->exception_ptr());
    }
    if (cancel_requested_) throw cancelled_error();
  }

 public:
  auto results() {
    if constexpr (std::is_void_v<T>) {
      for (auto& s : slots_) s.handle.take_result();
    } else {
      std::vector<T> out;
      out.reserve(slots_.size());
      for (auto& s : slots_) {
        gather_child<T, Owned> c{std::move(s.handle)};
        out.push_back(extract(c));
      }
      return out;
    }
  }

 private:
  // A child and its listener in one (56 bytes: a spawn-and-gather of 100k tasks keeps 100k).
  struct slot : done_listener {
    range_gather* owner = nullptr;
    task_handle<T> handle;
  };
  static void on_child_done(done_listener& l) noexcept {
    auto& s = static_cast<slot&>(l);
    range_gather* self = s.owner;
    task_base* child = s.handle.base();
    bool was_finished = self->finished();
    --self->remaining_;
    if (self->first_failed_ == nullptr && child->exception_ptr()) self->first_failed_ = child;
    if (!was_finished && self->finished() && self->pending()) {
      self->wake_.owner = self;
      self->wake_.notify = &on_finished;
      self->task()->loop()->defer_listener(&self->wake_);
    }
  }
  // One iteration after the last child (or the first failure): the hook leaves the loop's
  // list by itself if the gather goes away first.
  static void on_finished(done_listener& l) noexcept {
    static_cast<child_listener<range_gather>&>(l).owner->set_done();
  }
  static std::string describe(const wait_node& n) {
    const auto& self = static_cast<const range_gather&>(n);
    return "gather (" + std::to_string(self.remaining_) + " of " +
           std::to_string(self.slots_.size()) + " tasks pending)";
  }
  static void awaited(const wait_node& n, std::vector<task_base*>& out) {
    for (const auto& s : static_cast<const range_gather&>(n).slots_) {
      if (!s.handle.done()) out.push_back(s.handle.base());
    }
  }
  // Cancelling the gather cancels every child; the first cancellation then ends the wait.
  static bool cancel_children(wait_node& n) noexcept {
    auto& self = static_cast<range_gather&>(n);
    bool any = false;
    for (auto& s : self.slots_) {
      try {
        any = s.handle.cancel() || any;
      } catch (...) {
      }
    }
    if (any) self.cancel_requested_ = true;
    return any;
  }

  std::vector<slot> slots_;
  child_listener<range_gather> wake_;
  std::size_t remaining_ = 0;
  task_base* first_failed_ = nullptr;
  bool cancel_requested_ = false;
};

template <class T, bool Owned>
auto gather_range(std::unique_ptr<range_gather<T, Owned>> g)
    -> task<std::conditional_t<std::is_void_v<T>, void, std::vector<gathered_t<T>>>> {
  co_await g->wait();
  co_return g->results();
}

template <class T, bool Owned>
task<std::vector<outcome<T>>> gather_range_settled(std::vector<gather_child<T, Owned>> cs) {
  std::vector<task_base*> bases;
  bases.reserve(cs.size());
  for (auto& c : cs) bases.push_back(c.handle.base());
  co_await children_wait(bases, children_wait::until::all_done, true);
  std::vector<outcome<T>> out;
  out.reserve(cs.size());
  for (auto& c : cs) out.push_back(extract_outcome(c));
  co_return out;
}

template <class T>
struct range_value;
template <class T>
struct range_value<task<T>> {
  using type = T;
};
template <class T>
struct range_value<task_handle<T>> {
  using type = T;
};

}  // namespace detail

// asyncio.gather(*aws): each argument is a task<T> (scheduled as a task right away, like
// Python) or a task_handle<T>. Awaiting gives a tuple of the values in argument order (void
// -> std::monostate). The first failure is raised at once; the other children keep running
// (asyncio semantics). Cancelling the awaiting task cancels every child.
template <class... Aws>
auto gather(Aws&&... aws) {
  // Braced initialisation: the tasks are created (and so start) left to right.
  std::tuple children{detail::to_child(std::forward<Aws>(aws))...};
  return std::apply([](auto&... c) { return detail::gather_children(std::move(c)...); }, children);
}
// gather(..., return_exceptions=True): waits for all; a tuple of outcome<T>.
template <class... Aws>
auto gather(return_exceptions_t, Aws&&... aws) {
  std::tuple children{detail::to_child(std::forward<Aws>(aws))...};
  return std::apply([](auto&... c) { return detail::gather_children_settled(std::move(c)...); },
                    children);
}

// gather over a vector of task<T> or task_handle<T>: a vector of values in order
// (task<void> when T is void).
template <class A>
requires requires { typename detail::range_value<A>::type; }
auto gather(std::vector<A> aws) {
  using C = decltype(detail::to_child(std::move(aws.front())));
  using T = typename detail::child_value<C>::type;
  auto g = std::make_unique<detail::range_gather<T, std::is_same_v<A, task<T>>>>(aws.size());
  for (auto& a : aws) g->add(detail::to_child(std::move(a)));
  std::vector<A>().swap(aws);  // the frames now belong to the tasks: free the vector early
  return detail::gather_range(std::move(g));
}
template <class A>
requires requires { typename detail::range_value<A>::type; }
auto gather(std::vector<A> aws, return_exceptions_t) {
  using C = decltype(detail::to_child(std::move(aws.front())));
  std::vector<C> cs;
  cs.reserve(aws.size());
  for (auto& a : aws) cs.push_back(detail::to_child(std::move(a)));
  std::vector<A>().swap(aws);
  return detail::gather_range_settled(std::move(cs));
}

// asyncio.wait's result: the tasks that are done and those still pending.
template <class T>
struct wait_result {
  std::vector<task_handle<T>> done;
  std::vector<task_handle<T>> pending;
};

namespace detail {

// asyncio keeps its futures in a set: a task named twice counts once (first place kept).
template <class T>
std::vector<task_handle<T>> distinct(std::vector<task_handle<T>> tasks) {
  std::vector<task_handle<T>> out;
  out.reserve(tasks.size());
  for (auto& h : tasks) {
    bool seen = false;
    for (auto& o : out) seen = seen || o == h;
    if (!seen) out.push_back(std::move(h));
  }
  return out;
}

template <class T>
task<wait_result<T>> wait_until(std::vector<task_handle<T>> tasks, return_when when,
                                std::optional<clock::duration> timeout) {
  if (tasks.empty()) throw value_error("aio::wait: the set of tasks is empty");
  std::optional<clock::time_point> deadline;
  if (timeout) deadline = get_running_loop().deadline_in(*timeout);
  tasks = distinct(std::move(tasks));
  std::vector<task_base*> bases;
  for (auto& h : tasks) bases.push_back(h.base());
  auto cond = when == return_when::all_completed     ? children_wait::until::all_done
              : when == return_when::first_exception ? children_wait::until::first_error
                                                     : children_wait::until::first_done;
  co_await children_wait(bases, cond, false, deadline, "wait");
  wait_result<T> r;
  for (auto& h : tasks) (h.done() ? r.done : r.pending).push_back(std::move(h));
  co_return r;
}

}  // namespace detail

// asyncio.wait(tasks, return_when=...): never raises the tasks' exceptions and never cancels
// them (not even when the waiter is cancelled, or on timeout). first_exception ends at the
// first task that raised (a cancelled task does not count); a task named twice counts once.
template <class T>
task<wait_result<T>> wait(std::vector<task_handle<T>> tasks,
                          return_when when = return_when::all_completed) {
  return detail::wait_until(std::move(tasks), when, std::nullopt);
}
// asyncio.wait(..., timeout=): returns what is done when the timeout passes (no exception).
template <class T, class Rep, class Period>
task<wait_result<T>> wait(std::vector<task_handle<T>> tasks, return_when when,
                          std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_until(std::move(tasks), when, concur::saturating_ceil(timeout));
}

// asyncio.as_completed: `co_await ac.next()` yields the tasks in the order they finish
// (each one done; take its result() / exception()). A task named twice is yielded once. With a
// timeout, next() raises timeout_error once the deadline passes and no finished task is left
// to yield. Create and use it on the loop's thread.
template <class T>
class as_completed {
 public:
  explicit as_completed(std::vector<task_handle<T>> tasks)
      : handles_(detail::distinct(std::move(tasks))) {
    link();
  }
  template <class Rep, class Period>
  as_completed(std::vector<task_handle<T>> tasks, std::chrono::duration<Rep, Period> timeout)
      : handles_(detail::distinct(std::move(tasks))),
        deadline_(get_running_loop().deadline_in(concur::saturating_ceil(timeout))) {
    link();
  }
  as_completed(const as_completed&) = delete;
  as_completed& operator=(const as_completed&) = delete;

  std::size_t remaining() const noexcept { return handles_.size() - yielded_; }
  bool empty() const noexcept { return remaining() == 0; }

  // The next task to finish. invalid_state_error when none remain.
  task<task_handle<T>> next() {
    if (empty()) throw invalid_state_error("as_completed: no tasks remain");
    if (yielded_ == order_.size()) {
      // (Not `if (!co_await next_awaiter(this))`: g++ 12 then skipped this body entirely.)
      bool finished = co_await next_awaiter(this);
      if (!finished) throw timeout_error("as_completed: the deadline passed");
    }
    ++yielded_;
    co_return handles_[order_[yielded_ - 1]];
  }

 private:
  struct listener : detail::done_listener {
    as_completed* owner = nullptr;
    std::size_t index = 0;
  };
  // Parks until a task finishes (true) or the deadline passes (false).
  class next_awaiter : public detail::wait_node {
   public:
    explicit next_awaiter(as_completed* ac) noexcept : ac_(ac) {}
    ~next_awaiter() {
      if (ac_->parked_ == this) ac_->parked_ = nullptr;
    }
    bool await_ready() const noexcept { return ac_->yielded_ < ac_->order_.size(); }
    void await_suspend(std::coroutine_handle<> h) {
      static constexpr detail::wait_ops ops{
          .on_cancel = &on_cancel, .what = "as_completed", .awaited = &awaited};
      ac_->parked_ = this;
      if (ac_->deadline_) {
        park_until(h, *ac_->deadline_, &ops);
      } else {
        park(h, &ops);
      }
    }
    bool await_resume() {
      if (ac_->parked_ == this) ac_->parked_ = nullptr;
      raise_if_cancelled();
      return ac_->yielded_ < ac_->order_.size();
    }

   private:
    static void on_cancel(detail::wait_node& n) noexcept {
      auto& self = static_cast<next_awaiter&>(n);
      if (self.ac_->parked_ == &self) self.ac_->parked_ = nullptr;
    }
    static void awaited(const detail::wait_node& n, std::vector<detail::task_base*>& out) {
      for (const auto& h : static_cast<const next_awaiter&>(n).ac_->handles_) {
        if (!h.done()) out.push_back(h.base());
      }
    }
    as_completed* ac_;
  };
  void link() {
    order_.reserve(handles_.size());  // on_done must not allocate
    listeners_ = std::make_unique<listener[]>(handles_.size());
    for (std::size_t i = 0; i < handles_.size(); ++i) {
      if (handles_[i].done()) {
        order_.push_back(i);
        continue;
      }
      listeners_[i].owner = this;
      listeners_[i].index = i;
      listeners_[i].notify = &on_done;
      listeners_[i].deferred = true;
      handles_[i].base()->add_done_listener(listeners_[i]);
    }
  }
  static void on_done(detail::done_listener& l) noexcept {
    auto& n = static_cast<listener&>(l);
    n.owner->order_.push_back(n.index);
    if (next_awaiter* w = std::exchange(n.owner->parked_, nullptr)) w->set_done();
  }

  std::vector<task_handle<T>> handles_;
  std::vector<std::size_t> order_;  // indices in completion order
  std::unique_ptr<listener[]> listeners_;
  std::size_t yielded_ = 0;
  next_awaiter* parked_ = nullptr;
  std::optional<clock::time_point> deadline_;
};

// asyncio.shield(aw): cancelling the awaiting task does not cancel the shielded task; the
// awaiter gets cancelled_error while the task keeps running. A failure of the task after that
// reaches nobody: it goes to the loop's exception handler once, when it happens (3.14).
template <class T>
task<T> shield(task_handle<T> h) {
  std::array<detail::task_base*, 1> one{h.base()};
  try {
    co_await detail::children_wait(one, detail::children_wait::until::all_done, false, std::nullopt,
                                   "shield");
  } catch (const cancelled_error&) {
    h.add_done_callback([](const task_handle<T>& t) {
      // Once, however many shields were cancelled around it.
      if (t.cancelled() || !t.base()->exception_ptr() || t.base()->retrieved()) return;
      t.base()->mark_retrieved();
      if (event_loop* loop = t.get_loop()) {
        loop->call_exception_handler({"shielded task failed after its awaiter was cancelled",
                                      t.base()->exception_ptr(), t.get_name()});
      }
    });
    throw;
  }
  if constexpr (std::is_void_v<T>) {
    h.result();
  } else {
    co_return T(h.result());
  }
}
template <class T>
task<T> shield(task<T> t) {
  return shield(create_task(std::move(t)));
}

}  // namespace concur::aio
