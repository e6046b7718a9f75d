// WebSocket connections end to end: our server (websocket_response) with our client
// (client_session::ws_connect), and each against a raw socket that writes the bytes a
// well-behaved or a broken peer would, so what is checked is what goes over the wire.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "concur/aio/sleep.hpp"
#include "concur/http.hpp"
#include "concur/net/errors.hpp"
#include "net/raw_server.hpp"
#include "server_support.hpp"

namespace http = concur::http;
namespace aio = concur::aio;
using namespace std::chrono_literals;
using concur_test::raw_server;
using server_test::raw_client;

namespace {

http::server_options local() {
  http::server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.shutdown_timeout = 5s;
  return o;
}

// An echo endpoint with options, recording how its loop ended.
struct echo_record {
  std::atomic<int> last_type{-1};
  std::atomic<int> close_code{0};
  std::atomic<bool> done{false};
};

http::application echo_app(echo_record& rec, http::websocket_options opts = {}) {
  http::application app;
  app.get("/ws", [&rec, opts](http::web_request& req) -> aio::task<http::web_response> {
    http::websocket_response ws(opts);
    co_await ws.prepare(req);
    for (int i = 0; i < 100000; ++i) {
      http::ws_message msg = co_await ws.receive();
      if (msg.type == http::ws_msg_type::text) {
        co_await ws.send_str(msg.data);
      } else if (msg.type == http::ws_msg_type::binary) {
        co_await ws.send_bytes(msg.data);
      } else {
        rec.last_type = static_cast<int>(msg.type);
        break;
      }
    }
    rec.close_code = ws.close_code().value_or(0);
    rec.done = true;
    co_return ws;
  });
  return app;
}

bool wait_done(const std::atomic<bool>& flag) {
  for (int i = 0; i < 2000 && !flag.load(); ++i) std::this_thread::sleep_for(5ms);
  return flag.load();
}

std::string ws_url(const http::server& srv, std::string_view path = "/ws") {
  return "ws://127.0.0.1:" + std::to_string(srv.port()) + std::string(path);
}

// A raw WebSocket client: the handshake by hand, frames written with ws_write_frame (so it can
// send what a real client never would) and read with a client-role reader.
class raw_ws {
 public:
  explicit raw_ws(std::uint16_t port, std::string extra_headers = {}) : c_(port) {
    std::string req =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        extra_headers + "\r\n";
    if (!c_.send(req)) throw std::runtime_error("send failed");
    auto head = c_.read_response(10s, true);
    if (!head || head->status != 101) throw std::runtime_error("no 101");
    headers_ = head->headers;
    rest_ = c_.pending();
  }
  const http::headers& headers() const { return headers_; }
  bool send_frame(http::ws_opcode op, std::string_view payload, bool masked = true,
                  bool fin = true) {
    std::string out;
    std::optional<http::ws_mask_key> key;
    if (masked) key = http::ws_mask_key{1, 2, 3, 4};
    http::ws_write_frame(out, op, payload, fin, false, key);
    return c_.send(out);
  }
  // The next message from the server (bounded); nullopt at EOF or after the deadline.
  std::optional<http::ws_message> next(std::chrono::milliseconds limit = 5000ms) {
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (!got_.empty()) {
        auto m = got_.front();
        got_.erase(got_.begin());
        return m;
      }
      if (!rest_.empty()) {
        reader_.feed(rest_, got_);
        rest_.clear();
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{c_.fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      auto n = ::recv(c_.fd(), buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      rest_.assign(buf, static_cast<std::size_t>(n));
    }
  }
  bool closed_by_peer() { return c_.closed_by_peer(); }

 private:
  raw_client c_;
  http::headers headers_;
  std::string rest_;
  http::ws_frame_reader reader_{http::ws_role::client, 0};
  std::vector<http::ws_message> got_;
};

}  // namespace

TEST(WebSocket, EchoTextBinaryAndJsonThenACleanClose) {
  for (bool compress : {false, true}) {
    echo_record rec;
    http::server srv(echo_app(rec), local());
    srv.start();
    aio::run([&]() -> aio::task<void> {
      http::client_session session;
      http::ws_connect_options o;
      o.ws.compress = compress;
      auto ws = co_await session.ws_connect(ws_url(srv), std::move(o));
      EXPECT_EQ(ws.compress(), compress);
      co_await ws.send_str("hello");
      EXPECT_EQ(co_await ws.receive_str(), "hello");
      const std::string blob(100000, '\x01');
      co_await ws.send_bytes(blob);
      std::string back = co_await ws.receive_bytes();
      EXPECT_TRUE(back == blob);
      const nlohmann::json sent = {{"k", 1}};
      co_await ws.send_json(sent);
      auto j = co_await ws.receive_json();
      EXPECT_EQ(j["k"], 1);
      co_await ws.send_str("not bytes");
      EXPECT_THROW(co_await ws.receive_bytes(), concur::value_error);
      bool closed = co_await ws.close();
      EXPECT_TRUE(closed);
      EXPECT_TRUE(ws.closed());
      EXPECT_EQ(ws.close_code(), 1000);
      bool again = co_await ws.close();
      EXPECT_FALSE(again);
      auto after = co_await ws.receive();
      EXPECT_EQ(after.type, http::ws_msg_type::closed);
      EXPECT_THROW(co_await ws.send_str("late"), concur::net::connection_reset_error);
    }());
    ASSERT_TRUE(wait_done(rec.done));
    EXPECT_EQ(rec.last_type, static_cast<int>(http::ws_msg_type::close));
    EXPECT_EQ(rec.close_code, 1000);
  }
}

TEST(WebSocket, ServerCloseWithACodeReachesTheClient) {
  http::application app;
  app.get("/ws", [](http::web_request& req) -> aio::task<http::web_response> {
    http::websocket_response ws;
    co_await ws.prepare(req);
    co_await ws.send_str("bye");
    co_await ws.close(4001, "done here");
    co_return ws;
  });
  http::server srv(std::move(app), local());
  srv.start();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto ws = co_await session.ws_connect(ws_url(srv));
    EXPECT_EQ(co_await ws.receive_str(), "bye");
    auto m = co_await ws.receive();
    EXPECT_EQ(m.type, http::ws_msg_type::close);
    EXPECT_EQ(m.close_code, 4001);
    EXPECT_EQ(m.data, "done here");
    auto gone = co_await ws.receive();
    EXPECT_EQ(gone.type, http::ws_msg_type::closed);
    EXPECT_EQ(ws.close_code(), 4001);
  }());
}

