// aiohttp.web's hello world, ported:
//
//   async def hello(request):
//       return web.Response(text=f"Hello, {request.match_info.get('name', 'world')}")
//   app = web.Application()
//   app.add_routes([web.get('/', hello), web.get('/{name}', hello)])
//   web.run_app(app)
//
// The program serves on a free loopback port in the background, queries itself with the
// blocking client (requests.get), prints what it got, and shuts the server down gracefully.
#include <concur/http.hpp>
#include <iostream>

#include "example_options.hpp"

namespace http = concur::http;
namespace aio = concur::aio;

namespace {

aio::task<http::web_response> hello(http::web_request& request) {
  std::string name = "world";
  for (const auto& [key, value] : request.match_info()) {
    if (key == "name") name = value;
  }
  co_return http::text_response("Hello, " + name);
}

}  // namespace

int main(int argc, char** argv) {
  example::parse(argc, argv);  // takes only --scale, which nothing here uses
  http::application app;
  app.get("/", hello);
  app.get("/{name}", hello);
  app.get("/api/status", [](http::web_request&) -> aio::task<http::web_response> {
    co_return http::json_response({{"status", "ok"}, {"server", "concur"}});
  });
  // A middleware, as with @web.middleware: stamps every response.
  app.add_middleware(
      [](http::web_request& request, http::next_handler next) -> aio::task<http::web_response> {
        auto response = co_await next(request);
        response.headers.set("X-Served-By", "concur");
        co_return response;
      });

  http::server_options options;
  options.host = "127.0.0.1";
  options.port = 0;  // any free port
  http::server server(std::move(app), options);
  server.start();
  std::cout << "serving on " << server.url() << "\n";

  try {
    for (const char* path : {"/", "/alice", "/api/status", "/no/such/page"}) {
      auto r = http::get(server.url(path));
      std::cout << "GET " << path << " -> " << r.status_code() << " "
                << r.headers().get("X-Served-By", "-") << " " << r.text() << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "request failed: " << e.what() << "\n";
    return 1;
  }
  server.shutdown();
  server.join();
  std::cout << "requests served: " << server.stats().requests << "\n";
  return 0;
}
