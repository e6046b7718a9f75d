#include "concur/http/server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "concur/aio/sleep.hpp"
#include "server_support.hpp"

namespace http = concur::http;
namespace aio = concur::aio;
using namespace std::chrono_literals;
using server_test::get_request;
using server_test::raw_client;

namespace {

http::server_options local(http::server_options o = {}) {
  o.host = "127.0.0.1";
  o.port = 0;
  return o;
}

http::application sample_app() {
  http::application app;
  app.get("/posts/{id}", [](http::web_request& req) -> aio::task<http::web_response> {
    co_return http::json_response(
        {{"id", std::stoi(std::string(req.match_info("id")))}, {"title", "hello"}});
  });
  app.post("/echo", [](http::web_request& req) -> aio::task<http::web_response> {
    co_return http::text_response(req.body());
  });
  app.get("/path", [](http::web_request& req) -> aio::task<http::web_response> {
    co_return http::text_response(std::string(req.raw_path()));
  });
  app.get("/boom", [](http::web_request&) -> aio::task<http::web_response> {
    throw std::runtime_error("handler failed");
    co_return http::web_response{};
  });
  app.get("/teapot", [](http::web_request&) -> aio::task<http::web_response> {
    throw http::web_exception(418, "short and stout");
    co_return http::web_response{};
  });
  app.get("/sleep/{ms}", [](http::web_request& req) -> aio::task<http::web_response> {
    co_await aio::sleep(std::chrono::milliseconds(std::stoi(std::string(req.match_info("ms")))));
    co_return http::text_response("slept");
  });
  return app;
}

}  // namespace

