#include <gtest/gtest.h>

#include "concur/http/router.hpp"
#include "concur/http/web.hpp"

namespace http = concur::http;

namespace {

http::router sample() {
  http::router r;
  r.add("GET", "/");                           // 0
  r.add("GET", "/posts");                      // 1
  r.add("POST", "/posts");                     // 2
  r.add("GET", "/posts/{id}");                 // 3
  r.add("DELETE", "/posts/{id}");              // 4
  r.add("GET", "/posts/{id}/comments/{cid}");  // 5
  r.add("GET", "/posts/new");                  // 6 (static wins over the earlier dynamic route)
  r.add("*", "/any");                          // 7
  r.add("GET", "/static/{path:.*}");           // 8
  return r;
}

}  // namespace

TEST(ServerRouter, StaticAndParams) {
  auto r = sample();
  http::match_info_type p;
  auto m = r.resolve("GET", "/posts", p);
  EXPECT_EQ(m.result, http::router::outcome::found);
  EXPECT_EQ(m.route, 1u);
  EXPECT_TRUE(p.empty());

  m = r.resolve("POST", "/posts", p);
  EXPECT_EQ(m.route, 2u);

  m = r.resolve("GET", "/posts/42", p);
  ASSERT_EQ(m.result, http::router::outcome::found);
  EXPECT_EQ(m.route, 3u);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].first, "id");
  EXPECT_EQ(p[0].second, "42");

  m = r.resolve("GET", "/posts/7/comments/9", p);
  ASSERT_EQ(m.route, 5u);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].second, "7");
  EXPECT_EQ(p[1].first, "cid");
  EXPECT_EQ(p[1].second, "9");

  m = r.resolve("GET", "/posts/new", p);
  EXPECT_EQ(m.route, 6u);
  EXPECT_TRUE(p.empty());

  m = r.resolve("PATCH", "/any", p);
  EXPECT_EQ(m.route, 7u);

  m = r.resolve("GET", "/static/css/site.css", p);
  ASSERT_EQ(m.route, 8u);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].second, "css/site.css");
}

TEST(ServerRouter, NotFoundAndMethodNotAllowed) {
  auto r = sample();
  http::match_info_type p;
  EXPECT_EQ(r.resolve("GET", "/nope", p).result, http::router::outcome::not_found);
  EXPECT_EQ(r.resolve("GET", "/posts/", p).result, http::router::outcome::not_found);
  EXPECT_EQ(r.resolve("GET", "/posts/1/2", p).result, http::router::outcome::not_found);
  EXPECT_EQ(r.resolve("GET", "/posts//comments/3", p).result, http::router::outcome::not_found);
  EXPECT_TRUE(p.empty());

  auto m = r.resolve("PUT", "/posts/3", p);
  EXPECT_EQ(m.result, http::router::outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD");
  m = r.resolve("DELETE", "/posts", p);
  EXPECT_EQ(m.result, http::router::outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
}

TEST(ServerRouter, HeadFallsBackToGet) {
  auto r = sample();
  http::match_info_type p;
  auto m = r.resolve("HEAD", "/posts/5", p);
  ASSERT_EQ(m.result, http::router::outcome::found);
  EXPECT_EQ(m.route, 3u);
  r.add("HEAD", "/posts/{id}");
  m = r.resolve("HEAD", "/posts/5", p);
  EXPECT_EQ(m.route, 9u);
}

TEST(ServerRouter, BadPatternsAreRejectedWithClearErrors) {
  http::router r;
  EXPECT_THROW(r.add("GET", "posts"), http::route_error);
  EXPECT_THROW(r.add("GET", ""), http::route_error);
  EXPECT_THROW(r.add("GET", "/posts/{id"), http::route_error);
  EXPECT_THROW(r.add("GET", "/posts/id}"), http::route_error);
  EXPECT_THROW(r.add("GET", "/posts/{}"), http::route_error);
  EXPECT_THROW(r.add("GET", "/posts/x{id}"), http::route_error);
  EXPECT_THROW(r.add("GET", "/a/{id}/{id}"), http::route_error);
  EXPECT_THROW(r.add("GET", "/a/{x:[0-9]+}"), http::route_error);
  EXPECT_THROW(r.add("GET", "/a/{x:.*}/b"), http::route_error);
  EXPECT_THROW(r.add("get", "/a"), http::route_error);
  r.add("GET", "/a");
  try {
    r.add("GET", "/a");
    FAIL() << "duplicate accepted";
  } catch (const http::route_error& e) {
    EXPECT_NE(std::string(e.what()).find("already registered"), std::string::npos);
  }
  EXPECT_EQ(r.size(), 1u);
}

TEST(ServerWebRequest, TargetPathQueryAndMatchInfo) {
  http::web_request req;
  req.assign("GET", "/caf%C3%A9/x?b=2&a=1&b=3#frag", {{"Host", "example.com"}});
  EXPECT_EQ(req.path(), "/caf\xC3\xA9/x");
  EXPECT_EQ(req.query_string(), "b=2&a=1&b=3");
  ASSERT_EQ(req.query().size(), 3u);
  EXPECT_EQ(req.query("b").value(), "2");
  EXPECT_FALSE(req.query("zz").has_value());
  EXPECT_EQ(req.host(), "example.com");
  req.mutable_match_info().emplace_back("id", "5");
  EXPECT_EQ(req.match_info("id"), "5");
  EXPECT_THROW((void)req.match_info("nope"), http::web_exception);

  req.assign("GET", "http://example.com/abs?q=1");
  EXPECT_EQ(req.path(), "/abs");
  EXPECT_EQ(req.query("q").value(), "1");

  EXPECT_THROW(req.assign("GET", "*"), http::web_exception);
  try {
    req.assign("GET", "/bad%zzescape");
    FAIL();
  } catch (const http::web_exception& e) {
    EXPECT_EQ(e.status(), 400);
  }
}

TEST(ServerWebRequest, JsonBodyAndRemote) {
  http::web_request req;
  req.assign("POST", "/p", {}, R"({"a": [1, 2]})");
  EXPECT_EQ(req.json()["a"][1], 2);
  req.assign("POST", "/p", {}, "{not json");
  try {
    (void)req.json();
    FAIL();
  } catch (const http::web_exception& e) {
    EXPECT_EQ(e.status(), 400);
  }
  req.set_peer("127.0.0.1:5555");
  EXPECT_EQ(req.remote(), "127.0.0.1");
  req.set_peer("[::1]:80");
  EXPECT_EQ(req.remote(), "::1");
  req["user"] = std::string("ann");
  ASSERT_NE(req.find("user"), nullptr);
  EXPECT_EQ(std::any_cast<std::string>(*req.find("user")), "ann");
}

TEST(ServerWebResponse, Helpers) {
  auto j = http::json_response({{"id", 1}, {"title", "hello"}});
  EXPECT_EQ(j.status, 200);
  EXPECT_EQ(j.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(j.body)["title"], "hello");
  auto bad = http::json_response(nlohmann::json(std::string("\xff\xfe")));
  EXPECT_FALSE(bad.body.empty());
  auto t = http::text_response("hi", 201);
  EXPECT_EQ(t.status, 201);
  EXPECT_EQ(t.body, "hi");
  auto s = http::status_response(404);
  EXPECT_EQ(s.body, "404: Not Found");
  http::web_exception e(413);
  EXPECT_EQ(e.status(), 413);
  EXPECT_EQ(e.text(), "413: Content Too Large");
}
