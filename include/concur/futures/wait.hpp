#pragma once
// concurrent.futures.wait and as_completed.
#include <atomic>
#include <chrono>
#include <climits>
#include <concur/core/checked_mutex.hpp>
#include <concur/futures/errors.hpp>
#include <concur/futures/future.hpp>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace concur {

// FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class return_when { first_completed, first_exception, all_completed };

template <class T>
struct wait_result {
  std::vector<future<T>> done;
  std::vector<future<T>> not_done;
};

namespace detail {

template <class R>
concept future_range = std::ranges::input_range<R> &&
    is_future<std::remove_cvref_t<std::ranges::range_value_t<R>>>::value;

template <class R>
using future_value_t = typename std::remove_cvref_t<std::ranges::range_value_t<R>>::value_type;

// Python takes a set of futures: a future listed twice counts once. Order of first
// appearance is kept so results are reproducible.
template <class T, class R>
std::vector<future<T>> unique_futures(R&& range) {
  std::vector<future<T>> out;
  std::unordered_set<const void*> seen;
  for (auto&& f : range) {
    if (!f.valid()) throw invalid_state_error("wait/as_completed: a future has no state");
    if (seen.insert(f.id()).second) out.push_back(f);
  }
  return out;
}

struct wait_signal {
  std::atomic<std::uint32_t> fired{0};
  std::atomic<std::size_t> remaining{0};
  void fire() noexcept {
    if (fired.exchange(1) == 0) futex_wake(fired, INT_MAX);
  }
};

template <class T>
bool has_exception(const future<T>& f) {
  return f.done() && !f.cancelled() && f.exception() != nullptr;
}

template <class T>
wait_result<T> wait_impl(std::vector<future<T>> fs, return_when when,
                         std::optional<clock::time_point> deadline) {
  std::size_t pending = 0;
  bool satisfied = false;
  for (const auto& f : fs) {
    if (!f.done())
      ++pending;
    else if (when == return_when::first_completed ||
             (when == return_when::first_exception && has_exception(f)))
      satisfied = true;
  }
  if (pending == 0) satisfied = true;
  if (!satisfied) {
    auto signal = std::make_shared<wait_signal>();
    signal->remaining.store(pending);
    std::vector<std::pair<const future<T>*, callback_token>> registered;
    registered.reserve(pending);
    for (const auto& f : fs) {
      if (f.done()) continue;
      registered.emplace_back(&f, f.add_done_callback([signal, when](const future<T>& g) {
        if (when == return_when::first_completed ||
            (when == return_when::first_exception && has_exception(g)) ||
            signal->remaining.fetch_sub(1) == 1)
          signal->fire();
      }));
    }
    // Python removes its waiter from every future on the way out; so do we, so that a
    // loop of wait(first_completed) over many futures does not pile up callbacks.
    struct unregister {
      std::vector<std::pair<const future<T>*, callback_token>>& list;
      ~unregister() {
        for (auto& [f, token] : list) f->remove_done_callback(token);
      }
    } cleanup{registered};
    while (signal->fired.load() == 0) {
      if (!deadline) {
        futex_wait(signal->fired, 0);
      } else if (!futex_wait_until(signal->fired, 0, *deadline)) {
        break;
      }
    }
  }
  wait_result<T> result;
  for (auto& f : fs) (f.done() ? result.done : result.not_done).push_back(std::move(f));
  return result;
}

}  // namespace detail

// Waits until `when` holds for `futures` (Python's default is all_completed) and returns
// them split into done and not_done. first_exception returns when a future ends with an
// exception (a cancelled one does not count), else when all are done.
template <detail::future_range R>
auto wait(R&& futures, return_when when = return_when::all_completed) {
  using T = detail::future_value_t<R>;
  return detail::wait_impl<T>(detail::unique_futures<T>(std::forward<R>(futures)), when,
                              std::nullopt);
}
// The timeout form: returns when the condition holds or the timeout passes, whichever is
// first (it does not throw; look at not_done).
template <detail::future_range R, class Rep, class Period>
auto wait(R&& futures, return_when when, std::chrono::duration<Rep, Period> timeout) {
  using T = detail::future_value_t<R>;
  return detail::wait_impl<T>(detail::unique_futures<T>(std::forward<R>(futures)), when,
                              concur::deadline_after(timeout));
}

