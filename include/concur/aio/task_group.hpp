#pragma once
#include <concur/aio/task.hpp>
#include <list>

namespace concur::aio {

// asyncio.TaskGroup. Structured form (preferred, like `async with TaskGroup() as tg:`):
//   co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<void> {
//     tg.create_task(a()); tg.create_task(b()); co_return;
//   });
// or by hand: create_task(...) then always `co_await tg.wait()`.
// The first child failure (not a cancellation) cancels the other children and the task that
// owns the group; wait() returns only when every child is done and raises exception_group
// holding every failure. Cancelling the owner while it waits cancels every child.
class task_group {
 public:
  // Must be created inside a task (the owner).
  task_group() : owner_(&detail::running_task()) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  // A group left without wait() cancels its children (it cannot wait in a destructor).
  ~task_group() {
    for (auto& n : nodes_) {
      if (n.linked()) {
        n.unlink();
        n.child->cancel();
      }
      n.child->release();
    }
  }

  template <class T>
  task_handle<T> create_task(task<T> t, std::string name = {}) {
    if (joined_) throw invalid_state_error("task_group is finished");
    if (aborting_) throw invalid_state_error("task_group is shutting down");
    auto h = owner_->loop()->create_task(std::move(t), std::move(name));
    node& n = nodes_.emplace_back();
    n.group = this;
    n.child = h.base();
    n.child->add_ref();
    n.notify = &on_child_done;
    n.child->done_waiters.push_back(&n);
    ++pending_;
    return h;
  }
  // Cancels every child still running.
  void cancel() {
    for (auto& n : nodes_) n.child->cancel();
  }
  std::size_t size() const noexcept { return nodes_.size(); }
  std::size_t pending() const noexcept { return pending_; }

  // __aexit__: waits for every child; raises exception_group with the failures, or
  // cancelled_error if the owner was cancelled.
  task<void> wait() { return finish(nullptr); }

  // Like wait(), after the body of the group ended with `body_error` (may be null).
  task<void> finish(std::exception_ptr body_error) {
    waiting_ = true;
    bool cancelled = false;
    if (body_error) {
      try {
        std::rethrow_exception(body_error);
      } catch (const cancelled_error&) {
        // Our own abort interrupted the body: not a real cancellation of the owner.
        if (owner_cancelled_by_us_) {
          owner_cancelled_by_us_ = false;
          owner_->uncancel();
        } else {
          cancelled = true;
        }
        body_error = nullptr;
      } catch (...) {
      }
      abort();
    }
    if (pending_ > 0) {
      try {
        co_await join_awaiter{this};
      } catch (const cancelled_error&) {
        cancelled = true;
      }
    }
    joined_ = true;
    if (owner_cancelled_by_us_) {
      owner_cancelled_by_us_ = false;
      owner_->uncancel();
    }
    std::vector<std::exception_ptr> errors;
    if (body_error) errors.push_back(body_error);
    errors.insert(errors.end(), errors_.begin(), errors_.end());
    if (!errors.empty()) {
      throw exception_group("unhandled errors in a task_group (" + std::to_string(errors.size()) +
                                " sub-exception" + (errors.size() == 1 ? ")" : "s)"),
                            std::move(errors));
    }
    if (cancelled) throw cancelled_error();
  }

 private:
  struct node : detail::waiter {
    task_group* group = nullptr;
    detail::task_base* child = nullptr;
  };
  struct join_awaiter {
    task_group* g;
    bool cancelled = false;
    bool await_ready() const noexcept { return g->pending_ == 0; }
    bool await_suspend(std::coroutine_handle<> h) {
      g->parked_ = true;
      g->owner_->suspend(h, &on_cancel, this);
      if (g->owner_->take_cancel()) on_cancel(this);
      return true;
    }
    void await_resume() {
      g->parked_ = false;
      if (cancelled) throw cancelled_error();
    }
    static void on_cancel(void* p) noexcept {
      auto* self = static_cast<join_awaiter*>(p);
      self->cancelled = true;
      self->g->abort();  // we wake when the children are done
    }
  };

  void abort() noexcept {
    aborting_ = true;
    for (auto& n : nodes_) {
      try {
        n.child->cancel();
      } catch (...) {
      }
    }
  }
  static void on_child_done(detail::waiter* w) noexcept {
    auto* n = static_cast<node*>(w);
    task_group* g = n->group;
    --g->pending_;
    detail::task_base* c = n->child;
    if (c->exception_ptr() && !c->cancelled()) {
      c->mark_retrieved();
      try {
        g->errors_.push_back(c->exception_ptr());
      } catch (...) {
      }
      if (!g->aborting_) {
        g->abort();
        if (!g->waiting_ && !g->owner_->done()) {
          // Interrupt the group's body, as asyncio does; finish() takes it back.
          g->owner_cancelled_by_us_ = true;
          g->owner_->cancel();
        }
      }
    }
    if (g->pending_ == 0 && g->parked_) g->owner_->wake();
  }

  detail::task_base* owner_;
  std::list<node> nodes_;
  std::vector<std::exception_ptr> errors_;
  std::size_t pending_ = 0;
  bool aborting_ = false;
  bool waiting_ = false;
  bool parked_ = false;
  bool joined_ = false;
  bool owner_cancelled_by_us_ = false;
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