TEST(ServerBasics, RoutingJsonAnd404And405) {
  http::server srv(sample_app(), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/7")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.get("Content-Type").value_or(""), "application/json");
  EXPECT_TRUE(r->headers.get("Date").has_value());
  EXPECT_EQ(r->headers.get("Server").value_or(""), "concur");
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["id"], 7);
  EXPECT_EQ(j["title"], "hello");

  ASSERT_TRUE(c.send(get_request("/nothing")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "404: Not Found");

  ASSERT_TRUE(c.send("DELETE /posts/1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers.get("Allow").value_or(""), "GET, HEAD");

  ASSERT_TRUE(c.send(get_request("/boom")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);

  ASSERT_TRUE(c.send(get_request("/teapot")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 418);
  EXPECT_EQ(r->body, "short and stout");
  // Still the same connection after errors that are responses.
  EXPECT_EQ(srv.stats().connections_accepted, 1u);
  EXPECT_EQ(srv.stats().requests, 5u);
}

TEST(ServerBasics, HeadHasHeadersButNoBody) {
  http::server srv(sample_app(), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("HEAD /posts/3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(10s, /*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->headers.get("Content-Length").value_or("0"), "0");
  EXPECT_TRUE(r->body.empty());
  // The next response on the connection parses cleanly: no stray body bytes were sent.
  ASSERT_TRUE(c.send(get_request("/posts/4")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(nlohmann::json::parse(r->body)["id"], 4);
}

TEST(ServerBasics, MiddlewaresRunOutermostFirst) {
  auto app = sample_app();
  auto tracer = [](std::string name) {
    return
        [name](http::web_request& req, http::next_handler next) -> aio::task<http::web_response> {
          auto resp = co_await next(req);
          resp.headers.add("X-Trace", name);
          co_return resp;
        };
  };
  app.add_middleware(tracer("outer"));
  app.add_middleware(tracer("inner"));
  // A middleware that turns 404 into a custom JSON error, as aiohttp error middlewares do.
  app.add_middleware(
      [](http::web_request& req, http::next_handler next) -> aio::task<http::web_response> {
        try {
          co_return co_await next(req);
        } catch (const http::web_exception& e) {
          if (e.status() != 404) throw;
        }
        co_return http::json_response({{"error", "missing"}}, 404);
      });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/1")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  auto trace = r->headers.get_all("X-Trace");
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[0], "inner");  // the inner one adds its header first on the way out
  EXPECT_EQ(trace[1], "outer");
  ASSERT_TRUE(c.send(get_request("/nope")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "missing");
  EXPECT_EQ(r->headers.get_all("X-Trace").size(), 2u);
}

TEST(ServerConnection, KeepAliveServesManyRequestsOnOneConnection) {
  http::server srv(sample_app(), local());
  srv.start();
  raw_client c(srv.port());
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(c.send(get_request("/posts/" + std::to_string(i))));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(nlohmann::json::parse(r->body)["id"], i);
    EXPECT_TRUE(r->keep_alive);
  }
  EXPECT_EQ(srv.stats().connections_accepted, 1u);
}

TEST(ServerConnection, PipelinedRequestsAnswerInOrder) {
  http::server srv(sample_app(), local());
  srv.start();
  raw_client c(srv.port());
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += get_request("/path?n=" + std::to_string(i));
  // A POST with a body in the middle of the pipeline, and a request split across sends.
  batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  batch += get_request("/sleep/5");
  ASSERT_TRUE(c.send(batch));
  ASSERT_TRUE(c.send("GET /path?n=last HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send("st: x\r\n\r\n"));
  for (int i = 0; i < 50; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "/path?n=" + std::to_string(i));
  }
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slept");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "/path?n=last");
}

TEST(ServerConnection, Http10ClosesUnlessKeepAlive) {
  http::server srv(sample_app(), local());
  srv.start();
  {
    raw_client c(srv.port());
    ASSERT_TRUE(c.send("GET /posts/1 HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.closed_by_peer());
  }
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("GET /posts/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers.get("Connection").value_or(""), "keep-alive");
  ASSERT_TRUE(c.send("GET /posts/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers.get("Connection").value_or(""), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(ServerLimits, OversizedBodyGets413) {
  http::server_options o = local();
  o.max_body_bytes = 1000;
  http::server srv(sample_app(), o);
  srv.start();
  {
    raw_client c(srv.port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" +
                       std::string(1000, 'a')));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 1000u);
  }
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n"));
  c.send(std::string(50000, 'a'));  // the server may already have answered and half-closed
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_by_peer());
  // Chunked bodies are limited too, as they arrive.
  raw_client d(srv.port());
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "190\r\n" + std::string(400, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  d.send(chunked);
  r = d.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(ServerLimits, OversizedHeadersGet431) {
  http::server_options o = local();
  o.max_header_bytes = 2048;
  o.max_header_count = 20;
  http::server srv(sample_app(), o);
  srv.start();
  {
    raw_client c(srv.port());
    c.send("GET /posts/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_TRUE(c.closed_by_peer());
  }
  raw_client c(srv.port());
  std::string many = "GET /posts/1 HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 30; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  c.send(many + "\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
}

TEST(ServerLimits, MalformedRequestGets400) {
  http::server srv(sample_app(), local());
  srv.start();
  raw_client c(srv.port());
  c.send("GARBAGE\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_peer());
  raw_client d(srv.port());
  d.send("GET /bad%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  r = d.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// A request that could be read two ways is refused with 400 and the close, so whatever a proxy
// in front made of it, nothing after it on the connection is ever read as a request here.
TEST(ServerStrict, AmbiguousRequestsGet400AndNothingBehindThemIsServed) {
  http::server srv(sample_app(), local());
  srv.start();
  const std::string smuggled = "GET /posts/666 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"Content-Length and Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n"},
      {"space before the colon", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n"},
      {"two Content-Lengths",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n"},
      {"obsolete line folding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Content-Length: 5\r\n\r\n"},
      {"bare LF", "POST /echo HTTP/1.1\nHost: x\nContent-Length: 0\n\n"},
      {"chunk data without CRLF",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n"},
      {"chunked not last",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"},
      {"two Hosts", "GET /posts/1 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
  };
  for (const auto& [why, text] : cases) {
    raw_client c(srv.port());
    c.send(text + smuggled);
    auto r = c.read_response();
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->status, 400) << why;
    EXPECT_EQ(r->headers.get("Connection").value_or(""), "close") << why;
    EXPECT_TRUE(c.closed_by_peer()) << why;
  }
  EXPECT_EQ(srv.stats().requests, 0u);
}

TEST(ServerStrict, UnsupportedVersionGets505AndUnknownCodingGets501) {
  http::server srv(sample_app(), local());
  srv.start();
  {
    raw_client c(srv.port());
    c.send("GET /posts/1 HTTP/9.9\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 505);
    EXPECT_NE(r->body.find("9.9"), std::string::npos) << r->body;
    EXPECT_TRUE(c.closed_by_peer());
  }
  raw_client c(srv.port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 501);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(ServerTimeouts, SlowClientGets408) {
  http::server_options o = local();
  o.request_timeout = 200ms;
  http::server srv(sample_app(), o);
  srv.start();
  raw_client c(srv.port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /posts/1 HTTP/1.1\r\nHo"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
}

// The timeouts here are an hour, so that only the server seeing the peer's half-close can end
// these exchanges; the 10 s reads are bounds against a hang, not timings.
http::server_options patient() {
  http::server_options o = local();
  o.request_timeout = 1h;
  o.keep_alive_timeout = 1h;
  return o;
}

// A client that shuts down its sending side in the middle of a body gets a 400 and the close at
// once. Data and FIN are sent together: the FIN's edge comes with the data's.
TEST(ServerHalfClose, PartialBodyThenShutdownIsAnsweredAtOnce) {
  http::server srv(sample_app(), patient());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial"));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  auto r = c.read_response(10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.closed_by_peer(10s));
}

// The same with the headers cut short.
TEST(ServerHalfClose, PartialHeadThenShutdownIsAnsweredAtOnce) {
  http::server srv(sample_app(), patient());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("GET /posts/1 HTTP/1.1\r\nHo"));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  auto r = c.read_response(10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_peer(10s));
}

// A complete request followed at once by the half-close gets its response, then the close.
TEST(ServerHalfClose, CompleteRequestThenShutdownGetsItsResponseThenTheClose) {
  http::server srv(sample_app(), patient());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/7")));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  auto r = c.read_response(10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"id\":7"), std::string::npos) << r->body;
  EXPECT_TRUE(c.closed_by_peer(10s));
  EXPECT_TRUE(c.pending().empty());
}

// Pipelined requests and the half-close in one write: every request is answered, in order.
TEST(ServerHalfClose, PipelinedRequestsThenShutdownAreAllAnswered) {
  http::server srv(sample_app(), patient());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/1") + get_request("/posts/2") + get_request("/posts/3")));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  for (int id = 1; id <= 3; ++id) {
    auto r = c.read_response(10s);
    ASSERT_TRUE(r) << "response " << id;
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("\"id\":" + std::to_string(id)), std::string::npos) << r->body;
  }
  EXPECT_TRUE(c.closed_by_peer(10s));
}

// A keep-alive connection between requests that half-closes is closed without a response.
TEST(ServerHalfClose, IdleConnectionThatHalfClosesIsClosedSilently) {
  http::server srv(sample_app(), patient());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/1")));
  ASSERT_TRUE(c.read_response(10s));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
  EXPECT_TRUE(c.closed_by_peer(10s));
  EXPECT_TRUE(c.pending().empty());
}

TEST(ServerTimeouts, IdleKeepAliveConnectionCloses) {
  http::server_options o = local();
  o.keep_alive_timeout = 200ms;
  http::server srv(sample_app(), o);
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/1")));
  ASSERT_TRUE(c.read_response());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_TRUE(c.pending().empty());
}

TEST(ServerTimeouts, ClientThatNeverReadsIsDropped) {
  http::application app;
  app.get("/big", [](http::web_request&) -> aio::task<http::web_response> {
    co_return http::bytes_response(std::string(32 * 1024 * 1024, 'x'));
  });
  http::server_options o = local();
  o.write_timeout = 200ms;
  http::server srv(std::move(app), o);
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/big")));
  // Never read: the server must give up on the write and close the connection.
  auto until = std::chrono::steady_clock::now() + 8s;
  while (srv.stats().connections_open == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  while (srv.stats().connections_open != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.stats().connections_open, 0u);
}

TEST(ServerShutdown, FinishesTheRequestInFlight) {
  std::atomic<bool> entered{false};
  http::application app;
  app.get("/slow", [&entered](http::web_request&) -> aio::task<http::web_response> {
    entered = true;
    co_await aio::sleep(300ms);
    co_return http::text_response("finished");
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client idle(srv.port());  // an idle keep-alive connection is closed at once
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/slow")));
  for (int i = 0; i < 1000 && !entered; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(entered);
  srv.shutdown();
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->headers.get("Connection").value_or(""), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(idle.closed_by_peer());
  srv.join();
  // No longer accepting.
  EXPECT_THROW(raw_client(srv.port()), std::runtime_error);
}

TEST(ServerShutdown, TimeoutCancelsHandlersThatDoNotFinish) {
  http::application app;
  std::atomic<bool> entered{false};
  app.get("/forever", [&entered](http::web_request&) -> aio::task<http::web_response> {
    entered = true;
    co_await aio::sleep(60s);
    co_return http::text_response("never");
  });
  http::server_options o = local();
  o.shutdown_timeout = 200ms;
  http::server srv(std::move(app), o);
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/forever")));
  for (int i = 0; i < 1000 && !entered; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(entered);
  auto t0 = std::chrono::steady_clock::now();
  srv.shutdown();
  srv.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_EQ(srv.stats().connections_open, 0u);
}

TEST(ServerShutdown, DestructorOfAnUnstartedOrStartedServerReturns) {
  { http::server unstarted(sample_app(), local()); }
  http::server srv(sample_app(), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/posts/1")));
  ASSERT_TRUE(c.read_response());
}

TEST(ServerThreads, ReusePortSpreadsConnectionsOverLoops) {
  http::application app;
  app.get("/who", [](http::web_request&) -> aio::task<http::web_response> {
    co_return http::text_response(
        std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  });
  http::server_options o = local();
  o.threads = 2;
  http::server srv(std::move(app), o);
  srv.start();
  std::set<std::string> loops;
  for (int i = 0; i < 64; ++i) {
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(get_request("/who")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    loops.insert(r->body);
  }
  EXPECT_EQ(loops.size(), 2u);
  srv.shutdown();
  srv.join();
}

TEST(ServerEmbedded, ServeRunsOnTheCallersLoop) {
  http::server srv(sample_app(), local());
  std::string got;
  aio::run([](http::server& s, std::string& out) -> aio::task<void> {
    auto serving = aio::create_task(s.serve());
    std::thread client([&s, &out] {
      raw_client c(s.port());
      c.send(get_request("/posts/9"));
      auto r = c.read_response();
      out = r ? r->body : "none";
      s.shutdown();
    });
    co_await serving;
    client.join();
  }(srv, got));
  EXPECT_EQ(nlohmann::json::parse(got)["id"], 9);
}

TEST(ServerErrors, BadOptionsAndBusyPortAreClearErrors) {
  http::server_options o = local();
  o.threads = 0;
  EXPECT_THROW(http::server(sample_app(), o), concur::error);
  http::server first(sample_app(), local());
  http::server_options same = local();
  same.port = first.port();
  EXPECT_ANY_THROW(http::server(sample_app(), same));
  http::application app;
  EXPECT_THROW(app.get("/x", nullptr), http::route_error);
  auto ok = [](http::web_request&) -> aio::task<http::web_response> {
    co_return http::web_response{};
  };
  EXPECT_THROW(app.get("x", ok), http::route_error);
}

// server::dump_tasks, asked from another thread: every loop's task tree, with what the
// request in flight waits for; a loop held by a step that does not yield is named, not waited
// for.
TEST(ServerIntrospection, DumpTasksShowsEveryLoopAndWhatARequestWaitsFor) {
  auto app = sample_app();
  app.get("/block", [](http::web_request&) -> aio::task<http::web_response> {
    std::this_thread::sleep_for(1500ms);  // holds its loop: never do this in a handler
    co_return http::text_response("blocked");
  });
  auto o = local();
  o.threads = 2;
  o.shutdown_timeout = 100ms;
  http::server srv(std::move(app), o);
  EXPECT_EQ(srv.dump_tasks(), "no loop is serving\n");
  srv.start();
  raw_client sleeper(srv.port());
  ASSERT_TRUE(sleeper.send(get_request("/sleep/30000")));
  std::string dump;
  for (int i = 0; i < 500 && dump.find("waiting: sleep, ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    dump = srv.dump_tasks();
  }
  EXPECT_NE(dump.find("loop 0 of 2: tasks of event loop "), std::string::npos) << dump;
  EXPECT_NE(dump.find("loop 1 of 2: tasks of event loop "), std::string::npos) << dump;
  EXPECT_NE(dump.find("(T) accept  id="), std::string::npos) << dump;
  EXPECT_NE(dump.find("(T) close idle connections  id="), std::string::npos) << dump;
  EXPECT_NE(dump.find("(T) connection from 127.0.0.1:"), std::string::npos) << dump;
  EXPECT_NE(dump.find("waiting: sleep, "), std::string::npos) << dump;

  raw_client blocker(srv.port());
  ASSERT_TRUE(blocker.send(get_request("/block")));
  bool busy_named = false;
  for (int i = 0; i < 100 && !busy_named; ++i) {
    std::this_thread::sleep_for(10ms);
    busy_named = srv.dump_tasks(50ms).find("no answer: the loop is busy") != std::string::npos;
  }
  EXPECT_TRUE(busy_named);

  srv.shutdown();
  srv.join();
  EXPECT_EQ(srv.dump_tasks(), "loop 0 of 2: not serving\nloop 1 of 2: not serving\n");
}
