// response.content() (aiohttp's StreamReader over a body) and response.save(), against raw
// peers on 127.0.0.1 that send a body in pieces with pauses between them, so every read that
// has to wait for the next piece really waits.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "concur/http.hpp"
#include "concur/net.hpp"
#include "http/client_test_server.hpp"
#include "net/raw_server.hpp"

namespace aio = concur::aio;
namespace http = concur::http;
namespace net = concur::net;
namespace fs = std::filesystem;
using concur_test::raw_server;
using namespace std::chrono_literals;

namespace {

// A peer that answers one request with `head`, then each of `pieces` 20 ms apart.
raw_server::handler in_pieces(std::string head, std::vector<std::string> pieces) {
  return [head = std::move(head), pieces = std::move(pieces)](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(fd, head);
    for (const auto& p : pieces) {
      std::this_thread::sleep_for(20ms);
      raw_server::send_all(fd, p);
    }
    raw_server::wait_peer_close(fd);
  };
}

std::string chunk(const std::string& data) {
  std::ostringstream size;
  size << std::hex << data.size();
  return size.str() + "\r\n" + data + "\r\n";
}

constexpr const char* chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

// A folder of its own under the system's temporary folder, removed at the end.
struct scratch_dir {
  scratch_dir() {
    path = fs::temp_directory_path() /
           ("concur-stream-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename());
    return out;
  }
  fs::path path;
};

}  // namespace

TEST(ClientStream, ReadlineAndReaduntilWaitAcrossPieces) {
  raw_server peer(in_pieces(chunked_head, {chunk("alpha\nbe"), chunk("ta\n"), chunk("gamma\r\nde"),
                                           chunk("lta--end"), "0\r\n\r\n"}));
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    auto& content = r.content();
    EXPECT_EQ(co_await content.readline(), "alpha\n");
    EXPECT_EQ(co_await content.readline(), "beta\n");
    EXPECT_EQ(co_await content.readuntil("--"), "gamma\r\ndelta--");
    EXPECT_FALSE(content.at_eof());
    // At the end a line without its newline comes back as it is, then "".
    EXPECT_EQ(co_await content.readline(), "end");
    EXPECT_EQ(co_await content.readline(), "");
    EXPECT_TRUE(content.at_eof());
    EXPECT_TRUE(r.body_complete());
    EXPECT_EQ(session.connections_in_use(), 0u);
    EXPECT_EQ(session.connections_idle(), 1u);  // read to its end: back in the pool
  }());
}

TEST(ClientStream, ReadexactlyAndIncompleteRead) {
  raw_server peer(
      in_pieces("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", {"01", "2345", "6789"}));
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    EXPECT_EQ(co_await r.content().readexactly(4), "0123");
    EXPECT_EQ(co_await r.content().readexactly(4), "4567");
    try {
      co_await r.content().readexactly(4);
      ADD_FAILURE() << "no incomplete_read_error";
    } catch (const net::incomplete_read_error& e) {
      EXPECT_EQ(e.partial(), "89");
      EXPECT_EQ(e.expected(), 4u);
    }
    EXPECT_TRUE(r.content().at_eof());
  }());
}

TEST(ClientStream, ReadNReadanyAndReadNowait) {
  raw_server peer(in_pieces(chunked_head, {chunk("abcdef"), chunk("gh"), "0\r\n\r\n"}));
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    auto& content = r.content();
    EXPECT_EQ(co_await content.read(0), "");
    EXPECT_EQ(co_await content.read(4), "abcd");  // at most n, from what is there
    EXPECT_EQ(content.read_nowait(), "ef");       // the rest of what is buffered, no wait
    EXPECT_EQ(content.read_nowait(), "");         // nothing buffered: no wait either
    EXPECT_EQ(co_await content.readany(), "gh");  // waits for the next piece
    EXPECT_EQ(co_await content.readany(), "");
    EXPECT_EQ(co_await content.read(), "");
    EXPECT_TRUE(content.at_eof());
    // read() after the stream was read to its end is the empty rest, as in aiohttp.
    EXPECT_EQ(co_await r.read(), "");
  }());
}

