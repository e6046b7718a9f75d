#pragma once
// concurrent.futures.Executor as a concept: thread_pool_executor satisfies it, and so does
// the process pool, so switching between threads and processes is a change of one type.
#include <concepts>
#include <concur/futures/future.hpp>
#include <ranges>
#include <vector>

namespace concur {

template <class E>
concept executor = requires(E& e, int (*fn)(int), const std::vector<int>& items) {
  { e.submit(fn, 1) } -> std::same_as<future<int>>;
  { e.map(fn, items) } -> std::ranges::input_range;
  e.shutdown();
  e.shutdown(true, false);
};

}  // namespace concur
