// Fetching a list of pages and printing the first 200 characters of each (the HTML pages of
// the mock API stand in for the web sites of the original).
#include <cstdio>
#include <string>
#include <vector>

#include "concur/aio.hpp"
#include "concur/http.hpp"
#include "concur/http/mock_api.hpp"
#include "example_options.hpp"

namespace aio = concur::aio;
namespace http = concur::http;

int main(int argc, char** argv) {
  example::parse(argc, argv);
  http::mock_server mock;
  std::vector<std::string> urls;
  for (int i = 1; i <= 4; ++i) urls.push_back(mock.url("/page/" + std::to_string(i)));
  int fetched = aio::run([&]() -> aio::task<int> {
    http::client_session session;
    int n = 0;
    for (const auto& url : urls) {
      auto response = co_await session.get(url);
      response.raise_for_status();
      std::string text = co_await response.text();
      std::printf("%s: %s\n---\n", url.c_str(), text.substr(0, 200).c_str());
      ++n;
    }
    co_await session.close();
    co_return n;
  }());
  std::printf("pages fetched: %d\n", fetched);
  return fetched == static_cast<int>(urls.size()) ? 0 : 1;
}
