#pragma once
#include <chrono>
#include <exception>
#include <functional>
#include <utility>

#include "concur/core/error.hpp"
#include "concur/futures/future.hpp"

namespace concur::mp {

// Python's callback= and error_callback= of Pool.apply_async, map_async and starmap_async. They
// run in this process, on the pool's manager thread, before the result turns ready (so get()
// returns only after they ran); keep them short and never wait on the pool from one. An
// exception one throws is reported on stderr and otherwise ignored, as a future's callback.
template <class R>
struct async_callbacks {
  std::function<void(const R&)> callback = {};
  std::function<void(const std::exception_ptr&)> error_callback = {};
};

template <>
struct async_callbacks<void> {
  std::function<void()> callback = {};
  std::function<void(const std::exception_ptr&)> error_callback = {};
};

// multiprocessing.pool.AsyncResult: what apply_async, map_async and starmap_async return.
// future() gives the concur::future under it, for concur::wait and as_completed.
template <class R>
class async_result {
 public:
  explicit async_result(concur::future<R> f) noexcept : f_(std::move(f)) {}

  // AsyncResult.get(): waits; the value, or the task's exception rethrown.
  decltype(auto) get() const { return f_.result(); }
  // AsyncResult.get(timeout): concur::timeout_error if not ready in time (Python's
  // multiprocessing.TimeoutError).
  template <class Rep, class Period>
  decltype(auto) get(std::chrono::duration<Rep, Period> timeout) const {
    if (!f_.wait_for(timeout))
      throw timeout_error("async_result::get: the result was not ready in time");
    return f_.result();
  }
  // AsyncResult.wait(timeout): Python returns None; here it says whether it is ready.
  void wait() const { f_.wait(); }
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return f_.wait_for(timeout);
  }
  // AsyncResult.ready(): has the call completed?
  bool ready() const { return f_.done(); }
  // AsyncResult.successful(): completed without an exception; value_error if not ready.
  bool successful() const {
    if (!ready()) throw value_error("async_result::successful: the result is not ready");
    return !f_.cancelled() && f_.exception() == nullptr;
  }

  const concur::future<R>& future() const noexcept { return f_; }

 private:
  concur::future<R> f_;
};

}  // namespace concur::mp
