#pragma once
#include <concur/aio/future_awaiter.hpp>
#include <concur/aio/task.hpp>
#include <concur/futures/thread_pool_executor.hpp>

namespace concur::aio {

namespace detail {

template <class T>
task<void> forward_to_promise(task<T> coro, concur::promise<T> p) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(coro);
      p.set_value();
    } else {
      p.set_value(co_await std::move(coro));
    }
  } catch (...) {
    p.set_exception(std::current_exception());
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
// a task on `loop` and returns a concur::future for its outcome. If the loop closes first,
// the future fails with concur::broken_promise; cancelling the future works only before the
// task starts.
template <class T>
concur::future<T> run_coroutine_threadsafe(task<T> coro, event_loop& loop) {
  concur::promise<T> p;
  auto f = p.get_future();
  loop.call_soon_threadsafe([c = std::move(coro), p = std::move(p)]() mutable {
    if (!p.set_running_or_notify_cancel()) return;
    create_task(detail::forward_to_promise(std::move(c), std::move(p)));
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
