// "Use aiohttp, not requests": three /delay URLs fetched with asyncio.gather finish in about
// the longest delay, because all three are in flight at once. The example counts how many
// requests were in flight together (a structural check, not a timing one).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "concur/aio.hpp"
#include "concur/http.hpp"
#include "concur/http/mock_api.hpp"
#include "example_options.hpp"

namespace aio = concur::aio;
namespace http = concur::http;

int in_flight = 0;
int most_in_flight = 0;

aio::task<int> fetch(http::client_session& session, std::string url) {
  most_in_flight = std::max(most_in_flight, ++in_flight);
  auto response = co_await session.get(std::move(url));
  co_await response.read();
  --in_flight;
  co_return response.status();
}

int main(int argc, char** argv) {
  const double scale = example::parse(argc, argv).scale;
  http::mock_server mock;
  auto delay = [&](double seconds) {
    return mock.url("/delay/" + std::to_string(seconds * scale));
  };
  auto start = std::chrono::steady_clock::now();
  auto statuses = aio::run([&]() -> aio::task<std::tuple<int, int, int>> {
    http::client_session session;
    auto all = co_await aio::gather(fetch(session, delay(1)), fetch(session, delay(2)),
                                    fetch(session, delay(1)));
    co_await session.close();
    co_return all;
  }());
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  auto [a, b, c] = statuses;
  std::printf("statuses: %d %d %d\n", a, b, c);
  std::printf("requests in flight at once: %d\n", most_in_flight);
  std::printf("gather finished in: %.3f s (longest delay %.3f s, sum %.3f s)\n", took.count(),
              2 * scale, 4 * scale);
  return (a == 200 && b == 200 && c == 200) ? 0 : 1;
}
