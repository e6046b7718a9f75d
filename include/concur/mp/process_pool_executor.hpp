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

// ProcessPoolExecutor.map's keyword arguments: ex.map({.timeout = 5s, .chunksize = 1000}, f, xs).
struct map_options {
  // Counted from the call; none: wait as long as it takes.
  std::optional<concur::duration> timeout = std::nullopt;
  // Items sent to a worker as one task (Python's chunksize, 1 by default). On tiny items a
  // large chunk is worth orders of magnitude: one message each way per chunk, not per item.
  std::size_t chunksize = 1;
};

// What the chunked map returns: the results in order, lazily, a chunk at a time (Python chains
// the chunks' lists the same way). A failed chunk rethrows its error when its first item is
// reached; timeout_error once the map's timeout has passed. Destroying the range cancels the
// chunks no worker has started, as Python's map generator does when it is closed.
template <class R>
class chunked_map_results {
 public:
  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    // std::vector<bool> holds no bools to refer to: those results come by value.
    using reference = std::conditional_t<std::is_same_v<R, bool>, bool, const R&>;

    iterator() = default;
    reference operator*() const { return owner_->current(); }
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.done();
    }

   private:
    friend class chunked_map_results;
    explicit iterator(chunked_map_results* owner) : owner_(owner) {}
    bool done() const noexcept { return owner_ == nullptr || owner_->at_end(); }
    chunked_map_results* owner_ = nullptr;
  };

  chunked_map_results(std::vector<concur::future<std::vector<R>>> chunks, std::size_t items,
                      std::optional<concur::clock::time_point> deadline)
      : chunks_(std::move(chunks)), items_(items), deadline_(deadline) {}
  chunked_map_results(chunked_map_results&&) noexcept = default;
  chunked_map_results& operator=(chunked_map_results&&) = delete;
  chunked_map_results(const chunked_map_results&) = delete;
  chunked_map_results& operator=(const chunked_map_results&) = delete;
  ~chunked_map_results() {
    for (auto& f : chunks_)
      if (f.valid()) f.cancel();
  }

  // Single pass: begin() starts where the last iteration stopped.
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }
  // How many results the map gives.
  std::size_t size() const noexcept { return items_; }

 private:
  // Chunks are never empty, so the end is known without waiting for one.
  bool at_end() const noexcept { return pos_ >= buf_.size() && taken_ == chunks_.size(); }
  typename iterator::reference current() {
    load();
    return buf_[pos_];
  }
  void advance() {
    load();
    ++pos_;
  }
  void load() {
    if (pos_ < buf_.size()) return;
    if (taken_ == chunks_.size()) throw invalid_state_error("map: past the last result");
    const auto& f = chunks_[taken_];
    if (deadline_ && !f.wait_until(*deadline_))
      throw timeout_error("map: timed out waiting for a result");
    buf_ = f.result();
    pos_ = 0;
    // Dropping the handle frees the chunk, as Python's map drops each future it yielded.
    chunks_[taken_] = concur::future<std::vector<R>>();
    ++taken_;
  }

  std::vector<concur::future<std::vector<R>>> chunks_;
  std::size_t items_;
  std::optional<concur::clock::time_point> deadline_;
  std::size_t taken_ = 0;
  std::vector<R> buf_;
  std::size_t pos_ = 0;
};

// The executor's front (submit, map, starmap, shutdown) is written once over what carries the
// tasks to workers, the Backend: mp::pool (processes of this machine) or mpi's ranks. A Backend
// has submit_tasks(std::vector<detail::pool_task>), close(), cancel_pending(), join(), size().
// concurrent.futures.Executor over worker processes, with thread_pool_executor's interface (it
// satisfies the concur::executor concept), so moving work from threads to processes, or to
// other machines, is a one-type change. The functions must be plain functions or captureless
// lambdas; arguments and results must be sendable. The destructor is shutdown(true).
template <class Backend>
class basic_pool_executor {
 public:
  basic_pool_executor(const basic_pool_executor&) = delete;
  basic_pool_executor& operator=(const basic_pool_executor&) = delete;
  ~basic_pool_executor() { shutdown(true); }

