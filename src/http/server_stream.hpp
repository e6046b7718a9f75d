#pragma once
// The server side of a response written while the handler runs (stream_response, SSE,
// file_response and, later, the WebSocket upgrade): the connection a request arrived on,
// seen through what a streamed body needs. server.cpp's connection implements the I/O;
// the body framing (Content-Length accounting, chunks) lives here once.
#include <cstdint>
#include <string>
#include <string_view>

#include "concur/aio/task.hpp"
#include "concur/http/headers.hpp"

namespace concur::http::detail {

class server_stream {
 public:
  enum class framing { none, length, chunked, until_close };
  enum class state { idle, open, ended };

  struct head {
    int status = 200;
    std::string_view reason;
    std::string_view content_type;
    const http::headers* fields = nullptr;
    framing body = framing::length;
    std::uint64_t length = 0;
    bool close = false;
  };

  server_stream() = default;
  server_stream(const server_stream&) = delete;
  server_stream& operator=(const server_stream&) = delete;

  // The request being answered; false when a response was already started for it.
  bool can_begin() const noexcept { return state_ == state::idle; }
  bool response_started() const noexcept { return state_ != state::idle; }
  bool is_open() const noexcept { return state_ == state::open; }
  bool head_request() const noexcept { return head_request_; }
  int http_minor() const noexcept { return minor_; }

  // Writes the status line and fields. `h.body` is what the caller knows (length or not);
  // the framing actually used follows from the request: chunked for HTTP/1.1, until the
  // connection closes for HTTP/1.0, none for HEAD, 1xx, 204 and 304.
  framing begin(head h);
  // Body bytes, framed. Throws value_error past a declared Content-Length.
  void write_body(std::string_view data);
  // Ends the body: the last chunk, or a check that the declared length was written (false
  // when it was not: the connection must close, the client sees a short body).
  bool end_body();

  // The bytes waiting to be sent, in order after the responses batched before.
  virtual std::string& buffer() noexcept = 0;
  // Sends what the socket takes now; true when nothing is left waiting.
  virtual bool try_flush() = 0;
  // Sends everything waiting; throws net::connection_reset_error when the client is gone or
  // stopped reading for longer than the write timeout.
  virtual aio::task<void> flush() = 0;
  // After 101 Switching Protocols the connection carries another protocol (WebSocket): the
  // bytes received and not yet consumed (those after the request first), more of them (false
  // at the peer's end of stream; net::connection_reset_error when the connection failed or the
  // server is shutting down), and whether the server is shutting down.
  virtual std::string_view received() noexcept = 0;
  virtual void consume(std::size_t n) noexcept = 0;
  virtual aio::task<bool> receive_more() = 0;
  virtual bool shutting_down() const noexcept = 0;
  // The connection no longer speaks HTTP: no timeouts while it waits for the peer, closed
  // when the handler returns, and the first to go at a shutdown.
  virtual void switch_protocols() noexcept = 0;

  // Body bytes from a file: `count` bytes of `fd` from `offset`, sent after buffer() without
  // passing through user space. Counts against the declared length like write_body().
  aio::task<void> send_file(int fd, std::uint64_t offset, std::uint64_t count);

 protected:
  ~server_stream() = default;
  // A new request on the connection.
  void reset(bool head_request, int minor, bool keep_alive) noexcept {
    state_ = state::idle;
    head_request_ = head_request;
    minor_ = minor;
    keep_alive_ = keep_alive;
    close_after_ = false;
  }
  // The connection must close after this response (HTTP/1.0 without a length, a body cut
  // short, force_close).
  bool close_after() const noexcept { return close_after_; }
  // The status line and fields (the connection knows Date and Server).
  virtual void append_head(const head& h, framing used, bool keep_alive) = 0;
  // sendfile() to the socket, waiting while it is full; buffer() is empty when it is called.
  virtual aio::task<void> transmit_file(int fd, std::uint64_t offset, std::uint64_t count) = 0;

 private:
  state state_ = state::idle;
  framing framing_ = framing::none;
  std::uint64_t remaining_ = 0;
  bool head_request_ = false;
  int minor_ = 1;
  bool keep_alive_ = true;
  bool close_after_ = false;
};

}  // namespace concur::http::detail
