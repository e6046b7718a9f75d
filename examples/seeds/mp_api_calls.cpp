// The API calls from worker processes ("concepts translated into Python"): a
// ProcessPoolExecutor with one worker per core maps make_request over the six endpoints, each
// worker making a blocking requests.get. Here the endpoints are served by http::mock_server on
// loopback with the lab's 100 ms of latency (times --scale). As the tutorial notes, processes
// buy nothing over threads for I/O: this shows they work, and what they cost.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "concur/http.hpp"
#include "concur/http/mock_api.hpp"
#include "concur/mp.hpp"
#include "example_options.hpp"

namespace http = concur::http;
namespace mp = concur::mp;

namespace {

// What crosses back from the worker: Python pickles the whole Response; a status, the body's
// size and the worker's pid are what this program prints.
std::tuple<int, std::size_t, int> make_request(std::string url) {
  const auto response = http::get(url);
  std::printf("<Response [%d]> %s\n", response.status_code(), url.c_str());
  std::fflush(stdout);
  response.raise_for_status();  // a 4XX or 5XX comes back to the parent as mp::remote_error
  return {response.status_code(), response.content().size(), static_cast<int>(::getpid())};
}

}  // namespace

int main(int argc, char** argv) {
  mp::init();  // before the mock server's threads: workers come from the fork server
  const auto opts = example::parse(argc, argv);
  http::mock_options api;
  api.latency = example::scaled(0.1, opts.scale);  // 100 ms a request, like the lab's default
  http::mock_server mock(api);
  const std::string domain = mock.url("/");
  const std::vector<std::string> endpoints{"posts",  "comments", "albums",
                                           "photos", "todos",    "users"};
  std::vector<std::string> urls;
  for (const auto& e : endpoints) urls.push_back(domain + e);

  const unsigned cpu_cores = mp::cpu_count();
  std::printf("Number of CPU cores: %u\n", cpu_cores);
  std::fflush(stdout);  // before the workers print to the same stdout
  const auto start = std::chrono::steady_clock::now();
  std::size_t ok = 0;
  std::size_t bytes = 0;
  std::set<int> pids;
  {
    mp::process_pool_executor executor(cpu_cores);  // with ProcessPoolExecutor() as executor
    for (const auto& [status, size, pid] : executor.map(make_request, urls)) {
      ok += status == 200;
      bytes += size;
      pids.insert(pid);
    }
  }
  const double took =
      example::tutorial_seconds(std::chrono::steady_clock::now() - start, opts.scale);
  std::printf("API calls from worker processes made in: %.2f (tutorial seconds)\n", took);
  std::printf("responses: %zu of %zu were 200, %zu bytes, from %zu worker process(es)%s\n", ok,
              urls.size(), bytes, pids.size(), pids.count(::getpid()) ? " including main" : "");
  return ok == urls.size() ? 0 : 1;
}
