#include "concur/http/parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace http = concur::http;

namespace {

// Feeds `text` one split at a time; returns consumed bytes.
std::size_t feed_all(http::parser& p, std::string_view text, std::size_t step) {
  std::size_t used = 0;
  while (used < text.size() && !p.message_complete()) {
    auto piece = text.substr(used, step);
    used += p.feed(piece);
  }
  return used;
}

}  // namespace

TEST(ParserRequest, SimpleGetAnyChunking) {
  const std::string req =
      "GET /posts/1?x=y HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nX-Multi: a\r\n"
      "x-multi: b\r\n\r\n";
  for (std::size_t step : {1u, 2u, 7u, 1000u}) {
    http::parser p(http::message_kind::request);
    EXPECT_EQ(feed_all(p, req, step), req.size()) << step;
    ASSERT_TRUE(p.message_complete());
    EXPECT_EQ(p.method(), "GET");
    EXPECT_EQ(p.target(), "/posts/1?x=y");
    EXPECT_EQ(p.headers().get("host").value_or(""), "example.com");
    EXPECT_EQ(p.headers().get_all("X-MULTI").size(), 2u);
    EXPECT_TRUE(p.keep_alive());
    EXPECT_EQ(p.http_minor(), 1);
    EXPECT_TRUE(p.body().empty());
  }
}

TEST(ParserRequest, PipelinedStopsAtEachMessage) {
  const std::string two =
      "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nConnection: "
      "close\r\n\r\n";
  http::parser p(http::message_kind::request);
  auto n = p.feed(two);
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.method(), "POST");
  EXPECT_EQ(p.body(), "hello");
  EXPECT_EQ(p.content_length(), 5u);
  p.reset();
  auto m = p.feed(std::string_view(two).substr(n));
  EXPECT_EQ(n + m, two.size());
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.target(), "/b");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ParserRequest, ChunkedBodyDecoded) {
  const std::string req =
      "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (std::size_t step : {1u, 3u, 1000u}) {
    http::parser p(http::message_kind::request);
    std::string body;
    std::size_t used = 0;
    while (used < req.size() && !p.message_complete()) {
      used += p.feed(std::string_view(req).substr(used, step));
      p.drain_body_into(body);
    }
    ASSERT_TRUE(p.message_complete());
    EXPECT_TRUE(p.chunked());
    EXPECT_EQ(body, "hello world");
  }
}

TEST(ParserRequest, OversizedHeadersGive431) {
  http::parser p(http::message_kind::request, {.max_header_bytes = 100});
  std::string req = "GET / HTTP/1.1\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n";
  try {
    p.feed(req);
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.status_hint(), 431);
    EXPECT_NE(std::string(e.what()).find("100"), std::string::npos);
  }
}

TEST(ParserRequest, TooManyHeaderFieldsGive431) {
  http::parser p(http::message_kind::request, {.max_header_count = 3});
  std::string req = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 10; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  req += "\r\n";
  try {
    p.feed(req);
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.status_hint(), 431);
  }
}

TEST(ParserRequest, OversizedBodyGives413) {
  http::parser p(http::message_kind::request, {.max_body_bytes = 10});
  try {
    p.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.status_hint(), 413);
  }
  http::parser q(http::message_kind::request, {.max_body_bytes = 10});
  EXPECT_THROW(
      {
        q.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        q.feed("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
      },
      http::parse_error);
}

TEST(ParserRequest, GarbageIs400AndParserStaysFailed) {
  http::parser p(http::message_kind::request);
  try {
    p.feed("\x01\x02 nonsense\r\n\r\n");
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.status_hint(), 400);
    EXPECT_EQ(e.which(), http::parse_error::kind::malformed);
  }
  EXPECT_THROW(p.feed("GET / HTTP/1.1\r\n\r\n"), http::parse_error);
  p.reset();
  p.feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(p.message_complete());
}

TEST(ParserRequest, UpgradeLeavesTrailingBytes) {
  const std::string req =
      "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAWBYTES";
  http::parser p(http::message_kind::request);
  auto n = p.feed(req);
  EXPECT_TRUE(p.upgrade());
  EXPECT_TRUE(p.message_complete());
  EXPECT_EQ(req.substr(n), "RAWBYTES");
}

TEST(ParserResponse, ContentLengthAndReason) {
  http::parser p(http::message_kind::response);
  p.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nabc");
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.status(), 404);
  EXPECT_EQ(p.reason(), "Not Found");
  EXPECT_EQ(p.body(), "abc");
  EXPECT_TRUE(p.keep_alive());
}

TEST(ParserResponse, ReadUntilCloseCompletesOnEof) {
  http::parser p(http::message_kind::response);
  p.feed("HTTP/1.0 200 OK\r\n\r\nsome body");
  EXPECT_FALSE(p.message_complete());
  EXPECT_TRUE(p.feed_eof());
  EXPECT_TRUE(p.message_complete());
  EXPECT_EQ(p.body(), "some body");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ParserResponse, EofMidBodyIsIncomplete) {
  http::parser p(http::message_kind::response);
  p.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  try {
    p.feed_eof();
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.which(), http::parse_error::kind::incomplete);
  }
}

TEST(ParserResponse, EofBetweenMessagesIsClean) {
  http::parser p(http::message_kind::response);
  EXPECT_FALSE(p.feed_eof());
}

TEST(ParserResponse, HeadResponseHasNoBody) {
  http::parser p(http::message_kind::response);
  p.expect_no_body();
  auto n = p.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.content_length(), 1000u);
  p.reset();
  p.feed(std::string_view(
             "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
             .substr(n));
  EXPECT_EQ(p.status(), 204);
  EXPECT_TRUE(p.message_complete());
}

TEST(ParserResponse, BadChunkSizeIsMalformed) {
  http::parser p(http::message_kind::response);
  EXPECT_THROW(p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"),
               http::parse_error);
}

TEST(ParserResponse, StatusReasonTable) {
  EXPECT_EQ(http::status_reason(200), "OK");
  EXPECT_EQ(http::status_reason(431), "Request Header Fields Too Large");
}
