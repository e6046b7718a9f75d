// Responses written while the handler runs (stream_response, sse_response) and files
// (file_response, add_static): against a real server on 127.0.0.1, read by a raw socket client
// (so the bytes on the wire are what is checked) and by our client_session.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "concur/aio/sleep.hpp"
#include "concur/http.hpp"
#include "concur/net/errors.hpp"
#include "server_support.hpp"

namespace http = concur::http;
namespace aio = concur::aio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using server_test::get_request;
using server_test::raw_client;

namespace {

http::server_options local() {
  http::server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  return o;
}

// Waits (bounded) on the server's loop until the test thread sets `flag`.
aio::task<bool> wait_for(const std::atomic<bool>& flag) {
  for (int i = 0; i < 5000 && !flag.load(); ++i) co_await aio::sleep(1ms);
  co_return flag.load();
}

struct scratch_dir {
  scratch_dir() {
    path = fs::temp_directory_path() /
           ("concur-static-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& content) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name, std::ios::binary) << content;
    return path / name;
  }
  fs::path path;
};

std::string random_bytes(std::size_t n) {
  std::mt19937 gen(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// Reads raw bytes until `needle` has arrived (bounded by time).
bool read_until(raw_client& c, std::string& seen, std::string_view needle) {
  auto until = std::chrono::steady_clock::now() + 5s;
  while (seen.find(needle) == std::string::npos && std::chrono::steady_clock::now() < until) {
    char buf[4096];
    pollfd pfd{c.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    auto n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    seen.append(buf, static_cast<std::size_t>(n));
  }
  return seen.find(needle) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------- stream_response

TEST(ServerStream, ChunksGoOutAsWrittenNotWhenTheHandlerEnds) {
  std::atomic<bool> seen_first{false};
  http::application app;
  app.get("/s", [&](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    resp.content_type = "text/plain";
    co_await resp.prepare(req);
    co_await resp.write("first\n");
    bool released = co_await wait_for(seen_first);
    co_await resp.write(released ? "second\n" : "never released\n");
    co_await resp.write_eof("last\n");
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/s")));
  std::string seen;
  // The first chunk arrives while the handler is still waiting for us.
  ASSERT_TRUE(read_until(c, seen, "first\n"));
  EXPECT_NE(seen.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(seen.find("Content-Length"), std::string::npos);
  seen_first = true;
  ASSERT_TRUE(read_until(c, seen, "0\r\n\r\n"));
  EXPECT_NE(seen.find("6\r\nfirst\n\r\n7\r\nsecond\n\r\n5\r\nlast\n\r\n0\r\n\r\n"),
            std::string::npos)
      << seen;
  // The connection stays open for the next request.
  ASSERT_TRUE(c.send(get_request("/nothing")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST(ServerStream, KnownLengthIsSentAsContentLengthAndKeepsTheConnection) {
  http::application app;
  app.get("/s", [](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp(201, "Made");
    resp.content_length = 10;
    resp.headers.set("X-Kind", "stream");
    co_await resp.prepare(req);
    co_await resp.write("01234");
    co_await resp.write("56789");
    co_return resp;  // the server ends the body the handler left open
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send(get_request("/s")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->headers.get("Content-Length", ""), "10");
    EXPECT_EQ(r->headers.get("X-Kind", ""), "stream");
    EXPECT_EQ(r->body, "0123456789");
    EXPECT_TRUE(r->keep_alive);
  }
}

TEST(ServerStream, WritingPastTheLengthIsAValueErrorAndAShortBodyClosesTheConnection) {
  std::atomic<int> value_errors{0};
  http::application app;
  app.get("/s", [&](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    resp.content_length = 4;
    co_await resp.prepare(req);
    try {
      co_await resp.write("too long");
    } catch (const concur::value_error&) {
      ++value_errors;
    }
    co_await resp.write("ab");
    co_return resp;  // 2 of 4 bytes: the client must not take this as a whole message
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/s")));
  EXPECT_FALSE(c.read_response());
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(value_errors.load(), 1);
}

TEST(ServerStream, Http10GetsABodyThatEndsWithTheConnection) {
  http::application app;
  app.get("/s", [](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    co_await resp.prepare(req);
    co_await resp.write("old ");
    co_await resp.write("client");
    co_await resp.write_eof();
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("GET /s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "old client");
  EXPECT_FALSE(r->headers.contains("Transfer-Encoding"));
  EXPECT_EQ(r->headers.get("Connection", ""), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(ServerStream, HeadSendsTheFieldsAndNoBody) {
  http::application app;
  app.get("/s", [](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    resp.content_length = 5;
    co_await resp.prepare(req);
    co_await resp.write("hello");
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/s")));
  auto head = c.read_response(10s, true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers.get("Content-Length", ""), "5");
  EXPECT_EQ(head->body, "");
  auto get = c.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello");
}

TEST(ServerStream, AFailureAfterPrepareCutsTheBodyInsteadOfSendingA500) {
  http::application app;
  app.get("/s", [](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    co_await resp.prepare(req);
    co_await resp.write("partial");
    throw std::runtime_error("the handler failed midway");
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/s")));
  EXPECT_FALSE(c.read_response());  // no last chunk: not a complete message
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(ServerStream, MisuseIsAnInvalidStateError) {
  std::atomic<int> refused{0};
  http::application app;
  app.get("/s", [&](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    try {
      co_await resp.write("early");
    } catch (const concur::invalid_state_error&) {
      ++refused;
    }
    co_await resp.prepare(req);
    co_await resp.prepare(req);  // a second prepare does nothing
    http::stream_response second;
    try {
      co_await second.prepare(req);
    } catch (const concur::invalid_state_error&) {
      ++refused;
    }
    co_await resp.write_eof("ok");
    try {
      co_await resp.write("late");
    } catch (const concur::invalid_state_error&) {
      ++refused;
    }
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/s")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
  // The last refusal comes after the body went out: wait for the handler to get there.
  for (int i = 0; i < 1000 && refused.load() < 3; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(refused.load(), 3);

  // Outside a server there is no connection to write to.
  http::web_request bare;
  bare.assign("GET", "/");
  aio::run([&]() -> aio::task<void> {
    http::stream_response resp;
    EXPECT_THROW(co_await resp.prepare(bare), concur::invalid_state_error);
  }());
}

TEST(ServerStream, PipelinedRequestsAroundAStreamAnswerInOrder) {
  http::application app;
  app.get("/s", [](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    co_await resp.prepare(req);
    co_await resp.write("streamed");
    co_return resp;
  });
  app.get("/plain", [](http::web_request&) -> aio::task<http::web_response> {
    co_return http::text_response("plain");
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/plain") + get_request("/s") + get_request("/plain")));
  for (std::string_view expected : {"plain", "streamed", "plain"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, expected);
  }
}

TEST(ServerStream, AClientThatGoesAwayIsAConnectionResetForTheWriter) {
  std::atomic<int> resets{0};
  std::atomic<bool> done{false};
  http::application app;
  app.get("/s", [&](http::web_request& req) -> aio::task<http::web_response> {
    http::stream_response resp;
    co_await resp.prepare(req);
    const std::string block(64 * 1024, 'x');
    try {
      // Bounded: 16 GiB would take far longer than the client stays.
      for (int i = 0; i < 256 * 1024; ++i) co_await resp.write(block);
    } catch (const concur::net::connection_reset_error&) {
      ++resets;
    }
    done = true;
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  {
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(get_request("/s")));
    std::string seen;
    ASSERT_TRUE(read_until(c, seen, "xxxx"));
  }
  for (int i = 0; i < 1000 && !done; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(done.load());
  EXPECT_EQ(resets.load(), 1);
}

TEST(ServerStream, OurClientReadsAStreamPieceByPiece) {
  http::application app;
  app.get("/lines/{n}", [](http::web_request& req) -> aio::task<http::web_response> {
    int n = std::stoi(std::string(req.match_info("n")));
    http::stream_response resp;
    resp.content_type = "application/x-ndjson";
    co_await resp.prepare(req);
    for (int i = 0; i < n; ++i) co_await resp.write("{\"i\":" + std::to_string(i) + "}\n");
    co_await resp.write_eof();
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(srv.url("/lines/50"));
    int lines = 0;
    for (int i = 0; i < 100; ++i) {
      std::string line = co_await r.content().readline();
      if (line.empty()) break;
      EXPECT_EQ(line, "{\"i\":" + std::to_string(lines) + "}\n");
      ++lines;
    }
    EXPECT_EQ(lines, 50);
  }());
}

// ---------------------------------------------------------------- server-sent events

TEST(ServerSse, EventsAreFramedAndPushedAtOnce) {
  std::atomic<int> refused{0};
  http::application app;
  app.get("/events", [&](http::web_request& req) -> aio::task<http::web_response> {
    http::sse_response resp;
    co_await resp.prepare(req);
    co_await resp.send("hello");
    co_await resp.send("two\nlines\r\nand\rthree", "update", "7", 3000ms);
    co_await resp.send("resumed from " + std::string(resp.last_event_id()));
    co_await resp.ping();
    try {
      co_await resp.send("x", "bad\nname");
    } catch (const concur::value_error&) {
      ++refused;
    }
    try {
      co_await resp.send("x", {}, std::string("a\0b", 3));
    } catch (const concur::value_error&) {
      ++refused;
    }
    co_return resp;
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/events", "Last-Event-ID: 41\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers.get("Content-Type", ""), "text/event-stream");
  EXPECT_EQ(r->headers.get("Cache-Control", ""), "no-cache");
  EXPECT_EQ(r->body,
            "data: hello\n\n"
            "id: 7\nevent: update\nretry: 3000\ndata: two\ndata: lines\ndata: and\ndata: three\n\n"
            "data: resumed from 41\n\n"
            ": ping\n\n");
  EXPECT_EQ(refused.load(), 2);
}

// ---------------------------------------------------------------- HTTP-date, plans, types

TEST(HttpDate, FormatsImfFixdateAndParsesTheThreeForms) {
  EXPECT_EQ(http::format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  std::time_t t = 0;
  ASSERT_TRUE(http::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", t));
  EXPECT_EQ(t, 784111777);
  ASSERT_TRUE(http::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", t));
  EXPECT_EQ(t, 784111777);
  ASSERT_TRUE(http::parse_http_date("Sun Nov  6 08:49:37 1994", t));
  EXPECT_EQ(t, 784111777);
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37", "Sun, 6 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 32 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                          "1994-11-06T08:49:37Z", "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    EXPECT_FALSE(http::parse_http_date(bad, t)) << bad;
  }
}

TEST(FileAnswer, ConditionsFollowRfc9110Order) {
  const std::uint64_t size = 1000;
  const std::int64_t mtime_ns = std::int64_t(784111777) * 1'000'000'000 + 5;
  auto plain = http::plan_file_answer({}, size, mtime_ns);
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.length, size);
  const std::string etag(plain.fields.get("ETag", ""));
  EXPECT_EQ(
      etag, "\"" + [&] {
        std::ostringstream s;
        s << std::hex << mtime_ns << "-" << size;
        return s.str();
      }() + "\"");
  EXPECT_EQ(plain.fields.get("Last-Modified", ""), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(plain.fields.get("Accept-Ranges", ""), "bytes");

  auto with = [&](std::initializer_list<http::headers::value_type> h) {
    return http::plan_file_answer(http::headers(h), size, mtime_ns);
  };
  EXPECT_EQ(with({{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(with({{"If-None-Match", "\"other\", W/" + etag}}).status, 304);  // weak compare
  EXPECT_EQ(with({{"If-None-Match", "*"}}).status, 304);
  EXPECT_EQ(with({{"If-None-Match", "\"other\""}}).status, 200);
  EXPECT_EQ(with({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status, 304);
  EXPECT_EQ(with({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT"}}).status, 200);
  EXPECT_EQ(with({{"If-Modified-Since", "not a date"}}).status, 200);
  // If-None-Match wins over If-Modified-Since.
  EXPECT_EQ(
      with({{"If-None-Match", "\"other\""}, {"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}})
          .status,
      200);
  EXPECT_EQ(with({{"If-Match", "\"other\""}}).status, 412);
  EXPECT_EQ(with({{"If-Match", "W/" + etag}}).status, 412);  // strong compare
  EXPECT_EQ(with({{"If-Match", etag}}).status, 200);
  EXPECT_EQ(with({{"If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:36 GMT"}}).status, 412);
  EXPECT_EQ(with({{"If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status, 200);
  auto nm = with({{"If-None-Match", etag}});
  EXPECT_EQ(nm.length, 0U);
  EXPECT_EQ(nm.fields.get("ETag", ""), etag);
}

TEST(FileAnswer, RangesAreOneByteRangeOr416) {
  const std::uint64_t size = 1000;
  auto range = [&](std::string r, std::string if_range = {}) {
    http::headers h{{"Range", r}};
    if (!if_range.empty()) h.set("If-Range", if_range);
    return http::plan_file_answer(h, size, 1'000'000'000);
  };
  auto a = range("bytes=0-99");
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(a.offset, 0U);
  EXPECT_EQ(a.length, 100U);
  EXPECT_EQ(a.fields.get("Content-Range", ""), "bytes 0-99/1000");
  a = range("bytes=900-");
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(a.offset, 900U);
  EXPECT_EQ(a.length, 100U);
  a = range("bytes=-10");
  EXPECT_EQ(a.offset, 990U);
  EXPECT_EQ(a.length, 10U);
  a = range("bytes=-5000");  // more than the file: all of it, still 206
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(a.offset, 0U);
  EXPECT_EQ(a.length, 1000U);
  a = range("bytes=990-5000");  // the end is clamped to the file
  EXPECT_EQ(a.length, 10U);
  EXPECT_EQ(a.fields.get("Content-Range", ""), "bytes 990-999/1000");
  for (const char* bad : {"bytes=1000-", "bytes=5-2", "bytes=-0", "bytes=0-1,5-6", "items=0-1",
                          "bytes=", "bytes=-", "bytes=a-b", "bytes=99999999999999999999-"}) {
    auto b = range(bad);
    EXPECT_EQ(b.status, 416) << bad;
    EXPECT_EQ(b.fields.get("Content-Range", ""), "bytes */1000") << bad;
    EXPECT_EQ(b.length, 0U) << bad;
  }
  const std::string etag(http::plan_file_answer({}, size, 1'000'000'000).fields.get("ETag", ""));
  EXPECT_EQ(range("bytes=0-9", etag).status, 206);
  EXPECT_EQ(range("bytes=0-9", "\"stale\"").status, 200);
  EXPECT_EQ(range("bytes=0-9", "Thu, 01 Jan 1970 00:00:01 GMT").status, 206);
  EXPECT_EQ(range("bytes=0-9", "Thu, 01 Jan 1970 00:00:02 GMT").status, 200);
}

TEST(FileAnswer, ContentTypesByName) {
  EXPECT_EQ(http::guess_content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(http::guess_content_type("APP.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(http::guess_content_type("a/b/logo.png"), "image/png");
  EXPECT_EQ(http::guess_content_type("data.json"), "application/json");
  EXPECT_EQ(http::guess_content_type("noext"), "application/octet-stream");
  EXPECT_EQ(http::guess_content_type("archive.unknown"), "application/octet-stream");
}

// ---------------------------------------------------------------- files on the wire

TEST(ServerFiles, FileResponseSendsTheFileWithValidatorsRangesAndHead) {
  scratch_dir dir;
  const std::string content = random_bytes(300 * 1024);
  auto file = dir.write("data.bin", content);
  http::application app;
  app.get("/f", [file](http::web_request&) -> aio::task<http::web_response> {
    co_return http::file_response(file);
  });
  app.get("/missing", [&dir](http::web_request&) -> aio::task<http::web_response> {
    co_return http::file_response(dir.path / "nope.bin");
  });
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/f")));
  auto whole = c.read_response();
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == content);
  EXPECT_EQ(whole->headers.get("Content-Type", ""), "application/octet-stream");
  const std::string etag(whole->headers.get("ETag", ""));
  EXPECT_FALSE(etag.empty());
  EXPECT_TRUE(whole->headers.contains("Last-Modified"));

  ASSERT_TRUE(c.send(get_request("/f", "Range: bytes=100-199\r\n")));
  auto part = c.read_response();
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_TRUE(part->body == content.substr(100, 100));
  EXPECT_EQ(part->headers.get("Content-Range", ""), "bytes 100-199/307200");

  ASSERT_TRUE(c.send(get_request("/f", "Range: bytes=400000-\r\n")));
  auto unsatisfiable = c.read_response();
  ASSERT_TRUE(unsatisfiable);
  EXPECT_EQ(unsatisfiable->status, 416);
  EXPECT_EQ(unsatisfiable->body, "");

  ASSERT_TRUE(c.send(get_request("/f", "If-None-Match: " + etag + "\r\n")));
  auto not_modified = c.read_response();
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");

  ASSERT_TRUE(c.send("HEAD /f HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(10s, true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->headers.get("Content-Length", ""), "307200");
  EXPECT_EQ(head->body, "");

  ASSERT_TRUE(c.send(get_request("/missing")));
  auto missing = c.read_response();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(missing->keep_alive);  // the connection is still good after all of these
}

TEST(ServerFiles, ALargeFileReachesOurClientWhole) {
  scratch_dir dir;
  const std::string content = random_bytes(8 << 20);
  auto file = dir.write("big.bin", content);
  http::application app;
  http::add_static(app, "/static", dir.path);
  http::server srv(std::move(app), local());
  srv.start();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(srv.url("/static/big.bin"));
    EXPECT_EQ(r.status(), 200);
    auto saved = co_await r.save(dir.path / "copy.bin");
    EXPECT_EQ(saved, content.size());
  }());
  std::ifstream in(dir.path / "copy.bin", std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(back == content);
}

TEST(ServerStatic, ServesBelowTheRootAndRefusesEverythingElse) {
  scratch_dir dir;
  auto root = dir.path / "www";
  dir.write("www/index.html", "<p>home</p>");
  dir.write("www/css/site.css", "body{}");
  dir.write("www/a b.txt", "spaced");
  dir.write("secret.txt", "outside the root");
  fs::create_symlink(dir.path / "secret.txt", root / "leak.txt");
  fs::create_symlink(root / "css" / "site.css", root / "alias.css");
  fs::create_symlink("css/site.css", root / "relative.css");
  fs::create_symlink("../secret.txt", root / "up.txt");
  fs::create_directories(root / "empty");
  http::application app;
  http::add_static(app, "/static", root);
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  auto get = [&](const std::string& target) {
    EXPECT_TRUE(c.send(get_request(target)));
    auto r = c.read_response();
    return r ? *r : server_test::response{};
  };
  auto index = get("/static/index.html");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<p>home</p>");
  EXPECT_EQ(index.headers.get("Content-Type", ""), "text/html; charset=utf-8");
  EXPECT_EQ(get("/static/css/site.css").headers.get("Content-Type", ""), "text/css; charset=utf-8");
  EXPECT_EQ(get("/static/a%20b.txt").body, "spaced");
  // A link that stays inside the root is followed; one that leaves it is not.
  EXPECT_EQ(get("/static/alias.css").body, "body{}");
  EXPECT_EQ(get("/static/relative.css").body, "body{}");
  EXPECT_EQ(get("/static/up.txt").status, 404);
  EXPECT_EQ(get("/static/leak.txt").status, 404);
  EXPECT_EQ(get("/static/../secret.txt").status, 404);
  EXPECT_EQ(get("/static/css/../../secret.txt").status, 404);
  EXPECT_EQ(get("/static/%2e%2e/secret.txt").status, 404);
  EXPECT_EQ(get("/static/css%2f..%2f..%2fsecret.txt").status, 404);
  EXPECT_EQ(get("/static//etc/passwd").status, 403);
  EXPECT_EQ(get("/static/nope.txt").status, 404);
  EXPECT_EQ(get("/static/empty").status, 403);
  EXPECT_EQ(get("/static/index.html/x").status, 404);
}

TEST(ServerStatic, FollowSymlinksAndShowIndexAreOptIn) {
  scratch_dir dir;
  auto root = dir.path / "www";
  dir.write("www/b.txt", "b");
  dir.write("www/sub/a<&>.txt", "a");
  dir.write("elsewhere.txt", "linked");
  fs::create_symlink(dir.path / "elsewhere.txt", root / "link.txt");
  http::application app;
  http::add_static(app, "/pub", root, {.show_index = true, .follow_symlinks = true});
  EXPECT_THROW(http::add_static(app, "/x", dir.path / "no-such-dir"), http::route_error);
  http::server srv(std::move(app), local());
  srv.start();
  raw_client c(srv.port());
  ASSERT_TRUE(c.send(get_request("/pub/link.txt")));
  auto linked = c.read_response();
  ASSERT_TRUE(linked);
  EXPECT_EQ(linked->body, "linked");
  ASSERT_TRUE(c.send(get_request("/pub/../elsewhere.txt")));
  auto up = c.read_response();
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 404);  // following links never allows ".."
  ASSERT_TRUE(c.send(get_request("/pub/")));
  auto listing = c.read_response();
  ASSERT_TRUE(listing);
  EXPECT_EQ(listing->status, 200);
  EXPECT_NE(listing->body.find("<a href=\"/pub/b.txt\">b.txt</a>"), std::string::npos)
      << listing->body;
  EXPECT_NE(listing->body.find("<a href=\"/pub/sub/\">sub/</a>"), std::string::npos);
  ASSERT_TRUE(c.send(get_request("/pub/sub")));
  auto sub = c.read_response();
  ASSERT_TRUE(sub);
  EXPECT_NE(sub->body.find("a&lt;&amp;&gt;.txt"), std::string::npos) << sub->body;
  EXPECT_NE(sub->body.find("href=\"/pub/sub/a%3C%26%3E.txt\""), std::string::npos) << sub->body;
}
