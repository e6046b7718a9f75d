#pragma once
// asyncio's UDP: loop.create_datagram_endpoint with a DatagramProtocol's callbacks, and the
// awaitable calls loop.sock_sendto / loop.sock_recvfrom on a socket of one's own.
//
// The transport's socket stays registered with the loop (one fd_watch, edge-triggered): a
// readable edge drains the socket into datagram_received, a batch of datagrams per recvmmsg,
// and the answers sent from datagram_received go out together in one sendmmsg. Outside a
// batch, sendto() sends at once; what the socket cannot take now waits in the transport and
// goes out on the next writable edge, as asyncio's does.
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concur/aio.hpp"
#include "concur/core/fd.hpp"
#include "concur/net/socket.hpp"

namespace concur::net {

class datagram_transport;

// asyncio.DatagramProtocol: override what you need. Called on the loop's thread.
class datagram_protocol {
 public:
  virtual ~datagram_protocol() = default;
  virtual void connection_made(datagram_transport& transport) { (void)transport; }
  virtual void datagram_received(std::string_view data, const endpoint& addr) {
    (void)data;
    (void)addr;
  }
  // A send or receive failed (ICMP port unreachable on a connected socket: ECONNREFUSED).
  virtual void error_received(const std::exception_ptr& error) { (void)error; }
  virtual void connection_lost(const std::exception_ptr& error) { (void)error; }
};

// create_datagram_endpoint's keyword arguments. Addresses are numeric (use net::resolve
// first for names); at least one of them is needed.
struct datagram_options {
  std::optional<endpoint> local_addr{};
  // connect()s the socket: sendto() without an address goes there, and only datagrams from
  // there are received.
  std::optional<endpoint> remote_addr{};
  bool reuse_port = false;       // SO_REUSEPORT
  bool allow_broadcast = false;  // SO_BROADCAST
};

// asyncio.DatagramTransport. Lives as long as the shared_ptr create_datagram_endpoint returned
// (or a copy): keep one while it should receive. close() sends what is queued, then ends it
// (connection_lost follows on a later iteration); dropping the last shared_ptr closes the
// socket at once, without connection_lost. Destroy it on its loop's thread.
class datagram_transport : public std::enable_shared_from_this<datagram_transport> {
 public:
  datagram_transport(aio::event_loop& loop, unique_fd fd, std::shared_ptr<datagram_protocol> p);
  datagram_transport(const datagram_transport&) = delete;
  datagram_transport& operator=(const datagram_transport&) = delete;
  ~datagram_transport();

  // transport.sendto(data, addr): on a connected endpoint addr may be omitted, and if given
  // must be the remote address (value_error otherwise, as asyncio's ValueError).
  void sendto(std::string_view data, const endpoint& addr);
  void sendto(std::string_view data);
  void close();
  void abort() noexcept;
  bool is_closing() const noexcept { return closing_; }
  std::size_t get_write_buffer_size() const noexcept { return queued_bytes_; }
  endpoint sockname() const { return endpoint::local_of(fd_.get()); }
  std::optional<endpoint> peername() const;
  int fileno() const noexcept { return fd_.get(); }

  // Starts reading and calls connection_made (create_datagram_endpoint does this).
  void start();

 private:
  class watch;
  struct queued {
    std::string data;
    std::optional<endpoint> addr;
  };

  void on_readable() noexcept;
  // One recvmmsg: how many datagrams it delivered, or -1 once the socket is drained.
  int receive_batch() noexcept;
  void deliver(std::string_view data, const endpoint& from) noexcept;
  void on_writable() noexcept;
  // false when the socket is full (EAGAIN); errors go to error_received.
  bool send_now(std::string_view data, const endpoint* addr) noexcept;
  void enqueue(std::string_view data, const endpoint* addr);
  // Sends what datagram_received answered during a batch with one sendmmsg.
  void flush_replies() noexcept;
  void report(int err, const char* what) noexcept;
  void finish() noexcept;

  aio::event_loop* loop_;
  unique_fd fd_;
  std::unique_ptr<watch> watch_;  // declared after fd_: leaves the epoll set before the close
  std::shared_ptr<datagram_protocol> protocol_;
  std::deque<queued> queue_;
  std::size_t queued_bytes_ = 0;
  // Receive buffers: one 64 KiB slot until an edge brings more than one datagram, then up to
  // max_slots, so a quiet endpoint stays small and a busy one reads a batch per syscall.
  std::vector<char> slots_;
  std::size_t slot_count_ = 0;
  std::vector<queued> replies_;  // sendto() calls made inside datagram_received
  bool in_batch_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool connected_ = false;
};

// await loop.create_datagram_endpoint(lambda: protocol, local_addr=..., remote_addr=...):
// a UDP socket bound and/or connected as asked, calling `protocol` from the loop. Errors
// (bind, connect) are connection_error naming the address.
aio::task<std::shared_ptr<datagram_transport>> create_datagram_endpoint(
    std::shared_ptr<datagram_protocol> protocol, datagram_options options);

// A non-blocking, close-on-exec UDP socket bound (and connected) as `options` say, for the
// awaitable calls below.
unique_fd open_datagram_socket(const datagram_options& options);

}  // namespace concur::net
