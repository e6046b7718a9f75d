// client_session against real servers on 127.0.0.1: a well-behaved test server (its own loop
// and thread) and raw socket peers that misbehave on purpose.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "concur/http.hpp"
#include "concur/net.hpp"
#include "concur/version.hpp"
#include "http/client_test_server.hpp"
#include "net/raw_server.hpp"
#include "net/test_certs.hpp"

namespace aio = concur::aio;
namespace http = concur::http;
namespace net = concur::net;
using concur_test::http_request;
using concur_test::reply;
using namespace std::chrono_literals;

namespace {

// Routes used by most tests.
aio::task<std::string> routes(http_request req) {
  const std::string& t = req.target;
  if (t == "/posts/1") co_return reply(200, R"({"id":1,"title":"hello"})");
  if (t.rfind("/echo", 0) == 0) {
    nlohmann::json j;
    j["method"] = req.method;
    j["target"] = req.target;
    j["body"] = req.body;
    j["content_type"] = std::string(req.headers.get("content-type", ""));
    j["user_agent"] = std::string(req.headers.get("user-agent", ""));
    j["x_token"] = std::string(req.headers.get("x-token", ""));
    co_return reply(200, j.dump());
  }
  if (t.rfind("/redirect/", 0) == 0) {
    int n = std::stoi(t.substr(10));
    std::string next = n <= 1 ? "/posts/1" : "/redirect/" + std::to_string(n - 1);
    co_return reply(302, "", "Location: " + next + "\r\n", "text/plain");
  }
  if (t == "/see-other") co_return reply(303, "", "Location: /echo\r\n", "text/plain");
  if (t == "/temporary") co_return reply(307, "", "Location: /echo?again\r\n", "text/plain");
  if (t == "/chunked") {
    co_return std::string(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
  }
  if (t == "/gzip") {
    std::string text(10000, 'g');
    co_return reply(200, http::compress(text, http::content_coding::gzip),
                    "Content-Encoding: gzip\r\n", "text/plain");
  }
  if (t == "/big") co_return reply(200, std::string(3 << 20, 'b'), "", "text/plain");
  if (t == "/missing") co_return reply(404, R"({"error":"no"})");
  if (t == "/slow") {
    co_await aio::sleep(2s);
    co_return reply(200, "late");
  }
  co_return reply(404, "");
}

}  // namespace

TEST(ClientSession, GetJsonStatusHeaders) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(server.url("/posts/1"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.reason(), "OK");
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.content_type(), "application/json");
    EXPECT_EQ(r.headers().get("CONTENT-LENGTH").value_or(""), "24");
    auto j = co_await r.json();
    EXPECT_EQ(j["id"], 1);
    EXPECT_EQ(j["title"], "hello");
    EXPECT_EQ(co_await r.text(), R"({"id":1,"title":"hello"})");
    co_await session.close();
    EXPECT_TRUE(session.closed());
    EXPECT_THROW(co_await session.get(server.url("/posts/1")), http::client_error);
  }());
}

TEST(ClientSession, DefaultUserAgentCarriesTheVersion) {
  concur_test::http_test_server server(routes);
  auto agent = aio::run([&]() -> aio::task<std::string> {
    http::client_session session;
    auto r = co_await session.post(server.url("/echo"));
    auto j = co_await r.json();
    co_await session.close();
    co_return j["user_agent"].get<std::string>();
  }());
  EXPECT_EQ(agent, "concur/" + std::string(concur::version()));
}

