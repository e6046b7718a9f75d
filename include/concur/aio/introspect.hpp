#pragma once
// Task introspection: asyncio.current_task, asyncio.all_tasks and Python 3.14's call graphs
// (asyncio.capture_call_graph, format_call_graph, print_call_graph). A C++ coroutine frame
// carries no function name or line, so where Python prints a task's call stack concur prints
// what the task waits for; the "awaited by" links are the same.
#include <concur/aio/task.hpp>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace concur::aio {

// asyncio.Task without its result type: what current_task() and all_tasks() give, and what a
// task_handle<T> converts to. A counted reference like task_handle; loop thread only.
class any_task {
 public:
  any_task() = default;
  explicit any_task(detail::task_base* t) noexcept : t_(t) {
    if (t_ != nullptr) t_->add_ref();
  }
  template <class T>
  any_task(const task_handle<T>& h) noexcept : any_task(h.base()) {}  // NOLINT: implicit, as Task
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
  bool cancel() { return t_->cancel(); }
  int cancelling() const noexcept { return t_->cancelling(); }
  int uncancel() noexcept { return t_->uncancel(); }
  std::string get_name() const { return t_->name(); }
  void set_name(std::string name) { t_->set_name(std::move(name)); }
  event_loop* get_loop() const noexcept { return t_->loop(); }
  // A number unique among the tasks of its loop (the N of the default name "Task-N").
  std::uint32_t id() const noexcept { return t_->id(); }
  // As task_handle::exception: null when it succeeded, cancelled_error if it was cancelled,
  // invalid_state_error while it is not done.
  std::exception_ptr exception() const;

  // Introspection (Python has it only through capture_call_graph and the asyncio CLI):
  // the state ("running", "ready", "waiting", "cancelling", "done", "cancelled", "failed"),
  std::string state() const;
  // what it waits for in a few words ("sleep, 0.25 s left", "task 'worker-2'"; empty when
  // it does not wait),
  std::string awaiting() const;
  // the tasks it waits on now (through co_await, gather, wait, a task_group's end),
  std::vector<any_task> awaits() const;
  // and the tasks of its loop that wait on it.
  std::vector<any_task> awaited_by() const;

  detail::task_base* base() const noexcept { return t_; }
  friend bool operator==(const any_task& a, const any_task& b) noexcept { return a.t_ == b.t_; }

 private:
  detail::task_base* t_ = nullptr;
};

// asyncio.current_task(): the task running on this thread; an empty any_task (valid() false)
// outside a task.
any_task current_task() noexcept;
// asyncio.all_tasks(): the tasks of the running loop that are not done, oldest first;
// invalid_state_error when no loop runs on this thread.
std::vector<any_task> all_tasks();

// asyncio.FutureCallGraph: a task and, recursively, the tasks waiting on it. `awaiting` stands
// where Python has call_stack. A task met again on the way up (tasks that wait on each other)
// appears once more with `cycle` set and nothing above it.
struct call_graph {
  any_task task;
  std::string awaiting;
  std::vector<call_graph> awaited_by;
  bool cycle = false;
};

// asyncio.capture_call_graph(task): its graph; the current task's when `t` is empty, and an
// empty graph (task not valid) when there is none.
call_graph capture_call_graph(const any_task& t = {});
// asyncio.format_call_graph: Python's layout, "* Task(name='child', id=3)", then
// "+ Awaiting: ..." where Python prints "+ Call stack:", then "+ Awaited by:" and the
// awaiting tasks indented beneath.
std::string format_call_graph(const any_task& t = {});
// asyncio.print_call_graph(task, file=os).
void print_call_graph(std::ostream& os, const any_task& t = {});

}  // namespace concur::aio

template <>
struct std::hash<concur::aio::any_task> {
  std::size_t operator()(const concur::aio::any_task& t) const noexcept {
    return std::hash<const void*>()(t.base());
  }
};
