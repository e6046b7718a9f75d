#pragma once
#include <concur/aio/awaiter.hpp>
#include <concur/aio/frame_allocator.hpp>
#include <optional>

namespace concur::aio {

namespace detail {

struct task_extra {
  std::string name;
  std::vector<std::function<void(task_base*)>> callbacks;
};

template <class T>
class promise_result : public task_base {
 public:
  template <class U = T>
  requires std::constructible_from<T, U&&>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }
  T take() {
    mark_retrieved();
    if (exception_) std::rethrow_exception(exception_);
    return std::move(*value_);
  }
  const T& get() {
    mark_retrieved();
    if (exception_) std::rethrow_exception(exception_);
    return *value_;
  }

 private:
  std::optional<T> value_;
};

template <>
class promise_result<void> : public task_base {
 public:
  void return_void() noexcept {}
  void take() {
    mark_retrieved();
    if (exception_) std::rethrow_exception(exception_);
  }
  void get() { take(); }
};

}  // namespace detail

// A coroutine (asyncio's `async def`): lazy, move-only. `co_await f()` runs it inline in the
// awaiting task through symmetric transfer; `create_task(f())` schedules it on the loop as an
// independent task. Exceptions travel to the awaiter with their type intact.
template <class T>
class [[nodiscard]] task {
 public:
  class promise_type : public detail::promise_result<T> {
   public:
    task get_return_object() noexcept {
      auto h = std::coroutine_handle<promise_type>::from_promise(*this);
      this->self_ = h;
      return task(h);
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        if (p.is_root()) {
          p.complete_root();
          return std::noop_coroutine();
        }
        return p.continuation_ ? p.continuation_ : std::noop_coroutine();
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { this->exception_ = std::current_exception(); }

    static void* operator new(std::size_t size) { return detail::frame_allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept {
      detail::frame_deallocate(p, size);
    }

   private:
    friend class task;
    void set_continuation(std::coroutine_handle<> c) noexcept { this->continuation_ = c; }
    bool awaited() const noexcept { return static_cast<bool>(this->continuation_); }
  };
  using handle_type = std::coroutine_handle<promise_type>;

  task() = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~task() { reset(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }

  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> cont) noexcept {
      h.promise().set_continuation(cont);
      return h;
    }
    T await_resume() { return h.promise().take(); }
  };
  awaiter operator co_await() & { return make_awaiter(); }
  awaiter operator co_await() && { return make_awaiter(); }

  // For create_task: hands the frame over to the loop's reference counting.
  handle_type release_for_scheduling() {
    if (!h_) throw invalid_state_error("create_task: the task is empty (moved from?)");
    if (h_.promise().awaited() || h_.promise().is_root()) {
      throw invalid_state_error("create_task: the coroutine was already awaited or scheduled");
    }
    return std::exchange(h_, {});
  }

 private:
  explicit task(handle_type h) noexcept : h_(h) {}
  awaiter make_awaiter() {
    if (!h_) throw invalid_state_error("co_await on an empty task (moved from?)");
    if (h_.promise().awaited()) throw invalid_state_error("this task was already awaited");
    return awaiter{h_};
  }
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }
  handle_type h_;
};

