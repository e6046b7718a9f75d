#pragma once
#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/futures/future.hpp"
#include "concur/mp/async_result.hpp"
#include "concur/mp/detail/call.hpp"
#include "concur/mp/detail/process_pool_core.hpp"
#include "concur/mp/process.hpp"

namespace concur::mp {

struct pool_options {
  // Python's maxtasksperchild: a worker is replaced after this many tasks (0: never). A map
  // chunk counts as one task.
  std::size_t max_tasks_per_child = 0;
  // A task running longer than this (0: no limit) fails with concur::timeout_error and its
  // worker is killed and replaced, so one stuck call cannot hold the pool.
  std::chrono::milliseconds task_timeout{0};
};

// Python's Pool(initializer=f, initargs=(...)): runs f(args...) in every worker as it starts.
// It may take mp::connection / mp::queue arguments (each worker gets the same descriptors).
class initializer {
 public:
  initializer() = default;
  template <class F, class... Args>
  explicit initializer(F f, Args&&... args)
      : call_(detail::prepare_call(true, f, std::forward<Args>(args)...)) {}

 private:
  friend class pool;
  detail::prepared_call call_;
};

namespace detail {

template <class Range>
using map_item_t = send_type_t<std::ranges::range_reference_t<const Range>>;
template <class F, class Range>
using map_result_for_t = std::invoke_result_t<F&, map_item_t<Range>&>;
template <class F, class Range>
using starmap_result_t = decltype(std::apply(
    std::declval<F&>(),
    std::declval<std::remove_cvref_t<std::ranges::range_reference_t<const Range>>>()));

template <class X>
inline constexpr bool is_async_callbacks_v = false;
template <class X>
inline constexpr bool is_async_callbacks_v<async_callbacks<X>> = true;

}  // namespace detail

// The results of imap / imap_unordered: an input range that blocks for each next result. A task
// that failed rethrows its error (remote_error, process_crashed_error, ...) when reached.
template <class R>
class imap_result {
 public:
  using value_type = R;

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    typename std::vector<R>::reference operator*() const { return r_->buf_[r_->pos_]; }
    iterator& operator++() {
      r_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.done(); }

   private:
    friend class imap_result;
    explicit iterator(imap_result* r) : r_(r) {}
    bool done() const noexcept { return r_->at_end(); }
    imap_result* r_ = nullptr;
  };

  imap_result(std::shared_ptr<detail::chunk_collector> c, bool ordered)
      : chunks_(std::move(c)), ordered_(ordered) {}
  imap_result(imap_result&&) noexcept = default;
  imap_result& operator=(imap_result&&) noexcept = default;

