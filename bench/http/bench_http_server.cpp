// bench_http_server --port P --threads N: answers GET /posts/{id} with {"id":1,"title":"hello"}
// through the public server API (router, coroutine handler, json_response), for
// bench/http_server_vs.sh to compare with nginx and aiohttp under wrk. Stops on SIGINT/SIGTERM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "concur/http/server.hpp"

namespace http = concur::http;
namespace aio = concur::aio;

int main(int argc, char** argv) {
  http::server_options options;
  options.host = "127.0.0.1";
  options.port = 8080;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--port" || arg == "--threads") && i + 1 < argc) {
      long v = std::strtol(argv[++i], nullptr, 10);
      if (arg == "--port") {
        if (v < 0 || v > 65535) {
          std::fprintf(stderr, "bench_http_server: --port must be 0-65535\n");
          return 2;
        }
        options.port = static_cast<std::uint16_t>(v);
      } else {
        if (v < 1 || v > 256) {
          std::fprintf(stderr, "bench_http_server: --threads must be 1-256\n");
          return 2;
        }
        options.threads = static_cast<unsigned>(v);
      }
    } else {
      std::fprintf(stderr, "usage: bench_http_server [--port P] [--threads N]\n");
      return 2;
    }
  }
  http::application app;
  app.get("/posts/{id}", [](http::web_request& req) -> aio::task<http::web_response> {
    auto id = std::stoi(std::string(req.match_info("id")));
    // Member by member: nlohmann's initializer-list form builds a temporary array per pair,
    // which cost more allocations than the whole server path of a request.
    nlohmann::json body;
    body["id"] = id;
    body["title"] = "hello";
    co_return http::json_response(body);
  });
  try {
    http::run_app(std::move(app), options, [](std::uint16_t port) {
      std::printf("bench_http_server listening on 127.0.0.1:%u\n", unsigned(port));
      std::fflush(stdout);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_http_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
