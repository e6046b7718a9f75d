#pragma once
// concurrent.futures.ThreadPoolExecutor.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <concur/futures/detail/state.hpp>
#include <concur/futures/errors.hpp>
#include <concur/futures/future.hpp>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace concur {

namespace detail {
class pool_core;

// The type a submitted callable's result is stored as: references and cv are dropped, like
// std::async does.
template <class F, class... A>
using submit_result_t = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;

template <class D>
struct is_duration : std::false_type {};
template <class Rep, class Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};
}  // namespace detail

// What executor::map returns: the futures of every call, submitted at once, whose results
// are handed out lazily and in order. Iterating waits for each result in turn (rethrowing
// its exception; throwing timeout_error once the map's timeout has passed). Destroying the
// range cancels the calls whose results were not reached, as Python's map generator does
// when it is closed.
template <class R>
class map_results {
 public:
  static_assert(!std::is_void_v<R>, "map needs a function that returns a value; use submit");

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using reference = const R&;

    iterator() = default;
    const R& operator*() const { return owner_->at(index_); }
    iterator& operator++() {
      owner_->consumed(index_);
      ++index_;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.at_end();
    }

   private:
    friend class map_results;
    iterator(map_results* owner, std::size_t index) : owner_(owner), index_(index) {}
    bool at_end() const noexcept { return owner_ == nullptr || index_ >= owner_->futures_.size(); }
    map_results* owner_ = nullptr;
    std::size_t index_ = 0;
  };

  map_results(std::vector<future<R>> futures, std::optional<detail::clock::time_point> deadline)
      : futures_(std::move(futures)), deadline_(deadline) {}
  map_results(map_results&&) noexcept = default;
  map_results& operator=(map_results&&) = delete;
  map_results(const map_results&) = delete;
  map_results& operator=(const map_results&) = delete;
  ~map_results() {
    for (auto& f : futures_)
      if (f.valid()) f.cancel();
  }

  // Single pass: begin() starts where the last iteration stopped.
  iterator begin() { return iterator(this, next_); }
  std::default_sentinel_t end() const noexcept { return {}; }
  std::size_t size() const noexcept { return futures_.size(); }

 private:
  const R& at(std::size_t i) const {
    const auto& f = futures_.at(i);
    if (!f.valid()) throw invalid_state_error("map: this result was already consumed");
    if (!deadline_) return f.result();
    if (!f.wait_until(*deadline_)) throw timeout_error("map: timed out waiting for a result");
    return f.result();
  }
  void consumed(std::size_t i) {
    // Dropping the handle frees the result, as Python's map drops each future it yielded.
    if (i < futures_.size()) futures_[i] = future<R>();
    next_ = i + 1;
  }

  std::vector<future<R>> futures_;
  std::optional<detail::clock::time_point> deadline_;
  std::size_t next_ = 0;
};

// A pool of worker threads running submitted callables, like Python's ThreadPoolExecutor.
// Workers start in the constructor (Python starts them on demand) and each runs
// `initializer` first; if an initializer throws, the pool is broken: pending work fails with
// broken_executor_error and so do later submits. The destructor is shutdown(true).
// Not copyable or movable (hold it by unique_ptr to move it).
class thread_pool_executor {
 public:
  // Python's default: min(32, cpu_count + 4).
  static std::size_t default_max_workers() noexcept;

  explicit thread_pool_executor(std::size_t max_workers = default_max_workers(),
                                std::function<void()> initializer = {});
  ~thread_pool_executor();
  thread_pool_executor(const thread_pool_executor&) = delete;
  thread_pool_executor& operator=(const thread_pool_executor&) = delete;

  // Schedules f(args...) (copies or moves of them) and returns its future. Throws
  // executor_shutdown_error after shutdown(), broken_executor_error once broken.
  // clang-format off
  template <class F, class... A>
    requires std::invocable<std::decay_t<F>, std::decay_t<A>...>
  future<detail::submit_result_t<F, A...>> submit(F&& f, A&&... args) {
    // clang-format on
    using R = detail::submit_result_t<F, A...>;
    auto call = [fn = std::forward<F>(f), ... a = std::forward<A>(args)]() mutable -> R {
      return std::invoke(std::move(fn), std::move(a)...);
    };
    return submit_task<R>(std::move(call));
  }

  // Python's map(fn, *iterables): calls f on the elements of the ranges taken in step
  // (stopping at the shortest), all submitted now; results come lazily and in order.
  // clang-format off
  template <class F, std::ranges::input_range... Rs>
    requires(sizeof...(Rs) > 0 && !detail::is_duration<std::decay_t<F>>::value)
  auto map(F&& f, Rs&&... ranges) {
    // clang-format on
    return map_impl(std::nullopt, std::forward<F>(f), std::forward<Rs>(ranges)...);
  }
  // The timeout form: iteration throws timeout_error once `timeout` (counted from this
  // call) has passed and a result is still missing.
  // clang-format off
  template <class Rep, class Period, class F, std::ranges::input_range... Rs>
    requires(sizeof...(Rs) > 0)
  auto map(std::chrono::duration<Rep, Period> timeout, F&& f, Rs&&... ranges) {
    // clang-format on
    return map_impl(detail::deadline_after(timeout), std::forward<F>(f),
                    std::forward<Rs>(ranges)...);
  }

  // Stops taking work. wait: block until every worker has finished (queued work still runs
  // unless cancel_futures). cancel_futures: cancel the work that has not started. Safe to
  // call more than once and from several threads. shutdown(true) from inside one of this
  // pool's own tasks throws invalid_state_error (it would wait for itself).
  void shutdown(bool wait = true, bool cancel_futures = false);

  std::size_t max_workers() const noexcept { return max_workers_; }

 private:
  void enter();
  void push_and_leave(detail::task_base* task);
  void leave_without_push() noexcept;

  template <class R, class C>
  future<R> submit_task(C&& call) {
    enter();
    detail::task_state<R, std::decay_t<C>>* task = nullptr;
    try {
      task = new detail::task_state<R, std::decay_t<C>>(std::forward<C>(call));
    } catch (...) {
      leave_without_push();
      throw;
    }
    future<R> result(detail::adopt, task);
    push_and_leave(task);
    return result;
  }

  template <class F, class... Rs>
  auto map_impl(std::optional<detail::clock::time_point> deadline, F&& f, Rs&&... ranges) {
    using R = detail::submit_result_t<F&, std::ranges::range_reference_t<Rs>...>;
    std::vector<future<R>> futures;
    if constexpr (((std::ranges::sized_range<Rs>)&&...)) {
      futures.reserve(std::min({static_cast<std::size_t>(std::ranges::size(ranges))...}));
    }
    auto its = std::make_tuple(std::ranges::begin(ranges)...);
    auto ends = std::make_tuple(std::ranges::end(ranges)...);
    auto any_at_end = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return ((std::get<I>(its) == std::get<I>(ends)) || ...);
    };
    auto advance = [&]<std::size_t... I>(std::index_sequence<I...>) { (++std::get<I>(its), ...); };
    auto submit_one = [&]<std::size_t... I>(std::index_sequence<I...>) {
      futures.push_back(submit(f, *std::get<I>(its)...));
    };
    constexpr auto seq = std::index_sequence_for<Rs...>{};
    while (!any_at_end(seq)) {
      submit_one(seq);
      advance(seq);
    }
    return map_results<R>(std::move(futures), deadline);
  }

  std::shared_ptr<detail::pool_core> core_;
  std::size_t max_workers_;
};

}  // namespace concur
