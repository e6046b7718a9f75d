#pragma once
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "concur/futures/errors.hpp"
#include "concur/mp/codec.hpp"
#include "concur/mp/detail/fd.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp {

namespace detail {
// The descriptor table of the archive mp is writing or reading, or an error naming the misuse.
fd_table& fds_of(cereal::BinaryOutputArchive& ar);
fd_table& fds_of(cereal::BinaryInputArchive& ar);
template <class Archive>
fd_table& fds_of(Archive&) {
  throw error("concur::mp: pipes and queues can only be sent through mp (binary archive)");
}
}  // namespace detail

// One end of mp::pipe (Python's multiprocessing.connection.Connection), carrying values of T.
// Move-only; passing it to mp::process or an initializer gives the child its own descriptor for
// the same end. Like Python's, one end is not meant to be used by two threads at once.
template <class T>
class connection {
  static_assert(is_sendable_v<T>, "concur::mp: pipe<T> needs a sendable T (see mp::sendable)");

 public:
  connection() = default;
  connection(detail::unique_fd fd, bool readable, bool writable)
      : fd_(std::move(fd)), readable_(readable), writable_(writable) {}

  // Connection.send: the value is serialized and written as one frame.
  void send(const T& value) {
    check_open();
    if (!writable_) throw invalid_state_error("concur::mp: this end of the pipe is read-only");
    std::string bytes;
    detail::fd_table none;
    detail::encode_into(bytes, none, value);
    detail::send_frame(fd_.get(), bytes);
  }

  // Connection.recv: blocks for the next value; eof_error once the other end is closed.
  T recv() {
    check_open();
    if (!readable_) throw invalid_state_error("concur::mp: this end of the pipe is write-only");
    auto frame = detail::recv_frame(fd_.get());
    if (!frame) throw eof_error();
    T value{};
    detail::fd_table none;
    detail::decode_from(*frame, none, value);
    return value;
  }

  // Connection.poll: true when recv() would not block (data or end of file).
  bool poll() { return poll(std::chrono::milliseconds(0)); }
  template <class Rep, class Period>
  bool poll(std::chrono::duration<Rep, Period> timeout) {
    check_open();
    return detail::wait_readable(fd_.get(), std::chrono::ceil<std::chrono::milliseconds>(timeout));
  }

  void close() noexcept { fd_.reset(); }
  bool closed() const noexcept { return !fd_; }
  int fileno() const noexcept { return fd_.get(); }
  bool readable() const noexcept { return readable_; }
  bool writable() const noexcept { return writable_; }

  template <class Archive>
  void save(Archive& ar) const {
    if (!fd_) throw invalid_state_error("concur::mp: cannot pass a closed connection");
    const std::uint64_t index = detail::fds_of(ar).put(fd_.get());
    ar(index, readable_, writable_);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::uint64_t index = 0;
    ar(index, readable_, writable_);
    fd_.reset(detail::fds_of(ar).take(index));
  }

 private:
  void check_open() const {
    if (!fd_) throw invalid_state_error("concur::mp: connection is closed");
  }

  detail::unique_fd fd_;
  bool readable_ = false;
  bool writable_ = false;
};

// multiprocessing.Pipe(duplex): two connected ends. duplex=false gives (reader, writer).
template <class T>
std::pair<connection<T>, connection<T>> pipe(bool duplex = true) {
  auto [a, b] = detail::socket_pair(SOCK_STREAM);
  if (duplex)
    return {connection<T>(std::move(a), true, true), connection<T>(std::move(b), true, true)};
  ::shutdown(a.get(), SHUT_WR);
  ::shutdown(b.get(), SHUT_RD);
  return {connection<T>(std::move(a), true, false), connection<T>(std::move(b), false, true)};
}

}  // namespace concur::mp
