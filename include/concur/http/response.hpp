#pragma once
// http::response: aiohttp.ClientResponse. Status line and headers are there when the request
// returns; the body is read on demand (read / text / json, or in chunks with read_chunk), and
// the connection goes back to the pool once the body has been read to its end. A response
// dropped before its body was read closes its connection (it cannot be reused mid-body).
#include <cstddef>
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
  // Up to `max` more decoded body bytes; "" at the end (resp.content.read(n) /
  // iter_chunked(n): `while (!(chunk = co_await r.read_chunk(n)).empty())`).
  aio::task<std::string> read_chunk(std::size_t max = 64 * 1024);
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
  std::optional<std::string> full_body_;
};

}  // namespace concur::http
