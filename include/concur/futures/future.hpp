#pragma once
// concurrent.futures.Future as a copyable handle (future<T>) and its producer (promise<T>).
#include <chrono>
#include <concepts>
#include <concur/futures/detail/state.hpp>
#include <concur/futures/errors.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace concur {

template <class T>
class future;
template <class T>
class promise;

namespace detail {
struct adopt_t {
  explicit adopt_t() = default;
};
inline constexpr adopt_t adopt{};

template <class T>
struct result_ref {
  using type = const T&;
};
template <>
struct result_ref<void> {
  using type = void;
};

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<future<T>> : std::true_type {};
}  // namespace detail

// Names one callback added with future::add_done_callback, for remove_done_callback.
class callback_token {
 public:
  callback_token() = default;
  // False when the callback already ran as it was added.
  explicit operator bool() const noexcept { return node_ != nullptr; }

 private:
  template <class T>
  friend class future;
  callback_token(const void* state, detail::done_callback_node* node)
      : state_(state), node_(node) {}
  const void* state_ = nullptr;
  detail::done_callback_node* node_ = nullptr;
};

// A handle to one result that is produced elsewhere (like Python's Future, or
// std::shared_future): copies share the result; every member is safe to call from any
// thread. A default-constructed future is not valid() and throws invalid_state_error.
template <class T>
class future {
 public:
  using value_type = T;
  using result_reference = typename detail::result_ref<T>::type;

  future() noexcept = default;
  // Takes over one reference the caller owns.
  future(detail::adopt_t, detail::state<T>* s) noexcept : state_(s) {}
  future(const future& other) noexcept : state_(other.state_) {
    if (state_) state_->add_ref();
  }
  future(future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  future& operator=(const future& other) noexcept {
    future(other).swap(*this);
    return *this;
  }
  future& operator=(future&& other) noexcept {
    future(std::move(other)).swap(*this);
    return *this;
  }
  ~future() {
    if (state_) state_->release();
  }
  void swap(future& other) noexcept { std::swap(state_, other.state_); }

  bool valid() const noexcept { return state_ != nullptr; }
  bool done() const { return get().done(); }
  bool running() const { return get().running(); }
  bool cancelled() const { return get().cancelled(); }
  // Cancels work that has not started; true if the future is (now) cancelled.
  bool cancel() const { return get().cancel(); }

  void wait() const { get().wait(); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return get().wait_until(concur::deadline_after(timeout));
  }
  bool wait_until(concur::clock::time_point deadline) const { return get().wait_until(deadline); }

  // Waits, then returns the value or rethrows the task's exception (its own type);
  // throws cancelled_error if the future was cancelled.
  result_reference result() const {
    get().wait();
    return checked_value();
  }
  template <class Rep, class Period>
  result_reference result(std::chrono::duration<Rep, Period> timeout) const {
    if (!get().wait_until(concur::deadline_after(timeout)))
      throw timeout_error("future::result: timed out waiting for the result");
    return checked_value();
  }

  // The exception the work ended with, or null if it succeeded.
  std::exception_ptr exception() const {
    get().wait();
    return checked_exception();
  }
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    if (!get().wait_until(concur::deadline_after(timeout)))
      throw timeout_error("future::exception: timed out waiting for the result");
    return checked_exception();
  }

  // Calls fn(const future<T>&) exactly once when the future is done: right away on this
  // thread if it already is, otherwise on the thread that completes (or cancels) it.
  // An exception from fn is reported on stderr and otherwise ignored, as in Python.
  // The token can be passed to remove_done_callback.
  // clang-format off
  template <class F>
    requires std::invocable<F&, const future<T>&>
  callback_token add_done_callback(F&& fn) const {
    // clang-format on
    auto& s = get();
    auto node = std::make_unique<callback<std::decay_t<F>>>(std::forward<F>(fn));
    return callback_token(&s, s.add_callback(std::move(node)));
  }

  // Removes a callback that has not run yet (asyncio's remove_done_callback, by token
  // rather than by function). True if it was removed and will never run; false if it ran,
  // is running, or the token is empty or from another future. Use each token once.
  bool remove_done_callback(const callback_token& token) const {
    if (!token || token.state_ != state_) return false;
    return get().remove_callback(token.node_);
  }

  // Two handles are equal when they share one result.
  friend bool operator==(const future& a, const future& b) noexcept { return a.state_ == b.state_; }
  const void* id() const noexcept { return state_; }

 private:
  template <class F>
  struct callback final : detail::done_callback_node {
    explicit callback(F f) : fn(std::move(f)) {}
    void invoke(detail::state_base& s) noexcept override {
      try {
        s.add_ref();
        const future self(detail::adopt, static_cast<detail::state<T>*>(&s));
        std::invoke(fn, self);
      } catch (...) {
        detail::report_callback_error(std::current_exception());
      }
    }
    F fn;
  };

  detail::state<T>& get() const {
    if (!state_) throw invalid_state_error("operation on a future that has no state");
    return *state_;
  }
  result_reference checked_value() const {
    if (state_->cancelled()) throw cancelled_error("future::result: the future was cancelled");
    if (state_->stored_exception()) std::rethrow_exception(state_->stored_exception());
    return state_->value();
  }
  std::exception_ptr checked_exception() const {
    if (state_->cancelled()) throw cancelled_error("future::exception: the future was cancelled");
    return state_->stored_exception();
  }

  detail::state<T>* state_ = nullptr;
};

// The producer side of a future (what an executor does with Python's Future internally).
// Move-only. Destroying it before a result was set completes the future with
// concur::broken_promise, so waiters never hang.
template <class T>
class promise {
 public:
  promise() : state_(new detail::promise_state<T>()) {}
  promise(promise&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  promise& operator=(promise&& other) noexcept {
    if (this != &other) {
      drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  ~promise() { drop(); }

  // Every call returns a handle to the same result.
  future<T> get_future() const {
    check();
    state_->add_ref();
    return future<T>(detail::adopt, state_);
  }

  // Python's set_running_or_notify_cancel: false if the future was cancelled (then do not
  // run the work); true moves it to running so that cancel() no longer succeeds.
  bool set_running_or_notify_cancel() {
    check();
    return state_->set_running_or_notify_cancel();
  }

  // Completes the future. Throws invalid_state_error if it already has a result or was
  // cancelled.
  // clang-format off
  template <class... A>
    requires(std::is_void_v<T> ? sizeof...(A) == 0 : std::is_constructible_v<T, A...>)
  void set_value(A&&... args) {
    // clang-format on
    check();
    state_->set_value(std::forward<A>(args)...);
  }
  void set_exception(const std::exception_ptr& error) {
    check();
    state_->set_exception(error);
  }

 private:
  void check() const {
    if (!state_) throw invalid_state_error("operation on a moved-from promise");
  }
  void drop() noexcept {
    if (!state_) return;
    state_->fail_if_pending(std::make_exception_ptr(broken_promise()));
    state_->release();
    state_ = nullptr;
  }

  detail::state<T>* state_;
};

}  // namespace concur

// Python's `{executor.submit(f, url): url for url in urls}`: a future keys an unordered_map,
// and the copies that as_completed and wait hand back find their entry (equal futures share
// one result).
template <class T>
struct std::hash<concur::future<T>> {
  std::size_t operator()(const concur::future<T>& f) const noexcept {
    return std::hash<const void*>()(f.id());
  }
};
