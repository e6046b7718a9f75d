#pragma once
#include <concur/aio/awaiter.hpp>
#include <concur/futures/future.hpp>

namespace concur::aio::detail {

// Awaits a concur::future without blocking the loop (asyncio.wrap_future): the future's
// done-callback, on the thread that completes it, posts the wake-up through the loop's inbox.
// While it waits, virtual time does not jump. Cancelling the awaiting task cancels the future
// (which only succeeds while its work has not started) and raises cancelled_error at once.
template <class T>
class future_awaiter : public wait_node {
 public:
  explicit future_awaiter(concur::future<T> f) : f_(std::move(f)) {
    if (!f_.valid()) throw invalid_state_error("aio: awaiting a future without state");
  }
  future_awaiter(future_awaiter&&) noexcept = default;
  future_awaiter& operator=(future_awaiter&&) = delete;

  bool await_ready() const { return f_.done(); }
  void await_suspend(std::coroutine_handle<> h) {
    static constexpr wait_ops ops{.on_cancel = &on_cancel,
                                  .what = "concur::future (work in another thread)"};
    event_loop* loop = running_task().loop();
    link_ = std::make_shared<link>();
    link_->node = this;
    link_->loop = loop;
    loop->begin_external_wait();
    f_.add_done_callback([inbox = loop->inbox(), l = link_](const concur::future<T>&) {
      post_to(*inbox, [l] {
        if (future_awaiter* n = std::exchange(l->node, nullptr)) {
          l->loop->end_external_wait();
          n->set_done();
        }
      });
    });
    park(h, &ops);
  }
  decltype(auto) await_resume() const {
    raise_if_cancelled();
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
  // Not going to be awaited (a timeout that had already passed): asyncio cancels it then.
  void abandon() const noexcept {
    try {
      f_.cancel();
    } catch (...) {
    }
  }

 private:
  // Shared with the callback, which may run after this awaiter is gone; touched on the loop's
  // thread only.
  struct link {
    future_awaiter* node = nullptr;
    event_loop* loop = nullptr;
  };
  static void on_cancel(wait_node& n) noexcept {
    auto& self = static_cast<future_awaiter&>(n);
    if (std::exchange(self.link_->node, nullptr) != nullptr) self.link_->loop->end_external_wait();
    self.abandon();
  }

  concur::future<T> f_;
  std::shared_ptr<link> link_;
};

template <class T>
struct is_concur_future : std::false_type {};
template <class T>
struct is_concur_future<concur::future<T>> : std::true_type {};

}  // namespace concur::aio::detail
