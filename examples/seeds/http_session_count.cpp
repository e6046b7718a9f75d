// The aiohttp version: one ClientSession, the six endpoints awaited in turn, JSON bodies
// parsed, and the 200s counted ("Success count").
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "concur/aio.hpp"
#include "concur/http.hpp"
#include "concur/http/mock_api.hpp"
#include "example_options.hpp"

namespace aio = concur::aio;
namespace http = concur::http;

// make_request(session, endpoint) -> (json, status)
aio::task<std::pair<nlohmann::json, int>> make_request(http::client_session& session,
                                                       std::string url) {
  auto response = co_await session.get(std::move(url));
  auto body = co_await response.json();
  co_return std::pair{std::move(body), response.status()};
}

aio::task<int> make_requests(std::string domain) {
  const char* endpoints[] = {"posts", "comments", "albums", "photos", "todos", "users"};
  int success_count = 0;
  http::client_session session;  // async with aiohttp.ClientSession() as session
  for (const char* endpoint : endpoints) {
    auto [json, status] = co_await make_request(session, domain + endpoint);
    std::printf("%d (%zu items)\n", status, json.size());
    if (status == 200) ++success_count;
  }
  std::printf("connections opened: %zu\n", session.connections_opened());
  co_await session.close();
  co_return success_count;
}

int main(int argc, char** argv) {
  example::parse(argc, argv);
  http::mock_server mock;
  auto start = std::chrono::steady_clock::now();
  int success_count = aio::run(make_requests(mock.url("/")));
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("API calls completed in: %.3f\n", took.count());
  std::printf("Success count: %d\n", success_count);
  return success_count == 6 ? 0 : 1;
}
