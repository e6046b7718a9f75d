#pragma once
// WebSocket connections (RFC 6455) with aiohttp's names: the server's
// web.WebSocketResponse (http::websocket_response) and the client's ClientWebSocketResponse
// (http::client_websocket, from client_session::ws_connect). Both share http::websocket:
//
//   app.get("/ws", [](http::web_request& req) -> aio::task<http::web_response> {
//     http::websocket_response ws;
//     co_await ws.prepare(req);                  // 101 Switching Protocols
//     for (;;) {
//       http::ws_message msg = co_await ws.receive();
//       if (msg.type == http::ws_msg_type::text) {
//         co_await ws.send_str(msg.data);
//       } else if (msg.type == http::ws_msg_type::binary) {
//         co_await ws.send_bytes(msg.data);
//       } else {
//         break;                                  // close, closed or error
//       }
//     }
//     co_return ws;
//   });
//
// Python's `async for msg in ws` is the loop above: receive() until a message that is not
// text or binary. Pings are answered and pongs swallowed (autoping); a Close from the peer is
// answered and ends the connection (autoclose). A frame that breaks the RFC closes the
// connection with the code the RFC names (1002, 1007, 1009) and comes out as an error message.
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concur/aio/task.hpp"
#include "concur/http/client.hpp"
#include "concur/http/web.hpp"
#include "concur/http/websocket_frame.hpp"

namespace concur::http {

namespace detail {
class ws_channel;  // the bytes underneath: a server connection or a client connection
}  // namespace detail

struct websocket_options {
  // Sends a ping when nothing arrived for this long and closes with 1006 when the pong does
  // not come within half of it (aiohttp's heartbeat). Checked while receive() waits.
  std::optional<std::chrono::nanoseconds> heartbeat;
  // A message larger than this (reassembled and decompressed) closes with 1009; 0: no limit.
  std::size_t max_msg_size = ws_frame_reader::default_max_message_size;
  // Answer a Close from the peer and end (autoclose), answer pings (autoping).
  bool autoclose = true;
  bool autoping = true;
  // permessage-deflate (RFC 7692): offered by the client, accepted by the server.
  bool compress = true;
  // Subprotocols, in order of preference (Sec-WebSocket-Protocol).
  std::vector<std::string> protocols;
  // close() waits this long for the peer's Close (aiohttp's timeout=10.0).
  std::chrono::nanoseconds close_timeout = std::chrono::seconds(10);
  // receive() with no timeout of its own waits at most this long; none: for ever.
  std::optional<std::chrono::nanoseconds> receive_timeout;
};

// session.ws_connect(url, ...) arguments besides the connection's own (websocket_options).
struct ws_connect_options {
  ws_connect_options() {}  // NOLINT: not an aggregate (GCC 12, see client.hpp)

  websocket_options ws;
  // Added to the handshake request (after the session's headers).
  http::headers headers;
  // The Origin header ("" sends none).
  std::string origin;
  // The handshake: connecting and the server's answer (default: the session's timeout).
  std::optional<client_timeout> timeout;
};

class websocket {
 public:
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;
  websocket(websocket&&) noexcept;
  websocket& operator=(websocket&&) noexcept;
  ~websocket();

  // The next message: text, binary, close (the peer closed; the reply went out), closed (the
  // connection is gone), error (a protocol fault: exception() has it), or ping / pong when
  // autoping is off. timeout_error when nothing arrives within the timeout.
  aio::task<ws_message> receive();
  aio::task<ws_message> receive(std::chrono::nanoseconds timeout);
  // The data of the next message, which must be text (binary); value_error otherwise
  // (aiohttp's TypeError).
  aio::task<std::string> receive_str();
  aio::task<std::string> receive_bytes();
  // receive_str() parsed as JSON; value_error naming the parse error.
  aio::task<nlohmann::json> receive_json();

  // Sends one message and waits while more than the connection's buffer limit is waiting.
  // net::connection_reset_error once the connection is closing or gone; value_error for text
  // that is not UTF-8.
  aio::task<void> send_str(std::string_view data);
  aio::task<void> send_bytes(std::string_view data);
  aio::task<void> send_json(const nlohmann::json& data);
  aio::task<void> ping(std::string_view payload = {});
  aio::task<void> pong(std::string_view payload = {});

  // The closing handshake: sends Close with `code` and waits (close_timeout) for the peer's.
  // False when it was already closed. Messages still arriving before the peer's Close are
  // dropped, as in aiohttp.
  aio::task<bool> close(std::uint16_t code = 1000, std::string_view message = {});

  bool closed() const noexcept;
  // The code of the Close that ended the connection (the peer's, or ours); none while open.
  std::optional<std::uint16_t> close_code() const noexcept;
  // The subprotocol both sides agreed on ("" when none).
  const std::string& protocol() const noexcept;
  // permessage-deflate is in force.
  bool compress() const noexcept;
  // Why the connection failed (a ws_protocol_error, timeout_error, a connection error).
  std::exception_ptr exception() const noexcept;

  struct state;

 protected:
  websocket() noexcept;
  explicit websocket(websocket_options options);
  void attach(std::unique_ptr<detail::ws_channel> channel, ws_role role,
              std::optional<ws_deflate_params> deflate, std::string protocol);
  bool attached() const noexcept;
  const websocket_options& options() const noexcept;

 private:
  std::unique_ptr<state> s_;
};

// web.WebSocketResponse.
class websocket_response : public websocket {
 public:
  websocket_response() : websocket_response(websocket_options{}) {}
  explicit websocket_response(websocket_options options) : websocket(std::move(options)) {}

  // ws.can_prepare(request): whether `request` is a WebSocket upgrade this response can take,
  // and the subprotocol it would choose.
  struct prepare_check {
    bool ok = false;
    std::string protocol;
    std::string reason;  // why not, when !ok
  };
  prepare_check can_prepare(const web_request& request) const;

  // Checks the upgrade request (web_exception 400 naming what is wrong; 426 with
  // Sec-WebSocket-Version: 13 for another version) and sends 101 Switching Protocols. From
  // then on the connection speaks WebSocket; it closes when the handler returns.
  aio::task<void> prepare(web_request& request);

  // What the handler returns (`co_return ws;`).
  operator web_response() const;  // NOLINT(google-explicit-constructor): aiohttp's `return ws`
};

// aiohttp.ClientWebSocketResponse: what client_session::ws_connect returns.
class client_websocket : public websocket {
 public:
  client_websocket() = default;

 private:
  friend class client_session;
  friend struct client_websocket_access;
  explicit client_websocket(websocket_options options) : websocket(std::move(options)) {}
};

}  // namespace concur::http
