// Task introspection: current_task, all_tasks, call graphs and the loop's task tree.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <concur/aio/introspect.hpp>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace concur::aio {

namespace {

using detail::task_base;

std::vector<task_base*> oldest_first(std::vector<task_base*> tasks) {
  std::sort(tasks.begin(), tasks.end(),
            [](const task_base* a, const task_base* b) { return a->id() < b->id(); });
  return tasks;
}

// The node `t` waits on, while that wait is still pending.
const detail::wait_node* pending_wait(const task_base& t) noexcept {
  const detail::wait_node* n = t.parked_on();
  return n != nullptr && n->pending() ? n : nullptr;
}

std::vector<task_base*> tasks_awaited_by(const task_base& t) {
  std::vector<task_base*> out;
  const detail::wait_node* n = pending_wait(t);
  if (n != nullptr && t.parked_ops() != nullptr && t.parked_ops()->awaited != nullptr) {
    t.parked_ops()->awaited(*n, out);
  }
  return out;
}

std::string time_left(const event_loop& loop, const detail::wait_node& n) {
  auto deadline = loop.timer_deadline(&n);
  if (!deadline) return {};
  const double left = std::chrono::duration<double>(*deadline - loop.now()).count();
  char text[48];
  std::snprintf(text, sizeof text, ", %.2f s left", left > 0 ? left : 0.0);
  return text;
}

std::string describe_wait(const task_base& t) {
  const detail::wait_node* n = pending_wait(t);
  if (n == nullptr) return {};
  const detail::wait_ops* ops = t.parked_ops();
  std::string what = ops == nullptr             ? std::string("an event")
                     : ops->describe != nullptr ? ops->describe(*n)
                     : ops->what != nullptr     ? std::string(ops->what)
                                                : std::string("an event");
  if (t.loop() != nullptr) what += time_left(*t.loop(), *n);
  return what;
}

std::string describe_state(const task_base& t) {
  if (t.done()) {
    if (t.cancelled()) return "cancelled";
    return t.exception_ptr() ? "failed" : "done";
  }
  if (detail::current_task_slot() == &t) return "running";
  return pending_wait(t) != nullptr ? "waiting" : "ready";
}

std::vector<any_task> wrap(const std::vector<task_base*>& tasks) {
  std::vector<any_task> out;
  out.reserve(tasks.size());
  for (task_base* t : tasks) out.emplace_back(t);
  return out;
}

// Who waits on whom among the pending tasks of one loop, computed once for a whole dump.
struct await_graph {
  std::vector<task_base*> tasks;  // oldest first
  std::unordered_map<const task_base*, std::vector<task_base*>> awaits;
  std::unordered_set<const task_base*> awaited;

  explicit await_graph(const event_loop& loop) : tasks(oldest_first(loop.pending_task_list())) {
    for (task_base* t : tasks) {
      auto children = oldest_first(tasks_awaited_by(*t));
      for (task_base* c : children) awaited.insert(c);
      awaits.emplace(t, std::move(children));
    }
  }
};

std::string task_line(const task_base& t) {
  std::string line =
      "(T) " + t.name() + "  id=" + std::to_string(t.id()) + "  " + describe_state(t);
  if (t.cancelling() > 0 && !t.done()) line += " (cancel requested)";
  std::string wait = describe_wait(t);
  if (!wait.empty()) line += ": " + wait;
  return line;
}

class tree_printer {
 public:
  tree_printer(const await_graph& g, std::ostream& os) : g_(g), os_(os) {}

  void print_all() {
    std::vector<const task_base*> roots;
    for (task_base* t : g_.tasks) {
      if (!g_.awaited.contains(t)) roots.push_back(t);
    }
    print_siblings(roots, "");
    // Tasks that only wait on each other have no root: print them from the oldest.
    std::vector<const task_base*> rest;
    for (task_base* t : g_.tasks) {
      if (!printed_.contains(t)) rest.push_back(t);
    }
    while (!rest.empty()) {
      print_siblings({rest.front()}, "");
      std::erase_if(rest, [&](const task_base* t) { return printed_.contains(t); });
    }
  }

