#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "concur/mp/codec.hpp"
#include "concur/mp/connection.hpp"
#include "concur/mp/detail/fd.hpp"

namespace concur::mp {

namespace detail {
// A message queue shared by processes: an AF_UNIX SOCK_SEQPACKET pair, so every put is one
// atomic message and every get takes exactly one, whatever number of processes use it. A value
// too large for one socket message travels in a memfd whose descriptor rides with a small
// message. No lock and no feeder thread are needed.
class queue_channel {
 public:
  queue_channel();
  queue_channel(unique_fd put_end, unique_fd get_end)
      : put_(std::move(put_end)), get_(std::move(get_end)) {}

  // Blocking when timeout is negative; false when the timeout passed first.
  bool put(std::string_view bytes, std::chrono::milliseconds timeout);
  std::optional<std::string> get(std::chrono::milliseconds timeout);
  bool empty() const;
  int put_fd() const noexcept { return put_.get(); }
  int get_fd() const noexcept { return get_.get(); }

 private:
  unique_fd put_;
  unique_fd get_;
};
}  // namespace detail

// multiprocessing.Queue: a FIFO of T shared by processes; pass it to mp::process or a pool
// initializer. Copies are handles to the same queue. The socket buffer bounds how much may be
// waiting (put blocks when it is full), so do not join a producer before draining the queue --
// the same rule Python documents for its queue.
template <class T>
class queue {
  static_assert(is_sendable_v<T>, "concur::mp: queue<T> needs a sendable T (see mp::sendable)");

 public:
  queue() : ch_(std::make_shared<detail::queue_channel>()) {}

  void put(const T& value) { put_for(value, std::chrono::milliseconds(-1)); }
  template <class Rep, class Period>
  void put(const T& value, std::chrono::duration<Rep, Period> timeout) {
    put_for(value, std::chrono::ceil<std::chrono::milliseconds>(timeout));
  }
  void put_nowait(const T& value) { put_for(value, std::chrono::milliseconds(0)); }

  T get() { return get_for(std::chrono::milliseconds(-1)); }
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    return get_for(std::chrono::ceil<std::chrono::milliseconds>(timeout));
  }
  T get_nowait() { return get_for(std::chrono::milliseconds(0)); }

  // Like Python's, only a hint: another process may put or get right after.
  bool empty() const { return ch_->empty(); }

  template <class Archive>
  void save(Archive& ar) const {
    auto& fds = detail::fds_of(ar);
    const std::uint64_t a = fds.put(ch_->put_fd());
    const std::uint64_t b = fds.put(ch_->get_fd());
    ar(a, b);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    ar(a, b);
    auto& fds = detail::fds_of(ar);
    detail::unique_fd p(fds.take(a));
    detail::unique_fd g(fds.take(b));
    ch_ = std::make_shared<detail::queue_channel>(std::move(p), std::move(g));
  }

 private:
  void put_for(const T& value, std::chrono::milliseconds timeout) {
    std::string bytes;
    detail::fd_table none;
    detail::encode_into(bytes, none, value);
    if (!ch_->put(bytes, timeout)) throw queue_full();
  }
  T get_for(std::chrono::milliseconds timeout) {
    auto bytes = ch_->get(timeout);
    if (!bytes) throw queue_empty();
    T value{};
    detail::fd_table none;
    detail::decode_from(*bytes, none, value);
    return value;
  }

  std::shared_ptr<detail::queue_channel> ch_;
};

}  // namespace concur::mp
