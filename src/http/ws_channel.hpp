#pragma once
// The bytes under a WebSocket connection: the server's connection after 101 Switching
// Protocols, or a client connection after the handshake. http::websocket reads and writes
// frames through this and nothing else, so both sides share one implementation.
#include <string_view>

#include "concur/aio/task.hpp"

namespace concur::http::detail {

class ws_channel {
 public:
  ws_channel() = default;
  ws_channel(const ws_channel&) = delete;
  ws_channel& operator=(const ws_channel&) = delete;
  virtual ~ws_channel() = default;

  // Bytes received and not yet consumed.
  virtual std::string_view received() noexcept = 0;
  virtual void consume(std::size_t n) noexcept = 0;
  // Waits for more bytes: false at the peer's end of stream. Throws a connection error when
  // the connection failed (or the server is shutting down: shutting_down() tells).
  virtual aio::task<bool> receive_more() = 0;
  // Queues `bytes` and sends what the socket takes now; true when nothing is left waiting.
  virtual bool send(std::string_view bytes) = 0;
  // Waits until what was queued has gone out (or under the buffer limit).
  virtual aio::task<void> drain() = 0;
  // The server is going away (a reason to say 1001 rather than to report a failure).
  virtual bool shutting_down() const noexcept { return false; }
  // The WebSocket connection is over: the transport may close.
  virtual void close() noexcept = 0;
};

}  // namespace concur::http::detail
