#pragma once
// http::mock_api: a JSONPlaceholder-like REST API plus httpbin-like endpoints, generated
// deterministically from a seed, for tests, examples, benchmarks and the CLI.
//
// JSONPlaceholder part (JSON, pretty-printed like the real service, same field names and sizes):
//   /posts (100)  /comments (500)  /albums (100)  /photos (5000)  /todos (200)  /users (10)
//   each with /{id} (404 when absent), ?field=value filters (?postId=1, ?userId=2), _start and
//   _limit, and the nested lists /posts/{id}/comments, /albums/{id}/photos,
//   /users/{id}/posts|albums|todos.
// httpbin part: /get /post /put /patch /delete /anything[/...] (echo as JSON), /headers, /ip,
//   /user-agent, /status/{code}, /delay/{seconds} (fractional; capped by max_delay),
//   /bytes/{n} (capped by max_bytes), /redirect/{n}, /absolute-redirect/{n}, /redirect-to?url=,
//   /gzip, /deflate, /json, /html and /page/{n} (HTML pages with meta tags), /stream/{n} (n JSON
//   lines, at most 100, sent chunked a line at a time by make_mock_application), /ws (a
//   WebSocket echo of text and binary messages, permessage-deflate when offered; respond()
//   only), /.
// Options: latency and jitter added to every request (the server waits without blocking its
// loop), error_rate (that fraction of requests answer 500, drawn from the seed).
//
// handle() is pure (request in, response and the wait out); make_mock_application() serves it
// through http::server, and mock_server runs that on a loopback port in the background.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "concur/aio/task.hpp"
#include "concur/http/server.hpp"
#include "concur/http/web.hpp"

namespace concur::http {

struct mock_options {
  // Added to every response (a non-blocking wait on the server's loop).
  std::chrono::nanoseconds latency{0};
  // Up to this much more, uniformly drawn per request.
  std::chrono::nanoseconds jitter{0};
  // Probability in [0, 1] that a request answers 500 instead.
  double error_rate = 0.0;
  // Seeds the generated data and the per-request draws (jitter, errors).
  std::uint64_t seed = 1;
  // /delay/{seconds} waits at most this long (httpbin caps at 10 s).
  std::chrono::nanoseconds max_delay = std::chrono::seconds(10);
  // /bytes/{n} sends at most this many bytes (httpbin caps at 100 KiB).
  std::size_t max_bytes = 100 * 1024;
};

// The answer to one request and how long to wait before sending it.
struct mock_reply {
  web_response response;
  std::chrono::nanoseconds delay{0};
};

class mock_api {
 public:
  // Generates the data (a few MB, some milliseconds). Throws concur::error on bad options
  // (negative durations, error_rate outside [0, 1]).
  explicit mock_api(mock_options options = {});

  // Routes and answers `request`. Never throws for bad input: 400/404/405 responses instead.
  mock_reply handle(const web_request& request) const;
  // What a server does with handle()'s reply: waits its delay without blocking the loop, and
  // sends /stream/{n} a line at a time (chunked, each line flushed as written). /ws is a
  // WebSocket echo served here (handle() has no answer for it).
  aio::task<web_response> respond(web_request& request) const;

  const mock_options& options() const noexcept;
  // Number of items of a JSONPlaceholder resource ("posts" -> 100), 0 for an unknown name.
  std::size_t count(std::string_view resource) const noexcept;
  // One item as JSON, or null when absent.
  nlohmann::json item(std::string_view resource, std::size_t id) const;
  // How many requests handle() has answered (across threads).
  std::uint64_t requests_served() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// An application answering every path through `api` (waits with aio::sleep, never blocking).
application make_mock_application(mock_api api);

// The mock API on an ephemeral loopback port, served by a background thread from construction
// to destruction (which shuts down and joins; requests still waiting in /delay are cancelled
// after server_options::shutdown_timeout, 1 s here by default).
//
//   http::mock_server mock;
//   auto r = http::get(mock.url("/posts/1"));
class mock_server {
 public:
  explicit mock_server(mock_options options = {}) : mock_server(mock_api(options)) {}
  explicit mock_server(mock_api api) : mock_server(std::move(api), default_server_options()) {}
  mock_server(mock_api api, server_options options);

  std::uint16_t port() const noexcept { return server_.port(); }
  // "http://127.0.0.1:PORT" + path.
  std::string url(std::string_view path = "/") const { return server_.url(path); }
  const mock_api& api() const noexcept { return api_; }
  http::server& server() noexcept { return server_; }

  // Loopback, port 0, one loop, a 1 s shutdown bound.
  static server_options default_server_options();

 private:
  mock_api api_;
  http::server server_;
};

}  // namespace concur::http