// asyncio.Task without its result type: what aio::current_task() and aio::all_tasks() give
// (introspect.hpp), and the part of every task_handle<T> that does not depend on T. A counted
// reference to a task; copyable; loop thread only, like asyncio.
class any_task {
 public:
  any_task() = default;
  explicit any_task(detail::task_base* t) noexcept : t_(t) {
    if (t_ != nullptr) t_->add_ref();
  }
  any_task(const any_task& o) noexcept : any_task(o.t_) {}
  any_task(any_task&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  any_task& operator=(any_task o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~any_task() {
    if (t_ != nullptr) t_->release();
  }

  bool valid() const noexcept { return t_ != nullptr; }
  bool done() const noexcept { return t_->done(); }
  bool cancelled() const noexcept { return t_->cancelled(); }
  // Requests cancellation: aio::cancelled_error is raised at the task's next suspension point
  // (right away if it is suspended now). False when the task is already done.
  bool cancel() { return t_->cancel(); }
  int cancelling() const noexcept { return t_->cancelling(); }
  int uncancel() noexcept { return t_->uncancel(); }
  // Null when the task succeeded; throws cancelled_error if it was cancelled;
  // invalid_state_error while it is not done.
  std::exception_ptr exception() const;
  std::string get_name() const { return t_->name(); }
  void set_name(std::string name) { t_->set_name(std::move(name)); }
  // Null once the loop is closed.
  event_loop* get_loop() const noexcept { return t_->loop(); }
  // A number unique among the tasks of its loop (the N of the default name "Task-N").
  std::uint32_t id() const noexcept { return t_->id(); }
  detail::task_base* base() const noexcept { return t_; }

  // Introspection (Python has it through capture_call_graph and its asyncio CLI), defined in
  // src/aio/introspect.cpp: the state ("running", "ready", "waiting", "done", "cancelled",
  // "failed"),
  std::string state() const;
  // what it waits for in a few words ("sleep, 0.25 s left", "task 'worker-2'"; empty when it
  // does not wait),
  std::string awaiting() const;
  // the tasks it waits on now (through co_await, gather, wait, a task_group's end),
  std::vector<any_task> awaits() const;
  // and the tasks of its loop that wait on it.
  std::vector<any_task> awaited_by() const;

  friend bool operator==(const any_task& a, const any_task& b) noexcept { return a.t_ == b.t_; }

 protected:
  void check_done() const {
    if (t_ == nullptr) throw invalid_state_error("empty task handle");
    if (!t_->done()) throw invalid_state_error("Result is not set: the task is not done");
  }
  detail::task_base* t_ = nullptr;
};

// What create_task returns (asyncio.Task): any_task plus the result of type T. Await it
// (`co_await h` copies the result, `co_await std::move(h)` moves it out), cancel it, query it.
// Use on the loop's thread only, like asyncio.
template <class T>
class task_handle : public any_task {
 public:
  using promise_type = typename task<T>::promise_type;

  task_handle() = default;
  explicit task_handle(promise_type* p) noexcept : any_task(p) {}

  // The value; rethrows the task's exception; cancelled_error if cancelled;
  // invalid_state_error while not done.
  decltype(auto) result() const {
    check_done();
    if constexpr (std::is_void_v<T>) {
      promise()->get();
    } else {
      return static_cast<const T&>(promise()->get());
    }
  }
  // f(const task_handle<T>&) runs on the loop (scheduled with call_soon) once the task is done.
  template <class F>
  void add_done_callback(F f) {
    t_->add_done_callback([f = std::move(f)](detail::task_base* b) mutable {
      f(task_handle(static_cast<promise_type*>(b)));
    });
  }

  // Moves the result out (for gather/run of a task nobody else can see).
  auto take_result() {
    check_done();
    return promise()->take();
  }

  // co_await on a task (asyncio's `await task`): cancelling the awaiting task cancels the
  // awaited one too; the awaiter then wakes when it ends and sees its outcome.
  template <bool Move>
  class awaiter : public detail::wait_node, detail::done_listener {
   public:
    explicit awaiter(task_handle h) noexcept : h_(std::move(h)) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;

    bool await_ready() const noexcept { return h_.done(); }
    void await_suspend(std::coroutine_handle<> c) {
      static constexpr detail::wait_ops ops{.forward_cancel = &forward_cancel,
                                            .on_cancel = &on_cancel,
                                            .describe = &describe,
                                            .awaited = &awaited};
      if (&detail::running_task() == h_.base()) {
        throw invalid_state_error("a task cannot await itself");
      }
      notify = &on_child_done;
      h_.base()->add_done_listener(*this);
      park(c, &ops);
    }
    decltype(auto) await_resume() {
      if (cancel_raised()) {
        if (h_.done()) h_.base()->mark_retrieved();  // asyncio's __wakeup reads the result first
        throw cancelled_error();
      }
      if constexpr (Move || std::is_void_v<T>) {
        return h_.take_result();
      } else {
        return T(h_.result());
      }
    }

   private:
    static bool forward_cancel(detail::wait_node& n) noexcept {
      try {
        return static_cast<awaiter&>(n).h_.cancel();
      } catch (...) {
        return false;
      }
    }
    static void on_cancel(detail::wait_node& n) noexcept {
      static_cast<awaiter&>(n).done_listener::unlink();
    }
    static void on_child_done(detail::done_listener& l) noexcept {
      static_cast<awaiter&>(l).set_done();
    }
    static std::string describe(const detail::wait_node& n) {
      return "task '" + static_cast<const awaiter&>(n).h_.get_name() + "'";
    }
    static void awaited(const detail::wait_node& n, std::vector<detail::task_base*>& out) {
      out.push_back(static_cast<const awaiter&>(n).h_.base());
    }
    task_handle h_;
  };
  awaiter<false> operator co_await() const& { return awaiter<false>(*this); }
  awaiter<true> operator co_await() && { return awaiter<true>(std::move(*this)); }

 private:
  promise_type* promise() const noexcept { return static_cast<promise_type*>(t_); }
};

template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name) {
  check_open();
  check_thread();
  auto h = t.release_for_scheduling();
  auto& p = h.promise();
  try {
    p.attach(this, h);
  } catch (...) {
    h.destroy();
    throw;
  }
  if (!name.empty()) p.set_name(std::move(name));
  return task_handle<T>(&p);
}

template <class T>
void event_loop::run_until_done(const task_handle<T>& h) {
  enter_running();
  struct guard {
    event_loop* loop;
    ~guard() { loop->leave_running(); }
  } g{this};
  while (!h.done()) {
    run_once();
    if (stopping_.load(std::memory_order_relaxed) && !h.done()) {
      throw invalid_state_error("Event loop stopped before the task completed");
    }
  }
  // asyncio stops the loop from the task's done callback, so the iteration after the one in
  // which the task finished still runs: what it queued last (a task created just before it
  // returned gets its first step).
  run_last_iteration();
}

template <class T>
T event_loop::run_until_complete(task_handle<T> h) {
  run_until_done(h);
  if constexpr (std::is_void_v<T> || !std::is_copy_constructible_v<T>) {
    return h.take_result();
  } else {
    return h.result();
  }
}

template <class T>
T event_loop::run_until_complete(task<T> t) {
  auto h = create_task(std::move(t));
  run_until_done(h);
  return h.take_result();  // nobody else holds h: move the value out
}

// asyncio.create_task: schedules `t` on the running loop.
template <class T>
task_handle<T> create_task(task<T> t, std::string name = {}) {
  return get_running_loop().create_task(std::move(t), std::move(name));
}

struct run_options {
  bool debug = false;
  // Runs the loop on virtual time (event_loop::use_virtual_time): sleeps and timeouts take
  // no wall-clock time. Meant for tests.
  bool virtual_time = false;
};

namespace detail {
// asyncio.Runner's Ctrl-C, for aio::run on the main thread while SIGINT has its default
// action (otherwise, like Runner, it installs nothing): the first SIGINT cancels the main
// task; a second one, or one after the main task is done, ends the program at once. If the
// main task then ends cancelled by it, run() cleans up (the remaining tasks cancelled and
// awaited, the default executor stopped) and the program ends by SIGINT, as Python's does
// when KeyboardInterrupt reaches the top.
class sigint_runner {
 public:
  sigint_runner(event_loop& loop, task_base* main) noexcept;
  sigint_runner(const sigint_runner&) = delete;
  sigint_runner& operator=(const sigint_runner&) = delete;
  ~sigint_runner();

