#pragma once
// Naming a function across processes. Workers are forked from a fork server that was itself
// forked from this program, so they share its address layout: a plain function pointer means
// the same function there, and a captureless lambda (an empty, default-constructible type) can
// be re-created from its type alone. An invoker is a template instance that turns the bytes of
// the arguments into a call and the result into bytes; its address travels with the task.
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/mp/codec.hpp"
#include "concur/mp/detail/fd.hpp"

namespace concur::mp::detail {

// A C++ type name as written in source (typeid(T).name() is the mangled one).
std::string demangle(const char* mangled);

template <class F>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<F>&& std::is_function_v<std::remove_pointer_t<F>>;

template <class F>
inline constexpr bool is_stateless_v =
    std::is_class_v<F>&& std::is_empty_v<F>&& std::is_default_constructible_v<F>;

template <class F>
inline constexpr bool is_nameable_v = is_function_pointer_v<F> || is_stateless_v<F>;

template <class F>
constexpr void check_callable() {
  static_assert(is_nameable_v<F>,
                "concur::mp: the function must be a plain function or a captureless lambda; a "
                "stateful closure (a lambda with captures, std::function, a functor with data) "
                "cannot be named in another process. Pass the state as arguments instead");
}

// A string literal is sent as std::string; everything else as its decayed type.
template <class A>
using send_type_t = std::conditional_t<std::is_convertible_v<A, const char*> &&
                                           !std::is_same_v<std::decay_t<A>, std::nullptr_t>,
                                       std::string, std::decay_t<A>>;

template <class F>
std::uintptr_t function_word(F f) noexcept {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<std::uintptr_t>(f);
  } else {
    return 0;
  }
}

template <class F>
F function_from_word(std::uintptr_t word) noexcept {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<F>(word);
  } else {
    return F{};
  }
}

// Runs in the worker: `in` holds the arguments, `out` receives the encoded result.
using invoker_fn = void (*)(std::uintptr_t fn, std::string_view in, std::string& out,
                            fd_table& fds);

// Runs one call in a worker: appends reply_status::ok and the result to `out`, or, when the
// function throws, reply_status::raised and the exception's type name and message (false).
bool run_call(invoker_fn inv, std::uintptr_t fn, std::string_view payload, std::string& out,
              fd_table& fds);

template <class F, class... A>
using call_result_t = std::invoke_result_t<F&, A&&...>;

template <class F, class... A>
void call_invoker(std::uintptr_t fn, std::string_view in, std::string& out, fd_table& fds) {
  std::tuple<A...> args;
  decode_from(in, fds, args);
  F f = function_from_word<F>(fn);
  using R = call_result_t<F, A...>;
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(args));
  } else {
    const R r = std::apply(f, std::move(args));
    encode_into(out, fds, r);
  }
}

// One chunk of a map: a vector of items in, a vector of results out, one message each way.
template <class F, class T>
void map_invoker(std::uintptr_t fn, std::string_view in, std::string& out, fd_table& fds) {
  std::vector<T> items;
  decode_chunk_append(in, fds, items);
  F f = function_from_word<F>(fn);
  using R = std::invoke_result_t<F&, T&>;
  if constexpr (raw_chunk_v<R>) {
    raw_chunk_writer<R> results(out, items.size());
    for (auto&& x : items) results.push(f(x));  // auto&&: vector<bool> yields proxies
  } else {
    std::vector<R> results;
    results.reserve(items.size());
    for (auto&& x : items) results.push_back(f(x));
    encode_chunk(out, fds, results);
  }
}

template <class F, class Tuple>
void starmap_invoker(std::uintptr_t fn, std::string_view in, std::string& out, fd_table& fds) {
  std::vector<Tuple> items;
  decode_from(in, fds, items);
  F f = function_from_word<F>(fn);
  std::vector<decltype(std::apply(f, std::move(items.front())))> results;
  results.reserve(items.size());
  for (auto& x : items) results.push_back(std::apply(f, std::move(x)));
  encode_chunk(out, fds, results);
}

// A call ready to send: which invoker, which function, the argument bytes, and duplicates of the
// descriptors that travel with it (pipes and queues among the arguments).
struct prepared_call {
  std::uintptr_t invoker = 0;
  std::uintptr_t fn = 0;
  std::string payload;
  std::vector<unique_fd> fds;

  bool empty() const noexcept { return invoker == 0; }
};

template <class F, class... Args>
prepared_call prepare_call(bool allow_fds, F f, Args&&... args) {
  check_callable<F>();
  (check_sendable<send_type_t<Args>>(), ...);
  prepared_call c;
  if constexpr (is_nameable_v<F> && (is_sendable_v<send_type_t<Args>> && ...)) {
    static_assert(std::is_invocable_v<F&, send_type_t<Args>&&...>,
                  "concur::mp: the function cannot be called with these arguments");
    invoker_fn inv = &call_invoker<F, send_type_t<Args>...>;
    c.invoker = reinterpret_cast<std::uintptr_t>(inv);
    c.fn = function_word(f);
    fd_table table;
    table.allow_fds = allow_fds;
    const std::tuple<send_type_t<Args>...> values(std::forward<Args>(args)...);
    encode_into(c.payload, table, values);
    for (int fd : table.out) c.fds.push_back(dup_fd(fd));
  }
  return c;
}

}  // namespace concur::mp::detail
