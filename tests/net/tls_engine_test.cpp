// The TLS engine on memory buffers alone: two engines talk by handing each other's output
// across, no sockets involved.
#include <gtest/gtest.h>

#include "concur/net/errors.hpp"
#include "concur/net/tls.hpp"
#include "net/test_certs.hpp"

namespace net = concur::net;

namespace {

// Moves bytes both ways until both handshakes finish (bounded rounds).
void pump_handshake(net::tls_engine& client, net::tls_engine& server) {
  std::string buf;
  for (int round = 0; round < 20; ++round) {
    bool c = client.handshake();
    buf.clear();
    client.take_output(buf);
    server.receive(buf);
    bool s = server.handshake();
    buf.clear();
    server.take_output(buf);
    client.receive(buf);
    if (c && s) return;
  }
  FAIL() << "handshake did not finish";
}

struct tls_pair_test : ::testing::Test {
  concur_test::temp_dir dir;
  concur_test::self_signed files = concur_test::make_self_signed(dir.path());
  net::tls_context server_ctx =
      net::tls_context::server({.cert_file = files.cert_file, .key_file = files.key_file});
};

}  // namespace

TEST_F(tls_pair_test, TrustedCaHandshakesAndMovesData) {
  auto client_ctx = net::tls_context::client({.ca_file = files.cert_file});
  net::tls_engine client(client_ctx, "localhost", "localhost:443");
  net::tls_engine server(server_ctx, "", "client");
  pump_handshake(client, server);
  ASSERT_TRUE(client.handshake_done());
  EXPECT_EQ(client.version(), "TLSv1.3");

  std::string big(100000, 'x');
  client.write(big);
  std::string wire;
  client.take_output(wire);
  server.receive(wire);
  std::string got;
  for (int i = 0; i < 100 && got.size() < big.size(); ++i) {
    if (server.read(got, 16384) != net::tls_engine::read_status::data) break;
  }
  EXPECT_EQ(got, big);

  client.shutdown();
  wire.clear();
  client.take_output(wire);
  server.receive(wire);
  std::string rest;
  EXPECT_EQ(server.read(rest, 100), net::tls_engine::read_status::closed);
}

TEST_F(tls_pair_test, SelfSignedRejectedByDefault) {
  auto client_ctx = net::tls_context::client();
  net::tls_engine client(client_ctx, "localhost", "localhost:8443");
  net::tls_engine server(server_ctx, "", "client");
  try {
    pump_handshake(client, server);
    FAIL() << "handshake succeeded";
  } catch (const net::tls_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("localhost:8443"), std::string::npos) << what;
    EXPECT_NE(what.find("self-signed"), std::string::npos) << what;
  }
}

TEST_F(tls_pair_test, WrongHostNameRejected) {
  auto client_ctx = net::tls_context::client({.ca_file = files.cert_file});
  net::tls_engine client(client_ctx, "example.org", "example.org:443");
  net::tls_engine server(server_ctx, "", "client");
  try {
    pump_handshake(client, server);
    FAIL() << "handshake succeeded";
  } catch (const net::tls_error& e) {
    EXPECT_NE(std::string(e.what()).find("hostname mismatch"), std::string::npos) << e.what();
  }
}

TEST_F(tls_pair_test, IpLiteralCheckedAgainstIpSan) {
  auto client_ctx = net::tls_context::client({.ca_file = files.cert_file});
  net::tls_engine client(client_ctx, "127.0.0.1", "127.0.0.1:443");
  net::tls_engine server(server_ctx, "", "client");
  pump_handshake(client, server);
  EXPECT_TRUE(client.handshake_done());
}

TEST_F(tls_pair_test, VerificationCanBeDisabledExplicitly) {
  auto client_ctx = net::tls_context::client({.verify = false});
  net::tls_engine client(client_ctx, "wrong.name", "wrong.name:443");
  net::tls_engine server(server_ctx, "", "client");
  pump_handshake(client, server);
  EXPECT_TRUE(client.handshake_done());
}

TEST_F(tls_pair_test, GarbageFromPeerIsTlsError) {
  auto client_ctx = net::tls_context::client({.ca_file = files.cert_file});
  net::tls_engine client(client_ctx, "localhost", "localhost:443");
  client.handshake();
  client.receive("HTTP/1.1 400 Bad Request\r\n\r\n");
  EXPECT_THROW(client.handshake(), net::tls_error);
}

TEST(tls_context_test, MissingFilesNamed) {
  try {
    net::tls_context::server({.cert_file = "/nonexistent/cert.pem", .key_file = "/x"});
    FAIL();
  } catch (const net::tls_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos);
  }
  EXPECT_THROW(net::tls_context::client({.ca_file = "/nonexistent/ca.pem"}), net::tls_error);
  EXPECT_THROW(net::tls_context::server({}), net::tls_error);
}