TEST(ClientStream, IterChunkedLoopOverAGzipBody) {
  concur_test::http_test_server server([](concur_test::http_request) -> aio::task<std::string> {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";
    co_return concur_test::reply(200, http::compress(text, http::content_coding::gzip),
                                 "Content-Encoding: gzip\r\n", "text/plain");
  });
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(server.url("/"));
    std::string all;
    int chunks = 0;
    for (int i = 0; i < 100000; ++i) {
      std::string c = co_await r.content().read(1000);
      if (c.empty()) break;
      EXPECT_LE(c.size(), 1000u);
      all += c;
      ++chunks;
    }
    EXPECT_GT(chunks, 100);
    EXPECT_EQ(all.substr(0, 14), "line 0\nline 1\n");
    EXPECT_EQ(all.substr(all.size() - 11), "line 19999\n");
  }());
}

TEST(ClientStream, LineLongerThanTheLimitIsValueError) {
  raw_server peer(in_pieces(chunked_head, {chunk(std::string(40, 'x')), chunk("\n"), "0\r\n\r\n"}));
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    r.content().set_limit(16);
    EXPECT_THROW(co_await r.content().readline(), concur::value_error);
    EXPECT_THROW(co_await r.content().readuntil(""), concur::value_error);
  }());
}

TEST(ClientStream, BrokenBodyFailsEveryLaterReadNotOnlyTheFirst) {
  raw_server peer([](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });  // then closes: 90 bytes never come
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    std::string got = co_await r.content().readany();
    EXPECT_EQ(got, "only ten b");
    EXPECT_THROW(co_await r.content().readany(), http::payload_error);
    // The body did not end well: a second read must not look like the end of the body.
    EXPECT_THROW(co_await r.content().read(), http::payload_error);
    EXPECT_FALSE(r.body_complete());
    EXPECT_FALSE(r.content().at_eof());
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
}

TEST(ClientStream, SaveWritesTheWholeBodyAndLeavesNothingElse) {
  const std::string body(3 << 20, 's');
  concur_test::http_test_server server([&](concur_test::http_request) -> aio::task<std::string> {
    co_return concur_test::reply(200, body, "", "application/octet-stream");
  });
  scratch_dir dir;
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(server.url("/"));
    auto written = co_await r.save(dir.path / "out.bin");
    EXPECT_EQ(written, body.size());
  }());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.bin"});
  EXPECT_EQ(fs::file_size(dir.path / "out.bin"), body.size());
  std::ifstream in(dir.path / "out.bin", std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(back == body);
}

TEST(ClientStream, SaveOfABrokenBodyLeavesNoFileAndKeepsAnOldOne) {
  raw_server peer([](int fd) {
    raw_server::read_request(fd);
    raw_server::send_all(
        fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'p'));
  });
  scratch_dir dir;
  {
    std::ofstream old(dir.path / "kept.bin");
    old << "the previous download";
  }
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    EXPECT_THROW(co_await r.save(dir.path / "kept.bin"), http::payload_error);
    auto r2 = co_await session.get(peer.url("/"));
    EXPECT_THROW(co_await r2.save(dir.path / "new.bin"), http::payload_error);
  }());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"kept.bin"});
  std::ifstream in(dir.path / "kept.bin");
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, "the previous download");
}

TEST(ClientStream, SaveThatTimesOutLeavesNoFile) {
  raw_server peer(in_pieces("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                            {std::string(100, 't'), std::string(100, 't')}));
  scratch_dir dir;
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    EXPECT_THROW(co_await aio::wait_for(r.save(dir.path / "slow.bin"), 200ms),
                 concur::timeout_error);
  }());
  EXPECT_TRUE(dir.entries().empty());
}

TEST(ClientStream, SaveIntoAMissingFolderIsAnOsError) {
  concur_test::http_test_server server([](concur_test::http_request) -> aio::task<std::string> {
    co_return concur_test::reply(200, "x");
  });
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(server.url("/"));
    try {
      co_await r.save("/nonexistent-folder-of-concur/out.bin");
      ADD_FAILURE() << "no error";
    } catch (const concur::os_error& e) {
      EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    }
  }());
}

TEST(ClientStream, ReadingAfterReleaseIsAPayloadErrorNotACrash) {
  raw_server peer(in_pieces("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                            {std::string(100, 'r'), std::string(900, 'r')}));
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(peer.url("/"));
    r.release();
    EXPECT_THROW(co_await r.content().read(), http::payload_error);
    EXPECT_THROW(co_await r.content().readany(), http::payload_error);
    EXPECT_FALSE(r.body_complete());
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
}
