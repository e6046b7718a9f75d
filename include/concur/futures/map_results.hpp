#pragma once
// What executor.map returns, shared by thread_pool_executor and mp::process_pool_executor.
#include <algorithm>
#include <concur/futures/detail/state.hpp>
#include <concur/futures/errors.hpp>
#include <concur/futures/future.hpp>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace concur {

// What executor::map returns: the futures of every call, submitted at once, whose results
// are handed out lazily and in order. Iterating waits for each result in turn (rethrowing
// its exception; throwing timeout_error once the map's timeout has passed). Destroying the
// range cancels the calls whose results were not reached, as Python's map generator does
// when it is closed.
template <class R>
class map_results {
 public:
  static_assert(!std::is_void_v<R>, "map needs a function that returns a value; use submit");

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    using reference = const R&;

    iterator() = default;
    const R& operator*() const { return owner_->at(index_); }
    iterator& operator++() {
      owner_->consumed(index_);
      ++index_;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.at_end();
    }

   private:
    friend class map_results;
    iterator(map_results* owner, std::size_t index) : owner_(owner), index_(index) {}
    bool at_end() const noexcept { return owner_ == nullptr || index_ >= owner_->futures_.size(); }
    map_results* owner_ = nullptr;
    std::size_t index_ = 0;
  };

  map_results(std::vector<future<R>> futures, std::optional<concur::clock::time_point> deadline)
      : futures_(std::move(futures)), deadline_(deadline) {}
  map_results(map_results&&) noexcept = default;
  map_results& operator=(map_results&&) = delete;
  map_results(const map_results&) = delete;
  map_results& operator=(const map_results&) = delete;
  ~map_results() {
    for (auto& f : futures_)
      if (f.valid()) f.cancel();
  }

  // Single pass: begin() starts where the last iteration stopped.
  iterator begin() { return iterator(this, next_); }
  std::default_sentinel_t end() const noexcept { return {}; }
  std::size_t size() const noexcept { return futures_.size(); }

 private:
  const R& at(std::size_t i) const {
    const auto& f = futures_.at(i);
    if (!f.valid()) throw invalid_state_error("map: this result was already consumed");
    if (!deadline_) return f.result();
    if (!f.wait_until(*deadline_)) throw timeout_error("map: timed out waiting for a result");
    return f.result();
  }
  void consumed(std::size_t i) {
    // Dropping the handle frees the result, as Python's map drops each future it yielded.
    if (i < futures_.size()) futures_[i] = future<R>();
    next_ = i + 1;
  }

  std::vector<future<R>> futures_;
  std::optional<concur::clock::time_point> deadline_;
  std::size_t next_ = 0;
};

namespace detail {

// Executor.map(fn, *iterables)'s stepping: visit(x, y, ...) with one item of each range in turn,
// stopping at the shortest.
template <class Visit, class... Rs>
void for_each_in_step(Visit&& visit, Rs&&... ranges) {
  auto its = std::make_tuple(std::ranges::begin(ranges)...);
  auto ends = std::make_tuple(std::ranges::end(ranges)...);
  auto any_at_end = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return ((std::get<I>(its) == std::get<I>(ends)) || ...);
  };
  auto advance = [&]<std::size_t... I>(std::index_sequence<I...>) { (++std::get<I>(its), ...); };
  auto visit_one = [&]<std::size_t... I>(std::index_sequence<I...>) {
    visit(*std::get<I>(its)...);
  };
  constexpr auto seq = std::index_sequence_for<Rs...>{};
  while (!any_at_end(seq)) {
    visit_one(seq);
    advance(seq);
  }
}

// The items of the shortest range, when every range knows its size (0 otherwise: a hint).
template <class... Rs>
std::size_t shortest_size(const Rs&... ranges) {
  if constexpr (((std::ranges::sized_range<const Rs>)&&...)) {
    return std::min({static_cast<std::size_t>(std::ranges::size(ranges))...});
  } else {
    return 0;
  }
}

// submit(x, y, ...) for each step, every call submitted before any result is awaited.
template <class R, class Submit, class... Rs>
std::vector<future<R>> submit_in_step(Submit&& submit, Rs&&... ranges) {
  std::vector<future<R>> futures;
  futures.reserve(shortest_size(ranges...));
  for_each_in_step(
      [&](auto&&... items) { futures.push_back(submit(std::forward<decltype(items)>(items)...)); },
      ranges...);
  return futures;
}

}  // namespace detail

}  // namespace concur
