// session.ws_connect: the client's opening handshake (RFC 6455 4.1) on a connection of the
// session's pool, then the connection as a WebSocket channel.
#include <algorithm>

#include "client_impl.hpp"
#include "concur/http/client_session.hpp"
#include "ws_channel.hpp"

namespace concur::http {

namespace {

// A client connection, taken from the pool for the WebSocket's lifetime and given back
// (closed) at its end, so it counts against the session's limits while it is open.
class client_channel final : public detail::ws_channel {
 public:
  client_channel(std::shared_ptr<detail::connection_pool> pool,
                 std::unique_ptr<detail::client_connection> conn) noexcept
      : pool_(std::move(pool)), conn_(std::move(conn)) {}
  ~client_channel() override { close(); }

  std::string_view received() noexcept override {
    return conn_ ? conn_->reader.buffered() : std::string_view();
  }
  void consume(std::size_t n) noexcept override {
    if (conn_) conn_->reader.consume(n);
  }
  aio::task<bool> receive_more() override {
    if (!conn_) co_return false;
    bool more = co_await conn_->reader.fill();
    co_return more;
  }
  bool send(std::string_view bytes) override {
    if (!conn_)
      throw net::connection_reset_error("websocket: the connection is closed", ECONNRESET);
    conn_->writer.write(bytes);
    return conn_->writer.write_buffer_size() == 0;
  }
  aio::task<void> drain() override {
    if (conn_) co_await conn_->writer.drain();
  }
  void close() noexcept override {
    if (!conn_) return;
    conn_->writer.close();
    pool_->release(std::move(conn_), false);
  }

