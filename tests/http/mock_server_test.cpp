#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "concur/http/mock_api.hpp"
#include "server_support.hpp"

namespace http = concur::http;
using namespace std::chrono_literals;
using server_test::get_request;
using server_test::raw_client;

TEST(MockServer, ServesTheApiOnLoopback) {
  http::mock_server mock;
  EXPECT_NE(mock.port(), 0);
  EXPECT_EQ(mock.url("/posts"), "http://127.0.0.1:" + std::to_string(mock.port()) + "/posts");
  raw_client c(mock.port());
  const std::pair<const char*, std::size_t> sizes[] = {{"/posts", 100},  {"/comments", 500},
                                                       {"/albums", 100}, {"/photos", 5000},
                                                       {"/todos", 200},  {"/users", 10}};
  for (auto [path, n] : sizes) {
    ASSERT_TRUE(c.send(get_request(path)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(nlohmann::json::parse(r->body).size(), n) << path;
  }
  ASSERT_TRUE(c.send(get_request("/users/11")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  ASSERT_TRUE(c.send(get_request("/status/503")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  ASSERT_TRUE(c.send(get_request("/bytes/4096")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), 4096u);
  EXPECT_EQ(mock.api().requests_served(), 9u);
}

TEST(MockServer, DelaysOverlapWithoutBlockingTheLoop) {
  http::mock_server mock;
  // Three /delay requests on three connections: the loop waits for all at once, so the
  // total is about the longest, not the sum (generous bound for a loaded machine).
  auto t0 = std::chrono::steady_clock::now();
  raw_client a(mock.port()), b(mock.port()), c(mock.port());
  ASSERT_TRUE(a.send(get_request("/delay/0.3")));
  ASSERT_TRUE(b.send(get_request("/delay/0.3")));
  ASSERT_TRUE(c.send(get_request("/delay/0.3")));
  for (auto* cl : {&a, &b, &c}) {
    auto r = cl->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3s);
}

TEST(MockServer, ErrorRateAndLatencyOptions) {
  http::mock_server mock(http::mock_options{.latency = 20ms, .error_rate = 0.5, .seed = 3});
  raw_client c(mock.port());
  int errors = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(c.send(get_request("/todos/1")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    if (r->status == 500) ++errors;
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 40 * 20ms);
  EXPECT_GT(errors, 5);
  EXPECT_LT(errors, 35);
}

TEST(MockServer, DestructionDoesNotWaitForLongDelays) {
  auto t0 = std::chrono::steady_clock::now();
  {
    http::mock_server mock;
    raw_client c(mock.port());
    ASSERT_TRUE(c.send(get_request("/delay/10")));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 6s);
}

TEST(MockServer, StreamSendsJsonLinesChunkedALineAChunk) {
  http::mock_server mock;
  raw_client c(mock.port());
  ASSERT_TRUE(c.send(get_request("/stream/3?x=1")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.get("Transfer-Encoding", ""), "chunked");
  std::size_t lines = 0;
  std::string_view rest = r->body;
  for (std::size_t i = 0; i < 10 && !rest.empty(); ++i) {
    auto end = rest.find('\n');
    ASSERT_NE(end, std::string_view::npos);
    auto line = nlohmann::json::parse(rest.substr(0, end));
    EXPECT_EQ(line["id"], i);
    EXPECT_EQ(line["args"]["x"], "1");
    rest.remove_prefix(end + 1);
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
  // The pure handler gives the same lines in one body.
  http::web_request req;
  req.assign("GET", "/stream/3?x=1", {{"Host", "127.0.0.1"}});
  req.set_peer("127.0.0.1:5");
  auto whole = mock.api().handle(req);
  EXPECT_EQ(std::count(whole.response.body.begin(), whole.response.body.end(), '\n'), 3);

  ASSERT_TRUE(c.send(get_request("/stream/1000")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(std::count(r->body.begin(), r->body.end(), '\n'), 100);  // httpbin's cap
  ASSERT_TRUE(c.send(get_request("/stream/many")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  ASSERT_TRUE(c.send(get_request("/stream/0")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
}
