// The blocking API (requests): http::get / http::post and http::session, against the same
// test server as the async client.
#include <gtest/gtest.h>

#include "concur/http.hpp"
#include "concur/net.hpp"
#include "http/client_test_server.hpp"
#include "net/raw_server.hpp"

namespace aio = concur::aio;
namespace http = concur::http;
namespace net = concur::net;
using concur_test::http_request;
using concur_test::reply;
using namespace std::chrono_literals;

namespace {
aio::task<std::string> api(http_request req) {
  if (req.target == "/posts/1") co_return reply(200, R"({"id":1,"title":"hello"})");
  if (req.target == "/create") co_return reply(201, req.body);
  if (req.target == "/moved") co_return reply(301, "", "Location: /posts/1\r\n", "text/plain");
  co_return reply(404, R"({"error":"not found"})");
}
}  // namespace

TEST(ClientSync, GetPostAndErrors) {
  concur_test::http_test_server server(api);
  auto r = http::get(server.url("/posts/1"));
  EXPECT_EQ(r.status_code(), 200);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.json()["title"], "hello");
  EXPECT_EQ(r.headers().get("content-type").value_or(""), "application/json");
  EXPECT_GT(r.elapsed().count(), 0);

  http::request_options o;
  o.with_json({{"title", "foo"}});
  auto c = http::post(server.url("/create"), o);
  EXPECT_EQ(c.status_code(), 201);
  EXPECT_EQ(c.json()["title"], "foo");

  auto m = http::get(server.url("/moved"));
  EXPECT_EQ(m.status_code(), 200);
  EXPECT_EQ(m.history().size(), 1u);

  auto missing = http::get(server.url("/nope"));
  EXPECT_EQ(missing.status_code(), 404);
  try {
    missing.raise_for_status();
    FAIL() << "no throw";
  } catch (const http::http_error& e) {
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_THROW(http::get("http://nonexistent.invalid/"), net::dns_error);
  EXPECT_THROW(http::get("::bad::"), http::invalid_url_error);
  auto text = http::get(server.url("/posts/1"));
  EXPECT_THROW((void)http::sync_response().json(), http::client_error);
}

TEST(ClientSync, SessionKeepsConnectionsAlive) {
  concur_test::http_test_server server(api);
  http::session s;
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += s.get(server.url("/posts/1")).status_code() == 200;
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(s.connections_opened(), 1u);
  EXPECT_EQ(server.connections(), 1);
  s.close();
  EXPECT_THROW(s.get(server.url("/posts/1")), http::client_error);
}

TEST(ClientSync, TimeoutSameAsAsync) {
  concur_test::raw_server silent([](int fd) { concur_test::raw_server::wait_peer_close(fd); });
  http::request_options o;
  o.with_timeout(http::client_timeout(100ms));
  EXPECT_THROW(http::get(silent.url("/"), o), concur::timeout_error);
}

TEST(ClientSync, RefusedInsideRunningLoop) {
  concur_test::http_test_server server(api);
  aio::run([&]() -> aio::task<void> {
    EXPECT_THROW(http::get(server.url("/posts/1")), concur::invalid_state_error);
    co_return;
  }());
}
