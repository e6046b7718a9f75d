#include "concur/http/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
      "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n"
      "Connection: close\r\n\r\n";
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
      "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
      "world\r\n"
      "0\r\n\r\n";
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
    p.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n");
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.status_hint(), 413);
  }
  http::parser q(http::message_kind::request, {.max_body_bytes = 10});
  EXPECT_THROW(
      {
        q.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
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
  p.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(p.message_complete());
}

TEST(ParserRequest, UpgradeLeavesTrailingBytes) {
  const std::string req =
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAWBYTES";
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

// ---- strictness (RFC 9112): a message that could be read two ways is refused

namespace {

// How a parse ends: the status a server answers (400, 431, 413, 501, 505), 200 for a complete
// message, 0 when it waits for more bytes.
int outcome(http::message_kind kind, std::string_view text, std::size_t step) {
  http::parser p(kind);
  try {
    feed_all(p, text, step);
    return p.message_complete() ? 200 : 0;
  } catch (const http::parse_error& e) {
    return e.status_hint();
  }
}

struct strict_case {
  const char* why;
  std::string text;
  int expected;
};

// Whole, in 7-byte pieces and byte by byte: the answer must not depend on how bytes arrive.
void expect_outcomes(http::message_kind kind, const std::vector<strict_case>& cases) {
  for (const auto& c : cases) {
    for (std::size_t step : {c.text.size(), std::size_t{7}, std::size_t{1}})
      EXPECT_EQ(outcome(kind, c.text, step), c.expected) << c.why << " (pieces of " << step << ")";
  }
}

std::string get_with(const std::string& fields) {
  return "GET / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n";
}

std::string chunked_post(const std::string& chunks) {
  return "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks;
}

}  // namespace

TEST(ParserStrict, RequestLine) {
  expect_outcomes(
      http::message_kind::request,
      {
          {"HTTP/9.9", "GET / HTTP/9.9\r\nHost: h\r\n\r\n", 505},
          {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
          {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
          {"HTTP/0.9", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505},
          {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
          {"version without dot", "GET / HTTP/11\r\nHost: h\r\n\r\n", 400},
          {"space after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
          {"two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
          {"tab as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
          {"no version", "GET /\r\nHost: h\r\n\r\n", 400},
          {"method not a token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
          {"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
          {"NUL in target", std::string("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 30), 400},
          {"leading empty lines are ignored", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 200},
          {"leading bare LF", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
          {"any token is a method", "PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n", 200},
          {"HTTP/1.0 needs no Host", "GET / HTTP/1.0\r\n\r\n", 200},
      });
}

TEST(ParserStrict, FieldLines) {
  expect_outcomes(http::message_kind::request,
                  {
                      {"space before colon", get_with("Content-Length : 5\r\n") + "hello", 400},
                      {"tab before colon", get_with("X-A\t: 1\r\n"), 400},
                      {"obs-fold", get_with("X-A: a\r\n b\r\n"), 400},
                      {"space before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
                      {"bare LF after a field", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
                      {"bare LF ends the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
                      {"bare CR in a value", get_with("X-A: a\rb\r\n"), 400},
                      {"NUL in a value", get_with(std::string("X-A: a\0b\r\n", 10)), 400},
                      {"DEL in a value", get_with("X-A: a\x7f\r\n"), 400},
                      {"no colon", get_with("X-A\r\n"), 400},
                      {"empty name", get_with(": v\r\n"), 400},
                      {"name not a token", get_with("X@A: v\r\n"), 400},
                      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
                      {"two Hosts", get_with("Host: other\r\n"), 400},
                      {"Host with a path", "GET / HTTP/1.1\r\nHost: h/x\r\n\r\n", 400},
                      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 400},
                      {"Host with a port", "GET / HTTP/1.1\r\nHost: h:8080\r\n\r\n", 200},
                      {"tab in a value, OWS around it", get_with("X-A:\t a\tb \t\r\n"), 200},
                      {"obs-text in a value", get_with("X-A: caf\xc3\xa9\r\n"), 200},
                  });
}

TEST(ParserStrict, Framing) {
  expect_outcomes(
      http::message_kind::request,
      {
          {"Content-Length and Transfer-Encoding",
           get_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400},
          {"two equal Content-Lengths",
           get_with("Content-Length: 1\r\nContent-Length: 1\r\n") + "a", 400},
          {"a Content-Length list", get_with("Content-Length: 1, 1\r\n") + "a", 400},
          {"signed Content-Length", get_with("Content-Length: +1\r\n") + "a", 400},
          {"hex Content-Length", get_with("Content-Length: 0x1\r\n") + "a", 400},
          {"20-digit Content-Length", get_with("Content-Length: 00000000000000000001\r\n") + "a",
           400},
          {"chunked not last", get_with("Transfer-Encoding: chunked, gzip\r\n") + "0\r\n\r\n", 400},
          {"chunked twice", get_with("Transfer-Encoding: chunked, chunked\r\n") + "0\r\n\r\n", 400},
          {"chunked twice over two fields",
           get_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n",
           400},
          {"not quite chunked", get_with("Transfer-Encoding: xchunked\r\n") + "0\r\n\r\n", 400},
          {"gzip before chunked", get_with("Transfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n",
           501},
          {"Transfer-Encoding in HTTP/1.0",
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
          {"vertical tab after chunked", get_with("Transfer-Encoding: chunked\x0b\r\n"), 400},
          {"CONNECT with a body",
           "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 1\r\n\r\na", 400},
          {"chunked in any case", get_with("Transfer-Encoding: ChUnKeD\r\n") + "0\r\n\r\n", 200},
          {"leading zeros in Content-Length", get_with("Content-Length: 001\r\n") + "a", 200},
      });
}

TEST(ParserStrict, ChunkedBody) {
  expect_outcomes(
      http::message_kind::request,
      {
          {"data not followed by CRLF", chunked_post("5\r\nhelloXX\r\n0\r\n\r\n"), 400},
          {"data followed by LF", chunked_post("5\r\nhello\n0\r\n\r\n"), 400},
          {"control byte in an extension", chunked_post("5;a=\x01\r\nhello\r\n0\r\n\r\n"), 400},
          {"DEL in a quoted extension", chunked_post("5;a=\"x\x7f\"\r\nhello\r\n0\r\n\r\n"), 400},
          {"bare CR in an extension", chunked_post("5;a\rb\r\nhello\r\n0\r\n\r\n"), 400},
          {"space after the size", chunked_post("5 \r\nhello\r\n0\r\n\r\n"), 400},
          {"extension without a name", chunked_post("5;=1\r\nhello\r\n0\r\n\r\n"), 400},
          {"unterminated quoted extension", chunked_post("5;a=\"x\r\nhello\r\n0\r\n\r\n"), 400},
          {"0x prefix", chunked_post("0x5\r\nhello\r\n0\r\n\r\n"), 400},
          {"negative size", chunked_post("-5\r\nhello\r\n0\r\n\r\n"), 400},
          {"size over 64 bits", chunked_post("fffffffffffffffff\r\n"), 400},
          {"size line with bare LF", chunked_post("5\nhello\r\n0\r\n\r\n"), 400},
          {"folded trailer", chunked_post("0\r\nX-T: 1\r\n 2\r\n\r\n"), 400},
          {"trailer without colon", chunked_post("0\r\nX-T\r\n\r\n"), 400},
          {"extensions with BWS and quoted pairs",
           chunked_post("5 ; a = \"q\\\"x\" ;b;c=d\r\nhello\r\n0;e\r\n\r\n"), 200},
          {"trailers are read and dropped", chunked_post("5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"), 200},
          {"a chunk not yet ended waits", chunked_post("5\r\nhel"), 0},
      });
}

TEST(ParserStrict, Responses) {
  expect_outcomes(
      http::message_kind::response,
      {
          {"HTTP/2.0 status line", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 505},
          {"status 600", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", 400},
          {"two-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", 400},
          {"status glued to reason", "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", 400},
          {"control byte in reason", "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n", 400},
          {"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200},
          {"Content-Length and Transfer-Encoding",
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           400},
          {"two Content-Lengths",
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
          {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 400},
          {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 400},
          {"chunk data not followed by CRLF",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400},
          {"whitespace before the first field", "HTTP/1.1 200 OK\r\n X: 1\r\n\r\n", 400},
      });
}

TEST(ParserStrict, ResponseFoldIsReplacedBySpace) {
  http::parser p(http::message_kind::response);
  p.feed("HTTP/1.1 200 OK\r\nX-Long: first\r\n  \t second\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.headers().get("X-Long").value_or(""), "first second");
}

TEST(ParserStrict, ResponseChunkedNotLastReadsToClose) {
  // RFC 9112 section 6.3 item 4: a response whose final coding is not chunked ends at the close.
  http::parser p(http::message_kind::response);
  p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes");
  EXPECT_FALSE(p.message_complete());
  EXPECT_FALSE(p.keep_alive());
  EXPECT_TRUE(p.feed_eof());
  EXPECT_EQ(p.body(), "raw bytes");
}

TEST(ParserStrict, HeadResponseKeepsItsContentLength) {
  http::parser p(http::message_kind::response);
  p.expect_no_body();
  p.feed("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.content_length(), 42u);
  EXPECT_TRUE(p.body().empty());
}

TEST(ParserStrict, ErrorsNameTheRule) {
  http::parser p(http::message_kind::request);
  try {
    p.feed(get_with("Content-Length : 5\r\n"));
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_NE(std::string(e.what()).find("colon"), std::string::npos) << e.what();
  }
  http::parser q(http::message_kind::request);
  try {
    q.feed("GET / HTTP/9.9\r\n");
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.which(), http::parse_error::kind::version_not_supported);
    EXPECT_NE(std::string(e.what()).find("9.9"), std::string::npos) << e.what();
  }
}

TEST(ParserStrict, LongLineIsRefusedBeforeItEnds) {
  // A request line that never ends must not be buffered past the limit.
  http::parser p(http::message_kind::request, {.max_header_bytes = 1024});
  std::string piece(256, 'a');
  EXPECT_NO_THROW(p.feed("GET /"));
  try {
    for (int i = 0; i < 8; ++i) p.feed(piece);
    FAIL() << "no error";
  } catch (const http::parse_error& e) {
    EXPECT_EQ(e.status_hint(), 431);
  }
}

TEST(ParserStrict, PipelinedAfterChunkedStaysWithCaller) {
  const std::string two =
      chunked_post("3\r\nabc\r\n0\r\n\r\n") + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  http::parser p(http::message_kind::request);
  auto n = p.feed(two);
  ASSERT_TRUE(p.message_complete());
  EXPECT_EQ(p.body(), "abc");
  EXPECT_EQ(two.substr(n), "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
}
