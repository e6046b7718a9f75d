// bench_http_client URL N C: N GETs over C keep-alive connections through client_session,
// each response read to its end. Prints one line:
//   http_client requests=N conc=C ok=K seconds=S req_per_s=R
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "concur/aio.hpp"
#include "concur/http.hpp"

namespace aio = concur::aio;
namespace http = concur::http;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s URL N C\n", argv[0]);
    return 2;
  }
  std::string url = argv[1];
  long n = std::atol(argv[2]);
  long c = std::atol(argv[3]);
  if (n <= 0 || c <= 0) {
    std::fprintf(stderr, "N and C must be positive\n");
    return 2;
  }
  long ok = 0;
  long failed = 0;
  double seconds = 0;
  try {
    aio::run([&]() -> aio::task<void> {
      http::session_options so;
      so.limit = static_cast<std::size_t>(c);
      http::client_session session(so);
      long issued = 0;
      // Each worker keeps one request in flight: C workers, C connections.
      auto worker = [&]() -> aio::task<void> {
        while (issued < n) {
          ++issued;
          try {
            auto r = co_await session.get(url);
            co_await r.read();
            if (r.status() == 200) {
              ++ok;
            } else {
              ++failed;
            }
          } catch (const concur::error& e) {
            if (++failed <= 3) std::fprintf(stderr, "request failed: %s\n", e.what());
          }
        }
      };
      // Warm-up: open the connections before timing (wrk also measures steady state).
      {
        std::vector<aio::task_handle<void>> warm;
        long saved = n;
        n = c;
        for (long i = 0; i < c; ++i) warm.push_back(aio::create_task(worker()));
        for (auto& t : warm) co_await t;
        n = saved;
        issued = 0;
        ok = 0;
        failed = 0;
      }
      auto start = std::chrono::steady_clock::now();
      std::vector<aio::task_handle<void>> workers;
      for (long i = 0; i < c; ++i) workers.push_back(aio::create_task(worker()));
      for (auto& t : workers) co_await t;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      co_await session.close();
    }());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_http_client: %s\n", e.what());
    return 1;
  }
  std::printf("http_client requests=%ld conc=%ld ok=%ld seconds=%.3f req_per_s=%.0f\n", n, c, ok,
              seconds, seconds > 0 ? static_cast<double>(ok) / seconds : 0.0);
  return failed == 0 ? 0 : 1;
}