 private:
  void print_siblings(const std::vector<const task_base*>& tasks, const std::string& indent) {
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      const bool last = i + 1 == tasks.size();
      print_task(*tasks[i], indent, last);
    }
  }
  void print_task(const task_base& t, const std::string& indent, bool last) {
    os_ << indent << (last ? "└── " : "├── ");
    if (on_path_.contains(&t)) {
      os_ << "(T) " << t.name() << "  id=" << t.id() << "  (cycle: waits on a task above)\n";
      return;
    }
    if (printed_.contains(&t)) {
      os_ << "(T) " << t.name() << "  id=" << t.id() << "  (shown above)\n";
      return;
    }
    printed_.insert(&t);
    os_ << task_line(t) << '\n';
    auto it = g_.awaits.find(&t);
    if (it == g_.awaits.end() || it->second.empty()) return;
    on_path_.insert(&t);
    std::vector<const task_base*> children(it->second.begin(), it->second.end());
    print_siblings(children, indent + (last ? "    " : "│   "));
    on_path_.erase(&t);
  }

  const await_graph& g_;
  std::ostream& os_;
  std::unordered_set<const task_base*> printed_;
  std::unordered_set<const task_base*> on_path_;
};

call_graph build_graph(task_base* t, std::unordered_set<const task_base*>& path) {
  call_graph g;
  g.task = any_task(t);
  if (path.contains(t)) {
    g.cycle = true;
    return g;
  }
  g.awaiting = describe_wait(*t);
  path.insert(t);
  for (const any_task& waiter : g.task.awaited_by()) {
    g.awaited_by.push_back(build_graph(waiter.base(), path));
  }
  path.erase(t);
  return g;
}

void render(const call_graph& g, std::string& out, int level) {
  const std::string pad(static_cast<std::size_t>(level) * 4, ' ');
  out += pad + "* Task(name='" + g.task.get_name() + "', id=" + std::to_string(g.task.id()) + ")";
  if (g.cycle) {
    out += " (cycle)\n";
    return;
  }
  out += '\n';
  if (!g.awaiting.empty()) out += pad + "+ Awaiting: " + g.awaiting + '\n';
  if (g.awaited_by.empty()) return;
  out += pad + "+ Awaited by:\n";
  for (const auto& w : g.awaited_by) render(w, out, level + 1);
}

}  // namespace

std::string any_task::state() const { return describe_state(*t_); }

std::string any_task::awaiting() const { return describe_wait(*t_); }

std::vector<any_task> any_task::awaits() const { return wrap(oldest_first(tasks_awaited_by(*t_))); }

std::vector<any_task> any_task::awaited_by() const {
  std::vector<task_base*> out;
  if (t_->loop() == nullptr || t_->done()) return {};
  for (task_base* other : oldest_first(t_->loop()->pending_task_list())) {
    auto awaited = tasks_awaited_by(*other);
    if (std::find(awaited.begin(), awaited.end(), t_) != awaited.end()) out.push_back(other);
  }
  return wrap(out);
}

any_task current_task() noexcept { return any_task(detail::current_task_slot()); }

std::vector<any_task> all_tasks() {
  return wrap(oldest_first(get_running_loop().pending_task_list()));
}

call_graph capture_call_graph(const any_task& t) {
  any_task start = t.valid() ? t : current_task();
  if (!start.valid()) return {};
  std::unordered_set<const task_base*> path;
  return build_graph(start.base(), path);
}

std::string format_call_graph(const any_task& t) {
  call_graph g = capture_call_graph(t);
  if (!g.task.valid()) return {};
  std::string out;
  render(g, out, 0);
  return out;
}

void print_call_graph(std::ostream& os, const any_task& t) { os << format_call_graph(t); }

std::vector<detail::task_base*> event_loop::pending_task_list() const {
  std::vector<detail::task_base*> out;
  out.reserve(pending_tasks_);
  for (auto* t = all_tasks_; t != nullptr; t = t->all_next_) {
    if (!t->done()) out.push_back(t);
  }
  return out;
}

void event_loop::dump_tasks(std::ostream& os) const {
  await_graph g(*this);
  std::ostringstream text;
  text << "tasks of event loop " << static_cast<const void*>(this) << " (thread " << ::gettid()
       << "): " << g.tasks.size() << " pending\n";
  tree_printer(g, text).print_all();
  os << text.str() << std::flush;  // one write, so loops dumping at once do not interleave
}

}  // namespace concur::aio