 private:
  std::shared_ptr<detail::connection_pool> pool_;
  std::unique_ptr<detail::client_connection> conn_;
};

url websocket_url(const session_options& so, const std::string& target) {
  url u = so.base_url.empty() ? url::parse(target) : url::parse(so.base_url).resolve(target);
  // The connection itself is HTTP's: ws:// is http://, wss:// is https:// (RFC 6455 3).
  if (u.scheme == "ws") u.scheme = "http";
  if (u.scheme == "wss") u.scheme = "https";
  if (u.scheme != "http" && u.scheme != "https")
    throw invalid_url_error("unsupported URL scheme '" + u.scheme + "' for a WebSocket in " +
                            u.str());
  return u;
}

std::string handshake_request(const url& u, const session_options& so, const ws_connect_options& o,
                              const std::string& key) {
  std::string out = "GET " + u.target() + " HTTP/1.1\r\nHost: " + u.host_header() +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    "\r\nSec-WebSocket-Version: 13\r\n";
  if (!o.ws.protocols.empty()) {
    std::string list;
    for (const auto& p : o.ws.protocols) list += (list.empty() ? "" : ", ") + p;
    detail::add_header(out, "Sec-WebSocket-Protocol", list);
  }
  if (o.ws.compress) detail::add_header(out, "Sec-WebSocket-Extensions", ws_deflate_make_offer());
  if (!o.origin.empty()) detail::add_header(out, "Origin", o.origin);
  auto ours = [](std::string_view n) {
    return iequals(n, "Host") || iequals(n, "Upgrade") || iequals(n, "Connection") ||
           iequals(n, "Content-Length") || iequals(n, "Transfer-Encoding") ||
           (n.size() >= 14 && iequals(n.substr(0, 14), "Sec-WebSocket-"));
  };
  for (const auto& [k, v] : o.headers) {
    if (!ours(k)) detail::add_header(out, k, v);
  }
  for (const auto& [k, v] : so.headers) {
    if (!ours(k) && !o.headers.contains(k)) detail::add_header(out, k, v);
  }
  if (!o.headers.contains("User-Agent") && !so.headers.contains("User-Agent"))
    detail::add_header(out, "User-Agent", so.user_agent);
  out.append("\r\n");
  return out;
}

bool has_token(const http::headers& h, std::string_view name, std::string_view token) {
  for (std::string_view value : h.get_all(name)) {
    while (!value.empty()) {
      auto comma = value.find(',');
      auto item = value.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (iequals(item, token)) return true;
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
  }
  return false;
}

// What the server agreed to: the subprotocol and the deflate parameters. Throws
// ws_handshake_error naming what is wrong (aiohttp's WSServerHandshakeError messages).
struct agreement {
  std::string protocol;
  std::optional<ws_deflate_params> deflate;
};

agreement check_handshake(const parser& p, const ws_connect_options& o, const std::string& key,
                          const url& u) {
  const std::string where = " from " + u.str();
  if (p.status() != 101)
    throw ws_handshake_error("WebSocket handshake: invalid response status " +
                             std::to_string(p.status()) + where);
  const auto& h = p.headers();
  if (!has_token(h, "Upgrade", "websocket"))
    throw ws_handshake_error("WebSocket handshake: invalid upgrade header" + where);
  if (!has_token(h, "Connection", "upgrade"))
    throw ws_handshake_error("WebSocket handshake: invalid connection header" + where);
  if (h.get("Sec-WebSocket-Accept", "") != ws_accept_key(key))
    throw ws_handshake_error("WebSocket handshake: invalid challenge response" + where);
  agreement a;
  a.protocol = std::string(h.get("Sec-WebSocket-Protocol", ""));
  if (!a.protocol.empty() &&
      std::find(o.ws.protocols.begin(), o.ws.protocols.end(), a.protocol) == o.ws.protocols.end())
    throw ws_handshake_error("WebSocket handshake: the server chose protocol '" + a.protocol +
                             "', which was not offered" + where);
  auto ext = h.get("Sec-WebSocket-Extensions", "");
  if (!o.ws.compress && !ext.empty())
    throw ws_handshake_error("WebSocket handshake: the server answered extensions '" +
                             std::string(ext) + "' that were not offered" + where);
  if (o.ws.compress) a.deflate = ws_deflate_check_response(ext);
  return a;
}

}  // namespace

struct client_websocket_access {
  static client_websocket make(websocket_options o) { return client_websocket(std::move(o)); }
  static void attach(client_websocket& ws, std::unique_ptr<detail::ws_channel> ch,
                     std::optional<ws_deflate_params> deflate, std::string protocol) {
    ws.attach(std::move(ch), ws_role::client, deflate, std::move(protocol));
  }
};

aio::task<client_websocket> client_session::ws_connect(std::string target,
                                                       ws_connect_options options) {
  if (!pool_ || pool_->closed) throw client_error("ws_connect: the session is closed");
  auto pool = pool_;
  const session_options& so = pool->opts;
  client_timeout t = options.timeout ? *options.timeout : so.timeout;
  const detail::request_deadlines limits = detail::deadlines_for(t);
  const std::optional<concur::time_point> deadline = limits.total;
  const std::optional<concur::time_point> connect_deadline = limits.connect;

  url u = websocket_url(so, target);
  const std::string key = ws_make_client_key();
  bool reused = false;
  std::unique_ptr<detail::client_connection> conn =
      co_await pool->acquire(u, connect_deadline, reused);
  struct give_back {
    std::shared_ptr<detail::connection_pool>& pool;
    std::unique_ptr<detail::client_connection>& conn;
    ~give_back() {
      if (conn) pool->release(std::move(conn), false);
    }
  } guard{pool, conn};
  detail::client_connection& c = *conn;
  c.writer.write(handshake_request(u, so, options, key));
  co_await c.writer.drain();
  c.parser.reset();
  try {
    for (;;) {
      auto buf = c.reader.buffered();
      if (!buf.empty()) {
        std::size_t n = c.parser.feed(buf);
        c.reader.consume(n);
        if (c.parser.headers_complete()) break;
        if (n < buf.size()) continue;
      }
      detail::arm_read_timeout(c.reader, t.sock_read, deadline, c.where);
      bool more = co_await c.reader.fill();
      if (!more)
        throw ws_handshake_error("WebSocket handshake: " + c.where +
                                 " closed the connection before answering");
    }
  } catch (const parse_error& e) {
    throw ws_handshake_error(std::string("WebSocket handshake: bad response from ") + c.where +
                             ": " + e.what());
  }
  agreement a = check_handshake(c.parser, options, key, u);
  // A WebSocket waits for its peer as long as it likes; its heartbeat watches the peer.
  c.reader.set_read_timeout(std::nullopt);
  client_websocket ws = client_websocket_access::make(std::move(options.ws));
  client_websocket_access::attach(ws, std::make_unique<client_channel>(pool, std::move(conn)),
                                  a.deflate, std::move(a.protocol));
  co_return ws;
}

aio::task<client_websocket> client_session::ws_connect(std::string url) {
  ws_connect_options options;
  client_websocket ws = co_await ws_connect(std::move(url), std::move(options));
  co_return ws;
}

}  // namespace concur::http
