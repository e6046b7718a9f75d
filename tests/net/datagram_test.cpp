// UDP on the loop, translated from CPython's test_asyncio: test_events.py
// (test_create_datagram_endpoint, ..._connect_err / error_received, ..._reuse_port,
// ..._allow_broadcast) and test_sock_lowlevel.py (test_recvfrom, test_sendto_blocking), on
// real sockets on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "aio/co_assert.hpp"
#include "concur/net.hpp"

namespace aio = concur::aio;
namespace net = concur::net;

namespace {

net::endpoint loopback(std::uint16_t port = 0) {
  net::endpoint e;
  EXPECT_TRUE(net::endpoint::from_numeric("127.0.0.1", port, e));
  return e;
}

// MyDatagramProto: records what happens; the server flavour answers "resp:" + data.
struct recorder : net::datagram_protocol {
  explicit recorder(bool echo) : echo(echo) {}
  void connection_made(net::datagram_transport& t) override {
    transport = &t;
    state = "INITIALIZED";
  }
  void datagram_received(std::string_view data, const net::endpoint& addr) override {
    received.emplace_back(data);
    if (echo) transport->sendto("resp:" + std::string(data), addr);
  }
  void error_received(const std::exception_ptr& e) override { errors.push_back(e); }
  void connection_lost(const std::exception_ptr&) override { state = "CLOSED"; }

  bool echo;
  net::datagram_transport* transport = nullptr;
  std::string state = "NEW";
  std::vector<std::string> received;
  std::vector<std::exception_ptr> errors;
};

}  // namespace

TEST(Datagram, CreateDatagramEndpoint) {  // test_create_datagram_endpoint
  aio::run([]() -> aio::task<void> {
    auto server_proto = std::make_shared<recorder>(true);
    net::datagram_options so;
    so.local_addr = loopback();
    auto server = co_await net::create_datagram_endpoint(server_proto, so);
    EXPECT_EQ(server_proto->state, "INITIALIZED");

    auto client_proto = std::make_shared<recorder>(false);
    net::datagram_options co;
    co.remote_addr = server->sockname();
    auto client = co_await net::create_datagram_endpoint(client_proto, co);
    EXPECT_EQ(client->peername()->port(), server->sockname().port());
    client->sendto("xxx");
    for (int i = 0; i < 200 && client_proto->received.empty(); ++i) co_await aio::sleep(0.005);
    EXPECT_EQ(server_proto->received, std::vector<std::string>{"xxx"});
    EXPECT_EQ(client_proto->received, std::vector<std::string>{"resp:xxx"});
    EXPECT_THROW(client->sendto("x", loopback(9)), concur::value_error);  // not the remote

    client->close();
    server->close();
    EXPECT_TRUE(client->is_closing());
    EXPECT_THROW(client->sendto("late"), concur::invalid_state_error);
    for (int i = 0; i < 200 && client_proto->state != "CLOSED"; ++i) co_await aio::sleep(0.005);
    EXPECT_EQ(client_proto->state, "CLOSED");
    EXPECT_EQ(server_proto->state, "CLOSED");
  }());
}

TEST(Datagram, ManyDatagramsInOneBurst) {
  aio::run([]() -> aio::task<void> {
    auto server_proto = std::make_shared<recorder>(false);
    net::datagram_options so;
    so.local_addr = loopback();
    auto server = co_await net::create_datagram_endpoint(server_proto, so);
    const auto to = server->sockname();
    net::datagram_options co;
    co.local_addr = loopback();
    auto fd = net::open_datagram_socket(co);
    for (int i = 0; i < 100; ++i) co_await net::sock_sendto(fd.get(), std::to_string(i), to);
    for (int i = 0; i < 400 && server_proto->received.size() < 100; ++i) co_await aio::sleep(0.005);
    CO_ASSERT_EQ(server_proto->received.size(), 100u);  // loopback does not drop this load
    EXPECT_EQ(server_proto->received.front(), "0");
    EXPECT_EQ(server_proto->received.back(), "99");
    server->close();
  }());
}

TEST(Datagram, ErrorReceivedForAPortWithNobody) {  // test_create_datagram_endpoint_connect_err
  aio::run([]() -> aio::task<void> {
    net::datagram_options probe_options;
    probe_options.local_addr = loopback();
    auto probe = net::open_datagram_socket(probe_options);
    const auto nobody = net::endpoint::local_of(probe.get());
    probe.reset();  // now nothing listens there

    auto proto = std::make_shared<recorder>(false);
    net::datagram_options co;
    co.remote_addr = nobody;
    auto client = co_await net::create_datagram_endpoint(proto, co);
    for (int i = 0; i < 200 && proto->errors.empty(); ++i) {
      client->sendto("anyone?");
      co_await aio::sleep(0.005);
    }
    CO_ASSERT_EQ(proto->errors.empty(), false);
    try {
      std::rethrow_exception(proto->errors.front());
    } catch (const net::connection_error& e) {
      EXPECT_EQ(e.errno_value(), ECONNREFUSED);
    }
    client->abort();
  }());
}

TEST(Datagram, SockSendtoAndRecvfrom) {  // test_sock_lowlevel: test_recvfrom
  auto got = aio::run([]() -> aio::task<std::pair<std::string, std::uint16_t>> {
    net::datagram_options a_opts;
    a_opts.local_addr = loopback();
    auto a = net::open_datagram_socket(a_opts);
    auto b = net::open_datagram_socket(a_opts);
    const auto a_addr = net::endpoint::local_of(a.get());
    const auto b_addr = net::endpoint::local_of(b.get());
    auto receiving = aio::create_task(net::sock_recvfrom(a.get(), 4096));
    co_await aio::sleep(0.01);  // parked in the loop first
    EXPECT_EQ(co_await net::sock_sendto(b.get(), "hello udp", a_addr), 9u);
    auto [data, from] = co_await std::move(receiving);
    EXPECT_EQ(from.port(), b_addr.port());
    // A datagram longer than the buffer is cut, as recvfrom cuts it.
    co_await net::sock_sendto(b.get(), "0123456789", a_addr);
    auto [cut, from2] = co_await net::sock_recvfrom(a.get(), 4);
    EXPECT_EQ(cut, "0123");
    co_return std::pair{data, from.port()};
  }());
  EXPECT_EQ(got.first, "hello udp");
}

TEST(Datagram, ReusePortAndBroadcastOptions) {  // ..._reuse_port, ..._allow_broadcast
  net::datagram_options first;
  first.local_addr = loopback();
  first.reuse_port = true;
  auto a = net::open_datagram_socket(first);
  net::datagram_options second = first;
  second.local_addr = net::endpoint::local_of(a.get());
  auto b = net::open_datagram_socket(second);  // the same port, allowed by SO_REUSEPORT
  EXPECT_EQ(net::endpoint::local_of(b.get()).port(), second.local_addr->port());
  second.reuse_port = false;
  EXPECT_THROW(net::open_datagram_socket(second), net::connection_error);

  net::datagram_options bc;
  bc.local_addr = loopback();
  bc.allow_broadcast = true;
  auto c = net::open_datagram_socket(bc);
  int on = 0;
  socklen_t len = sizeof on;
  ASSERT_EQ(::getsockopt(c.get(), SOL_SOCKET, SO_BROADCAST, &on, &len), 0);
  EXPECT_EQ(on, 1);
  EXPECT_THROW(net::open_datagram_socket(net::datagram_options{}), concur::value_error);
}
