#include <gtest/gtest.h>

#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/url.hpp"

namespace http = concur::http;

TEST(Url, ParsesParts) {
  auto u = http::url::parse("HTTPS://User:pw@Example.COM:8443/a/b?x=1&y=2#frag");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.userinfo, "User:pw");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/a/b");
  EXPECT_EQ(u.query, "x=1&y=2");
  EXPECT_EQ(u.fragment, "frag");
  EXPECT_EQ(u.target(), "/a/b?x=1&y=2");
  EXPECT_EQ(u.host_header(), "example.com:8443");
  EXPECT_TRUE(u.is_tls());
}

TEST(Url, DefaultsAndIpv6) {
  auto u = http::url::parse("http://127.0.0.1");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.path, "/");
  EXPECT_EQ(u.host_header(), "127.0.0.1");
  auto v = http::url::parse("http://[::1]:8080/x");
  EXPECT_EQ(v.host, "::1");
  EXPECT_EQ(v.port, 8080);
  EXPECT_EQ(v.host_header(), "[::1]:8080");
  EXPECT_EQ(http::url::parse("https://h/").port, 443);
}

TEST(Url, RejectsBadInputWithMessage) {
  for (const char* bad : {"", "example.com/x", "http:/x", "http://", "http://h:99999/",
                          "http://h:12ab/", "ftp://h/", "http://h/a b", "http://[::1/"}) {
    try {
      http::url::parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const http::invalid_url_error& e) {
      EXPECT_NE(std::string(e.what()).find("invalid URL"), std::string::npos);
    }
  }
}

TEST(Url, ResolvesReferences) {
  auto base = http::url::parse("http://h:81/a/b/c?q=1");
  EXPECT_EQ(base.resolve("d").str(), "http://h:81/a/b/d");
  EXPECT_EQ(base.resolve("../d?z=2").str(), "http://h:81/a/d?z=2");
  EXPECT_EQ(base.resolve("/x").str(), "http://h:81/x");
  EXPECT_EQ(base.resolve("?k=v").str(), "http://h:81/a/b/c?k=v");
  EXPECT_EQ(base.resolve("//other/p").str(), "http://other/p");
  EXPECT_EQ(base.resolve("https://s/t").str(), "https://s/t");
}

TEST(Url, PercentEncodingRoundTrips) {
  std::string raw = "a b/c?d=e&f%g\xc3\xa9";
  auto enc = http::percent_encode(raw);
  EXPECT_EQ(enc, "a%20b%2Fc%3Fd%3De%26f%25g%C3%A9");
  EXPECT_EQ(http::percent_decode(enc), raw);
  EXPECT_EQ(http::percent_encode("/a b", "/"), "/a%20b");
  EXPECT_EQ(http::percent_decode("a+b", true), "a b");
  EXPECT_THROW(http::percent_decode("%4"), http::invalid_url_error);
  EXPECT_THROW(http::percent_decode("%zz"), http::invalid_url_error);
}

TEST(Url, QueryParams) {
  http::query_params p{{"q", "x y"}, {"page", "2"}, {"e", ""}};
  EXPECT_EQ(http::urlencode(p), "q=x%20y&page=2&e=");
  EXPECT_EQ(http::parse_query("q=x+y&page=2&e=&&flag"),
            (http::query_params{{"q", "x y"}, {"page", "2"}, {"e", ""}, {"flag", ""}}));
  auto u = http::url::parse("http://h/p?a=1").with_params({{"b", "2"}});
  EXPECT_EQ(u.target(), "/p?a=1&b=2");
}

TEST(Headers, CaseInsensitiveOrderedMultimap) {
  http::headers h{{"Content-Type", "text/html"}};
  h.add("Set-Cookie", "a=1");
  h.add("set-cookie", "b=2");
  EXPECT_TRUE(h.contains("content-type"));
  EXPECT_EQ(h.get("CONTENT-TYPE").value_or(""), "text/html");
  EXPECT_EQ(h.get("missing", "dflt"), "dflt");
  EXPECT_EQ(h.get_all("SET-COOKIE"), (std::vector<std::string_view>{"a=1", "b=2"}));
  h.set("Set-Cookie", "c=3");
  EXPECT_EQ(h.get_all("set-cookie").size(), 1u);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.begin()->first, "Content-Type");
  h.set_default("content-type", "ignored");
  EXPECT_EQ(h.get("content-type").value_or(""), "text/html");
  EXPECT_EQ(h.erase("content-TYPE"), 1u);
  EXPECT_FALSE(h.contains("Content-Type"));
  http::headers other{{"X-A", "1"}};
  other.update(http::headers{{"x-a", "2"}, {"X-B", "3"}});
  EXPECT_EQ(other, (http::headers{{"x-A", "2"}, {"X-b", "3"}}));
}

TEST(Errors, HttpErrorCarriesStatus) {
  http::http_error e(404, "Not Found", "http://h/x");
  EXPECT_EQ(e.status(), 404);
  EXPECT_NE(std::string(e.what()).find("404"), std::string::npos);
  const concur::error& base = e;
  EXPECT_NE(std::string(base.what()).find("http://h/x"), std::string::npos);
}