TEST(WebSocket, PingsAreAnsweredAndPongsShownWithoutAutoping) {
  echo_record rec;
  http::server srv(echo_app(rec), local());
  srv.start();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    http::ws_connect_options o;
    o.ws.autoping = false;
    auto ws = co_await session.ws_connect(ws_url(srv), std::move(o));
    co_await ws.ping("are you there");
    auto m = co_await ws.receive();
    EXPECT_EQ(m.type, http::ws_msg_type::pong);
    EXPECT_EQ(m.data, "are you there");
    co_await ws.close();
  }());
}

TEST(WebSocket, FramesThatBreakTheRfcCloseWithItsCode) {
  struct bad_case {
    const char* what;
    http::ws_opcode op;
    std::string payload;
    bool masked;
    std::uint16_t code;
  };
  const std::vector<bad_case> cases = {
      {"unmasked from a client", http::ws_opcode::text, "hi", false, 1002},
      {"invalid UTF-8 text", http::ws_opcode::text, "\xc3\x28", true, 1007},
      {"larger than max_msg_size", http::ws_opcode::binary, std::string(2048, 'x'), true, 1009},
      {"ping over 125 bytes", http::ws_opcode::ping, std::string(126, 'p'), true, 1002},
  };
  for (const auto& bc : cases) {
    echo_record rec;
    http::websocket_options opts;
    opts.max_msg_size = 1024;
    http::server srv(echo_app(rec, opts), local());
    srv.start();
    raw_ws ws(srv.port());
    ASSERT_TRUE(ws.send_frame(bc.op, bc.payload, bc.masked)) << bc.what;
    auto m = ws.next();
    ASSERT_TRUE(m) << bc.what;
    EXPECT_EQ(m->type, http::ws_msg_type::close) << bc.what;
    EXPECT_EQ(m->close_code, bc.code) << bc.what;
    EXPECT_TRUE(ws.closed_by_peer()) << bc.what;
    ASSERT_TRUE(wait_done(rec.done)) << bc.what;
    EXPECT_EQ(rec.last_type, static_cast<int>(http::ws_msg_type::error)) << bc.what;
    EXPECT_EQ(rec.close_code, bc.code) << bc.what;
  }
}

