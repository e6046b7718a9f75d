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
