// bench_http_download URL FILE: one GET through client_session, its body streamed to FILE by
// response::save (complete or absent). Prints one line:
//   http_download bytes=B seconds=S mib_per_s=R max_rss_kib=K
// bench/http_download_vs.sh runs it beside curl against the same nginx.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "concur/aio.hpp"
#include "concur/http.hpp"

namespace aio = concur::aio;
namespace http = concur::http;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s URL FILE\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::string file = argv[2];
  std::uint64_t bytes = 0;
  double seconds = 0;
  try {
    aio::run([&]() -> aio::task<void> {
      http::session_options so;
      so.timeout = http::client_timeout().with_total(std::nullopt);
      http::client_session session(so);
      const auto start = std::chrono::steady_clock::now();
      auto r = co_await session.get(url);
      r.raise_for_status();
      bytes = co_await r.save(file);
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }());
  } catch (const concur::error& e) {
    std::fprintf(stderr, "bench_http_download: %s\n", e.what());
    return 1;
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf("http_download bytes=%llu seconds=%.3f mib_per_s=%.1f max_rss_kib=%ld\n",
              static_cast<unsigned long long>(bytes), seconds,
              static_cast<double>(bytes) / (1 << 20) / seconds, ru.ru_maxrss);
  return 0;
}
