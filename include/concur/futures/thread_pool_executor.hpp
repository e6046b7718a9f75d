#pragma once
// concurrent.futures.ThreadPoolExecutor.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <concur/futures/detail/state.hpp>
#include <concur/futures/errors.hpp>
#include <concur/futures/future.hpp>
#include <concur/futures/map_results.hpp>
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
class thread_pool_core;

// The type a submitted callable's result is stored as: references and cv are dropped, like
// std::async does.
template <class F, class... A>
using submit_result_t = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>;

template <class D>
struct is_duration : std::false_type {};
template <class Rep, class Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};
}  // namespace detail

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
    return map_impl(concur::deadline_after(timeout), std::forward<F>(f),
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
  void push_and_leave(detail::executor_task* task);
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
  auto map_impl(std::optional<concur::clock::time_point> deadline, F&& f, Rs&&... ranges) {
    using R = detail::submit_result_t<F&, std::ranges::range_reference_t<Rs>...>;
    auto futures = detail::submit_in_step<R>(
        [&](auto&&... items) { return submit(f, std::forward<decltype(items)>(items)...); },
        ranges...);
    return map_results<R>(std::move(futures), deadline);
  }

  std::shared_ptr<detail::thread_pool_core> core_;
  std::size_t max_workers_;
};

}  // namespace concur
