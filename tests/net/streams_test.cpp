// Streams over real sockets on 127.0.0.1: our server and client against each other, and
// against raw blocking peers that misbehave on purpose.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>

#include "concur/net.hpp"
#include "net/echo_handler.hpp"
#include "net/raw_server.hpp"
#include "net/test_certs.hpp"

namespace aio = concur::aio;
namespace net = concur::net;
using namespace std::chrono_literals;

namespace {

using concur_test::echo_lines;

// A port with nothing listening on it.
std::uint16_t unused_port() {
  concur_test::raw_server probe([](int) {});
  return probe.port();
}

}  // namespace

TEST(Streams, EchoRoundTripAndReaderApi) {
  auto result = aio::run([]() -> aio::task<std::string> {
    auto srv = co_await net::start_server(echo_lines, "127.0.0.1", 0);
    EXPECT_TRUE(srv.is_serving());
    EXPECT_NE(srv.port(), 0);
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", srv.port());
    EXPECT_EQ(writer.peername().port(), srv.port());
    EXPECT_EQ(writer.get_extra_info("sockname")->host(), "127.0.0.1");
    EXPECT_FALSE(writer.get_extra_info("nonsense").has_value());
    writer.write("hello\nworld\n");
    co_await writer.drain();
    std::string a = co_await reader.readline();
    std::string b = co_await reader.readexactly(3);
    std::string c = co_await reader.readuntil("\n");
    writer.write("tail\n");
    writer.write_eof();
    std::string rest = co_await reader.read();
    EXPECT_TRUE(reader.at_eof());
    writer.close();
    co_await writer.wait_closed();
    srv.close();
    co_await srv.wait_closed();
    EXPECT_FALSE(srv.is_serving());
    co_return a + "|" + b + "|" + c + "|" + rest;
  }());
  EXPECT_EQ(result, "hello\n|wor|ld\n|tail\n");
}

// A listening AF_UNIX socket on an abstract name, and a blocking client of it.
concur::unique_fd unix_socket(const std::string& name, bool listen) {
  concur::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const auto* sa = reinterpret_cast<const sockaddr*>(&a);
  if (listen) {
    EXPECT_EQ(::bind(fd.get(), sa, len), 0);
    EXPECT_EQ(::listen(fd.get(), 8), 0);
  } else {
    EXPECT_EQ(::connect(fd.get(), sa, len), 0);
  }
  return fd;
}

TEST(Streams, StartServerOnAUnixSocketTheCallerMade) {  // start_server(cb, sock=sock)
  const std::string name = "concur-test-" + std::to_string(::getpid());
  auto listener = unix_socket(name, true);
  std::string echoed;
  std::atomic<bool> client_done{false};
  std::thread client;
  aio::run([&]() -> aio::task<void> {
    auto srv = co_await net::start_server(echo_lines, std::move(listener));
    EXPECT_EQ(srv.sockets().at(0).str(), "@" + name);
    client = std::thread([&] {
      auto fd = unix_socket(name, false);
      const std::string line = "over unix\n";
      EXPECT_EQ(::send(fd.get(), line.data(), line.size(), 0), static_cast<ssize_t>(line.size()));
      char buf[64];
      for (int i = 0; i < 100 && echoed.size() < line.size(); ++i) {
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        echoed.append(buf, static_cast<std::size_t>(n));
      }
      client_done = true;
    });
    for (int i = 0; i < 1000 && !client_done; ++i) co_await aio::sleep(0.01);
    for (int i = 0; i < 1000 && srv.active_connections() > 0; ++i) co_await aio::sleep(0.01);
    srv.close();
    co_await srv.wait_closed();
  }());
  client.join();
  EXPECT_EQ(echoed, "over unix\n");
}

