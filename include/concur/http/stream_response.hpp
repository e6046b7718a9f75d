#pragma once
// Responses a handler writes while it runs: aiohttp.web.StreamResponse and a server-sent events
// response (aiohttp-sse's EventSourceResponse).
//
//   app.get("/numbers", [](http::web_request& req) -> aio::task<http::web_response> {
//     http::stream_response resp;
//     resp.content_type = "application/x-ndjson";
//     co_await resp.prepare(req);           // status line and fields go out now
//     for (int i = 0; i < 10; ++i) co_await resp.write(std::to_string(i) + "\n");
//     co_await resp.write_eof();
//     co_return resp;                        // the server sees it was streamed
//   });
//
// Without a content_length the body is chunked (HTTP/1.1) or ends when the connection closes
// (HTTP/1.0). Each write() goes to the socket at once, as far as the socket takes it, and waits
// only when more than 64 KiB is still waiting (aiohttp's drain threshold). A handler that
// throws after prepare() cannot change the status any more: the connection closes mid-body,
// which the client sees as an incomplete message.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "concur/aio/task.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/web.hpp"

namespace concur::http {

class stream_response {
 public:
  explicit stream_response(int status = 200, std::string reason = {})
      : status(status), reason(std::move(reason)) {}
  stream_response(const stream_response&) = delete;
  stream_response& operator=(const stream_response&) = delete;
  stream_response(stream_response&&) noexcept = default;
  stream_response& operator=(stream_response&&) noexcept = default;
  ~stream_response() = default;

  int status = 200;
  // Empty: the standard phrase for the status.
  std::string reason;
  std::string content_type = "application/octet-stream";
  http::headers headers;
  // Known: sent as Content-Length, and writing more is a value_error.
  std::optional<std::uint64_t> content_length;

  // The connection closes after this response.
  void force_close() noexcept { close_ = true; }

  // Sends the status line and the fields. A second call does nothing. invalid_state_error
  // when the request is not being served by a server, or another response was already
  // started for it.
  aio::task<void> prepare(web_request& request);
  bool prepared() const noexcept { return stream_ != nullptr; }

  // Appends to the body. invalid_state_error before prepare() or after write_eof();
  // net::connection_reset_error when the client has gone.
  aio::task<void> write(std::string_view data);
  // Waits until everything written has been taken by the socket.
  aio::task<void> drain();
  // Ends the body (the last chunk), after writing `data`. A second call does nothing.
  aio::task<void> write_eof(std::string_view data = {});

  // What the handler returns (`co_return resp;`). The server finishes a body the handler left
  // open; before prepare() the server sends it as an ordinary empty response.
  operator web_response() const;  // NOLINT(google-explicit-constructor): aiohttp's `return resp`

 protected:
  // The request answered, from prepare() to the handler's return.
  const web_request* request() const noexcept { return request_; }

 private:
  detail::server_stream* stream_ = nullptr;
  const web_request* request_ = nullptr;
  bool close_ = false;
  bool eof_ = false;
};

// Server-sent events (text/event-stream, the WHATWG HTML "Server-sent events" format):
// every send() is one event, pushed to the client at once.
class sse_response : public stream_response {
 public:
  sse_response();

  // One event: `data` split into "data:" lines at CR, LF or CRLF, with an optional event
  // name, id and reconnection time. value_error when `event` or `id` holds CR, LF (they would
  // start another field) or NUL in an id.
  aio::task<void> send(std::string_view data, std::string_view event = {}, std::string_view id = {},
                       std::optional<std::chrono::milliseconds> retry = std::nullopt);
  // A comment line, which clients ignore: keeps proxies from closing an idle stream.
  aio::task<void> ping();
  // The Last-Event-ID the client reconnected with ("" when none, or before prepare()).
  std::string_view last_event_id() const noexcept;
};

}  // namespace concur::http
