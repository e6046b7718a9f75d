#include "concur/http/mock_api.hpp"

#include <gtest/gtest.h>

#include <set>

#include "concur/http/compression.hpp"

namespace http = concur::http;
using namespace std::chrono_literals;

namespace {

http::mock_reply get(const http::mock_api& api, std::string_view target,
                     std::string_view method = "GET", std::string body = {}) {
  http::web_request req;
  req.assign(method, target, {{"Host", "mock.test"}, {"User-Agent", "unit"}}, std::move(body));
  req.set_peer("127.0.0.1:40000");
  return api.handle(req);
}

nlohmann::json body_json(const http::mock_reply& r) {
  return nlohmann::json::parse(r.response.body);
}

}  // namespace

TEST(MockApi, ResourceSizesMatchJsonPlaceholder) {
  http::mock_api api;
  const std::pair<const char*, std::size_t> sizes[] = {{"posts", 100},  {"comments", 500},
                                                       {"albums", 100}, {"photos", 5000},
                                                       {"todos", 200},  {"users", 10}};
  for (auto [name, n] : sizes) {
    auto r = get(api, std::string("/") + name);
    ASSERT_EQ(r.response.status, 200) << name;
    EXPECT_EQ(r.response.content_type, "application/json");
    auto j = body_json(r);
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j.size(), n) << name;
    EXPECT_EQ(api.count(name), n);
    EXPECT_EQ(j.front()["id"], 1);
    EXPECT_EQ(j.back()["id"], n);
  }
  // The real /photos is about 1 MB and /comments about 150 KB; ours are of that order.
  EXPECT_GT(get(api, "/photos").response.body.size(), 700'000u);
  EXPECT_GT(get(api, "/comments").response.body.size(), 100'000u);
}

TEST(MockApi, FieldNamesAndRelations) {
  http::mock_api api;
  auto post = body_json(get(api, "/posts/11"));
  for (auto k : {"userId", "id", "title", "body"}) EXPECT_TRUE(post.contains(k)) << k;
  EXPECT_EQ(post["userId"], 2);
  auto c = body_json(get(api, "/comments/6"));
  for (auto k : {"postId", "id", "name", "email", "body"}) EXPECT_TRUE(c.contains(k)) << k;
  EXPECT_EQ(c["postId"], 2);
  EXPECT_NE(c["email"].get<std::string>().find('@'), std::string::npos);
  auto ph = body_json(get(api, "/photos/51"));
  for (auto k : {"albumId", "id", "title", "url", "thumbnailUrl"}) EXPECT_TRUE(ph.contains(k));
  EXPECT_EQ(ph["albumId"], 2);
  auto t = body_json(get(api, "/todos/1"));
  EXPECT_TRUE(t["completed"].is_boolean());
  auto u = body_json(get(api, "/users/3"));
  EXPECT_TRUE(u["address"]["geo"].contains("lat"));
  EXPECT_TRUE(u["company"].contains("catchPhrase"));
  EXPECT_EQ(api.item("users", 3), u);
  EXPECT_TRUE(api.item("users", 11).is_null());
}

TEST(MockApi, MissingIdsAndPathsAre404) {
  http::mock_api api;
  EXPECT_EQ(get(api, "/posts/101").response.status, 404);
  EXPECT_EQ(get(api, "/posts/0").response.status, 404);
  EXPECT_EQ(get(api, "/posts/abc").response.status, 404);
  EXPECT_EQ(get(api, "/photos/5000").response.status, 200);
  EXPECT_EQ(get(api, "/photos/5001").response.status, 404);
  EXPECT_EQ(get(api, "/nothing/here").response.status, 404);
  auto r = get(api, "/posts/1", "PUT");
  EXPECT_EQ(r.response.status, 405);
  EXPECT_EQ(r.response.headers.get("Allow").value_or(""), "GET, HEAD");
}

TEST(MockApi, FiltersAndNestedLists) {
  http::mock_api api;
  auto a = body_json(get(api, "/comments?postId=3"));
  ASSERT_EQ(a.size(), 5u);
  for (auto& c : a) EXPECT_EQ(c["postId"], 3);
  EXPECT_EQ(body_json(get(api, "/posts/3/comments")), a);
  EXPECT_EQ(body_json(get(api, "/albums/2/photos")).size(), 50u);
  EXPECT_EQ(body_json(get(api, "/users/1/posts")).size(), 10u);
  EXPECT_EQ(body_json(get(api, "/users/1/todos")).size(), 20u);
  auto lim = body_json(get(api, "/posts?_start=5&_limit=3"));
  ASSERT_EQ(lim.size(), 3u);
  EXPECT_EQ(lim[0]["id"], 6);
  EXPECT_EQ(body_json(get(api, "/posts?userId=999")).size(), 0u);
  EXPECT_EQ(get(api, "/posts?_limit=x").response.status, 400);
}

TEST(MockApi, DeterministicFromSeed) {
  http::mock_api a, b;
  http::mock_api c(http::mock_options{.seed = 2});
  EXPECT_EQ(get(a, "/posts").response.body, get(b, "/posts").response.body);
  EXPECT_NE(get(a, "/posts").response.body, get(c, "/posts").response.body);
  EXPECT_EQ(get(a, "/bytes/64").response.body, get(b, "/bytes/64").response.body);
}

TEST(MockApi, HttpbinEndpoints) {
  http::mock_api api;
  auto g = body_json(get(api, "/get?a=1&a=2&b=x"));
  EXPECT_EQ(g["args"]["a"], nlohmann::json::array({"1", "2"}));
  EXPECT_EQ(g["args"]["b"], "x");
  EXPECT_EQ(g["headers"]["User-Agent"], "unit");
  EXPECT_EQ(g["url"], "http://mock.test/get?a=1&a=2&b=x");
  EXPECT_EQ(g["origin"], "127.0.0.1");

  auto p = body_json(get(api, "/post", "POST", R"({"k": 5})"));
  EXPECT_EQ(p["json"]["k"], 5);
  EXPECT_EQ(p["data"], R"({"k": 5})");

  EXPECT_EQ(get(api, "/status/418").response.status, 418);
  EXPECT_EQ(get(api, "/status/204").response.body, "");
  EXPECT_EQ(get(api, "/status/302").response.headers.get("Location").value_or(""), "/redirect/1");
  EXPECT_EQ(get(api, "/status/99").response.status, 400);
  EXPECT_EQ(get(api, "/status/abc").response.status, 400);

  EXPECT_EQ(get(api, "/bytes/1000").response.body.size(), 1000u);
  EXPECT_EQ(get(api, "/bytes/10000000").response.body.size(), 100u * 1024);
  EXPECT_EQ(get(api, "/bytes/-1").response.status, 400);

  EXPECT_EQ(get(api, "/redirect/3").response.headers.get("Location").value_or(""), "/redirect/2");
  EXPECT_EQ(get(api, "/redirect/1").response.headers.get("Location").value_or(""), "/get");
  EXPECT_EQ(
      get(api, "/redirect-to?url=http%3A%2F%2Fx%2Fy").response.headers.get("Location").value_or(""),
      "http://x/y");

  auto gz = get(api, "/gzip");
  EXPECT_EQ(gz.response.headers.get("Content-Encoding").value_or(""), "gzip");
  http::decompressor d(http::content_coding::gzip);
  std::string plain;
  d.feed(gz.response.body, plain);
  EXPECT_EQ(nlohmann::json::parse(plain)["gzip"], true);
}

TEST(MockApi, DelayIsReportedNotSlept) {
  http::mock_api api(http::mock_options{.max_delay = 3s});
  auto r = get(api, "/delay/0.25");
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.delay, 250ms);
  EXPECT_EQ(get(api, "/delay/60").delay, 3s);
  EXPECT_EQ(get(api, "/delay/-1").response.status, 400);
  EXPECT_EQ(get(api, "/delay/nan").response.status, 400);
}