TEST(Streams, StartServerRefusesASocketThatIsNotListening) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  concur::unique_fd other(sv[1]);
  EXPECT_THROW(aio::run([&]() -> aio::task<void> {
                 concur::unique_fd mine(sv[0]);
                 auto srv = co_await net::start_server(echo_lines, std::move(mine));
                 (void)srv;
               }()),
               concur::error);
}

TEST(Streams, ReadErrorsIncompleteAndLimit) {
  concur_test::raw_server peer([](int fd) {
    concur_test::raw_server::send_all(fd, "abc");
    ::shutdown(fd, SHUT_WR);
    concur_test::raw_server::wait_peer_close(fd);
  });
  aio::run([&]() -> aio::task<void> {
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", peer.port());
    try {
      co_await reader.readexactly(10);
      ADD_FAILURE() << "no error";
    } catch (const net::incomplete_read_error& e) {
      EXPECT_EQ(e.partial(), "abc");
      EXPECT_EQ(e.expected(), 10u);
    }
    EXPECT_EQ(co_await reader.read(), "");
    writer.close();
  }());

  concur_test::raw_server talker([](int fd) {
    concur_test::raw_server::send_all(fd, std::string(300, 'x'));
    concur_test::raw_server::wait_peer_close(fd);
  });
  aio::run([&]() -> aio::task<void> {
    net::connection_options o;
    o.limit = 100;
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", talker.port(), o);
    EXPECT_THROW(co_await reader.readuntil("\n"), net::limit_overrun_error);
    writer.close();
  }());
}

TEST(Streams, RefusedConnectionNamesHostAndPort) {
  auto port = unused_port();
  aio::run([&]() -> aio::task<void> {
    try {
      co_await net::open_connection("127.0.0.1", port);
      ADD_FAILURE() << "connected";
    } catch (const net::connection_refused_error& e) {
      EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
          << e.what();
    }
  }());
}