TEST(ClientSession, BodiesParamsAndHeaders) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::session_options so;
    so.base_url = server.url("/");
    so.headers.set("X-Token", "session");
    so.user_agent = "test-agent";
    http::client_session session(so);

    http::request_options o;
    o.with_json({{"title", "foo"}, {"userId", 1}});
    auto r = co_await session.post("/echo", o);
    auto j = co_await r.json();
    EXPECT_EQ(j["method"], "POST");
    EXPECT_EQ(nlohmann::json::parse(j["body"].get<std::string>())["title"], "foo");
    EXPECT_EQ(j["content_type"], "application/json");
    EXPECT_EQ(j["user_agent"], "test-agent");
    EXPECT_EQ(j["x_token"], "session");

    http::request_options f;
    f.with_form({{"a", "1 2"}, {"b", "&"}}).with_param("q", "x y").with_header("x-token", "mine");
    auto r2 = co_await session.put("/echo", f);
    auto j2 = co_await r2.json();
    EXPECT_EQ(j2["method"], "PUT");
    EXPECT_EQ(j2["target"], "/echo?q=x%20y");
    EXPECT_EQ(j2["body"], "a=1%202&b=%26");
    EXPECT_EQ(j2["content_type"], "application/x-www-form-urlencoded");
    EXPECT_EQ(j2["x_token"], "mine");

    for (auto verb : {"PATCH", "DELETE", "OPTIONS"}) {
      auto r3 = co_await session.request(verb, "/echo");
      EXPECT_EQ((co_await r3.json())["method"], verb);
    }
    auto h = co_await session.head("/posts/1");
    EXPECT_EQ(h.status(), 200);
    EXPECT_EQ(co_await h.read(), "");
    // The HEAD response left the connection usable.
    auto again = co_await session.get("/posts/1");
    EXPECT_EQ(again.status(), 200);
    EXPECT_EQ(session.connections_opened(), 1u);

    http::request_options bad;
    bad.with_header("X-Evil", "a\r\nInjected: 1");
    EXPECT_THROW(co_await session.get("/echo", bad), http::client_error);
  }());
}

TEST(ClientSession, KeepAliveReusesOneConnection) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    for (int i = 0; i < 20; ++i) {
      auto r = co_await session.get(server.url("/posts/1"));
      EXPECT_EQ(co_await r.text(), R"({"id":1,"title":"hello"})");
    }
    EXPECT_EQ(session.connections_opened(), 1u);
    EXPECT_EQ(session.connections_idle(), 1u);
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests(), 20);
}

TEST(ClientSession, PoolLimitsBoundConcurrency) {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  concur_test::http_test_server server([&](http_request) -> aio::task<std::string> {
    int n = ++now;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
    co_await aio::sleep(30ms);
    --now;
    co_return reply(200, "ok", "", "text/plain");
  });
  aio::run([&]() -> aio::task<void> {
    http::session_options so;
    so.limit = 3;
    http::client_session session(so);
    auto one = [&]() -> aio::task<int> {
      auto r = co_await session.get(server.url("/x"));
      co_await r.read();
      co_return r.status();
    };
    std::vector<aio::task_handle<int>> tasks;
    for (int i = 0; i < 12; ++i) tasks.push_back(aio::create_task(one()));
    for (auto& t : tasks) EXPECT_EQ(co_await t, 200);
    EXPECT_LE(session.connections_opened(), 3u);
  }());
  EXPECT_EQ(peak.load(), 3);

  peak = 0;
  aio::run([&]() -> aio::task<void> {
    http::session_options so;
    so.limit_per_host = 2;
    http::client_session session(so);
    auto one = [&]() -> aio::task<int> {
      auto r = co_await session.get(server.url("/x"));
      co_await r.read();
      co_return r.status();
    };
    std::vector<aio::task_handle<int>> tasks;
    for (int i = 0; i < 8; ++i) tasks.push_back(aio::create_task(one()));
    for (auto& t : tasks) EXPECT_EQ(co_await t, 200);
  }());
  EXPECT_EQ(peak.load(), 2);
}

TEST(ClientSession, RedirectsFollowedLimitedAndPostBecomesGet) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(server.url("/redirect/3"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.url().path, "/posts/1");
    EXPECT_EQ(r.history().size(), 3u);
    if (r.history().size() != 3u) co_return;
    EXPECT_EQ(r.history()[0].status, 302);
    EXPECT_EQ(r.history()[0].url.path, "/redirect/3");
    EXPECT_EQ((co_await r.json())["id"], 1);

    http::request_options limited;
    limited.max_redirects = 2;
    EXPECT_THROW(co_await session.get(server.url("/redirect/5"), limited),
                 http::too_many_redirects);

    http::request_options post;
    post.with_json({{"a", 1}});
    auto p = co_await session.post(server.url("/see-other"), post);
    auto j = co_await p.json();
    EXPECT_EQ(j["method"], "GET");
    EXPECT_EQ(j["body"], "");

    http::request_options stay;
    stay.with_allow_redirects(false);
    auto s = co_await session.get(server.url("/redirect/1"), stay);
    EXPECT_EQ(s.status(), 302);
    EXPECT_EQ(s.headers().get("location").value_or(""), "/posts/1");
  }());
}