TEST(MockApi, HtmlPagesHaveMetaTags) {
  http::mock_api api;
  auto r = get(api, "/page/3");
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.response.body.find("<meta name=\"description\" content=\""), std::string::npos);
  EXPECT_NE(r.response.body.find("<meta property=\"og:title\""), std::string::npos);
  EXPECT_NE(get(api, "/page/4").response.body, r.response.body);
  EXPECT_EQ(get(api, "/page/0").response.status, 404);
  EXPECT_NE(get(api, "/html").response.body.find("<title>"), std::string::npos);
}

TEST(MockApi, LatencyJitterAndErrorRate) {
  http::mock_api api(
      http::mock_options{.latency = 10ms, .jitter = 5ms, .error_rate = 0.3, .seed = 9});
  int errors = 0;
  std::set<std::int64_t> delays;
  for (int i = 0; i < 1000; ++i) {
    auto r = get(api, "/posts/1");
    EXPECT_GE(r.delay, 10ms);
    EXPECT_LT(r.delay, 15ms);
    delays.insert(r.delay.count());
    if (r.response.status == 500) {
      ++errors;
    } else {
      EXPECT_EQ(r.response.status, 200);
    }
  }
  // 300 expected; the bounds are many standard deviations wide.
  EXPECT_GT(errors, 200);
  EXPECT_LT(errors, 400);
  EXPECT_GT(delays.size(), 100u);
  EXPECT_EQ(api.requests_served(), 1000u);

  http::mock_api all_fail(http::mock_options{.error_rate = 1.0});
  EXPECT_EQ(get(all_fail, "/posts").response.status, 500);
  EXPECT_THROW(http::mock_api(http::mock_options{.error_rate = 1.5}), concur::error);
  EXPECT_THROW(http::mock_api(http::mock_options{.latency = -1ms}), concur::error);
}