TEST(WebSocket, FragmentsAndInterleavedPingsFromARawClient) {
  echo_record rec;
  http::server srv(echo_app(rec), local());
  srv.start();
  raw_ws ws(srv.port());
  ASSERT_TRUE(ws.send_frame(http::ws_opcode::text, "frag", true, false));
  ASSERT_TRUE(ws.send_frame(http::ws_opcode::ping, "mid"));
  ASSERT_TRUE(ws.send_frame(http::ws_opcode::continuation, "ment", true, false));
  ASSERT_TRUE(ws.send_frame(http::ws_opcode::continuation, "ed", true, true));
  auto pong = ws.next();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, http::ws_msg_type::pong);
  EXPECT_EQ(pong->data, "mid");
  auto echo = ws.next();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->data, "fragmented");
  ASSERT_TRUE(ws.send_frame(http::ws_opcode::close, http::ws_close_payload(1001, "leaving")));
  auto reply = ws.next();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, http::ws_msg_type::close);
  EXPECT_EQ(reply->close_code, 1000);  // aiohttp answers a Close with close(): 1000
  EXPECT_TRUE(ws.closed_by_peer());
  ASSERT_TRUE(wait_done(rec.done));
  EXPECT_EQ(rec.close_code, 1001);
}

TEST(WebSocket, HandshakeRefusals) {
  echo_record rec;
  http::server srv(echo_app(rec), local());
  srv.start();
  auto attempt = [&](const std::string& head) {
    raw_client c(srv.port());
    EXPECT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: x\r\n" + head + "\r\n"));
    auto r = c.read_response();
    return r ? *r : server_test::response{};
  };
  const std::string upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  EXPECT_EQ(attempt(key + "Sec-WebSocket-Version: 13\r\n").status, 400);      // no Upgrade
  EXPECT_EQ(attempt(upgrade + "Sec-WebSocket-Version: 13\r\n").status, 400);  // no key
  EXPECT_EQ(
      attempt(upgrade + "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n").status,
      400);  // a key of 5 bytes
  auto version = attempt(upgrade + key + "Sec-WebSocket-Version: 8\r\n");
  EXPECT_EQ(version.status, 426);
  EXPECT_EQ(version.headers.get("Sec-WebSocket-Version", ""), "13");
  EXPECT_FALSE(rec.done.load());  // the handler never got past prepare()
}

TEST(WebSocket, SubprotocolAndDeflateNegotiation) {
  echo_record rec;
  http::websocket_options opts;
  opts.protocols = {"chat", "superchat"};
  http::server srv(echo_app(rec, opts), local());
  srv.start();
  raw_ws raw(srv.port(),
             "Sec-WebSocket-Protocol: superchat, chat\r\n"
             "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  EXPECT_EQ(raw.headers().get("Sec-WebSocket-Protocol", ""), "superchat");
  EXPECT_NE(
      std::string(raw.headers().get("Sec-WebSocket-Extensions", "")).find("permessage-deflate"),
      std::string::npos);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    http::ws_connect_options o;
    o.ws.protocols = {"chat"};
    auto ws = co_await session.ws_connect(ws_url(srv), std::move(o));
    EXPECT_EQ(ws.protocol(), "chat");
    EXPECT_TRUE(ws.compress());
    co_await ws.close();
  }());
}

