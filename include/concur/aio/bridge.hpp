#pragma once
#include <concur/aio/future_awaiter.hpp>
#include <concur/aio/task.hpp>
#include <concur/futures/thread_pool_executor.hpp>
#include <optional>

namespace concur::aio {

namespace detail {

// The task behind run_coroutine_threadsafe: its outcome goes to the concurrent future, which
// stays pending (cancellable from any thread) until the task is done, as asyncio chains them.
// A cancelled task cancels the future; aio::cancelled_error never reaches the other thread.
// Which task a run_coroutine_threadsafe future cancels: set and cleared on the loop's thread,
// shared with the future's callback on the other thread (that one only posts it back).
struct threadsafe_link {
  task_base* task = nullptr;
};
// A parameter of the task's frame: the link forgets the task when the frame goes, however.
class threadsafe_link_guard {
 public:
  explicit threadsafe_link_guard(std::shared_ptr<threadsafe_link> l) noexcept : l_(std::move(l)) {}
  threadsafe_link_guard(threadsafe_link_guard&&) noexcept = default;
  threadsafe_link_guard& operator=(threadsafe_link_guard&&) = delete;
  ~threadsafe_link_guard() {
    if (l_) l_->task = nullptr;
  }

 private:
  std::shared_ptr<threadsafe_link> l_;
};

template <class T>
task<void> forward_to_promise(task<T> coro, concur::promise<T> p, threadsafe_link_guard) {
  auto f = p.get_future();
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(coro);
      value.emplace(true);
    } else {
      value.emplace(co_await std::move(coro));
    }
  } catch (const cancelled_error&) {
    f.cancel();
    co_return;
  } catch (...) {
    error = std::current_exception();
  }
  if (!p.set_running_or_notify_cancel()) co_return;  // cancelled by the other side meanwhile
  if (error) {
    p.set_exception(error);
  } else if constexpr (std::is_void_v<T>) {
    p.set_value();
  } else {
    p.set_value(std::move(*value));
  }
}

}  // namespace detail

// asyncio.wrap_future: `co_await aio::wrap_future(f)` (`co_await f` works too, see the end of
// this header). Cancelling the awaiting task cancels f (effective only before it started).
template <class T>
detail::future_awaiter<T> wrap_future(concur::future<T> f) {
  return detail::future_awaiter<T>(std::move(f));
}

// loop.run_in_executor(executor, f, *args): submits now; await the result.
template <class Executor, class F, class... A>
auto run_in_executor(Executor& executor, F&& f, A&&... args) {
  return wrap_future(executor.submit(std::forward<F>(f), std::forward<A>(args)...));
}

// asyncio.to_thread(f, *args): runs f on the running loop's default thread pool.
template <class F, class... A>
auto to_thread(F&& f, A&&... args) {
  return run_in_executor(get_running_loop().default_executor(), std::forward<F>(f),
                         std::forward<A>(args)...);
}

// asyncio.run_coroutine_threadsafe(coro, loop), called from another thread: schedules coro as
// a task on `loop` and returns a concur::future for its outcome. Cancelling the future (from
// any thread, any time before the task is done) cancels the task; a cancelled task leaves the
// future cancelled (cancelled() is true, result() throws concur::cancelled_error). If the loop
// closes before the task ran, the future fails with concur::broken_promise.
template <class T>
concur::future<T> run_coroutine_threadsafe(task<T> coro, event_loop& loop) {
  concur::promise<T> p;
  auto f = p.get_future();
  auto link = std::make_shared<detail::threadsafe_link>();
  f.add_done_callback([link, inbox = loop.inbox()](const concur::future<T>& d) {
    if (!d.cancelled()) return;
    detail::post_to(*inbox, [link] {
      if (link->task != nullptr) link->task->cancel();
    });
  });
  loop.call_soon_threadsafe([c = std::move(coro), p = std::move(p), f, link, &loop]() mutable {
    if (f.cancelled()) return;  // asyncio would create the task and cancel it before it starts
    auto h = loop.create_task(detail::forward_to_promise(std::move(c), std::move(p),
                                                         detail::threadsafe_link_guard(link)));
    link->task = h.base();
  });
  return f;
}

}  // namespace concur::aio

namespace concur {

// `co_await f` on a concur::future inside an aio task (found by argument-dependent lookup);
// same as co_await aio::wrap_future(f).
template <class T>
aio::detail::future_awaiter<T> operator co_await(future<T> f) {
  return aio::detail::future_awaiter<T>(std::move(f));
}

}  // namespace concur