TEST(Streams, DnsFailureIsFastAndNamed) {
  auto start = std::chrono::steady_clock::now();
  aio::run([]() -> aio::task<void> {
    try {
      co_await net::open_connection("nonexistent.invalid", 80);
      ADD_FAILURE() << "resolved";
    } catch (const net::dns_error& e) {
      EXPECT_NE(std::string(e.what()).find("nonexistent.invalid:80"), std::string::npos);
    }
  }());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(Streams, LocalhostResolvesOffTheLoop) {
  aio::run([]() -> aio::task<void> {
    auto srv = co_await net::start_server(echo_lines, "127.0.0.1", 0);
    auto addrs = co_await net::resolve("localhost", srv.port());
    EXPECT_FALSE(addrs.empty());
    auto [reader, writer] = co_await net::open_connection("localhost", srv.port());
    writer.write("ping\n");
    EXPECT_EQ(co_await reader.readline(), "ping\n");
    writer.close();
    srv.close();
    co_await srv.wait_closed();
  }());
}

TEST(Streams, ReadTimeout) {
  concur_test::raw_server silent([](int fd) { concur_test::raw_server::wait_peer_close(fd); });
  aio::run([&]() -> aio::task<void> {
    net::connection_options o;
    o.read_timeout = 100ms;
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", silent.port(), o);
    try {
      co_await reader.read(10);
      ADD_FAILURE() << "no timeout";
    } catch (const concur::timeout_error& e) {
      EXPECT_NE(std::string(e.what()).find("127.0.0.1:"), std::string::npos);
    }
    writer.close();
  }());
}

TEST(Streams, ConnectTimeoutCoversTlsHandshake) {
  // Accepts TCP but never speaks TLS: the connect deadline must still fire.
  concur_test::raw_server silent([](int fd) { concur_test::raw_server::wait_peer_close(fd); });
  aio::run([&]() -> aio::task<void> {
    net::connection_options o;
    o.tls = net::tls_context::client();
    o.connect_timeout = 150ms;
    EXPECT_THROW(co_await net::open_connection("127.0.0.1", silent.port(), o),
                 concur::timeout_error);
  }());
}

TEST(Streams, TlsEchoWithTrustedSelfSignedCert) {
  concur_test::temp_dir dir;
  auto files = concur_test::make_self_signed(dir.path());
  aio::run([&]() -> aio::task<void> {
    net::server_options so;
    so.limit = 1 << 20;
    so.tls = net::tls_context::server({.cert_file = files.cert_file, .key_file = files.key_file});
    auto srv = co_await net::start_server(echo_lines, "127.0.0.1", 0, so);

    net::connection_options o;
    o.tls = net::tls_context::client({.ca_file = files.cert_file});
    o.server_hostname = "localhost";
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", srv.port(), o);
    EXPECT_EQ(writer.tls_version(), "TLSv1.3");
    std::string big(200000, 'y');
    big += '\n';
    writer.write(big);
    co_await writer.drain();
    reader.set_limit(1 << 20);
    std::string back = co_await reader.readline();
    EXPECT_EQ(back.size(), big.size());
    EXPECT_TRUE(back == big);
    writer.close();
    co_await writer.wait_closed();

    // The default context rejects the self-signed certificate, naming the reason.
    net::connection_options strict;
    strict.tls = net::tls_context::client();
    try {
      co_await net::open_connection("localhost", srv.port(), strict);
      ADD_FAILURE() << "self-signed certificate accepted";
    } catch (const net::tls_error& e) {
      EXPECT_NE(std::string(e.what()).find("self-signed"), std::string::npos) << e.what();
    }
    srv.close();
    co_await srv.wait_closed();
  }());
}

TEST(Streams, DrainBlocksWhilePeerDoesNotRead) {
  aio::run([]() -> aio::task<void> {
    // The handler writes far more than socket buffers hold; the client reads nothing at
    // first, so drain() must wait rather than buffer without bound.
    bool drained = false;
    std::size_t buffered_at_block = 0;
    auto handler = [&](net::stream_reader, net::stream_writer w) -> aio::task<void> {
      std::string chunk(1 << 20, 'z');
      for (int i = 0; i < 16; ++i) {
        w.write(chunk);
        buffered_at_block = std::max(buffered_at_block, w.write_buffer_size());
        co_await w.drain();
      }
      drained = true;
      w.close();
      co_await w.wait_closed();
    };
    auto srv = co_await net::start_server(handler, "127.0.0.1", 0);
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", srv.port());
    co_await aio::sleep(200ms);
    EXPECT_FALSE(drained);
    EXPECT_GT(buffered_at_block, 64u * 1024);
    std::size_t total = 0;
    for (int i = 0; i < 100000 && !reader.at_eof(); ++i) {
      total += (co_await reader.read(1 << 20)).size();
    }
    EXPECT_EQ(total, 16u << 20);
    EXPECT_TRUE(drained);
    writer.close();
    srv.close();
    co_await srv.wait_closed();
  }());
}

// A peer that sends everything and its FIN in one go, to a reader whose buffer limit makes it
// pause and resume reading many times: the socket's edges are spent long before the reader
// asks again, so every resume has to read at once what is there (edge-triggered readiness).
TEST(Streams, DataThenEofInOneGoReachesAPausingReader) {
  aio::run([]() -> aio::task<void> {
    constexpr std::size_t size = 1 << 20;
    std::size_t got = 0;
    bool reached_eof = false;
    aio::event done;
    auto handler = [&](net::stream_reader r, net::stream_writer w) -> aio::task<void> {
      co_await aio::sleep(50ms);  // everything, FIN included, is queued in the socket now
      for (int i = 0; i < 100000 && !r.at_eof(); ++i) got += (co_await r.read(1000)).size();
      reached_eof = r.at_eof();
      w.close();
      done.set();
    };
    net::server_options so;
    so.limit = 4096;
    auto srv = co_await net::start_server(handler, "127.0.0.1", 0, so);
    std::uint16_t port = srv.port();
    std::thread peer([port] {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        std::string data(size, 'q');
        for (std::size_t sent = 0; sent < data.size();) {
          auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<std::size_t>(n);
        }
        ::shutdown(fd, SHUT_WR);
        char sink[256];
        while (::recv(fd, sink, sizeof sink, 0) > 0) {
        }
      }
      ::close(fd);
    });
    try {
      co_await aio::wait_for(done.wait(), 30s);
    } catch (const aio::timeout_error&) {
      ADD_FAILURE() << "the reader never reached the end: got " << got << " bytes";
    }
    srv.close();
    co_await srv.wait_closed();
    co_await aio::to_thread([&peer] { peer.join(); });
    EXPECT_EQ(got, size);
    EXPECT_TRUE(reached_eof);
  }());
}

