#include "concur/http/websocket.hpp"

#include "concur/aio/timeout.hpp"
#include "concur/net/errors.hpp"
#include "server_stream.hpp"
#include "ws_channel.hpp"

namespace concur::http {

// ---------------------------------------------------------------- the shared connection

struct websocket::state {
  explicit state(websocket_options o) : opt(std::move(o)) {}
  websocket_options opt;
  std::unique_ptr<detail::ws_channel> ch;
  std::optional<ws_frame_reader> reader;
  std::optional<ws_frame_writer> writer;
  std::vector<ws_message> inbox;  // read, not yet handed out
  std::size_t next = 0;
  std::string out;       // frames waiting for the channel
  bool closing = false;  // our Close went out
  bool peer_closed = false;
  bool closed = false;
  bool receiving = false;
  std::optional<std::uint16_t> code;
  std::string protocol;
  std::exception_ptr error;

  // What receive() hands out next from what was read; nullopt when more bytes are needed.
  std::optional<ws_message> take();
  void send_out() {
    if (!out.empty()) {
      ch->send(out);
      out.clear();
    }
  }
  // Best effort: the connection is going anyway.
  void try_send_close(std::uint16_t close_code) noexcept {
    if (closing || !writer) return;
    closing = true;
    try {
      writer->write_close(out, close_code);
      send_out();
    } catch (...) {
    }
  }
  void finish(std::optional<std::uint16_t> close_code) noexcept {
    if (!code) code = close_code;
    closed = true;
    if (ch) ch->close();
  }
  ws_message fail(const std::exception_ptr& e, std::uint16_t close_code) noexcept {
    error = e;
    try_send_close(close_code);
    finish(close_code);
    std::string what;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    return ws_message{ws_msg_type::error, std::move(what), close_code};
  }
  aio::task<bool> more_bytes();
  aio::task<ws_message> receive_one();
  aio::task<void> until_peer_close();
};

std::optional<ws_message> websocket::state::take() {
  while (next < inbox.size()) {
    ws_message m = std::move(inbox[next++]);
    if (next == inbox.size()) {
      inbox.clear();
      next = 0;
    }
    switch (m.type) {
      case ws_msg_type::ping:
        if (!opt.autoping) return m;
        if (!closing) {
          writer->write_pong(out, m.data);
          send_out();
        }
        continue;
      case ws_msg_type::pong:
        if (!opt.autoping) return m;
        continue;
      case ws_msg_type::close:
        peer_closed = true;
        code = m.close_code;
        // aiohttp answers with close(), whose code is 1000.
        if (opt.autoclose) {
          try_send_close(1000);
          finish(m.close_code);
        }
        return m;
      default:
        return m;
    }
  }
  return std::nullopt;
}

// Waits for bytes; with a heartbeat, a silence of that long sends a ping, and a further
// silence of half of it ends the connection as aiohttp's heartbeat does.
aio::task<bool> websocket::state::more_bytes() {
  if (!opt.heartbeat) co_return co_await ch->receive_more();
  // Named tasks, not temporaries, in the co_await expressions: GCC 12 (see net/streams.hpp).
  try {
    auto wait = ch->receive_more();
    bool more = co_await aio::timeout(*opt.heartbeat, std::move(wait));
    co_return more;
  } catch (const timeout_error&) {
  }
  writer->write_ping(out);
  send_out();
  auto wait = ch->receive_more();
  bool more = co_await aio::timeout(*opt.heartbeat / 2, std::move(wait));
  co_return more;
}

// Until the peer's Close; data still arriving is dropped (aiohttp does the same).
aio::task<void> websocket::state::until_peer_close() {
  for (int i = 0; i < 1'000'000 && !peer_closed && !closed; ++i) {
    ws_message m = co_await receive_one();
    if (m.type == ws_msg_type::close || m.type == ws_msg_type::closed ||
        m.type == ws_msg_type::error)
      break;
  }
}

aio::task<ws_message> websocket::state::receive_one() {
  for (;;) {
    if (auto m = take()) co_return std::move(*m);
    if (closed) co_return ws_message{ws_msg_type::closed, {}, code.value_or(1006)};
    std::string_view bytes = ch->received();
    if (!bytes.empty()) {
      try {
        reader->feed(bytes, inbox);
      } catch (const ws_protocol_error& e) {
        ch->consume(bytes.size());
        // What was read before the fault still comes out first.
        if (auto m = take()) {
          inbox.push_back(
              fail(std::current_exception(), static_cast<std::uint16_t>(e.close_code())));
          co_return std::move(*m);
        }
        co_return fail(std::current_exception(), static_cast<std::uint16_t>(e.close_code()));
      }
      ch->consume(bytes.size());
      continue;
    }
    bool more = false;
    try {
      more = co_await more_bytes();
    } catch (const timeout_error&) {
      // The heartbeat's pong never came: abnormal closure, as aiohttp reports it.
      co_return fail(std::current_exception(), 1006);
    } catch (const net::connection_error&) {
      if (ch->shutting_down()) {
        try_send_close(1001);
        finish(1001);
        co_return ws_message{ws_msg_type::closed, {}, 1001};
      }
      error = std::current_exception();
      finish(1006);
      co_return ws_message{ws_msg_type::closed, {}, 1006};
    }
    if (!more) {
      // The connection ended without a Close frame: 1006 (RFC 6455 7.1.5).
      finish(1006);
      co_return ws_message{ws_msg_type::closed, {}, 1006};
    }
  }
}

websocket::websocket() noexcept = default;
websocket::websocket(websocket_options options) : s_(std::make_unique<state>(std::move(options))) {}
websocket::websocket(websocket&&) noexcept = default;
websocket& websocket::operator=(websocket&&) noexcept = default;
websocket::~websocket() = default;

void websocket::attach(std::unique_ptr<detail::ws_channel> channel, ws_role role,
                       std::optional<ws_deflate_params> deflate, std::string protocol) {
  if (!s_) s_ = std::make_unique<state>(websocket_options{});
  s_->ch = std::move(channel);
  s_->reader.emplace(role, s_->opt.max_msg_size, deflate);
  s_->writer.emplace(role, deflate);
  s_->protocol = std::move(protocol);
}

bool websocket::attached() const noexcept { return s_ && s_->ch; }

const websocket_options& websocket::options() const noexcept {
  static const websocket_options defaults;
  return s_ ? s_->opt : defaults;
}

namespace {

struct receiving_guard {
  explicit receiving_guard(bool& flag) : flag_(flag) {
    if (flag_) throw invalid_state_error("websocket: concurrent call to receive() is not allowed");
    flag_ = true;
  }
  receiving_guard(const receiving_guard&) = delete;
  receiving_guard& operator=(const receiving_guard&) = delete;
  ~receiving_guard() { flag_ = false; }
  bool& flag_;
};

}  // namespace

aio::task<ws_message> websocket::receive() {
  if (!attached()) throw invalid_state_error("websocket: receive() before the handshake");
  if (s_->opt.receive_timeout) {
    ws_message m = co_await receive(*s_->opt.receive_timeout);
    co_return m;
  }
  receiving_guard guard(s_->receiving);
  co_return co_await s_->receive_one();
}

aio::task<ws_message> websocket::receive(std::chrono::nanoseconds timeout) {
  if (!attached()) throw invalid_state_error("websocket: receive() before the handshake");
  receiving_guard guard(s_->receiving);
  auto one = s_->receive_one();
  ws_message m = co_await aio::timeout(timeout, std::move(one));
  co_return m;
}

namespace {

std::string_view type_name(ws_msg_type t) noexcept {
  switch (t) {
    case ws_msg_type::text:
      return "text";
    case ws_msg_type::binary:
      return "binary";
    case ws_msg_type::ping:
      return "ping";
    case ws_msg_type::pong:
      return "pong";
    case ws_msg_type::close:
      return "close";
    case ws_msg_type::closing:
      return "closing";
    case ws_msg_type::closed:
      return "closed";
    case ws_msg_type::error:
      return "error";
  }
  return "unknown";
}

ws_message expect_type(ws_message m, ws_msg_type wanted) {
  if (m.type != wanted)
    throw value_error("websocket: received a " + std::string(type_name(m.type)) + " message, not " +
                      std::string(type_name(wanted)));
  return m;
}

}  // namespace

aio::task<std::string> websocket::receive_str() {
  ws_message m = co_await receive();
  co_return expect_type(std::move(m), ws_msg_type::text).data;
}

aio::task<std::string> websocket::receive_bytes() {
  ws_message m = co_await receive();
  co_return expect_type(std::move(m), ws_msg_type::binary).data;
}

aio::task<nlohmann::json> websocket::receive_json() {
  std::string text = co_await receive_str();
  try {
    co_return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw value_error(std::string("websocket: the message is not valid JSON: ") + e.what());
  }
}

namespace {

void check_sendable(const websocket::state* s, bool attached, bool closing, bool closed) {
  if (!attached || s == nullptr) throw invalid_state_error("websocket: send before the handshake");
  if (closing || closed)
    throw net::connection_reset_error("websocket: cannot send, the connection is closing",
                                      ECONNRESET);
}

}  // namespace

aio::task<void> websocket::send_str(std::string_view data) {
  check_sendable(s_.get(), attached(), s_ && s_->closing, s_ && s_->closed);
  s_->writer->write_message(s_->out, ws_msg_type::text, data);
  bool all = s_->ch->send(s_->out);
  s_->out.clear();
  if (!all) co_await s_->ch->drain();
}

aio::task<void> websocket::send_bytes(std::string_view data) {
  check_sendable(s_.get(), attached(), s_ && s_->closing, s_ && s_->closed);
  s_->writer->write_message(s_->out, ws_msg_type::binary, data);
  bool all = s_->ch->send(s_->out);
  s_->out.clear();
  if (!all) co_await s_->ch->drain();
}

aio::task<void> websocket::send_json(const nlohmann::json& data) {
  std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  co_await send_str(text);
}

aio::task<void> websocket::ping(std::string_view payload) {
  check_sendable(s_.get(), attached(), s_ && s_->closing, s_ && s_->closed);
  s_->writer->write_ping(s_->out, payload);
  bool all = s_->ch->send(s_->out);
  s_->out.clear();
  if (!all) co_await s_->ch->drain();
}

aio::task<void> websocket::pong(std::string_view payload) {
  check_sendable(s_.get(), attached(), s_ && s_->closing, s_ && s_->closed);
  s_->writer->write_pong(s_->out, payload);
  bool all = s_->ch->send(s_->out);
  s_->out.clear();
  if (!all) co_await s_->ch->drain();
}

aio::task<bool> websocket::close(std::uint16_t code, std::string_view message) {
  if (!attached()) throw invalid_state_error("websocket: close() before the handshake");
  state& s = *s_;
  if (s.closed) co_return false;
  if (!s.closing) {
    s.writer->write_close(s.out, code, message);  // value_error for a code that may not be sent
    s.closing = true;
    try {
      bool all = s.ch->send(s.out);
      s.out.clear();
      if (!all) co_await s.ch->drain();
    } catch (const net::connection_error&) {
      s.error = std::current_exception();
      s.finish(1006);
      co_return true;
    }
  }
  if (s.peer_closed) {
    s.finish(code);
    co_return true;
  }
  // Another task is receiving: it will see the peer's Close and end the connection.
  if (s.receiving) co_return true;
  receiving_guard guard(s.receiving);
  try {
    auto wait = s.until_peer_close();
    co_await aio::timeout(s.opt.close_timeout, std::move(wait));
  } catch (const timeout_error&) {
    s.error = std::current_exception();
    s.finish(1006);
    co_return true;
  }
  s.finish(s.code.value_or(code));
  co_return true;
}

bool websocket::closed() const noexcept { return s_ && s_->closed; }
std::optional<std::uint16_t> websocket::close_code() const noexcept {
  return s_ && s_->closed ? s_->code : std::nullopt;
}
const std::string& websocket::protocol() const noexcept {
  static const std::string none;
  return s_ ? s_->protocol : none;
}
bool websocket::compress() const noexcept { return s_ && s_->writer && s_->writer->compresses(); }
std::exception_ptr websocket::exception() const noexcept { return s_ ? s_->error : nullptr; }

// ---------------------------------------------------------------- the server side

namespace {

// The request's connection, seen as a WebSocket channel.
class server_channel final : public detail::ws_channel {
 public:
  explicit server_channel(detail::server_stream& s) noexcept : s_(s) {}
  std::string_view received() noexcept override { return s_.received(); }
  void consume(std::size_t n) noexcept override { s_.consume(n); }
  aio::task<bool> receive_more() override { return s_.receive_more(); }
  bool send(std::string_view bytes) override {
    s_.buffer().append(bytes);
    return s_.try_flush();
  }
  aio::task<void> drain() override { return s_.flush(); }
  bool shutting_down() const noexcept override { return s_.shutting_down(); }
  // The server closes the connection when the handler returns.
  void close() noexcept override {}