TEST(ClientSession, ChunkedGzipAndStreaming) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto c = co_await session.get(server.url("/chunked"));
    EXPECT_EQ(co_await c.text(), "hello world");
    auto g = co_await session.get(server.url("/gzip"));
    EXPECT_EQ(co_await g.text(), std::string(10000, 'g'));

    auto big = co_await session.get(server.url("/big"));
    std::size_t total = 0;
    int chunks = 0;
    for (int i = 0; i < 100000; ++i) {
      std::string chunk = co_await big.content().read(65536);
      if (chunk.empty()) break;
      EXPECT_LE(chunk.size(), 65536u);
      EXPECT_EQ(chunk.front(), 'b');
      total += chunk.size();
      ++chunks;
    }
    EXPECT_EQ(total, 3u << 20);
    EXPECT_GE(chunks, 48);
    EXPECT_TRUE(big.body_complete());
    // The streamed response gave its connection back.
    auto again = co_await session.get(server.url("/posts/1"));
    EXPECT_EQ(again.status(), 200);
    EXPECT_EQ(session.connections_opened(), 1u);
  }());
}

TEST(ClientSession, RaiseForStatusCarriesStatus) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(server.url("/missing"));
    EXPECT_EQ(r.status(), 404);
    EXPECT_FALSE(r.ok());
    try {
      r.raise_for_status();
      ADD_FAILURE() << "no throw";
    } catch (const http::http_error& e) {
      EXPECT_EQ(e.status(), 404);
      EXPECT_NE(std::string(e.what()).find("/missing"), std::string::npos);
    }
    http::session_options so;
    so.raise_for_status = true;
    http::client_session strict(so);
    try {
      co_await strict.get(server.url("/missing"));
      ADD_FAILURE() << "no throw";
    } catch (const http::http_error& e) {
      EXPECT_EQ(e.status(), 404);
    }
  }());
}

TEST(ClientSession, Timeouts) {
  concur_test::raw_server silent([](int fd) { concur_test::raw_server::wait_peer_close(fd); });
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    // sock_read: the server accepts and never answers.
    http::request_options o1;
    o1.with_timeout(http::client_timeout().with_sock_read(100ms));
    EXPECT_THROW(co_await session.get(silent.url("/"), o1), concur::timeout_error);
    // total (the short form, requests' timeout=0.15): the server answers too late.
    http::request_options o2;
    o2.with_timeout(150ms);
    auto start = aio::clock::now();
    EXPECT_THROW(co_await session.get(server.url("/slow"), o2), concur::timeout_error);
    EXPECT_LT(aio::clock::now() - start, 1900ms);
    // connect: TLS to a peer that never speaks TLS.
    http::request_options o3;
    o3.with_timeout(http::client_timeout().with_connect(100ms));
    std::string https = "https://127.0.0.1:" + std::to_string(silent.port()) + "/";
    EXPECT_THROW(co_await session.get(https, o3), concur::timeout_error);
  }());
}

