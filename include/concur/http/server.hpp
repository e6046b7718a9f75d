#pragma once
// concur's HTTP/1.1 server: aiohttp.web's Application (router + middlewares), AppRunner/TCPSite
// (http::server) and run_app.
//
//   http::application app;
//   app.get("/posts/{id}", [](http::web_request& req) -> aio::task<http::web_response> {
//     co_return http::json_response({{"id", std::stoi(std::string(req.match_info("id")))}});
//   });
//   http::run_app(std::move(app), {.port = 8080});   // until SIGINT/SIGTERM
//
// Handlers and middlewares are coroutines. With `threads` > 1 every thread runs its own event
// loop with its own SO_REUSEPORT listening socket on the same port, and handlers run on all of
// them at once: they must then be safe to call concurrently.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "concur/aio/task.hpp"
#include "concur/http/router.hpp"
#include "concur/http/web.hpp"

namespace concur::http {

// async def handler(request) -> web.Response
using handler = std::function<aio::task<web_response>(web_request&)>;

class application;

// What a middleware calls to run the rest of the chain (aiohttp's `handler` argument).
class next_handler {
 public:
  aio::task<web_response> operator()(web_request& request) const;

 private:
  friend class application;
  next_handler(const application* app, std::size_t index, const handler* last) noexcept
      : app_(app), index_(index), last_(last) {}
  const application* app_;
  std::size_t index_;
  const handler* last_;
};

// @web.middleware async def mw(request, handler): ... The first added is the outermost.
using middleware = std::function<aio::task<web_response>(web_request&, next_handler)>;

// aiohttp.web.Application: routes and middlewares. Build it, then hand it to a server (which
// shares it between its loops; it is not changed after that).
class application {
 public:
  application();

  // app.router.add_route(method, path, handler); throws route_error on a bad pattern.
  application& add_route(std::string_view method, std::string_view pattern, handler h);
  application& get(std::string_view pattern, handler h) {
    return add_route("GET", pattern, std::move(h));
  }
  application& post(std::string_view pattern, handler h) {
    return add_route("POST", pattern, std::move(h));
  }
  application& put(std::string_view pattern, handler h) {
    return add_route("PUT", pattern, std::move(h));
  }
  application& patch(std::string_view pattern, handler h) {
    return add_route("PATCH", pattern, std::move(h));
  }
  application& del(std::string_view pattern, handler h) {
    return add_route("DELETE", pattern, std::move(h));
  }
  // Any method (aiohttp's "*").
  application& any(std::string_view pattern, handler h) {
    return add_route("*", pattern, std::move(h));
  }
  application& add_middleware(middleware m);

  // Routes `request` and runs the middlewares and the handler. An unknown path raises
  // web_exception(404), a known path with another method web_exception(405) carrying Allow,
  // both through the middlewares as in aiohttp.
  aio::task<web_response> handle(web_request& request) const;

  const http::router& router() const noexcept { return router_; }

 private:
  friend class next_handler;
  http::router router_;
  std::vector<handler> handlers_;
  std::vector<middleware> middlewares_;
  handler not_found_;
  handler not_allowed_;
};

struct server_options {
  // Address to listen on ("127.0.0.1", "0.0.0.0", "::1"); port 0 picks a free port.
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  // Event loops (threads), each with its own SO_REUSEPORT listening socket.
  unsigned threads = 1;
  int backlog = 1024;
  // Request line plus header fields; beyond: 431 and close.
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_header_count = 100;
  // Request body (aiohttp's client_max_size, 1 MiB by default); beyond: 413 and close.
  std::size_t max_body_bytes = 1024 * 1024;
  // A request must arrive whole (headers and body) within this time of its first byte; a slow
  // client gets 408 and the connection closes.
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(15);
  // An idle keep-alive connection closes after this (aiohttp's keepalive_timeout).
  std::chrono::nanoseconds keep_alive_timeout = std::chrono::seconds(75);
  // A response must be taken by the client within this time of being ready (a client that
  // never reads).
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  // Graceful shutdown: requests in flight get this long to finish before they are cancelled
  // (aiohttp's shutdown_timeout).
  std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds(60);
  // The Server header ("" sends none).
  std::string server_name = "concur";
};

struct server_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;
};

// AppRunner + TCPSite: binds its listening sockets in the constructor (so port() is known and
// bind errors are thrown there), serves on its own threads (start) or the calling thread (run),
// and shuts down gracefully: stop accepting, close idle connections, let requests in flight
// finish (bounded by shutdown_timeout), then close everything. Never hangs in the destructor.
class server {
 public:
  server(application app, server_options options = {});
  server(std::shared_ptr<const application> app, server_options options = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  // Shuts down (gracefully, bounded by shutdown_timeout) and joins.
  ~server();

  std::uint16_t port() const noexcept { return port_; }
  const server_options& options() const noexcept { return options_; }
  // "http://127.0.0.1:PORT" + path.
  std::string url(std::string_view path = "/") const;

  // Serves on `threads` background threads; returns at once. invalid_state_error if started.
  void start();
  // Serves with the calling thread as the first loop (plus threads-1 more) until shutdown();
  // rethrows the first failure of any loop.
  void run();
  // Serves loop 0's socket on the running event loop until shutdown() (for embedding in the
  // caller's own aio::run). Other loops, if any, are not served by this call.
  aio::task<void> serve();
  // Begins the graceful shutdown. Thread-safe and async-signal-safe; returns at once.
  void shutdown() noexcept;
  // Waits for the loops started by start() to finish; rethrows the first failure.
  void join();

  server_stats stats() const noexcept;
  // Every serving loop's task tree (event_loop::dump_tasks), for a look at a server that
  // hangs: thread-safe; each loop answers from its own thread, and one that does not within
  // `wait` (busy in a step that does not yield) is reported as such.
  std::string dump_tasks(std::chrono::milliseconds wait = std::chrono::seconds(1)) const;

  struct shared_state;

 private:
  friend void run_app(application, server_options, const std::function<void(std::uint16_t)>&);
  std::shared_ptr<const application> app_;
  server_options options_;
  std::uint16_t port_ = 0;
  std::shared_ptr<shared_state> state_;
  std::vector<std::thread> threads_;
  bool started_ = false;
};

// web.run_app: serves `app` on the calling thread (plus threads-1 more) until SIGINT or
// SIGTERM, then shuts down gracefully. `on_ready(port)` runs on the calling thread once the
// server serves and takes those signals (keep it short: the first loop waits for it).
void run_app(application app, server_options options = {},
             const std::function<void(std::uint16_t)>& on_ready = {});

}  // namespace concur::http
