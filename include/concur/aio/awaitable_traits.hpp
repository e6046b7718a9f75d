#pragma once
#include <concepts>
#include <type_traits>
#include <utility>

namespace concur::aio::detail {

template <class A>
concept has_member_co_await = requires(A&& a) {
  std::forward<A>(a).operator co_await();
};

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return std::forward<A>(a).operator co_await();
  } else {
    return std::forward<A>(a);
  }
}

// The type `co_await a` produces for an lvalue `a`.
template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A&>()).await_resume());

}  // namespace concur::aio::detail
