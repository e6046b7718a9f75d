#pragma once
// asyncio streams: open_connection() gives a (stream_reader, stream_writer) pair over TCP or
// TLS; start_server() calls a coroutine for every accepted connection.
//
// Readiness-based, on the running aio::event_loop: a read tries recv() first and waits for
// readability only when nothing is there, so a busy connection costs one syscall per read.
// A writer sends at once what the socket takes and keeps the rest; drain() waits until the
// buffered bytes fall to the low-water mark (asyncio's flow control).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concur/aio.hpp"
#include "concur/core/clock.hpp"
#include "concur/net/detail/park.hpp"
#include "concur/net/errors.hpp"
#include "concur/net/socket.hpp"
#include "concur/net/tls.hpp"

namespace concur::net {

// The core layer's duration (concur::duration), under this module's name too.
using concur::duration;

// Overloads rather than default arguments of class type throughout: GCC 12 miscompiles a
// class-type default argument (or a braced temporary argument) in a call inside a coroutine's
// co_await expression (the temporary is copied bitwise into the callee's frame and later
// freed twice). Pass options as named variables, not `{}`.

namespace detail {
class server_core;
}  // namespace detail

// open_connection()'s keyword arguments.
struct connection_options {
  // ssl=: a client context turns on TLS (tls_context::client() verifies by default).
  std::optional<tls_context> tls{};
  // server_hostname=: the name checked in the certificate and sent as SNI (default: host).
  std::string server_hostname{};
  // Connect (and TLS handshake) deadline; a miss throws timeout_error naming host:port.
  std::optional<duration> connect_timeout{};
  // Every wait for incoming bytes fails with timeout_error after this (aiohttp's sock_read).
  std::optional<duration> read_timeout{};
  // StreamReader limit: readuntil()/readline() give up past this many buffered bytes.
  std::size_t limit = 64 * 1024;
  // Writer flow control (transport.set_write_buffer_limits).
  std::size_t high_water = 64 * 1024;
};

// asyncio.StreamReader.
class stream_reader {
 public:
  stream_reader() = default;
  explicit stream_reader(std::shared_ptr<detail::stream_core> core) : core_(std::move(core)) {}

  // Up to n bytes (n < 0: everything until EOF); "" only at EOF.
  aio::task<std::string> read(std::ptrdiff_t n = -1);
  // Exactly n bytes or incomplete_read_error (with what arrived).
  aio::task<std::string> readexactly(std::size_t n);
  // Bytes up to and including `separator`; limit_overrun_error past the limit,
  // incomplete_read_error at EOF.
  aio::task<std::string> readuntil(std::string separator);
  aio::task<std::string> readuntil();  // separator "\n"
  // A line including "\n"; at EOF the partial line (possibly "").
  aio::task<std::string> readline();
  bool at_eof() const noexcept;

  // Zero-copy access for parsers: the bytes received and not yet consumed.
  std::string_view buffered() const noexcept;
  void consume(std::size_t n) noexcept;
  // co_await fill(): waits until more bytes arrive (true) or the peer closed (false). Throws
  // timeout_error after the read timeout, connection errors, tls_error. Allocates nothing.
  detail::fill_awaiter fill();
  void set_read_timeout(std::optional<duration> timeout) noexcept;
  void set_limit(std::size_t limit) noexcept;

  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  std::shared_ptr<detail::stream_core> core_;
};

// asyncio.StreamWriter.
class stream_writer {
 public:
  stream_writer() = default;
  explicit stream_writer(std::shared_ptr<detail::stream_core> core) : core_(std::move(core)) {}

  // Queues `data` (sending at once what the socket accepts). Throws connection errors once
  // the connection failed or was closed.
  void write(std::string_view data);
  // co_await drain(): waits until the buffered bytes drop to the low-water mark (at once when
  // under the high-water mark); throws the connection's error if it failed.
  detail::drain_awaiter drain();
  // Half-close (shutdown(SHUT_WR)); TCP only.
  bool can_write_eof() const noexcept;
  void write_eof();
  // Starts closing: pending bytes are still sent (with close_notify for TLS), then the
  // socket closes. Idempotent.
  void close();
  bool is_closing() const noexcept;
  // Waits until the close finished (bounded by the pending bytes going out or failing).
  aio::task<void> wait_closed();
  // Closes right away, dropping unsent bytes (transport.abort()).
  void abort() noexcept;

