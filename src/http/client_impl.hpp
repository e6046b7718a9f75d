#pragma once
// Internals of the HTTP client: pooled connections and the reader of a response body.
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "concur/aio.hpp"
#include "concur/http/client.hpp"
#include "concur/http/compression.hpp"
#include "concur/http/parser.hpp"
#include "concur/http/response.hpp"
#include "concur/net/detail/park.hpp"
#include "concur/net/streams.hpp"

namespace concur::http::detail {

// One keep-alive connection and the state reused across its requests (the parser and the
// request buffer keep their capacity, so a steady stream of requests allocates little).
struct client_connection {
  client_connection(net::stream_reader r, net::stream_writer w, std::string k, std::string wh,
                    const parser_limits& limits)
      : reader(std::move(r)),
        writer(std::move(w)),
        parser(message_kind::response, limits),
        key(std::move(k)),
        where(std::move(wh)) {}
  net::stream_reader reader;
  net::stream_writer writer;
  http::parser parser;
  std::string key;    // scheme://host:port
  std::string where;  // host:port, for messages
  time_point idle_since{};
  std::string out;  // request bytes
  std::size_t requests = 0;
};

class connection_pool : public std::enable_shared_from_this<connection_pool> {
 public:
  explicit connection_pool(session_options o);
  ~connection_pool();

  // A connection to u's origin: an idle one if it is still good, else a new one once the
  // limits allow. `reused` tells which.
  aio::task<std::unique_ptr<client_connection>> acquire(const url& u,
                                                        std::optional<time_point> deadline,
                                                        bool& reused);
  // Back from a request: kept for reuse if `reusable`, else closed. Wakes waiters.
  void release(std::unique_ptr<client_connection> c, bool reusable) noexcept;
  void close_all() noexcept;

  session_options opts;
  parser_limits limits;
  bool closed = false;
  std::size_t opened = 0;
  std::size_t in_use = 0;
  std::size_t idle = 0;

 private:
  struct host_state {
    std::vector<std::unique_ptr<client_connection>> idle;
    std::size_t in_use = 0;
  };
  bool has_room(const host_state& hs) const noexcept {
    return in_use < opts.limit && (opts.limit_per_host == 0 || hs.in_use < opts.limit_per_host);
  }
  void wake_waiters() noexcept;
  const net::tls_context& tls();

  std::unordered_map<std::string, host_state> hosts_;
  std::vector<net::detail::park_slot*> waiters_;
  std::optional<net::tls_context> tls_;
};

// Reads the rest of a response body from its connection, decoding chunked framing (the
// parser) and gzip/deflate; hands the connection back to the pool at the end. The decoded bytes
// wait in a buffer that http::body_stream (response.content) reads from.
class body_reader {
 public:
  body_reader(std::shared_ptr<connection_pool> pool, std::unique_ptr<client_connection> conn,
              std::optional<content_coding> coding, std::optional<time_point> deadline,
              std::optional<duration> sock_read, std::string url);
  // For a body that was complete when the headers arrived (no connection held).
  body_reader(std::string complete_body, std::string url);
  ~body_reader();

  // The body ended well (decoded bytes may still be buffered); false after a failure.
  bool ended() const noexcept { return done_ && !error_; }
  // Decoded bytes not yet taken.
  std::string_view buffered() const noexcept { return std::string_view(pending_).substr(start_); }
  // Up to `n` buffered bytes, taken out.
  std::string take(std::size_t n);
  // Waits for more decoded bytes; false when the body ended and nothing more came. A failure
  // (broken framing, lost connection, timeout) is thrown again by every later call.
  aio::task<bool> more();
  // Drops the connection (closed unless the body was complete).
  void release() noexcept;

 private:
  // Parses what is buffered or waits for more; false once the message is complete.
  aio::task<bool> pump();
  void decode(std::string_view raw);
  void finish();
  // Closes the connection and keeps `e` for every later read.
  void fail(std::exception_ptr e);

  std::shared_ptr<connection_pool> pool_;
  std::unique_ptr<client_connection> conn_;
  std::optional<decompressor> decoder_;
  std::optional<time_point> deadline_;
  std::optional<duration> sock_read_;
  std::string url_;
  std::string pending_;    // decoded; pending_[start_...] not yet taken
  std::size_t start_ = 0;  // taken bytes at the front, dropped when the buffer is refilled
  std::string raw_;        // scratch for encoded bytes
  std::exception_ptr error_;
  bool done_ = false;
};

// Sets the reader's timeout for the next wait: the smaller of sock_read and what is left of
// the total deadline; throws timeout_error once the deadline passed.
void arm_read_timeout(net::stream_reader& reader, std::optional<duration> sock_read,
                      std::optional<time_point> deadline, const std::string& where);

// The two deadlines of a request from its timeout, counted from now: the whole exchange
// (total) and getting a connection (the earlier of connect and total).
struct request_deadlines {
  std::optional<time_point> total;
  std::optional<time_point> connect;
};
request_deadlines deadlines_for(const client_timeout& t);

// Appends "name: value\r\n"; client_error for an empty name or a CR/LF that would split the
// request.
void add_header(std::string& out, std::string_view name, std::string_view value);

}  // namespace concur::http::detail
