#pragma once
#include <concur/aio/event_loop.hpp>
#include <concur/futures/future.hpp>

namespace concur::aio::detail {

// Awaits a concur::future without blocking the loop: the future's done-callback (on the
// thread that completes it) posts the wake-up through the loop's inbox.
template <class T>
class future_awaiter {
 public:
  explicit future_awaiter(concur::future<T> f) : f_(std::move(f)) {
    if (!f_.valid()) throw invalid_state_error("aio: awaiting a future without state");
  }

  bool await_ready() const { return f_.done(); }
  bool await_suspend(std::coroutine_handle<> h) {
    task_ = &running_task();
    if (task_->take_cancel()) {
      f_.cancel();
      cancelled_ = true;
      return false;
    }
    link_ = std::make_shared<link>();
    link_->task = task_;
    task_->suspend(h, &on_cancel, this);
    task_->loop()->begin_external_wait();
    f_.add_done_callback([inbox = task_->loop()->inbox(), l = link_](const concur::future<T>&) {
      post_to(*inbox, [l] {
        if (task_base* t = std::exchange(l->task, nullptr)) {
          t->loop()->end_external_wait();
          t->wake();
        }
      });
    });
    return true;
  }
  decltype(auto) await_resume() const {
    if (cancelled_) throw cancelled_error();
    try {
      if constexpr (std::is_void_v<T>) {
        f_.result();
      } else {
        return T(f_.result());
      }
    } catch (const concur::cancelled_error&) {
      // A cancelled concurrent future cancels its awaiter, as asyncio.wrap_future does.
      throw cancelled_error("the awaited concur::future was cancelled");
    }
  }

 private:
  struct link {
    task_base* task = nullptr;  // touched on the loop's thread only
  };
  static void on_cancel(void* p) noexcept {
    auto* self = static_cast<future_awaiter*>(p);
    self->link_->task = nullptr;
    self->task_->loop()->end_external_wait();
    try {
      self->f_.cancel();  // only succeeds while the work has not started
    } catch (...) {
    }
    self->cancelled_ = true;
    self->task_->wake();
  }

  concur::future<T> f_;
  std::shared_ptr<link> link_;
  task_base* task_ = nullptr;
  bool cancelled_ = false;
};

template <class T>
struct is_concur_future : std::false_type {};
template <class T>
struct is_concur_future<concur::future<T>> : std::true_type {};

}  // namespace concur::aio::detail
