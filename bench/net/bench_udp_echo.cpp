// UDP echo, for bench/udp_echo_vs.sh:
//   bench_udp_echo --serve              an echo server (net::create_datagram_endpoint with a
//                                       datagram_protocol) on 127.0.0.1; prints "port N"
//   bench_udp_echo --client PORT [--seconds S] [--window W]
//                                       the load: W datagrams of 32 bytes in flight, the echoes
//                                       of each recvmmsg sent again in one sendmmsg, for S
//                                       seconds; prints
//                                       `udp_echo packets=... seconds=... per_s=...`
// The same client measures every server (ours, asyncio's, uvloop's), so only the servers differ.
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "concur/net.hpp"

namespace aio = concur::aio;
namespace net = concur::net;

namespace {

struct echo : net::datagram_protocol {
  void connection_made(net::datagram_transport& t) override { transport = &t; }
  void datagram_received(std::string_view data, const net::endpoint& addr) override {
    transport->sendto(data, addr);
  }
  net::datagram_transport* transport = nullptr;
};

aio::task<void> serve() {
  net::datagram_options o;
  net::endpoint local;
  net::endpoint::from_numeric("127.0.0.1", 0, local);
  o.local_addr = local;
  auto t = co_await net::create_datagram_endpoint(std::make_shared<echo>(), o);
  std::printf("port %u\n", static_cast<unsigned>(t->sockname().port()));
  std::fflush(stdout);
  for (;;) co_await aio::sleep(3600.0);
}

// Batches both ways (recvmmsg / sendmmsg) so that the client costs less than the servers it
// measures; a datagram lost on the way (none on loopback, normally) is replaced after 200 ms.
int client(int port, double seconds, int window) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  net::endpoint server;
  net::endpoint::from_numeric("127.0.0.1", static_cast<std::uint16_t>(port), server);
  if (::connect(fd, server.addr(), server.length) != 0) return 1;
  timeval wait{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  constexpr int max_window = 64;
  window = std::min(window, max_window);
  char out[32];
  std::memset(out, 'u', sizeof out);
  char in[max_window][64];
  mmsghdr rx[max_window];
  mmsghdr tx[max_window];
  iovec rx_iov[max_window];
  iovec tx_iov[max_window];
  for (int i = 0; i < max_window; ++i) {
    rx_iov[i] = {in[i], sizeof in[i]};
    tx_iov[i] = {out, sizeof out};
    rx[i] = {};
    rx[i].msg_hdr.msg_iov = &rx_iov[i];
    rx[i].msg_hdr.msg_iovlen = 1;
    tx[i] = {};
    tx[i].msg_hdr.msg_iov = &tx_iov[i];
    tx[i].msg_hdr.msg_iovlen = 1;
  }
  ::sendmmsg(fd, tx, static_cast<unsigned>(window), 0);
  long packets = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const int n = ::recvmmsg(fd, rx, static_cast<unsigned>(window), MSG_WAITFORONE, nullptr);
    if (n <= 0) {  // timed out: one was lost; put one back in flight
      ::send(fd, out, sizeof out, 0);
      continue;
    }
    packets += n;
    ::sendmmsg(fd, tx, static_cast<unsigned>(n), 0);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("udp_echo packets=%ld window=%d seconds=%.2f per_s=%.0f\n", packets, window, s,
              static_cast<double>(packets) / s);
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--serve") == 0) {
    aio::run(serve());
    return 0;
  }
  if (argc >= 3 && std::strcmp(argv[1], "--client") == 0) {
    double seconds = 3;
    int window = 16;
    for (int i = 3; i + 1 < argc; ++i) {
      if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
      if (std::strcmp(argv[i], "--window") == 0) window = std::max(1, std::atoi(argv[i + 1]));
    }
    return client(std::atoi(argv[2]), seconds, window);
  }
  std::fprintf(stderr,
               "usage: bench_udp_echo --serve | --client PORT [--seconds S] [--window W]\n");
  return 2;
}
