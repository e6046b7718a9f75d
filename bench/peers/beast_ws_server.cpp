// beast_ws_server PORT: the Boost.Beast anchor of bench/ws_echo_vs.sh. A WebSocket echo server
// (every text or binary message sent back as it came, no permessage-deflate) on one
// io_context thread with Asio coroutines, so that concur's echo endpoint is measured against
// Beast in the same run on the same machine rather than against a figure taken elsewhere.
// Any request path is upgraded. Prints "listening PORT" once it accepts (PORT 0 picks a free
// one) and runs until SIGTERM or SIGINT.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> echo_session(tcp::socket sock) {
  // A plain socket rather than beast::tcp_stream, and Beast's default of no timeouts: the
  // echo path alone is measured, as for the other peers (none of them arms a timer per read).
  websocket::stream<tcp::socket> ws(std::move(sock));
  beast::flat_buffer buf;
  try {
    co_await ws.async_accept(asio::use_awaitable);
    for (;;) {
      co_await ws.async_read(buf, asio::use_awaitable);
      ws.text(ws.got_text());
      co_await ws.async_write(buf.data(), asio::use_awaitable);
      buf.consume(buf.size());
    }
  } catch (const std::exception&) {
    // The client closed or dropped the connection (the load client does at its end): nothing
    // to report.
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), echo_session(std::move(s)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: beast_ws_server PORT\n");
    return 2;
  }
  char* end = nullptr;
  const long port = std::strtol(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "beast_ws_server: PORT must be 0-65535, not '%s'\n", argv[1]);
    return 2;
  }
  try {
    asio::io_context ioc{1};
    tcp::acceptor acceptor(
        ioc, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    std::printf("listening %u\n", unsigned(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::co_spawn(ioc, accept_loop(std::move(acceptor)), asio::detached);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code&, int) { ioc.stop(); });
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beast_ws_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