  // Executor.submit; executor_shutdown_error after shutdown().
  template <class F, class... Args>
  auto submit(F f, Args&&... args) {
    using R = detail::call_result_t<F, detail::send_type_t<Args>...>;
    auto [task, fut] =
        pool::future_task<R>(detail::prepare_call(false, f, std::forward<Args>(args)...), {});
    std::vector<detail::pool_task> tasks;
    tasks.push_back(std::move(task));
    submit_tasks(std::move(tasks));
    return std::move(fut);
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

  // Executor.map(fn, *iterables, timeout=..., chunksize=...): chunksize items of the ranges (in
  // step) go to a worker as one task; value_error for a chunksize of 0 (Python's ValueError).
  template <class F, std::ranges::input_range... Rs>
  requires(sizeof...(Rs) > 0) auto map(map_options options, F f, const Rs&... ranges) {
    return map_chunked(options, f, ranges...);
  }

  // mpi4py.futures' starmap(fn, iterable, timeout=..., chunksize=...): each item is a tuple
  // (or pair) of arguments, applied to f; the results in order, lazily.
  template <class F, std::ranges::input_range R>
  auto starmap(F f, const R& items, map_options options = {}) {
    using T = std::remove_cvref_t<std::ranges::range_reference_t<const R>>;
    return map_items<F, T, true>(options, f, [&](auto&& emit) {
      for (auto&& x : items) emit(T(x));
    });
  }

  // Executor.shutdown: no new work; cancel_futures cancels what no worker has started; wait
  // blocks until the workers have finished the work already started. Safe to call more than
  // once.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    {
      const checked_lock lock(m_);
      if (!shut_down_) {
        shut_down_ = true;
        backend_.close();
      }
    }
    if (cancel_futures) backend_.cancel_pending();
    if (wait) backend_.join();
  }

  std::size_t max_workers() const noexcept { return backend_.size(); }

 protected:
  template <class... A>
  explicit basic_pool_executor(std::in_place_t, A&&... args) : backend_(std::forward<A>(args)...) {}
  Backend& backend() noexcept { return backend_; }
  const Backend& backend() const noexcept { return backend_; }

 private:
  void submit_tasks(std::vector<detail::pool_task> tasks) {
    const checked_lock lock(m_);
    if (shut_down_) throw executor_shutdown_error();
    backend_.submit_tasks(std::move(tasks));
  }

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

  template <class F, class... Rs>
  auto map_chunked(map_options options, F f, const Rs&... ranges) {
    using T = chunk_item_t<detail::send_type_t<std::ranges::range_reference_t<const Rs>>...>;
    return map_items<F, T, (sizeof...(Rs) > 1)>(options, f, [&](auto&& emit) {
      concur::detail::for_each_in_step(
          [&](auto&&... xs) { emit(T(std::forward<decltype(xs)>(xs)...)); }, ranges...);
    });
  }

  // The items, chunksize at a time, as tasks that each complete one future of a vector of
  // results; `star` applies f to each item's tuple of arguments. `produce(emit)` calls emit(T)
  // once an item, in order.
  template <class F, class T, bool star, class Produce>
  auto map_items(map_options options, F f, Produce&& produce) {
    using R = item_result_t<F, T, star>;
    static_assert(!std::is_void_v<R>, "concur::mp: map needs a function that returns a value");
    detail::check_callable<F>();
    detail::check_sendable<T>();
    detail::check_sendable<R>();
    if (options.chunksize == 0) throw value_error("map: chunksize must be at least 1");
    std::optional<concur::clock::time_point> deadline;
    if (options.timeout) deadline = concur::deadline_after(*options.timeout);
    std::vector<concur::future<std::vector<R>>> futures;
    std::vector<detail::pool_task> tasks;
    std::size_t items = 0;
    if constexpr (detail::is_nameable_v<F> && is_sendable_v<T> && is_sendable_v<R>) {
      std::vector<T> chunk;
      chunk.reserve(std::min(options.chunksize, std::size_t{1} << 16));
      auto flush = [&] {
        tasks.push_back(chunk_task<F, T, R, star>(f, chunk, futures));
        chunk.clear();
      };
      produce([&](T&& item) {
        chunk.push_back(std::move(item));
        ++items;
        if (chunk.size() == options.chunksize) flush();
      });
      if (!chunk.empty()) flush();
    }
    submit_tasks(std::move(tasks));
    return chunked_map_results<R>(std::move(futures), items, deadline);
  }

  template <class F, class T, bool star>
  struct item_result {
    using type = std::invoke_result_t<F&, T&>;
  };
  template <class F, class T>
  struct item_result<F, T, true> {
    using type = decltype(std::apply(std::declval<F&>(), std::declval<T>()));
  };
  template <class F, class T, bool star>
  using item_result_t = typename item_result<F, T, star>::type;

  // One item of a chunk: the item itself for one range, a tuple of one item each for several
  // (the worker applies f to it as starmap does).
  template <class... A>
  using chunk_item_t =
      std::conditional_t<sizeof...(A) == 1, std::tuple_element_t<0, std::tuple<A...>>,
                         std::tuple<A...>>;

  template <class F, class T, class R, bool star>
  static detail::pool_task chunk_task(F f, const std::vector<T>& chunk,
                                      std::vector<concur::future<std::vector<R>>>& futures) {
    detail::invoker_fn inv = nullptr;
    if constexpr (star) {
      inv = &detail::starmap_invoker<F, T>;
    } else {
      inv = &detail::map_invoker<F, T>;
    }
    auto p = std::make_shared<concur::promise<std::vector<R>>>();
    futures.push_back(p->get_future());
    detail::pool_task t;
    t.head = {detail::task_kind::call, reinterpret_cast<std::uintptr_t>(inv),
              detail::function_word(f)};
    detail::fd_table none;
    detail::encode_chunk(t.payload, none, chunk);
    t.on_start = [p] { return p->set_running_or_notify_cancel(); };
    t.on_done = [p](detail::task_reply&& o) { fulfil_chunk(*p, std::move(o)); };
    t.on_cancel = [fut = futures.back()]() mutable { fut.cancel(); };
    return t;
  }

  template <class R>
  static void fulfil_chunk(concur::promise<std::vector<R>>& p, detail::task_reply&& o) noexcept {
    std::exception_ptr failed = o.error;
    std::vector<R> out;
    if (!failed) {
      try {
        detail::fd_table none;
        detail::decode_chunk_append(o.bytes(), none, out);
      } catch (...) {
        failed = std::current_exception();
      }
    }
    const async_callbacks<std::vector<R>> none;
    if (failed) {
      pool::settle_error(p, failed, none);
    } else {
      pool::settle(p, std::move(out), none);
    }
  }

  Backend backend_;
  checked_mutex m_;
  bool shut_down_ CONCUR_GUARDED_BY(m_) = false;
};

// concurrent.futures.ProcessPoolExecutor: the workers are processes of this machine (mp::pool).
// A worker crash fails only its future (process_crashed_error), not the executor.
class process_pool_executor : public basic_pool_executor<pool> {
 public:
  // max_workers = 0 means cpu_count(), as Python's default.
  explicit process_pool_executor(std::size_t max_workers = 0, pool_options options = {})
      : basic_pool_executor(std::in_place, max_workers, options) {}
  process_pool_executor(std::size_t max_workers, initializer init, pool_options options = {})
      : basic_pool_executor(std::in_place, max_workers, std::move(init), options) {}

  // The workers' current pids.
  std::vector<int> pids() const { return backend().pids(); }
};

}  // namespace concur::mp
