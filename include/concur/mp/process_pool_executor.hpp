#pragma once
#include <chrono>
#include <concur/core/checked_mutex.hpp>
#include <concur/core/clock.hpp>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/futures/errors.hpp"
#include "concur/futures/future.hpp"
#include "concur/futures/map_results.hpp"
#include "concur/mp/pool.hpp"

namespace concur::mp {

// concurrent.futures.ProcessPoolExecutor with thread_pool_executor's interface (it satisfies
// the concur::executor concept), so moving work from threads to processes is a one-type change.
// The functions must be plain functions or captureless lambdas; arguments and results must be
// sendable. A worker crash fails only its future (process_crashed_error), not the executor.
// The destructor is shutdown(true).
class process_pool_executor {
 public:
  // max_workers = 0 means cpu_count(), as Python's default.
  explicit process_pool_executor(std::size_t max_workers = 0, pool_options options = {})
      : pool_(max_workers, options) {}
  process_pool_executor(std::size_t max_workers, initializer init, pool_options options = {})
      : pool_(max_workers, std::move(init), options) {}
  process_pool_executor(const process_pool_executor&) = delete;
  process_pool_executor& operator=(const process_pool_executor&) = delete;
  ~process_pool_executor() { shutdown(true); }

  // Executor.submit; executor_shutdown_error after shutdown().
  template <class F, class... Args>
  auto submit(F f, Args&&... args) {
    const checked_lock lock(m_);
    if (shut_down_) throw executor_shutdown_error();
    using R = detail::call_result_t<F, detail::send_type_t<Args>...>;
    return pool_.submit_future<R>(detail::prepare_call(false, f, std::forward<Args>(args)...), {});
  }

  // Executor.map(fn, *iterables): in step over the ranges, stopping at the shortest.
  template <class F, std::ranges::input_range... Rs>
  requires(sizeof...(Rs) > 0) auto map(F f, const Rs&... ranges) {
    return map_impl(std::nullopt, f, ranges...);
  }
  // The timeout form, counted from this call.
  template <class Rep, class Period, class F, std::ranges::input_range... Rs>
  requires(sizeof...(Rs) > 0) auto map(std::chrono::duration<Rep, Period> timeout, F f,
                                       const Rs&... ranges) {
    return map_impl(concur::deadline_after(timeout), f, ranges...);
  }

  // Executor.shutdown: no new work; cancel_futures cancels what no worker has started; wait
  // blocks until the workers have finished and exited. Safe to call more than once.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    {
      const checked_lock lock(m_);
      if (!shut_down_) {
        shut_down_ = true;
        pool_.close();
      }
    }
    if (cancel_futures) pool_.cancel_pending();
    if (wait) pool_.join();
  }

  std::size_t max_workers() const noexcept { return pool_.size(); }
  // The workers' current pids.
  std::vector<int> pids() const { return pool_.pids(); }

 private:
  template <class F, class... Rs>
  auto map_impl(std::optional<concur::clock::time_point> deadline, F f, const Rs&... ranges) {
    using R =
        detail::call_result_t<F, detail::send_type_t<std::ranges::range_reference_t<const Rs>>...>;
    static_assert(!std::is_void_v<R>, "concur::mp: map needs a function that returns a value");
    auto futures = concur::detail::submit_in_step<R>(
        [&](auto&&... items) { return submit(f, std::forward<decltype(items)>(items)...); },
        ranges...);
    return concur::map_results<R>(std::move(futures), deadline);
  }

  pool pool_;
  checked_mutex m_;
  bool shut_down_ CONCUR_GUARDED_BY(m_) = false;
};

}  // namespace concur::mp
