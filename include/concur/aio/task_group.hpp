#pragma once
#include <concur/aio/task.hpp>
#include <list>

namespace concur::aio {

// asyncio.TaskGroup (Lib/asyncio/taskgroups.py). Structured form (preferred, like
// `async with TaskGroup() as tg:`):
//   co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<void> {
//     tg.create_task(a()); tg.create_task(b()); co_return;
//   });
// or by hand: create_task(...) then always `co_await tg.wait()`.
// The first child failure (not a cancellation) cancels the other children and the task that
// owns the group; wait() returns only when every child is done and raises exception_group
// holding every failure (the children's, then the body's). Cancelling the owner while it
// waits cancels every child, and the cancellation propagates once they are done.
class task_group {
 public:
  // Must be created inside a task (the owner).
  task_group() : parent_(&detail::running_task()) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  // A group left without wait() cancels its children (it cannot wait in a destructor).
  ~task_group() {
    for (auto& n : children_) {
      if (n.linked()) {
        n.unlink();
        try {
          n.child->cancel();
        } catch (...) {
        }
      }
      n.child->release();
    }
  }

  template <class T>
  task_handle<T> create_task(task<T> t, std::string name = {}) {
    if (exiting_ && pending_ == 0) throw invalid_state_error("task_group is finished");
    if (aborting_) throw invalid_state_error("task_group is shutting down");
    auto h = parent_->loop()->create_task(std::move(t), std::move(name));
    child& n = children_.emplace_back();
    n.group = this;
    n.child = h.base();
    n.child->add_ref();
    n.notify = &on_task_done;
    n.deferred = true;
    n.child->add_done_listener(n);
    ++pending_;
    return h;
  }
  // Cancels every child still running.
  void cancel() {
    for (auto& n : children_) n.child->cancel();
  }
  std::size_t size() const noexcept { return children_.size(); }
  std::size_t pending() const noexcept { return pending_; }

  // __aexit__ without an exception: waits for every child; raises exception_group with the
  // failures, or cancelled_error if the owner was cancelled.
  task<void> wait() { return finish(nullptr); }

  // __aexit__ after the body of the group ended with `body_error` (may be null).
  task<void> finish(std::exception_ptr body_error) {
    exiting_ = true;
    std::exception_ptr propagate_cancellation;
    if (body_error && is_cancellation(body_error)) propagate_cancellation = body_error;
    // The owner is being cancelled, or the body failed: stop the children.
    if (body_error && !aborting_) abort();
    // A loop: the owner may be cancelled again (or once more, while the group's own
    // cancellation is in progress) while it waits.
    while (pending_ > 0) {
      try {
        co_await completed_awaiter(this);
      } catch (const cancelled_error&) {
        if (!aborting_) {
          propagate_cancellation = std::current_exception();
          abort();
        }
      }
    }
    if (parent_cancel_requested_) {
      // The group cancelled its owner itself: take that request back; only a cancellation
      // from outside propagates.
      if (parent_->uncancel() == 0) propagate_cancellation = nullptr;
    }
    if (propagate_cancellation && errors_.empty()) std::rethrow_exception(propagate_cancellation);
    if (body_error && !is_cancellation(body_error)) errors_.push_back(body_error);
    if (!errors_.empty()) {
      // Keep an outside cancellation's count stable across the group's own request.
      if (parent_->cancelling() > 0) {
        parent_->uncancel();
        parent_->cancel();
      }
      auto errors = std::move(errors_);
      throw exception_group("unhandled errors in a task_group (" + std::to_string(errors.size()) +
                                " sub-exception" + (errors.size() == 1 ? ")" : "s)"),
                            std::move(errors));
    }
  }

 private:
  struct child : detail::done_listener {
    task_group* group = nullptr;
    detail::task_base* child = nullptr;
  };
  // asyncio's _on_completed_fut: done when the last child is.
  class completed_awaiter : public detail::wait_node {
   public:
    explicit completed_awaiter(task_group* g) noexcept : g_(g) {}
    ~completed_awaiter() {
      if (g_->completed_ == this) g_->completed_ = nullptr;
    }
    bool await_ready() const noexcept { return g_->pending_ == 0; }
    void await_suspend(std::coroutine_handle<> h) {
      static constexpr detail::wait_ops ops{.describe = &describe, .awaited = &awaited};
      g_->completed_ = this;
      park(h, &ops);
    }
    void await_resume() {
      g_->completed_ = nullptr;
      raise_if_cancelled();
    }

   private:
    static std::string describe(const detail::wait_node& n) {
      const task_group* g = static_cast<const completed_awaiter&>(n).g_;
      return "task_group (" + std::to_string(g->pending_) + " of " +
             std::to_string(g->children_.size()) + " tasks pending)";
    }
    static void awaited(const detail::wait_node& n, std::vector<detail::task_base*>& out) {
      for (const auto& c : static_cast<const completed_awaiter&>(n).g_->children_) {
        if (!c.child->done()) out.push_back(c.child);
      }
    }
    task_group* g_;
  };

  static bool is_cancellation(const std::exception_ptr& e) noexcept {
    try {
      std::rethrow_exception(e);
    } catch (const cancelled_error&) {
      return true;
    } catch (...) {
      return false;
    }
  }
  void abort() noexcept {
    aborting_ = true;
    for (auto& n : children_) {
      if (n.child->done()) continue;
      try {
        n.child->cancel();
      } catch (...) {
      }
    }
  }
  static void on_task_done(detail::done_listener& l) noexcept {
    auto& n = static_cast<child&>(l);
    task_group* g = n.group;
    detail::task_base* c = n.child;
    --g->pending_;
    if (g->pending_ == 0 && g->completed_ != nullptr) g->completed_->set_done();
    if (c->cancelled() || !c->exception_ptr()) return;
    c->mark_retrieved();
    try {
      g->errors_.push_back(c->exception_ptr());
    } catch (...) {
    }
    if (g->parent_->done()) {
      if (event_loop* loop = g->parent_->loop()) {
        loop->call_exception_handler(
            {"a task_group child failed after its owner completed", c->exception_ptr(), c->name()});
      }
      return;
    }
    if (!g->aborting_ && !g->parent_cancel_requested_) {
      // Interrupt whatever the owner is doing in the group's body, as asyncio does;
      // finish() takes this request back.
      g->abort();
      g->parent_cancel_requested_ = true;
      try {
        g->parent_->cancel();
      } catch (...) {
      }
    }
  }

  detail::task_base* parent_;
  std::list<child> children_;
  std::vector<std::exception_ptr> errors_;
  completed_awaiter* completed_ = nullptr;
  std::size_t pending_ = 0;
  bool aborting_ = false;
  bool exiting_ = false;
  bool parent_cancel_requested_ = false;
};

// `async with asyncio.TaskGroup() as tg: <body>` — body(tg) returns a task<void>.
template <class F>
task<void> with_task_group(F body) {
  task_group tg;
  std::exception_ptr err;
  try {
    co_await body(tg);
  } catch (...) {
    err = std::current_exception();
  }
  co_await tg.finish(err);
}

}  // namespace concur::aio
