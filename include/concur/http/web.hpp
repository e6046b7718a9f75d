#pragma once
// The request and response values of concur's HTTP server (aiohttp.web.Request and
// aiohttp.web.Response), plus json_response / text responses and web_exception
// (aiohttp.web.HTTPException). Plain values: they do not need an event loop.
#include <any>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concur/core/fd.hpp"
#include "concur/futures/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/url.hpp"

namespace concur::http {

namespace detail {
class server_stream;  // the connection a streamed response writes through (src/http)
}

// Path parameters captured by the router ("/posts/{id}" -> {"id", "1"}), in pattern order.
using match_info_type = std::vector<std::pair<std::string, std::string>>;

// aiohttp.web.HTTPException: thrown by a handler or a middleware, the server answers with its
// status and text (a handler may also just return such a response).
class web_exception : public error {
 public:
  explicit web_exception(int status, std::string text = {});
  int status() const noexcept { return status_; }
  const std::string& text() const noexcept { return text_; }
  // Extra response headers (Allow for 405, Location for a redirect).
  http::headers& headers() noexcept { return headers_; }
  const http::headers& headers() const noexcept { return headers_; }

 private:
  int status_;
  std::string text_;
  http::headers headers_;
};

// A route pattern the router cannot accept (bad braces, a duplicate, a missing leading '/').
class route_error : public error {
 public:
  using error::error;
};

// aiohttp.web.Request. The server owns it and reuses its buffers from one request to the next
// on a connection; a handler gets it by reference for the duration of the call.
class web_request {
 public:
  web_request() = default;

  // "GET", "POST", ... as sent.
  std::string_view method() const noexcept { return method_; }
  // The request target as sent: "/posts?userId=1" (aiohttp's request.raw_path).
  const std::string& raw_path() const noexcept { return target_; }
  // The path, percent-decoded, without the query (request.path).
  const std::string& path() const noexcept { return path_; }
  // The raw query string, without '?' (request.query_string).
  std::string_view query_string() const noexcept;
  // Decoded query parameters in order (request.query, a MultiDict).
  const query_params& query() const;
  // First value of query parameter `name`, if any.
  std::optional<std::string_view> query(std::string_view name) const;
  const http::headers& headers() const noexcept { return headers_; }
  // Value of path parameter `name` (request.match_info["id"]); throws web_exception(500) when
  // the route has no such parameter, which is a bug in the handler.
  std::string_view match_info(std::string_view name) const;
  const match_info_type& match_info() const noexcept { return match_info_; }
  // The body (await request.read() / request.text()); the server reads it whole, under the
  // body size limit, before the handler runs.
  const std::string& body() const noexcept { return body_; }
  const std::string& text() const noexcept { return body_; }
  // await request.json(): throws web_exception(400) naming the parse error.
  nlohmann::json json() const;
  int version_major() const noexcept { return major_; }
  int version_minor() const noexcept { return minor_; }
  bool keep_alive() const noexcept { return keep_alive_; }
  // The peer's address "ip:port" (request.remote gives only the ip; see remote_ip()).
  const std::string& peer() const noexcept { return peer_; }
  std::string_view remote() const noexcept;
  // Host header, or "" (request.host).
  std::string_view host() const noexcept { return headers_.get("Host", ""); }

  // request["key"] = value: storage that middlewares share with handlers.
  std::any& operator[](const std::string& key) { return storage_[key]; }
  const std::any* find(const std::string& key) const;

  // Fills the request from its parts (used by the server and by tests of pure handlers).
  // Throws web_exception(400) when the target is not an origin-form path or has a bad escape.
  void assign(std::string_view method, std::string_view target, http::headers headers = {},
              std::string body = {});

  // Server-side setters (not part of aiohttp's read-only view).
  match_info_type& mutable_match_info() noexcept { return match_info_; }
  std::string& mutable_body() noexcept { return body_; }
  http::headers& mutable_headers() noexcept { return headers_; }
  void set_version(int major, int minor) noexcept {
    major_ = major;
    minor_ = minor;
  }
  void set_keep_alive(bool v) noexcept { keep_alive_ = v; }
  void set_peer(std::string peer) { peer_ = std::move(peer); }
  // Sets method and target, re-deriving path and query (same errors as assign()).
  void set_target(std::string_view method, std::string_view target);
  // Forgets everything but keeps the buffers' capacity for the next request.
  void clear() noexcept;
  // The connection a stream_response writes through (null outside a server).
  detail::server_stream* stream() const noexcept { return stream_; }
  void set_stream(detail::server_stream* s) noexcept { stream_ = s; }

 private:
  std::string method_;
  std::string target_;
  std::string path_;
  std::size_t query_pos_ = std::string::npos;
  mutable std::optional<query_params> query_;
  http::headers headers_;
  match_info_type match_info_;
  std::string body_;
  std::string peer_;
  int major_ = 1;
  int minor_ = 1;
  bool keep_alive_ = true;
  std::map<std::string, std::any, std::less<>> storage_;
  detail::server_stream* stream_ = nullptr;
};

// An open file a response sends (file_response(), add_static). Shared, so a web_response
// stays a copyable value.
struct file_body {
  concur::unique_fd fd;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// aiohttp.web.Response: status, headers, a body. Content-Length, Date, Server and Connection
// are written by the server; Content-Type comes from content_type (empty: none is sent).
class web_response {
 public:
  web_response() = default;
  explicit web_response(int status, std::string body = {},
                        std::string content_type = "text/plain; charset=utf-8")
      : status(status), content_type(std::move(content_type)), body(std::move(body)) {}

  int status = 200;
  // Empty: the standard phrase for the status.
  std::string reason;
  std::string content_type = "text/plain; charset=utf-8";
  http::headers headers;
  std::string body;
  // Closes the connection after this response (force_close()).
  bool close_connection = false;
  // Set by file_response(): the body is this file, sent with sendfile, and the server answers
  // conditional and range requests for it (`body` is not used).
  std::shared_ptr<const file_body> file;

  void force_close() noexcept { close_connection = true; }
  // response.text as the body, with a text content type.
  void set_text(std::string text, std::string type = "text/plain; charset=utf-8") {
    body = std::move(text);
    content_type = std::move(type);
  }
};

// aiohttp.web.json_response: the JSON text of `data` with "application/json".
// Invalid UTF-8 in strings is replaced (U+FFFD) rather than failing the response.
web_response json_response(const nlohmann::json& data, int status = 200);
// Already-serialized JSON text (avoids building a json value when the text is at hand).
web_response json_text_response(std::string json_text, int status = 200);
// web.Response(text=...): text with "text/plain; charset=utf-8" (or the given type).
web_response text_response(std::string text, int status = 200,
                           std::string content_type = "text/plain; charset=utf-8");
// web.Response(body=...): bytes with "application/octet-stream" (or the given type).
web_response bytes_response(std::string body, int status = 200,
                            std::string content_type = "application/octet-stream");
// A plain-text response with the standard "404: Not Found" body aiohttp sends for a status.
web_response status_response(int status, std::string_view text = {});

}  // namespace concur::http