TEST(ClientSession, MisbehavingPeers) {
  // Closes in the middle of the body.
  concur_test::raw_server cut([](int fd) {
    concur_test::raw_server::read_request(fd);
    concur_test::raw_server::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort");
  });
  // Header section larger than the client accepts.
  concur_test::raw_server huge([](int fd) {
    concur_test::raw_server::read_request(fd);
    concur_test::raw_server::send_all(
        fd, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100000, 'h') + "\r\n\r\n");
    concur_test::raw_server::wait_peer_close(fd);
  });
  // A chunk size that is not hex.
  concur_test::raw_server badchunk([](int fd) {
    concur_test::raw_server::read_request(fd);
    concur_test::raw_server::send_all(
        fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    concur_test::raw_server::wait_peer_close(fd);
  });
  // Not HTTP at all.
  concur_test::raw_server garbage([](int fd) {
    concur_test::raw_server::read_request(fd);
    concur_test::raw_server::send_all(fd, "SSH-2.0-OpenSSH\r\n\r\n");
    concur_test::raw_server::wait_peer_close(fd);
  });
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(cut.url("/"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_THROW(co_await r.read(), http::payload_error);
    EXPECT_THROW(co_await session.get(huge.url("/")), http::payload_error);
    try {
      auto b = co_await session.get(badchunk.url("/"));
      co_await b.read();
      ADD_FAILURE() << "bad chunk accepted";
    } catch (const http::payload_error& e) {
      EXPECT_NE(std::string(e.what()).find("chunk"), std::string::npos) << e.what();
    }
    EXPECT_THROW(co_await session.get(garbage.url("/")), http::payload_error);
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
}

TEST(ClientSession, FileBodyIsStreamedWithItsLengthAndSentAgainOnA307) {
  concur_test::http_test_server server(routes);
  const auto path = std::filesystem::temp_directory_path() /
                    ("concur-upload-" + std::to_string(::getpid()) + ".bin");
  std::string content;
  for (int i = 0; i < 50000; ++i) content += "row " + std::to_string(i) + "\n";
  {
    std::ofstream f(path, std::ios::binary);
    f << content;
  }
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.post(server.url("/echo"), http::request_options().with_file(path));
    auto j = co_await r.json();
    EXPECT_EQ(j["body"].get<std::string>().size(), content.size());
    EXPECT_TRUE(j["body"] == content);
    EXPECT_EQ(j["content_type"], "application/octet-stream");
    // 307 keeps the method and the body: the file is read again from its start.
    auto again =
        co_await session.post(server.url("/temporary"), http::request_options().with_file(path));
    auto k = co_await again.json();
    EXPECT_EQ(k["target"], "/echo?again");
    EXPECT_TRUE(k["body"] == content);
    // A missing file fails before any connection is made.
    const auto opened = session.connections_opened();
    EXPECT_THROW(co_await session.post(server.url("/echo"),
                                       http::request_options().with_file(path.string() + ".none")),
                 concur::os_error);
    EXPECT_EQ(session.connections_opened(), opened);
    EXPECT_THROW(co_await session.post(server.url("/echo"),
                                       http::request_options().with_file(path).with_data("x")),
                 http::client_error);
  }());
  std::filesystem::remove(path);
}

TEST(ClientSession, StreamedBodyIsAChunkedUploadSentOnce) {
  concur_test::http_test_server server([](http_request req) -> aio::task<std::string> {
    if (req.target == "/temporary") co_return reply(307, "", "Location: /\r\n", "text/plain");
    co_return reply(200, std::string(req.headers.get("transfer-encoding", "none")) + "|" +
                             std::string(req.headers.get("content-length", "none")) + "|" +
                             req.body);
  });
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    int next = 0;
    auto source = [&next]() -> aio::task<std::string> {
      if (next == 100) co_return std::string();
      co_await aio::sleep(0ms);  // a source may wait, as an async generator does
      co_return "piece-" + std::to_string(next++) + ";";
    };
    auto r = co_await session.post(server.url("/"), http::request_options().with_stream(source));
    std::string expected = "chunked|none|";
    for (int i = 0; i < 100; ++i) expected += "piece-" + std::to_string(i) + ";";
    EXPECT_EQ(co_await r.text(), expected);
    // An empty source is an empty chunked body.
    next = 100;
    auto empty =
        co_await session.post(server.url("/"), http::request_options().with_stream(source));
    EXPECT_EQ(co_await empty.text(), "chunked|none|");
    // A 307 would need the body again: a clear error, not a second (empty) upload.
    next = 0;
    try {
      co_await session.post(server.url("/temporary"), http::request_options().with_stream(source));
      ADD_FAILURE() << "the 307 was followed";
    } catch (const http::client_error& e) {
      EXPECT_NE(std::string(e.what()).find("streamed body"), std::string::npos) << e.what();
    }
  }());
}