// An input range over futures in the order they complete (those already done first).
// Advancing past the last completed one blocks; with a timeout, it throws timeout_error
// once the timeout (counted from the as_completed call) has passed.
template <class T>
class as_completed_range {
  struct channel {
    checked_mutex mutex;
    std::condition_variable ready_cv;
    std::deque<future<T>> ready CONCUR_GUARDED_BY(mutex);
  };

 public:
  class iterator {
   public:
    using value_type = future<T>;
    using difference_type = std::ptrdiff_t;
    using reference = const future<T>&;

    iterator() = default;
    const future<T>& operator*() const { return owner_->current_; }
    const future<T>* operator->() const { return &owner_->current_; }
    iterator& operator++() {
      owner_->fetch();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.at_end();
    }

   private:
    friend class as_completed_range;
    explicit iterator(as_completed_range* owner) : owner_(owner) {}
    bool at_end() const noexcept { return owner_ == nullptr || owner_->at_end_; }
    as_completed_range* owner_ = nullptr;
  };

  as_completed_range(std::vector<future<T>> fs, std::optional<concur::clock::time_point> deadline)
      : channel_(std::make_shared<channel>()), total_(fs.size()), deadline_(deadline) {
    registered_.reserve(fs.size());
    for (auto& f : fs) {
      auto token = f.add_done_callback([ch = channel_](const future<T>& g) {
        {
          const checked_lock lock(ch->mutex);
          ch->ready.push_back(g);
        }
        ch->ready_cv.notify_one();
      });
      if (token) registered_.emplace_back(std::move(f), token);
    }
  }
  // Leaving early (break, timeout) takes the callbacks off the futures still pending.
  ~as_completed_range() {
    for (auto& [f, token] : registered_) f.remove_done_callback(token);
  }
  as_completed_range(as_completed_range&&) = delete;
  as_completed_range& operator=(as_completed_range&&) = delete;

  // Single pass. The first call waits for the first completion.
  iterator begin() {
    if (!started_) {
      started_ = true;
      fetch();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  void fetch() {
    if (yielded_ == total_) {
      at_end_ = true;
      current_ = future<T>();
      return;
    }
    channel& ch = *channel_;
    checked_lock lock(ch.mutex);
    while (ch.ready.empty()) {
      if (!deadline_) {
        ch.ready_cv.wait(lock.native());
      } else if (ch.ready_cv.wait_until(lock.native(), *deadline_) == std::cv_status::timeout &&
                 ch.ready.empty()) {
        throw timeout_error("as_completed: " + std::to_string(total_ - yielded_) + " (of " +
                            std::to_string(total_) + ") futures unfinished");
      }
    }
    current_ = std::move(ch.ready.front());
    ch.ready.pop_front();
    ++yielded_;
  }

  std::shared_ptr<channel> channel_;
  std::vector<std::pair<future<T>, callback_token>> registered_;
  std::size_t total_;
  std::size_t yielded_ = 0;
  std::optional<concur::clock::time_point> deadline_;
  future<T> current_;
  bool started_ = false;
  bool at_end_ = false;
};

template <detail::future_range R>
as_completed_range<detail::future_value_t<R>> as_completed(R&& futures) {
  using T = detail::future_value_t<R>;
  return {detail::unique_futures<T>(std::forward<R>(futures)), std::nullopt};
}
template <detail::future_range R, class Rep, class Period>
as_completed_range<detail::future_value_t<R>> as_completed(
    R&& futures, std::chrono::duration<Rep, Period> timeout) {
  using T = detail::future_value_t<R>;
  return {detail::unique_futures<T>(std::forward<R>(futures)), concur::deadline_after(timeout)};
}

}  // namespace concur
