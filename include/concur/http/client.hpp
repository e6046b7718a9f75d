#pragma once
// Options of the HTTP client (aiohttp.ClientSession's and requests' keyword arguments).
//
// These are classes with a constructor (not aggregates) on purpose: GCC 12 miscompiles an
// aggregate temporary that lives across a co_await (it is copied bitwise into the coroutine
// frame and freed twice), and `co_await session.get(url, request_options().with_param("q", "x"))`
// is exactly that shape. Fill them field by field or with the chained setters, which are all
// `with_` and the keyword's name in aiohttp (params= -> with_param, one pair at a time).
// `request_options().with_timeout(5s)` is the short form of timeout=ClientTimeout(total=5).
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "concur/aio/task.hpp"
#include "concur/config.hpp"
#include "concur/core/clock.hpp"
#include "concur/http/form_data.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/url.hpp"
#include "concur/net/tls.hpp"

namespace concur::http {

// The core layer's duration (concur::duration), under this module's name too.
using concur::duration;

// aiohttp.ClientTimeout. Every limit is optional; a miss throws concur::timeout_error.
struct client_timeout {
  client_timeout() {}  // NOLINT: user-provided so the type is not an aggregate (see above)
  explicit client_timeout(duration total_) : total(total_) {}

  // The whole request: connection, redirects, and reading the body (aiohttp's `total`,
  // 5 minutes by default as in aiohttp).
  std::optional<duration> total = std::chrono::minutes(5);
  // Getting a connection: waiting for a pool slot, DNS, TCP connect and TLS handshake.
  std::optional<duration> connect;
  // Each wait for bytes from the server (aiohttp's sock_read).
  std::optional<duration> sock_read;

  client_timeout& with_total(std::optional<duration> d) {
    total = d;
    return *this;
  }
  client_timeout& with_connect(std::optional<duration> d) {
    connect = d;
    return *this;
  }
  client_timeout& with_sock_read(std::optional<duration> d) {
    sock_read = d;
    return *this;
  }
};

// ClientSession(...) arguments.
struct session_options {
  session_options() {}  // NOLINT: not an aggregate, see the top of this file

  // base_url: relative request URLs resolve against it ("/posts/1").
  std::string base_url;
  // Sent with every request unless the request sets the same field.
  http::headers headers;
  client_timeout timeout;
  // TCPConnector(limit=100, limit_per_host=0): simultaneous connections in use, in total and
  // per host (0: no per-host limit). Requests beyond wait for a connection.
  std::size_t limit = 100;
  std::size_t limit_per_host = 0;
  // Idle keep-alive connections older than this are closed instead of reused.
  duration keepalive_timeout = std::chrono::seconds(15);
  // Redirects followed per request before too_many_redirects.
  int max_redirects = 10;
  // Decode gzip/deflate bodies (and advertise Accept-Encoding: gzip, deflate).
  bool auto_decompress = true;
  // raise_for_status=True: every response with status >= 400 throws http_error.
  bool raise_for_status = false;
  // TLS for https URLs: verification against the system store by default.
  net::tls_client_options tls;
  // Largest response header section and body accepted (payload_error beyond).
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_body_bytes = std::size_t(1) << 30;
  // "concur/<version>", the version of CMakeLists.txt's project() (aiohttp sends
  // "Python/3.x aiohttp/3.y").
  std::string user_agent = "concur/" CONCUR_VERSION;
};

// Per-request arguments: session.get(url, params=..., headers=..., json=..., data=...).
struct request_options {
  request_options() {}  // NOLINT: not an aggregate, see the top of this file

  // Appended to the URL's query string.
  query_params params;
  // Override the session's headers of the same name.
  http::headers headers;
  // json=: serialised body, Content-Type: application/json.
  std::optional<nlohmann::json> json;
  // data= with a dict: application/x-www-form-urlencoded body.
  std::optional<query_params> form;
  // data= with bytes/str: sent as is (Content-Type from `headers`, else
  // application/octet-stream).
  std::optional<std::string> data;
  // data= with an open file: the file's bytes, streamed (at most 64 KiB of it in memory at a
  // time) with its size as Content-Length, and read again from the start for a retry or a
  // 307/308 redirect. A missing file is an os_error before anything is sent.
  std::optional<std::filesystem::path> file;
  // data=FormData(...): urlencoded or multipart/form-data (form_data::is_multipart()), with
  // files streamed and the whole length known up front (Content-Length).
  std::optional<form_data> form_fields;
  // data= with an async generator: a chunked upload of each piece the source returns until it
  // returns "". A source runs once, so a request that would need the body again (a retry on a
  // stale connection, a 307/308 redirect) fails with a clear error instead.
  std::function<aio::task<std::string>()> stream;
  // Replaces the session's timeout for this request.
  std::optional<client_timeout> timeout;
  bool allow_redirects = true;
  std::optional<int> max_redirects;
  // Per-request raise_for_status (default: the session's setting).
  std::optional<bool> raise_for_status;

  request_options& with_param(std::string_view name, std::string_view value) {
    params.emplace_back(std::string(name), std::string(value));
    return *this;
  }
  request_options& with_header(std::string_view name, std::string_view value) {
    headers.set(name, value);
    return *this;
  }
  request_options& with_json(nlohmann::json j) {
    json = std::move(j);
    return *this;
  }
  request_options& with_form(query_params f) {
    form = std::move(f);
    return *this;
  }
  request_options& with_data(std::string d) {
    data = std::move(d);
    return *this;
  }
  request_options& with_file(std::filesystem::path f) {
    file = std::move(f);
    return *this;
  }
  request_options& with_form_data(form_data f) {
    form_fields = std::move(f);
    return *this;
  }
  request_options& with_stream(std::function<aio::task<std::string>()> source) {
    stream = std::move(source);
    return *this;
  }
  request_options& with_timeout(client_timeout t) {
    timeout = t;
    return *this;
  }
  // timeout=5 in requests, ClientTimeout(total=5) in aiohttp: the whole request.
  template <class Rep, class Period>
  request_options& with_timeout(std::chrono::duration<Rep, Period> total) {
    timeout = client_timeout(std::chrono::duration_cast<duration>(total));
    return *this;
  }
  request_options& with_allow_redirects(bool allow) {
    allow_redirects = allow;
    return *this;
  }
  request_options& with_max_redirects(int n) {
    max_redirects = n;
    return *this;
  }
  request_options& with_raise_for_status(bool raise) {
    raise_for_status = raise;
    return *this;
  }
};

}  // namespace concur::http