TEST(WebSocket, TheClientRefusesABadHandshake) {
  const std::vector<std::pair<std::string, std::string>> answers = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "invalid response status 200"},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
       "invalid challenge response"},
      {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", "invalid upgrade header"},
  };
  for (const auto& pair : answers) {
    const std::string& answer = pair.first;
    const std::string& expected = pair.second;
    raw_server peer([answer = answer](int fd) {
      raw_server::read_request(fd);
      raw_server::send_all(fd, answer);
      raw_server::wait_peer_close(fd);
    });
    aio::run([&]() -> aio::task<void> {
      http::client_session session;
      try {
        co_await session.ws_connect("ws://127.0.0.1:" + std::to_string(peer.port()) + "/ws");
        ADD_FAILURE() << "accepted: " << answer;
      } catch (const http::ws_handshake_error& e) {
        EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      }
      EXPECT_EQ(session.connections_in_use(), 0u);  // the connection went back, closed
    }());
  }
}

TEST(WebSocket, HeartbeatClosesAPeerThatStopsAnswering) {
  echo_record rec;
  http::websocket_options opts;
  opts.heartbeat = 100ms;
  http::server srv(echo_app(rec, opts), local());
  srv.start();
  raw_ws raw(srv.port());
  // The raw peer reads but never answers: after 100 ms of silence a ping, 50 ms later the end.
  auto ping = raw.next(3000ms);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->type, http::ws_msg_type::ping);
  ASSERT_TRUE(wait_done(rec.done));
  EXPECT_EQ(rec.close_code, 1006);
}

TEST(WebSocket, AHeartbeatThatIsAnsweredKeepsTheConnection) {
  echo_record rec;
  http::websocket_options opts;
  opts.heartbeat = 50ms;
  http::server srv(echo_app(rec, opts), local());
  srv.start();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto ws = co_await session.ws_connect(ws_url(srv));
    // The client answers pings while it waits in receive() (autoping).
    bool timed_out = false;
    try {
      co_await ws.receive(400ms);
    } catch (const concur::timeout_error&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_FALSE(ws.closed());
    co_await ws.send_str("still here");
    EXPECT_EQ(co_await ws.receive_str(), "still here");
    co_await ws.close();
  }());
}

TEST(WebSocket, ServerShutdownSaysGoingAway) {
  echo_record rec;
  http::server srv(echo_app(rec), local());
  srv.start();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto ws = co_await session.ws_connect(ws_url(srv));
    co_await ws.send_str("x");
    EXPECT_EQ(co_await ws.receive_str(), "x");
    auto t0 = std::chrono::steady_clock::now();
    srv.shutdown();
    auto m = co_await ws.receive(3s);
    EXPECT_EQ(m.type, http::ws_msg_type::close);
    EXPECT_EQ(m.close_code, 1001);
    // Long before the shutdown timeout (5 s here): open WebSockets go first.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  }());
  srv.join();
}

TEST(WebSocket, MockApiEchoesOnWs) {
  http::mock_server mock;
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto ws = co_await session.ws_connect("ws://127.0.0.1:" + std::to_string(mock.port()) + "/ws");
    EXPECT_TRUE(ws.compress());
    for (int i = 0; i < 20; ++i) {
      co_await ws.send_str("msg " + std::to_string(i));
      EXPECT_EQ(co_await ws.receive_str(), "msg " + std::to_string(i));
    }
    co_await ws.send_bytes(std::string("\0\1\2", 3));
    EXPECT_EQ(co_await ws.receive_bytes(), std::string("\0\1\2", 3));
    co_await ws.close();
  }());
}
