#pragma once
// http::response: aiohttp.ClientResponse. Status line and headers are there when the request
// returns; the body is read on demand (read / text / json whole, or streamed through
// content(), aiohttp's response.content), and the connection goes back to the pool once the
// body has been read to its end. A response dropped before its body was read closes its
// connection (it cannot be reused mid-body).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "concur/aio.hpp"
#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/url.hpp"

namespace concur::http {

namespace detail {
class body_reader;
}

// One hop of a followed redirect (aiohttp's response.history).
struct redirect_hop {
  int status = 0;
  http::url url;
  http::headers headers;
};

// aiohttp's StreamReader as response.content: the decoded body (chunked framing and
// gzip/deflate already undone) as it arrives, without holding more of it than one read's worth.
// `async for chunk in resp.content.iter_chunked(n)` is a loop over
// `std::string c = co_await resp.content().read(n);` that stops at "", and iter_any() the same
// loop over readany(). Errors: payload_error when the body breaks (then on every later read
// too), timeout_error past the session's timeouts.
class body_stream {
 public:
  // Up to `n` bytes once any are there; everything to the end when n < 0; "" only at the end
  // (or for n == 0).
  aio::task<std::string> read(std::ptrdiff_t n = -1);
  // What is buffered, or the next bytes to arrive; "" at the end.
  aio::task<std::string> readany();
  // Exactly `n` bytes; net::incomplete_read_error (with what did arrive) if the body ends first.
  aio::task<std::string> readexactly(std::size_t n);
  // Bytes up to and including "\n", or what is left at the end; value_error when no newline
  // comes within limit() bytes.
  aio::task<std::string> readline();
  // Bytes up to and including `separator`, or what is left at the end; value_error when it
  // does not come within limit() bytes; value_error for an empty separator.
  aio::task<std::string> readuntil(std::string separator = "\n");
  // Up to `n` bytes already buffered (all of them when n < 0), without waiting.
  std::string read_nowait(std::ptrdiff_t n = -1);
  // The body ended and every byte was read.
  bool at_eof() const noexcept;
  // The body ended (bytes may still be buffered): StreamReader.is_eof().
  bool is_eof() const noexcept;
  // aiohttp's high-water mark for readline()/readuntil(): 2 x 64 KiB.
  std::size_t limit() const noexcept { return limit_; }
  void set_limit(std::size_t limit) noexcept { limit_ = limit; }

 private:
  friend class response;
  explicit body_stream(detail::body_reader* reader) noexcept : reader_(reader) {}
  body_stream() = default;

  detail::body_reader* reader_ = nullptr;
  std::size_t limit_ = 128 * 1024;
};

class response {
 public:
  response();
  response(response&&) noexcept;
  response& operator=(response&&) noexcept;
  ~response();

  int status() const noexcept { return status_; }
  const std::string& reason() const noexcept { return reason_; }
  const http::headers& headers() const noexcept { return headers_; }
  const http::url& url() const noexcept { return url_; }
  const std::string& method() const noexcept { return method_; }
  int version_major() const noexcept { return major_; }
  int version_minor() const noexcept { return minor_; }
  const std::vector<redirect_hop>& history() const noexcept { return history_; }
  // requests' Response.ok: status < 400.
  bool ok() const noexcept { return status_ < 400; }
  // Content-Type without parameters ("application/json"), or "".
  std::string content_type() const;
  std::optional<std::size_t> content_length() const;

  // Throws http_error (carrying status, reason and URL) when status >= 400.
  void raise_for_status() const;

  // The whole (decoded) body; reads it to the end the first time, returns it again later.
  aio::task<std::string> read();
  // read() as text (the bytes as they are; UTF-8 is assumed, as JSON APIs use).
  aio::task<std::string> text();
  // The body parsed as JSON; throws client_error naming the URL on invalid JSON.
  aio::task<nlohmann::json> json();
  // The body as a stream (aiohttp's response.content). Reading through it and read() share
  // one body: after read(), content() is at its end.
  body_stream& content() noexcept { return content_; }
  // Streams the rest of the body into the file `path`, holding one read's worth in memory;
  // returns the bytes written. The file is complete or absent: the body goes to a temporary
  // file beside it that is renamed over `path` at the end and removed on any failure
  // (including a timeout or a cancellation). Throws os_error for the file's errors.
  aio::task<std::uint64_t> save(const std::filesystem::path& path);
  // True once the body has been read to its end.
  bool body_complete() const noexcept;
  // The body, once read() finished (no I/O); throws invalid_state_error before.
  const std::string& body() const;
  // Gives the connection back (closing it if the body was not read to its end).
  void release() noexcept;

  // Used by the client to build responses.
  struct init {
    int status = 0;
    std::string reason;
    http::headers headers;
    http::url url;
    std::string method;
    int major = 1;
    int minor = 1;
    std::vector<redirect_hop> history;
  };
  response(init parts, std::unique_ptr<detail::body_reader> body);
  void set_history(std::vector<redirect_hop> h) { history_ = std::move(h); }

 private:
  int status_ = 0;
  std::string reason_;
  http::headers headers_;
  http::url url_;
  std::string method_;
  int major_ = 1;
  int minor_ = 1;
  std::vector<redirect_hop> history_;
  std::unique_ptr<detail::body_reader> body_;
  body_stream content_;
  std::optional<std::string> full_body_;
};

}  // namespace concur::http
