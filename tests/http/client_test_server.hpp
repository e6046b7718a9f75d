#pragma once
// Test support for the client tests: a small HTTP/1.1 server on 127.0.0.1 with its own loop
// on its own thread (so blocking and async clients can both talk to it), built from
// net::start_server and http::parser. Each request goes to a coroutine handler that returns
// the raw response bytes (so tests can send anything, well-formed or not).
#include <atomic>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "concur/aio.hpp"
#include "concur/http/compression.hpp"
#include "concur/http/parser.hpp"
#include "concur/net.hpp"

namespace concur_test {

struct http_request {
  std::string method;
  std::string target;
  concur::http::headers headers;
  std::string body;
};

// A complete response with Content-Length.
inline std::string reply(int status, const std::string& body, const std::string& extra_headers = "",
                         const std::string& content_type = "application/json") {
  return "HTTP/1.1 " + std::to_string(status) + " " +
         std::string(concur::http::status_reason(status)) + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
         body;
}

class http_test_server {
 public:
  using handler = std::function<concur::aio::task<std::string>(http_request)>;

  explicit http_test_server(handler h) : handler_(std::move(h)) {
    std::promise<std::uint16_t> ready;
    auto port = ready.get_future();
    thread_ = std::thread([this, &ready] {
      concur::aio::event_loop loop;
      loop_ = &loop;
      loop.run_until_complete(serve(ready));
      loop_ = nullptr;
    });
    port_ = port.get();
  }
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;
  ~http_test_server() {
    loop_->call_soon_threadsafe([this] { stop_.set(); });
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  concur::aio::task<void> serve(std::promise<std::uint16_t>& ready) {
    auto srv = co_await concur::net::start_server(
        [this](concur::net::stream_reader r, concur::net::stream_writer w) {
          return connection(std::move(r), std::move(w));
        },
        "127.0.0.1", 0);
    ready.set_value(srv.port());
    co_await stop_.wait();
    srv.close();
    srv.close_clients();
    co_await srv.wait_closed();
  }

  concur::aio::task<void> connection(concur::net::stream_reader reader,
                                     concur::net::stream_writer writer) {
    ++connections_;
    concur::http::parser p(concur::http::message_kind::request);
    try {
      for (;;) {
        while (!p.message_complete()) {
          auto buf = reader.buffered();
          if (!buf.empty()) {
            reader.consume(p.feed(buf));
            continue;
          }
          if (!co_await reader.fill()) {
            writer.close();
            co_return;
          }
        }
        ++requests_;
        http_request req{std::string(p.method()), p.target(), p.headers(), p.body()};
        bool keep = p.keep_alive();
        bool head = req.method == "HEAD";
        std::string out = co_await handler_(std::move(req));
        if (out.empty()) break;                          // the handler asks to drop the connection
        if (head) out.resize(out.find("\r\n\r\n") + 4);  // headers only, as HTTP says
        writer.write(out);
        co_await writer.drain();
        if (!keep) break;
        p.reset();
      }
    } catch (const concur::http::parse_error&) {
    } catch (const concur::net::connection_error&) {
    }
    writer.close();
    co_await writer.wait_closed();
  }

  handler handler_;
  std::thread thread_;
  concur::aio::event_loop* loop_ = nullptr;
  concur::aio::event stop_;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
};

}  // namespace concur_test