  // Called when the main task ended cancelled: true when that was Ctrl-C's doing (its
  // cancellation count drops to zero).
  bool ended_main() noexcept;
  // Stops the default executor, then ends the program by SIGINT.
  [[noreturn]] void end_program() noexcept;

 private:
  void on_sigint() noexcept;
  void remove_handler() noexcept;

  event_loop& loop_;
  task_base* main_;
  int interrupts_ = 0;
  bool installed_ = false;
};
}  // namespace detail

// asyncio.run: a fresh loop runs `main` to completion; tasks still pending at the end are
// cancelled and awaited; returns main's value or rethrows its exception. On the main thread,
// Ctrl-C cancels `main` first (see detail::sigint_runner).
template <class T>
T run(task<T> main, run_options options = {}) {
  event_loop loop;
  loop.set_debug(options.debug);
  if (options.virtual_time) loop.use_virtual_time();
  auto h = loop.create_task(std::move(main));
  detail::sigint_runner interrupt(loop, h.base());
  struct finish {
    event_loop& loop;
    ~finish() { loop.cancel_all_and_wait(); }
  } f{loop};
  loop.run_until_done(h);
  if (h.cancelled() && interrupt.ended_main()) {
    // Python's KeyboardInterrupt: the cleanup asyncio.run does, then the end of the program
    // (here and now: an exception nobody catches would end it by abort, not by SIGINT).
    loop.cancel_all_and_wait();
    interrupt.end_program();
  }
  return h.take_result();  // nobody else holds h: move the value out
  // (finish's destructor then cancels what is left; the loop's destructor stops the default
  // executor, waiting for work already running in it, as asyncio.run does.)
}

}  // namespace concur::aio

// Tasks key an unordered_map or set (Python's sets of tasks), typed or not.
template <>
struct std::hash<concur::aio::any_task> {
  std::size_t operator()(const concur::aio::any_task& t) const noexcept {
    return std::hash<const void*>()(t.base());
  }
};
template <class T>
struct std::hash<concur::aio::task_handle<T>> : std::hash<concur::aio::any_task> {};
