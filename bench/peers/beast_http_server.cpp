// beast_http_server --port P: the anchor of bench/http_server_vs.sh, the same answer as
// bench_http_server (GET /posts/{id} -> {"id":N,"title":"hello"}, keep-alive) written with
// Boost.Beast and Asio coroutines on one thread, so that concur is measured against Beast in
// the same run on the same machine rather than against a figure taken elsewhere.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket sock) {
  beast::flat_buffer buf;
  try {
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      co_await bhttp::async_read(sock, buf, req, asio::use_awaitable);
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
      res.set(bhttp::field::server, "beast");
      res.set(bhttp::field::content_type, "application/json; charset=utf-8");
      constexpr std::string_view prefix = "/posts/";
      const std::string_view target(req.target().data(), req.target().size());
      int id = 0;
      if (req.method() == bhttp::verb::get && target.starts_with(prefix) &&
          std::from_chars(target.data() + prefix.size(), target.data() + target.size(), id).ec ==
              std::errc{}) {
        res.body() = "{\"id\":" + std::to_string(id) + ",\"title\":\"hello\"}";
      } else {
        res.result(bhttp::status::not_found);
        res.body() = "{\"error\":\"not found\"}";
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await bhttp::async_write(sock, res, asio::use_awaitable);
      if (!res.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // The peer went away (wrk closes its connections at the end): nothing to report.
  }
  beast::error_code ec;
  sock.shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 8080;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      const long v = std::strtol(argv[++i], nullptr, 10);
      if (v < 0 || v > 65535) {
        std::fprintf(stderr, "beast_http_server: --port must be 0-65535\n");
        return 2;
      }
      port = static_cast<unsigned short>(v);
    } else {
      std::fprintf(stderr, "usage: beast_http_server [--port P]\n");
      return 2;
    }
  }
  try {
    asio::io_context ioc{1};
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), port});
    std::printf("beast_http_server listening on 127.0.0.1:%u\n",
                unsigned(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::co_spawn(ioc, listen(std::move(acceptor)), asio::detached);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code&, int) { ioc.stop(); });
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "beast_http_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