  iterator begin() {
    if (!started_) {
      started_ = true;
      fill();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  // Drains the rest into a vector.
  std::vector<R> to_vector() {
    std::vector<R> out;
    for (auto it = begin(); it != end(); ++it) out.push_back(*it);
    return out;
  }

 private:
  bool at_end() const noexcept { return pos_ >= buf_.size() && taken_ == chunks_->size(); }
  void advance() {
    ++pos_;
    if (pos_ >= buf_.size()) fill();
  }
  // Loads chunks until one has items or none is left.
  void fill() {
    buf_.clear();
    pos_ = 0;
    while (buf_.empty() && taken_ < chunks_->size()) {
      detail::task_reply o = ordered_ ? chunks_->take(taken_) : chunks_->take_next_completed();
      ++taken_;
      if (o.error) std::rethrow_exception(o.error);
      detail::fd_table none;
      detail::decode_chunk_append(o.bytes(), none, buf_);
    }
  }

  std::shared_ptr<detail::chunk_collector> chunks_;
  bool ordered_;
  bool started_ = false;
  std::size_t taken_ = 0;
  std::vector<R> buf_;
  std::size_t pos_ = 0;
};

// multiprocessing.Pool: n worker processes running plain functions and captureless lambdas.
// Each worker runs one task at a time; a worker that dies fails only the task it held (with
// process_crashed_error) and is replaced. The destructor calls terminate(), as Python's
// `with Pool() as p:` does.
class pool {
 public:
  // processes = 0 means cpu_count().
  explicit pool(std::size_t processes = 0, pool_options options = {})
      : pool(processes, initializer{}, options) {}
  pool(std::size_t processes, initializer init, pool_options options = {});
  pool(pool&&) noexcept = default;
  pool& operator=(pool&&) noexcept = default;
  ~pool();

  // Pool.map: f over every item, results in order. chunksize 0 picks Python's automatic size
  // (items / (4 * processes), rounded up) so that one message carries a whole chunk.
  template <class F, std::ranges::input_range Range>
  auto map(F f, const Range& items, std::size_t chunksize = 0) {
    using T = detail::send_type_t<std::ranges::range_reference_t<const Range>>;
    using R = map_result_t<F, T>;
    check_map_result<R>();
    auto c = submit_map<F, T>(detail::function_word(f), items, chunksize, true,
                              &detail::map_invoker<F, T>, collector);
    return collect<R>(*c);
  }

  // Pool.map_async: map without blocking; callbacks.callback gets the whole result.
  template <class F, std::ranges::input_range Range>
  auto map_async(F f, const Range& items, std::size_t chunksize = 0,
                 async_callbacks<std::vector<detail::map_result_for_t<F, Range>>> callbacks = {}) {
    using T = detail::map_item_t<Range>;
    using R = map_result_t<F, T>;
    check_map_result<R>();
    return submit_map_async<F, T, R>(f, items, chunksize, &detail::map_invoker<F, T>,
                                     std::move(callbacks));
  }

  // Pool.starmap_async: starmap without blocking.
  template <class F, std::ranges::input_range Range>
  auto starmap_async(
      F f, const Range& items, std::size_t chunksize = 0,
      async_callbacks<std::vector<detail::starmap_result_t<F, Range>>> callbacks = {}) {
    using T = std::remove_cvref_t<std::ranges::range_reference_t<const Range>>;
    using R = detail::starmap_result_t<F, Range>;
    static_assert(!std::is_void_v<R>, "concur::mp: starmap needs a function that returns a value");
    detail::check_sendable<R>();
    return submit_map_async<F, T, R>(f, items, chunksize, &detail::starmap_invoker<F, T>,
                                     std::move(callbacks));
  }

  // Pool.imap: lazily, in order. Default chunksize 1 as in Python.
  template <class F, std::ranges::input_range Range>
  auto imap(F f, const Range& items, std::size_t chunksize = 1) {
    using T = detail::send_type_t<std::ranges::range_reference_t<const Range>>;
    using R = map_result_t<F, T>;
    check_map_result<R>();
    return imap_result<R>(submit_map<F, T>(detail::function_word(f), items, chunksize, false,
                                           &detail::map_invoker<F, T>, collector),
                          true);
  }

  // Pool.imap_unordered: lazily, in completion order.
  template <class F, std::ranges::input_range Range>
  auto imap_unordered(F f, const Range& items, std::size_t chunksize = 1) {
    using T = detail::send_type_t<std::ranges::range_reference_t<const Range>>;
    using R = map_result_t<F, T>;
    check_map_result<R>();
    return imap_result<R>(submit_map<F, T>(detail::function_word(f), items, chunksize, false,
                                           &detail::map_invoker<F, T>, collector),
                          false);
  }

  // Pool.starmap: items are tuples (or pairs) of arguments.
  template <class F, std::ranges::input_range Range>
  auto starmap(F f, const Range& items, std::size_t chunksize = 0) {
    using T = std::remove_cvref_t<std::ranges::range_reference_t<const Range>>;
    using R = decltype(std::apply(std::declval<F&>(), std::declval<T>()));
    static_assert(!std::is_void_v<R>, "concur::mp: starmap needs a function that returns a value");
    detail::check_sendable<R>();
    auto c = submit_map<F, T>(detail::function_word(f), items, chunksize, true,
                              &detail::starmap_invoker<F, T>, collector);
    return collect<R>(*c);
  }

  // Pool.apply: f(args...) in a worker; blocks for the result.
  template <class F, class... Args>
  auto apply(F f, Args&&... args) {
    using R = detail::call_result_t<F, detail::send_type_t<Args>...>;
    auto c = std::make_shared<detail::chunk_collector>(1);
    submit_call(detail::prepare_call(false, f, std::forward<Args>(args)...),
                [c](detail::task_reply&& o) { c->deliver(0, std::move(o)); });
    detail::task_reply o = c->take(0);
    if (o.error) std::rethrow_exception(o.error);
    if constexpr (!std::is_void_v<R>) {
      R r{};
      detail::fd_table none;
      detail::decode_from(o.bytes(), none, r);
      return r;
    }
  }

  // Pool.apply_async: f(args...) in a worker, without blocking. The call can be cancelled
  // (future().cancel()) while it waits for a worker.
  template <class F, class... Args>
  requires(!(detail::is_async_callbacks_v<std::remove_cvref_t<Args>> ||
             ...)) auto apply_async(F f, Args&&... args) {
    using R = detail::call_result_t<F, detail::send_type_t<Args>...>;
    return async_result<R>(
        submit_future<R>(detail::prepare_call(false, f, std::forward<Args>(args)...), {}));
  }

  // Pool.apply_async(func, args, callback=..., error_callback=...): the arguments as a tuple,
  // as Python passes them, so that the callbacks can follow.
  template <class F, class... Args>
  auto apply_async(
      F f, std::tuple<Args...> args,
      async_callbacks<detail::call_result_t<F, detail::send_type_t<Args>...>> callbacks) {
    using R = detail::call_result_t<F, detail::send_type_t<Args>...>;
    auto call = std::apply(
        [&](auto&&... a) {
          return detail::prepare_call(false, f, std::forward<decltype(a)>(a)...);
        },
        std::move(args));
    return async_result<R>(submit_future<R>(std::move(call), std::move(callbacks)));
  }

  // Pool.close: no more tasks; the workers exit once the queued ones are done.
  void close();
  // Pool.join: waits for the workers to exit; close() or terminate() first.
  void join();
  // Pool.terminate: kills the workers now; unfinished tasks fail with cancelled_error.
  void terminate();

  std::size_t size() const noexcept;
  // The workers' current pids (a replaced worker has a new pid).
  std::vector<int> pids() const;

 protected:
  template <class Backend>
  friend class basic_pool_executor;

  template <class F, class T>
  using map_result_t = std::invoke_result_t<F&, T&>;

  // One call as a task whose reply completes a future: the task under apply_async, and under
  // the executors' submit (whatever carries it to a worker: this pool or MPI ranks).
  template <class R>
  static std::pair<detail::pool_task, concur::future<R>> future_task(detail::prepared_call&& call,
                                                                     async_callbacks<R> callbacks) {
    if constexpr (!std::is_void_v<R>) detail::check_sendable<R>();
    auto p = std::make_shared<concur::promise<R>>();
    concur::future<R> fut = p->get_future();
    detail::pool_task t;
    t.head = {detail::task_kind::call, call.invoker, call.fn};
    t.payload = std::move(call.payload);
    t.on_done = [p, cbs = std::move(callbacks)](detail::task_reply&& o) {
      fulfil(*p, std::move(o), cbs);
    };
    t.on_start = [p] { return p->set_running_or_notify_cancel(); };
    t.on_cancel = [fut]() mutable { fut.cancel(); };
    return {std::move(t), std::move(fut)};
  }

  template <class R>
  concur::future<R> submit_future(detail::prepared_call&& call, async_callbacks<R> callbacks) {
    auto [task, fut] = future_task<R>(std::move(call), std::move(callbacks));
    std::vector<detail::pool_task> v;
    v.push_back(std::move(task));
    submit_tasks(std::move(v));
    return fut;
  }

  // map_async and starmap_async: the chunks go out as map's do; the result is assembled on the
  // manager thread when the last one is in, or fails with the first failure that comes back.
  template <class F, class T, class R, class Range>
  async_result<std::vector<R>> submit_map_async(F f, const Range& items, std::size_t chunksize,
                                                detail::invoker_fn inv,
                                                async_callbacks<std::vector<R>> callbacks) {
    auto p = std::make_shared<concur::promise<std::vector<R>>>();
    async_result<std::vector<R>> result(p->get_future());
    auto cbs = std::make_shared<async_callbacks<std::vector<R>>>(std::move(callbacks));
    auto gather = [p, cbs](std::size_t chunks, std::size_t n) {
      // Python's MapResult of nothing is ready at once, and calls no callback.
      if (chunks == 0) p->set_value(std::vector<R>{});
      return std::make_shared<detail::chunk_gatherer>(
          chunks,
          [p, cbs, n](std::vector<detail::task_reply>&& all) {
            detail::task_reply joined;
            std::vector<R> out;
            try {
              out.reserve(n);
              detail::fd_table none;
              for (const auto& o : all) detail::decode_chunk_append(o.bytes(), none, out);
            } catch (...) {
              joined.error = std::current_exception();
            }
            if (joined.error) {
              settle_error(*p, joined.error, *cbs);
            } else {
              settle(*p, std::move(out), *cbs);
            }
          },
          [p, cbs](const std::exception_ptr& e) { settle_error(*p, e, *cbs); });
    };
    submit_map<F, T>(detail::function_word(f), items, chunksize, true, inv, gather);
    return result;
  }

  template <class R>
  static constexpr void check_map_result() {
    static_assert(!std::is_void_v<R>, "concur::mp: map needs a function that returns a value");
    detail::check_sendable<R>();
  }

  void submit_call(detail::prepared_call call, std::function<void(detail::task_reply&&)> done,
                   std::function<bool()> start = {}, std::function<void()> cancel = {});

  // Completes a promise from a task_reply, after the callbacks; never throws (it runs on the
  // manager thread).
  template <class R>
  static void fulfil(concur::promise<R>& p, detail::task_reply&& o,
                     const async_callbacks<R>& callbacks) noexcept {
    if (o.error) {
      settle_error(p, o.error, callbacks);
      return;
    }
    std::exception_ptr failed;
    if constexpr (std::is_void_v<R>) {
      settle(p, callbacks);
    } else {
      R r{};
      try {
        detail::fd_table none;
        detail::decode_from(o.bytes(), none, r);
      } catch (...) {
        failed = std::current_exception();
      }
      if (failed) {
        settle_error(p, failed, callbacks);
      } else {
        settle(p, std::move(r), callbacks);
      }
    }
  }

  // Python's order: the callback runs, then the result turns ready. A promise that refuses the
  // result was cancelled meanwhile: nobody wants it.
  template <class R, class V>
  static void settle(concur::promise<R>& p, V&& value,
                     const async_callbacks<R>& callbacks) noexcept {
    run_callback(callbacks.callback, value);
    try {
      p.set_value(std::forward<V>(value));
    } catch (...) {
    }
  }
  template <class R>
  static void settle_error(concur::promise<R>& p, const std::exception_ptr& error,
                           const async_callbacks<R>& callbacks) noexcept {
    run_callback(callbacks.error_callback, error);
    try {
      p.set_exception(error);
    } catch (...) {
    }
  }
  static void settle(concur::promise<void>& p, const async_callbacks<void>& callbacks) noexcept {
    run_callback(callbacks.callback);
    try {
      p.set_value();
    } catch (...) {
    }
  }
  template <class Fn, class... A>
  static void run_callback(const Fn& fn, const A&... args) noexcept {
    try {
      if (fn) fn(args...);
    } catch (...) {
      concur::detail::report_callback_error(std::current_exception());
    }
  }

  // cancel_futures of process_pool_executor::shutdown.
  void cancel_pending();

  // The sink of map, imap and imap_unordered: a collector their caller reads from.
  static std::shared_ptr<detail::chunk_collector> collector(std::size_t chunks, std::size_t n) {
    auto c = std::make_shared<detail::chunk_collector>(chunks);
    c->set_items(n);
    return c;
  }

  // Sends `items` in chunks; make_sink(chunks, items) makes what each chunk's reply is
  // delivered to (deliver(index, reply)), which is returned.
  template <class F, class T, class Range, class MakeSink>
  auto submit_map(std::uintptr_t fn, const Range& items, std::size_t chunksize, bool auto_chunk,
                  detail::invoker_fn inv, MakeSink make_sink) {
    detail::check_callable<F>();
    detail::check_sendable<T>();
    if constexpr (detail::is_nameable_v<F> && is_sendable_v<T>) {
      std::size_t n = 0;
      if constexpr (std::ranges::sized_range<const Range>) {
        n = static_cast<std::size_t>(std::ranges::size(items));
      } else {
        n = static_cast<std::size_t>(std::ranges::distance(items));
      }
      if (chunksize == 0) {
        if (auto_chunk) {
          const std::size_t d = 4 * size();
          chunksize = n / d + (n % d != 0 ? 1 : 0);
        }
        if (chunksize == 0) chunksize = 1;
      }
      const std::size_t chunks = (n + chunksize - 1) / chunksize;
      auto c = make_sink(chunks, n);
      std::vector<detail::pool_task> tasks;
      tasks.reserve(chunks);
      auto add = [&](auto&& encode) {
        detail::pool_task t;
        t.head = {detail::task_kind::call, reinterpret_cast<std::uintptr_t>(inv), fn};
        encode(t.payload);
        t.on_done = [c, i = tasks.size()](detail::task_reply&& o) { c->deliver(i, std::move(o)); };
        tasks.push_back(std::move(t));
      };
      if constexpr (detail::raw_chunk_v<T> && !std::is_same_v<T, bool> &&
                    std::ranges::contiguous_range<const Range> &&
                    std::is_same_v<std::ranges::range_value_t<const Range>, T>) {
        // Arithmetic items already side by side: each chunk is one copy of their bytes.
        const std::span<const T> all(std::ranges::data(items), n);
        for (std::size_t at = 0; at < n; at += chunksize) {
          const auto part = all.subspan(at, std::min(chunksize, n - at));
          add([&](std::string& out) {
            detail::raw_chunk_writer<T>(out, part.size()).append(part);
          });
        }
      } else {
        std::vector<T> chunk;
        chunk.reserve(std::min(chunksize, n));
        auto flush = [&] {
          add([&](std::string& out) {
            detail::fd_table none;
            detail::encode_chunk(out, none, chunk);
          });
          chunk.clear();
        };
        for (auto&& x : items) {
          chunk.push_back(T(x));
          if (chunk.size() == chunksize) flush();
        }
        if (!chunk.empty()) flush();
      }
      submit_tasks(std::move(tasks));
      return c;
    } else {
      return decltype(make_sink(std::size_t{}, std::size_t{})){};
    }
  }

  template <class R>
  static std::vector<R> collect(detail::chunk_collector& c) {
    std::vector<R> out;
    out.reserve(c.items());
    if (auto failed = c.wait_all_or_failure()) std::rethrow_exception(failed);
    for (std::size_t i = 0; i < c.size(); ++i) {
      detail::task_reply o = c.take(i);
      if (o.error) std::rethrow_exception(o.error);
      detail::fd_table none;
      detail::decode_chunk_append(o.bytes(), none, out);
    }
    return out;
  }

  template <class T>
  struct is_tuple_like : std::false_type {};
  template <class... A>
  struct is_tuple_like<std::tuple<A...>> : std::true_type {};
  template <class A, class B>
  struct is_tuple_like<std::pair<A, B>> : std::true_type {};

  void submit_tasks(std::vector<detail::pool_task> tasks);

  std::unique_ptr<detail::process_pool_core> core_;
};

}  // namespace concur::mp
