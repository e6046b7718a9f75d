#pragma once
// asyncio.Future (loop.create_future()): a result that some code sets and tasks await. Not
// concur::future (concurrent.futures.Future, thread-safe): this one belongs to one loop and
// is used on that loop's thread only, like asyncio's.
#include <concur/aio/sync.hpp>
#include <functional>
#include <optional>
#include <variant>
#include <vector>

namespace concur::aio {

template <class T = void>
class future {
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  struct shared_state {
    explicit shared_state(event_loop* l) noexcept : loop(l) {}
    event_loop* loop;
    std::optional<stored> value;
    std::exception_ptr error;
    bool done = false;
    bool cancelled = false;
    detail::waiter_list waiters;
    std::vector<std::function<void(const future&)>> callbacks;
  };

 public:
  using value_type = T;
  // loop.create_future() on the running loop.
  future() : future(get_running_loop()) {}
  explicit future(event_loop& loop) : s_(std::make_shared<shared_state>(&loop)) {}

  bool done() const noexcept { return s_->done; }
  bool cancelled() const noexcept { return s_->done && s_->cancelled; }
  event_loop& get_loop() const noexcept { return *s_->loop; }

  // False when already done. Every awaiting task then raises cancelled_error.
  bool cancel() {
    if (s_->done) return false;
    s_->cancelled = true;
    finish();
    return true;
  }
  // invalid_state_error when already done.
  template <class... A>
  requires(std::is_void_v<T> ? sizeof...(A) == 0
                             : std::is_constructible_v<T, A...>) void set_result(A&&... args) {
    check_pending();
    s_->value.emplace(std::forward<A>(args)...);
    finish();
  }
  void set_exception(const std::exception_ptr& e) {
    if (!e) throw invalid_state_error("set_exception: the exception_ptr is null");
    check_pending();
    s_->error = e;
    finish();
  }

  // The value; rethrows the exception; cancelled_error if cancelled; invalid_state_error
  // while pending.
  decltype(auto) result() const {
    check_done();
    if (s_->error) std::rethrow_exception(s_->error);
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return static_cast<const T&>(*s_->value);
    }
  }
  // Null when it succeeded; cancelled_error if cancelled; invalid_state_error while pending.
  std::exception_ptr exception() const {
    check_done();
    return s_->error;
  }
  // f(const future&), or f(), runs on the loop (call_soon) once the future is done.
  template <class F>
  void add_done_callback(F f) {
    std::function<void(const future&)> cb;
    if constexpr (std::is_invocable_v<F&, const future&>) {
      cb = std::move(f);
    } else {
      cb = [f = std::move(f)](const future&) mutable { f(); };
    }
    if (s_->done) {
      schedule(std::move(cb));
    } else {
      s_->callbacks.push_back(std::move(cb));
    }
  }

  // co_await f: cancelling the awaiting task cancels the future, as asyncio's Task does with
  // the future it waits on.
  class awaiter : detail::listed_node {
   public:
    explicit awaiter(std::shared_ptr<shared_state> s) noexcept : s_(std::move(s)) {}
    bool await_ready() const noexcept { return s_->done; }
    void await_suspend(std::coroutine_handle<> h) {
      static constexpr detail::wait_ops ops{.forward_cancel = &forward_cancel,
                                            .what = "aio::future"};
      s_->waiters.push_back(this);
      park(h, &ops);
    }
    T await_resume() {
      list_hook::unlink();
      raise_if_cancelled();
      if constexpr (std::is_void_v<T>) {
        future(s_).result();
      } else {
        return T(future(s_).result());
      }
    }

   private:
    static bool forward_cancel(detail::wait_node& n) noexcept {
      auto& self = static_cast<awaiter&>(n);
      return future(self.s_).cancel();
    }
    std::shared_ptr<shared_state> s_;
  };
  awaiter operator co_await() const noexcept { return awaiter(s_); }

  friend bool operator==(const future& a, const future& b) noexcept { return a.s_ == b.s_; }

 private:
  explicit future(std::shared_ptr<shared_state> s) noexcept : s_(std::move(s)) {}
  void check_pending() const {
    if (s_->done) throw invalid_state_error("invalid state: the future is already done");
  }
  void check_done() const {
    if (!s_->done) throw invalid_state_error("Result is not set: the future is not done");
    if (s_->cancelled) throw cancelled_error();
  }
  void finish() noexcept {
    s_->done = true;
    s_->waiters.for_each([](detail::listed_node& n) { n.set_done(); });
    auto callbacks = std::move(s_->callbacks);
    for (auto& cb : callbacks) schedule(std::move(cb));
  }
  void schedule(std::function<void(const future&)> cb) noexcept {
    try {
      s_->loop->call_soon([cb = std::move(cb), self = *this] { cb(self); });
    } catch (...) {
      s_->loop->call_exception_handler(
          {"aio::future: could not schedule a done callback", std::current_exception(), {}});
    }
  }

  std::shared_ptr<shared_state> s_;
};

}  // namespace concur::aio