  // get_extra_info("peername" / "sockname"); nothing for other names.
  std::optional<endpoint> get_extra_info(std::string_view name) const;
  endpoint peername() const;
  endpoint sockname() const;
  // Negotiated TLS version ("TLSv1.3"), or "" for plain TCP.
  std::string tls_version() const;
  // transport.get_write_buffer_size().
  std::size_t write_buffer_size() const noexcept;
  // transport.set_write_buffer_limits(high, low).
  void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {});

  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  std::shared_ptr<detail::stream_core> core_;
};

using stream_pair = std::pair<stream_reader, stream_writer>;

// asyncio.open_connection(host, port, ssl=..., server_hostname=...). Resolves `host` off the
// loop (numeric addresses skip DNS), tries each address in order. Throws dns_error,
// connection_refused_error, connection_error, tls_error, timeout_error, each naming host:port.
aio::task<stream_pair> open_connection(std::string host, std::uint16_t port,
                                       connection_options options);
aio::task<stream_pair> open_connection(std::string host, std::uint16_t port);

// start_server()'s keyword arguments.
struct server_options {
  // ssl=: a server context (certificate and key) turns on TLS.
  std::optional<tls_context> tls{};
  // SO_REUSEPORT: run one loop per core, each with its own server on the same port.
  bool reuse_port = false;
  int backlog = 1024;
  std::size_t limit = 64 * 1024;
  std::size_t high_water = 64 * 1024;
  // TLS handshake deadline for each accepted connection.
  duration handshake_timeout = std::chrono::seconds(60);
};

using client_connected_cb = std::function<aio::task<void>(stream_reader, stream_writer)>;

// asyncio.Server.
class server {
 public:
  server() = default;
  explicit server(std::shared_ptr<detail::server_core> core) : core_(std::move(core)) {}

  // Stops accepting; connections in progress go on (asyncio semantics).
  void close();
  // Closes every client connection too (Server.close_clients, 3.13).
  void close_clients();
  // Waits until the server is closed and every connection handler has returned.
  aio::task<void> wait_closed();
  // Runs until close() (Server.serve_forever).
  aio::task<void> serve_forever();
  bool is_serving() const noexcept;
  // Bound addresses (Server.sockets), and the port of the first (useful with port 0).
  std::vector<endpoint> sockets() const;
  std::uint16_t port() const;
  // Connection handlers running now.
  std::size_t active_connections() const noexcept;

  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  std::shared_ptr<detail::server_core> core_;
};

// asyncio.start_server(client_connected_cb, host, port). host "" listens on every
// interface; port 0 picks a free port (see server::port()). The handler's exceptions are
// reported to the loop's exception handler and close that connection only.
aio::task<server> start_server(client_connected_cb handler, std::string host, std::uint16_t port,
                               server_options options);
aio::task<server> start_server(client_connected_cb handler, std::string host, std::uint16_t port);
// asyncio.start_server(client_connected_cb, sock=sock): serves on a socket the caller has bound
// and put in the listening state (TCP or AF_UNIX stream); the server owns it from now on.
aio::task<server> start_server(client_connected_cb handler, unique_fd sock, server_options options);
aio::task<server> start_server(client_connected_cb handler, unique_fd sock);

// asyncio.open_unix_connection(path): a stream over an AF_UNIX socket. "@name" (or a leading
// NUL) is an abstract name. connect_timeout and the stream options apply; tls is refused.
// Throws connection_refused_error when nothing listens there, naming the path.
aio::task<stream_pair> open_unix_connection(std::string path, connection_options options);
aio::task<stream_pair> open_unix_connection(std::string path);

// asyncio.start_unix_server(cb, path): listens on an AF_UNIX socket. A socket file already at
// `path` is replaced (as asyncio does) and removed again when the server closes
// (cleanup_socket=True, Python 3.13); any other file there is an error. "@name" is abstract.
aio::task<server> start_unix_server(client_connected_cb handler, std::string path,
                                    server_options options);
aio::task<server> start_unix_server(client_connected_cb handler, std::string path);

// Resolves host:port without blocking the loop: through the loop's c-ares resolver (no thread
// per lookup; /etc/hosts first; answers cached for their TTL, at most 5 min), where asyncio's
// loop.getaddrinfo uses a thread of its executor. Numeric addresses return at once. Throws
// dns_error naming host:port.
aio::task<std::vector<endpoint>> resolve(std::string host, std::uint16_t port);

}  // namespace concur::net