TEST(ClientSession, FormDataPlainIsUrlencodedElseMultipartWithFilesStreamed) {
  concur_test::http_test_server server([](http_request req) -> aio::task<std::string> {
    co_return reply(200, std::string(req.headers.get("content-type", "")) + "|" +
                             std::string(req.headers.get("content-length", "")) + "|" + req.body);
  });
  const auto path = std::filesystem::temp_directory_path() /
                    ("concur-form-" + std::to_string(::getpid()) + ".txt");
  const std::string file_text(100000, 'f');
  std::ofstream(path, std::ios::binary) << file_text;
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    http::form_data plain;
    plain.add_field("a", "1 2").add_field("b", "x&y");
    auto r = co_await session.post(server.url("/"), http::request_options().with_form_data(plain));
    EXPECT_EQ(co_await r.text(), "application/x-www-form-urlencoded|15|a=1%202&b=x%26y");

    http::form_data form;
    form.add_field("title", "hello")
        .add_field("say \"hi\"\r\n", "v")
        .add_file("doc", path, "text/plain")
        .add_field("note", "*x*", "text/markdown", "note.md");
    auto m = co_await session.post(server.url("/"), http::request_options().with_form_data(form));
    const std::string echoed = co_await m.text();
    const auto bar1 = echoed.find('|');
    const auto bar2 = echoed.find('|', bar1 + 1);
    const std::string type = echoed.substr(0, bar1);
    const std::string body = echoed.substr(bar2 + 1);
    EXPECT_EQ(type.rfind("multipart/form-data; boundary=", 0), 0u) << type;
    if (type.find('=') == std::string::npos) co_return;
    const std::string boundary = type.substr(type.find('=') + 1);
    EXPECT_EQ(boundary.size(), 32u);
    EXPECT_EQ(std::stoul(echoed.substr(bar1 + 1, bar2 - bar1 - 1)), body.size());
    const std::string expected =
        "--" + boundary + "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n" +
        "--" + boundary +
        "\r\nContent-Disposition: form-data; name=\"say %22hi%22%0D%0A\"\r\n\r\nv\r\n" + "--" +
        boundary + "\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"" +
        path.filename().string() + "\"\r\nContent-Type: text/plain\r\n\r\n" + file_text + "\r\n" +
        "--" + boundary +
        "\r\nContent-Disposition: form-data; name=\"note\"; filename=\"note.md\"\r\n"
        "Content-Type: text/markdown\r\n\r\n*x*\r\n" +
        "--" + boundary + "--\r\n";
    EXPECT_TRUE(body == expected) << body.substr(0, 300);
    EXPECT_THROW(http::form_data().add_field("x", "v", "text/plain\r\nX-Injected: 1"),
                 concur::value_error);
    // Two requests never share a boundary.
    auto again =
        co_await session.post(server.url("/"), http::request_options().with_form_data(form));
    EXPECT_EQ((co_await again.text()).find(boundary), std::string::npos);
  }());
  std::filesystem::remove(path);
}

