// bench_http_parse: concur's own strict HTTP/1.1 parser against libhttp-parser behind the same
// interface (the parser concur used before it), on the messages a server and a client parse:
// the same bytes, the same work per message (method, target, every field into http::headers,
// the body), alternating rounds, best round of each.
//   build/default/bench/bench_http_parse [rounds]
// Prints one key=value line per case and a geometric mean; speedup > 1 means concur is faster.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "concur/http/parser.hpp"
#include "http_parser_peer.hpp"

namespace {

using concur::http::message_kind;

struct bench_case {
  const char* name;
  message_kind kind;
  std::string text;
  std::size_t piece;  // bytes per feed() call: how the message arrives
};

std::vector<bench_case> cases() {
  const std::string browser_fields =
      "Host: 127.0.0.1:8080\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
      "Accept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Connection: keep-alive\r\n"
      "Referer: http://127.0.0.1:8080/posts\r\n"
      "Cookie: session=4b1c2d3e4f5a6b7c8d9e; theme=dark\r\n"
      "Upgrade-Insecure-Requests: 1\r\n"
      "Sec-Fetch-Dest: document\r\n"
      "Sec-Fetch-Mode: navigate\r\n"
      "Cache-Control: max-age=0\r\n";
  const std::string browser =
      "GET /posts/1?fields=title,body HTTP/1.1\r\n" + browser_fields + "\r\n";
  const std::string json(200, 'x');
  std::string chunked = "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "400\r\n" + std::string(1024, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 1024\r\n"
      "Date: Wed, 02 Dec 2026 14:00:00 GMT\r\nServer: concur\r\nCache-Control: no-cache\r\n"
      "ETag: \"5f3a-1024\"\r\n\r\n" +
      std::string(1024, 'r');
  return {
      {"wrk_get", message_kind::request, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 0},
      {"browser_get", message_kind::request, browser, 0},
      {"browser_get_in_64_byte_pieces", message_kind::request, browser, 64},
      {"post_json_200", message_kind::request,
       "POST /posts HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: "
       "200\r\n\r\n" +
           json,
       0},
      {"post_chunked_4k", message_kind::request, chunked, 0},
      {"response_1k", message_kind::response, response, 0},
  };
}

struct result {
  std::size_t fields = 0;
  std::size_t body = 0;
};

template <class Parser>
result parse_once(Parser& p, const bench_case& c) {
  p.reset();
  std::string_view rest = c.text;
  const std::size_t piece = c.piece == 0 ? rest.size() : c.piece;
  while (!p.message_complete()) {
    if (rest.empty()) {
      std::fprintf(stderr, "bench_http_parse: %s did not complete\n", c.name);
      std::exit(1);
    }
    rest.remove_prefix(p.feed(rest.substr(0, piece)));
  }
  return {p.headers().size(), p.body().size()};
}

template <class Parser>
double ns_per_message(const bench_case& c, int n) {
  Parser p(c.kind);
  std::size_t sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = parse_once(p, c);
    sink += r.fields + r.body;
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (sink == 0) std::fprintf(stderr, "bench_http_parse: nothing parsed\n");
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  std::printf("# bench_http_parse: ns per message, best of %d rounds, alternating\n", rounds);
  double log_sum = 0;
  int count = 0;
  for (const auto& c : cases()) {
    concur::http::parser ours(c.kind);
    concur_bench::legacy_parser theirs(c.kind);
    const auto a = parse_once(ours, c);
    const auto b = parse_once(theirs, c);
    if (a.fields != b.fields || a.body != b.body) {
      std::fprintf(stderr,
                   "bench_http_parse: %s parsed differently (%zu/%zu fields, %zu/%zu body)\n",
                   c.name, a.fields, b.fields, a.body, b.body);
      return 1;
    }
    const int n = static_cast<int>(std::max<std::size_t>(2000, 40'000'000 / (c.text.size() + 100)));
    double best_ours = 1e18;
    double best_theirs = 1e18;
    for (int r = 0; r < rounds; ++r) {
      best_ours = std::min(best_ours, ns_per_message<concur::http::parser>(c, n));
      best_theirs = std::min(best_theirs, ns_per_message<concur_bench::legacy_parser>(c, n));
    }
    const double speedup = best_theirs / best_ours;
    log_sum += std::log(speedup);
    ++count;
    std::printf("http_parse case=%s bytes=%zu ours_ns=%.1f http_parser_ns=%.1f speedup=%.2f\n",
                c.name, c.text.size(), best_ours, best_theirs, speedup);
  }
  std::printf("http_parse_geomean speedup=%.2f\n", std::exp(log_sum / count));
  return 0;
}
