// The sequential API calls of "concepts translated into Python": requests.get on six
// JSONPlaceholder endpoints one after the other, printing each URL and status code.
#include <chrono>
#include <cstdio>
#include <string>

#include "concur/http.hpp"
#include "concur/http/mock_api.hpp"
#include "example_options.hpp"

namespace http = concur::http;

int main(int argc, char** argv) {
  example::parse(argc, argv);
  http::mock_server mock;  // JSONPlaceholder-like API on a loopback port
  const std::string domain = mock.url("/");
  const char* endpoints[] = {"posts", "comments", "albums", "photos", "todos", "users"};
  auto start = std::chrono::steady_clock::now();
  int ok = 0;
  for (const char* endpoint : endpoints) {
    std::string url = domain + endpoint;
    std::printf("%s\n", url.c_str());
    auto response = http::get(url);  // requests.get(url)
    std::printf("%d\n", response.status_code());
    ok += response.status_code() == 200;
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("API calls made in: %.3f\n", took.count());
  std::printf("200 responses: %d of 6\n", ok);
  return ok == 6 ? 0 : 1;
}