TEST(Streams, ServerWaitClosedWaitsForHandlersAndCloseClients) {
  aio::run([]() -> aio::task<void> {
    int finished = 0;
    auto handler = [&](net::stream_reader r, net::stream_writer w) -> aio::task<void> {
      co_await r.read();  // until the client or close_clients() ends it
      ++finished;
      w.close();
    };
    auto srv = co_await net::start_server(handler, "127.0.0.1", 0);
    auto [r1, w1] = co_await net::open_connection("127.0.0.1", srv.port());
    auto [r2, w2] = co_await net::open_connection("127.0.0.1", srv.port());
    for (int i = 0; i < 100 && srv.active_connections() < 2; ++i) co_await aio::sleep(5ms);
    EXPECT_EQ(srv.active_connections(), 2u);
    srv.close();
    // Closed for new connections...
    EXPECT_THROW(co_await net::open_connection("127.0.0.1", srv.port()),
                 net::connection_refused_error);
    // ...while the two in progress go on until they end.
    w1.close();
    for (int i = 0; i < 100 && finished < 1; ++i) co_await aio::sleep(5ms);
    EXPECT_EQ(finished, 1);
    srv.close_clients();
    co_await srv.wait_closed();
    EXPECT_EQ(finished, 2);
    EXPECT_EQ(co_await r2.read(), "");
    w2.close();
  }());
}

TEST(Streams, ReusePortLetsTwoServersShareAPort) {
  aio::run([]() -> aio::task<void> {
    net::server_options so;
    so.reuse_port = true;
    auto a = co_await net::start_server(echo_lines, "127.0.0.1", 0, so);
    auto b = co_await net::start_server(echo_lines, "127.0.0.1", a.port(), so);
    EXPECT_EQ(a.port(), b.port());
    EXPECT_THROW(co_await net::start_server(echo_lines, "127.0.0.1", a.port()),
                 net::connection_error);
    a.close();
    b.close();
    co_await a.wait_closed();
    co_await b.wait_closed();
  }());
}

TEST(Streams, PeerResetSurfacesAsConnectionError) {
  concur_test::raw_server rude([](int fd) {
    concur_test::raw_server::read_request(fd);
    linger l{1, 0};  // RST on close
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(::dup(fd));
    ::shutdown(fd, SHUT_RDWR);
  });
  aio::run([&]() -> aio::task<void> {
    auto [reader, writer] = co_await net::open_connection("127.0.0.1", rude.port());
    writer.write("GET / HTTP/1.1\r\n\r\n");
    // Either a clean EOF or a reset, never a hang; afterwards writes report the failure.
    std::string got;
    try {
      got = co_await reader.read();
    } catch (const net::connection_error&) {
    }
    EXPECT_TRUE(got.empty());
    writer.close();
  }());
}

TEST(Streams, AioNamesReexported) {
  aio::run([]() -> aio::task<void> {
    auto srv = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", srv.port());
    aio::stream_writer w = writer;
    aio::stream_reader r = reader;
    w.write("x\n");
    EXPECT_EQ(co_await r.readline(), "x\n");
    w.close();
    srv.close();
    co_await srv.wait_closed();
  }());
}