// A response that could be read two ways (response splitting) is refused, never guessed at.
TEST(ClientSession, AmbiguousResponsesAreRefused) {
  auto serving = [](std::string text) {
    return [text](int fd) {
      concur_test::raw_server::read_request(fd);
      concur_test::raw_server::send_all(fd, text);
      concur_test::raw_server::wait_peer_close(fd);
    };
  };
  concur_test::raw_server both(serving(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  concur_test::raw_server two_lengths(
      serving("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello"));
  concur_test::raw_server colon(serving("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello"));
  concur_test::raw_server version(serving("HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    for (auto* s : {&both, &two_lengths, &colon, &version}) {
      try {
        auto r = co_await session.get(s->url("/"));
        co_await r.read();
        ADD_FAILURE() << "accepted a response from " << s->url("/");
      } catch (const http::payload_error& e) {
        EXPECT_NE(std::string(e.what()).find("bad response"), std::string::npos) << e.what();
      }
    }
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
}

TEST(ClientSession, RefusedDnsAndBadUrls) {
  auto port = [] {
    concur_test::raw_server probe([](int) {});
    return probe.port();
  }();
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    EXPECT_THROW(co_await session.get("http://127.0.0.1:" + std::to_string(port) + "/"),
                 net::connection_refused_error);
    EXPECT_THROW(co_await session.get("http://nonexistent.invalid/"), net::dns_error);
    EXPECT_THROW(co_await session.get("not a url"), http::invalid_url_error);
    EXPECT_THROW(co_await session.get("ftp://example.com/"), http::invalid_url_error);
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
}

TEST(ClientSession, StaleKeepAliveConnectionIsRetried) {
  // Answers one request per connection but says keep-alive: the second request finds the
  // pooled connection closed and must go out on a fresh one without an error.
  concur_test::raw_server once([](int fd) {
    concur_test::raw_server::read_request(fd);
    concur_test::raw_server::send_all(fd, reply(200, "one", "", "text/plain"));
  });
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    for (int i = 0; i < 3; ++i) {
      auto r = co_await session.get(once.url("/"));
      EXPECT_EQ(co_await r.text(), "one");
      co_await aio::sleep(20ms);  // let the close arrive
    }
    EXPECT_EQ(session.connections_opened(), 3u);
  }());
}

TEST(ClientSession, ClientThatStopsReadingDropsTheConnection) {
  concur_test::http_test_server server(routes);
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    {
      auto r = co_await session.get(server.url("/big"));
      auto first = co_await r.content().read(1000);
      EXPECT_EQ(first.size(), 1000u);
    }  // dropped mid-body: the connection cannot be reused and is closed
    EXPECT_EQ(session.connections_in_use(), 0u);
    EXPECT_EQ(session.connections_idle(), 0u);
    auto r2 = co_await session.get(server.url("/posts/1"));
    EXPECT_EQ(r2.status(), 200);
    EXPECT_EQ(session.connections_opened(), 2u);
  }());
}

TEST(ClientSession, HttpsSelfSignedRejectedUnlessTrusted) {
  concur_test::temp_dir dir;
  auto files = concur_test::make_self_signed(dir.path());
  // A TLS front for the test routes, on this test's own thread pair: a net server on the
  // loop below, handing each request to `routes`.
  aio::run([&]() -> aio::task<void> {
    net::server_options so;
    so.tls = net::tls_context::server({.cert_file = files.cert_file, .key_file = files.key_file});
    auto srv = co_await net::start_server(
        [](net::stream_reader r, net::stream_writer w) -> aio::task<void> {
          http::parser p(http::message_kind::request);
          while (!p.message_complete()) {
            if (!r.buffered().empty()) {
              r.consume(p.feed(r.buffered()));
              continue;
            }
            if (!co_await r.fill()) co_return;
          }
          w.write(reply(200, R"({"secure":true})"));
          co_await w.drain();
          w.close();
        },
        "127.0.0.1", 0, so);
    std::string u = "https://localhost:" + std::to_string(srv.port()) + "/";

    http::client_session strict;
    try {
      co_await strict.get(u);
      ADD_FAILURE() << "self-signed certificate accepted";
    } catch (const net::tls_error& e) {
      EXPECT_NE(std::string(e.what()).find("self-signed"), std::string::npos) << e.what();
    }

    http::session_options trusting;
    trusting.tls.ca_file = files.cert_file;
    http::client_session ok(trusting);
    auto r = co_await ok.get(u);
    EXPECT_EQ((co_await r.json())["secure"], true);

    http::session_options unverified;
    unverified.tls.verify = false;
    http::client_session loose(unverified);
    auto r2 = co_await loose.get("https://127.0.0.1:" + std::to_string(srv.port()) + "/");
    EXPECT_EQ(r2.status(), 200);
    srv.close();
    co_await srv.wait_closed();
  }());
}