 private:
  detail::server_stream& s_;
};

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A comma-separated field value (Connection, Upgrade, Sec-WebSocket-Protocol) holds `token`.
bool has_token(const http::headers& h, std::string_view name, std::string_view token) {
  for (std::string_view value : h.get_all(name)) {
    while (!value.empty()) {
      auto comma = value.find(',');
      if (iequals(trim(value.substr(0, comma)), token)) return true;
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
  }
  return false;
}

}  // namespace

websocket_response::prepare_check websocket_response::can_prepare(
    const web_request& request) const {
  prepare_check c;
  const auto& h = request.headers();
  if (request.method() != "GET") {
    c.reason = "a WebSocket handshake is a GET, not " + std::string(request.method());
  } else if (request.version_major() != 1 || request.version_minor() < 1) {
    c.reason = "a WebSocket handshake needs HTTP/1.1";
  } else if (!has_token(h, "Upgrade", "websocket")) {
    c.reason = "no 'Upgrade: websocket' in the request (RFC 6455 4.2.1)";
  } else if (!has_token(h, "Connection", "upgrade")) {
    c.reason = "no 'Connection: Upgrade' in the request (RFC 6455 4.2.1)";
  } else if (h.get("Sec-WebSocket-Version", "") != "13") {
    c.reason = "unsupported Sec-WebSocket-Version '" +
               std::string(h.get("Sec-WebSocket-Version", "")) + "' (13 is RFC 6455's)";
  } else if (!ws_is_valid_client_key(h.get("Sec-WebSocket-Key", ""))) {
    c.reason = "Sec-WebSocket-Key '" + std::string(h.get("Sec-WebSocket-Key", "")) +
               "' is not the base64 of 16 bytes (RFC 6455 4.2.1)";
  } else {
    c.ok = true;
    // The first protocol the client lists that this side speaks (aiohttp's order).
    for (std::string_view value : h.get_all("Sec-WebSocket-Protocol")) {
      while (!value.empty() && c.protocol.empty()) {
        auto comma = value.find(',');
        auto offered = trim(value.substr(0, comma));
        for (const auto& mine : options().protocols) {
          if (mine == offered) c.protocol = mine;
        }
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      }
    }
  }
  return c;
}

aio::task<void> websocket_response::prepare(web_request& request) {
  if (attached()) co_return;
  detail::server_stream* stream = request.stream();
  if (stream == nullptr)
    throw invalid_state_error("websocket_response::prepare: the request is not being served");
  prepare_check check = can_prepare(request);
  if (!check.ok) {
    bool version = request.headers().contains("Sec-WebSocket-Version") &&
                   request.headers().get("Sec-WebSocket-Version", "") != "13";
    // RFC 6455 4.4: another version gets 426 naming the one this server speaks.
    web_exception e(version ? 426 : 400, check.reason);
    if (version) e.headers().set("Sec-WebSocket-Version", "13");
    throw e;
  }
  http::headers fields;
  fields.set("Upgrade", "websocket");
  fields.set("Sec-WebSocket-Accept", ws_accept_key(request.headers().get("Sec-WebSocket-Key", "")));
  if (!check.protocol.empty()) fields.set("Sec-WebSocket-Protocol", check.protocol);
  std::optional<ws_deflate_params> deflate;
  if (options().compress) {
    if (auto agreed = ws_deflate_accept(request.headers().get("Sec-WebSocket-Extensions", ""))) {
      deflate = agreed->params;
      fields.set("Sec-WebSocket-Extensions", agreed->response);
    }
  }
  detail::server_stream::head h;
  h.status = 101;
  h.fields = &fields;
  h.body = detail::server_stream::framing::none;
  stream->begin(h);
  stream->end_body();
  stream->switch_protocols();
  attach(std::make_unique<server_channel>(*stream), ws_role::server, deflate, check.protocol);
  if (!stream->try_flush()) co_await stream->flush();
}

websocket_response::operator web_response() const { return web_response(101, {}, {}); }

}  // namespace concur::http
