// Unix-socket streams (asyncio.open_unix_connection / start_unix_server, from
// test_asyncio/test_streams.py and test_unix_events.py's server cases) and the loop's
// low-level socket calls (test_asyncio/test_sock_lowlevel.py: test_sock_client_ops,
// test_sock_accept, test_recv_into, test_huge_content, test_sock_client_fail), on real
// sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

#include "concur/net.hpp"
#include "net/echo_handler.hpp"
#include "support/temp_dir.hpp"

namespace aio = concur::aio;
namespace net = concur::net;
using namespace std::chrono_literals;

namespace {

using concur_test::echo_lines;

aio::task<std::string> round_trip(std::string path, std::string line) {
  auto [reader, writer] = co_await net::open_unix_connection(path);
  writer.write(line);
  std::string back = co_await reader.readline();
  writer.close();
  co_await writer.wait_closed();
  co_return back;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

concur::unique_fd nonblocking_tcp() {
  return concur::unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

}  // namespace

TEST(UnixStreams, PathServerRoundTripAndCleanup) {  // start_unix_server(cleanup_socket=True)
  concur_test::temp_dir dir;
  const std::string path = (dir.path() / "echo.sock").string();
  aio::run([&]() -> aio::task<void> {
    auto srv = co_await net::start_unix_server(echo_lines, path);
    EXPECT_TRUE(is_socket(path));
    EXPECT_EQ(srv.sockets().at(0).str(), path);
    EXPECT_EQ(co_await round_trip(path, "hello\n"), "hello\n");
    srv.close();
    co_await srv.wait_closed();
  }());
  EXPECT_FALSE(std::filesystem::exists(path));  // removed on close
}

TEST(UnixStreams, AStaleSocketFileIsReplacedAnythingElseIsNot) {
  concur_test::temp_dir dir;
  const std::string path = (dir.path() / "stale.sock").string();
  {
    // A socket file left behind by a server that did not clean up.
    concur::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const auto ep = net::endpoint::unix_socket(path);
    ASSERT_EQ(::bind(fd.get(), ep.addr(), ep.length), 0);
  }
  ASSERT_TRUE(is_socket(path));
  const std::string regular = (dir.path() / "regular").string();
  { std::ofstream(regular) << "mine"; }
  aio::run([&]() -> aio::task<void> {
    auto srv = co_await net::start_unix_server(echo_lines, path);
    EXPECT_EQ(co_await round_trip(path, "again\n"), "again\n");
    srv.close();
    co_await srv.wait_closed();
    EXPECT_THROW(co_await net::start_unix_server(echo_lines, regular), net::connection_error);
  }());
  EXPECT_TRUE(std::filesystem::exists(regular));
}

TEST(UnixStreams, AbstractName) {
  const std::string name = "@concur-test-unix-" + std::to_string(::getpid());
  aio::run([&]() -> aio::task<void> {
    auto srv = co_await net::start_unix_server(echo_lines, name);
    EXPECT_EQ(srv.sockets().at(0).str(), name);
    EXPECT_EQ(co_await round_trip(name, "abstract\n"), "abstract\n");
    srv.close();
    co_await srv.wait_closed();
  }());
}

TEST(UnixStreams, NothingListeningIsRefusedAndNamed) {
  const std::string name = "@concur-test-nobody-" + std::to_string(::getpid());
  aio::run([&]() -> aio::task<void> {
    try {
      co_await net::open_unix_connection(name);
      ADD_FAILURE() << "connected to nothing";
    } catch (const net::connection_refused_error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }());
  EXPECT_THROW(net::endpoint::unix_socket(std::string(200, 'x')), concur::value_error);
  EXPECT_THROW(net::endpoint::unix_socket(""), concur::value_error);
}

TEST(SockLowLevel, ClientOpsAndAccept) {  // test_sock_client_ops, test_sock_accept
  auto got = aio::run([]() -> aio::task<std::string> {
    concur::unique_fd listener = nonblocking_tcp();
    auto any = net::endpoint();
    EXPECT_TRUE(net::endpoint::from_numeric("127.0.0.1", 0, any));
    EXPECT_EQ(::bind(listener.get(), any.addr(), any.length), 0);
    EXPECT_EQ(::listen(listener.get(), 4), 0);
    const auto address = net::endpoint::local_of(listener.get());

    concur::unique_fd client = nonblocking_tcp();
    auto accepting = aio::create_task(net::sock_accept(listener.get()));
    co_await net::sock_connect(client.get(), address);
    auto [conn, peer] = co_await std::move(accepting);
    EXPECT_EQ(peer.host(), "127.0.0.1");
    EXPECT_EQ(peer.port(), net::endpoint::local_of(client.get()).port());

    std::string request = "GET / HTTP/1.0\r\n\r\n";
    co_await net::sock_sendall(client.get(), request);
    std::string received;
    for (int i = 0; i < 100 && received.size() < request.size(); ++i)
      received += co_await net::sock_recv(conn.get(), 1024);
    EXPECT_EQ(received, request);

    std::string reply = "HTTP/1.0 200 OK\r\n\r\nbody";
    co_await net::sock_sendall(conn.get(), reply);
    conn.reset();  // end of stream for the client
    std::string back;
    std::byte buf[7];
    for (int i = 0; i < 100; ++i) {  // test_recv_into: small buffer, several reads
      const std::size_t n = co_await net::sock_recv_into(client.get(), buf);
      if (n == 0) break;
      back.append(reinterpret_cast<const char*>(buf), n);
    }
    co_return back;
  }());
  EXPECT_EQ(got, "HTTP/1.0 200 OK\r\n\r\nbody");
}

TEST(SockLowLevel, HugeContent) {  // test_huge_content: sendall parks while the peer reads
  constexpr std::size_t size = 8 * 1024 * 1024;
  auto total = aio::run([]() -> aio::task<std::size_t> {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    concur::unique_fd a(sv[0]);
    concur::unique_fd b(sv[1]);
    std::string data(size, 'z');
    auto sending = aio::create_task(net::sock_sendall(a.get(), std::move(data)));
    std::size_t got = 0;
    for (int i = 0; i < 100000 && got < size; ++i)
      got += (co_await net::sock_recv(b.get(), 65536)).size();
    co_await sending;
    co_return got;
  }());
  EXPECT_EQ(total, size);
}

TEST(SockLowLevel, ConnectFailsAndBlockingSocketsAreRefused) {  // test_sock_client_fail
  aio::run([]() -> aio::task<void> {
    concur::unique_fd probe = nonblocking_tcp();
    auto any = net::endpoint();
    EXPECT_TRUE(net::endpoint::from_numeric("127.0.0.1", 0, any));
    EXPECT_EQ(::bind(probe.get(), any.addr(), any.length), 0);
    const auto unused = net::endpoint::local_of(probe.get());  // bound, never listening
    concur::unique_fd client = nonblocking_tcp();
    EXPECT_THROW(co_await net::sock_connect(client.get(), unused), net::connection_refused_error);

    concur::unique_fd blocking(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_THROW(co_await net::sock_recv(blocking.get(), 10), concur::value_error);
    concur::unique_fd blocking_udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_THROW(co_await net::sock_recvfrom(blocking_udp.get(), 10), concur::value_error);
    std::string payload = "x";
    EXPECT_THROW(co_await net::sock_sendto(blocking_udp.get(), payload, unused),
                 concur::value_error);
  }());
}
