// websocketpp_ws_server PORT: the websocketpp anchor of bench/ws_echo_vs.sh, a WebSocket echo
// server (every text or binary message sent back with its opcode) on websocketpp's Asio
// transport without TLS, one thread, access and error logging off. websocketpp 0.8 offers no
// permessage-deflate in this config, so nothing is compressed. It is built from Debian's
// libwebsocketpp-dev with the stock websocketpp::config::asio, as a user of the library would
// write it. Compiled as C++17: websocketpp 0.8.2's headers name their constructors with
// template-ids, which C++20 refuses (zaphoyd/websocketpp#991). Any request path is upgraded.
// Prints "listening PORT" once it accepts (PORT 0 picks a free one) and runs until SIGTERM or
// SIGINT.
#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ws_server = websocketpp::server<websocketpp::config::asio>;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: websocketpp_ws_server PORT\n");
    return 2;
  }
  char* end = nullptr;
  const long port = std::strtol(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "websocketpp_ws_server: PORT must be 0-65535, not '%s'\n", argv[1]);
    return 2;
  }
  try {
    asio::io_context ioc{1};
    ws_server server;
    // Logging would cost a formatted line per connection, which none of the other peers pays.
    server.clear_access_channels(websocketpp::log::alevel::all);
    server.clear_error_channels(websocketpp::log::elevel::all);
    // Our own io_context, so the signal handler below runs on the server's one thread.
    server.init_asio(&ioc);
    server.set_reuse_addr(true);
    // The other peers turn Nagle off too. The pre-init handler runs once the connection is
    // accepted (the socket-init handler runs before, on a socket not yet open).
    server.set_tcp_pre_init_handler([&server](websocketpp::connection_hdl hdl) {
      boost::system::error_code ignored;
      server.get_con_from_hdl(hdl)->get_socket().set_option(tcp::no_delay(true), ignored);
    });
    server.set_message_handler(
        [&server](websocketpp::connection_hdl hdl, ws_server::message_ptr msg) {
          websocketpp::lib::error_code ec;
          // A connection the client is closing refuses the send: nothing to report.
          server.send(hdl, msg->get_payload(), msg->get_opcode(), ec);
        });
    server.listen(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    server.start_accept();
    boost::system::error_code ec;
    const tcp::endpoint local = server.get_local_endpoint(ec);
    if (ec) throw boost::system::system_error(ec, "local endpoint");
    std::printf("listening %u\n", unsigned(local.port()));
    std::fflush(stdout);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      websocketpp::lib::error_code ignored;
      server.stop_listening(ignored);
      ioc.stop();
    });
    ioc.run();
  } catch (const websocketpp::exception& e) {
    std::fprintf(stderr, "websocketpp_ws_server: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "websocketpp_ws_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
