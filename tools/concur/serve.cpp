// concur serve: the mock API (JSONPlaceholder- and httpbin-like) on a port, one log line per
// request, graceful shutdown on Ctrl-C / SIGTERM (requests in flight finish first), and the
// task tree of every loop on stderr at SIGUSR1 (`kill -USR1 <pid>`: what is each request
// waiting for?).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <concur/aio.hpp>
#include <concur/http.hpp>
#include <concur/http/mock_api.hpp>
#include <concur/http/server.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "options.hpp"

namespace concur_cli {

namespace {

// The client's address without its port ("127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" ->
// "::1"), as the common log format's host field has it.
std::string peer_host(const std::string& peer) {
  if (!peer.empty() && peer.front() == '[') return peer.substr(1, peer.find(']') - 1);
  return peer.substr(0, peer.rfind(':'));
}

// One request: Apache's common log format (host ident authuser [date] "request" status
// bytes) with the time taken appended, or one JSON object. UTC, so lines from different
// machines compare.
std::string log_line(const concur::http::web_request& req, int status, std::size_t bytes, double ms,
                     bool json) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  const std::string request = std::string(req.method()) + " " + req.raw_path() + " HTTP/" +
                              std::to_string(req.version_major()) + "." +
                              std::to_string(req.version_minor());
  char when[64];
  if (json) {
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
    nlohmann::json j = {
        {"time", std::string(when) + "." + (millis < 100 ? millis < 10 ? "00" : "0" : "") +
                     std::to_string(millis) + "Z"},
        {"client", peer_host(req.peer())},
        {"request", request},
        {"status", status},
        {"bytes", bytes},
        {"ms", std::round(ms * 10) / 10}};
    return j.dump();
  }
  std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &utc);
  char tail[64];
  std::snprintf(tail, sizeof tail, "%d %zu %.1fms", status, bytes, ms);
  return peer_host(req.peer()) + " - - [" + when + "] \"" + request + "\" " + tail;
}

}  // namespace

int run_serve(const serve_options& opt) {
  namespace http = concur::http;
  namespace aio = concur::aio;
  using namespace std::chrono;

  if (opt.exit_with_parent) {
    // The lab's child server must not outlive the lab, even if the lab is killed.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 0;
  }

  // Signals are taken by a thread of ours with sigwait, so they must be blocked before any
  // other thread starts (the server's loops inherit the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  http::mock_options mo;
  mo.latency = duration_cast<nanoseconds>(duration<double, std::milli>(opt.latency_ms));
  mo.jitter = duration_cast<nanoseconds>(duration<double, std::milli>(opt.jitter_ms));
  mo.error_rate = opt.error_rate;
  auto api = std::make_shared<const http::mock_api>(mo);

  auto log_mutex = std::make_shared<std::mutex>();
  const bool quiet = opt.quiet;
  const bool json_log = opt.log_format == "json";
  http::application app;
  // The mock API answers every path itself, so one middleware serves it all and logs.
  const bool with_static = !opt.static_dir.empty();
  if (with_static) http::add_static(app, "/static", opt.static_dir, {.show_index = true});
  app.add_middleware(
      [api, log_mutex, quiet, json_log, with_static](
          http::web_request& req, http::next_handler next) -> aio::task<http::web_response> {
        const auto start = steady_clock::now();
        const bool is_static = with_static && req.path().starts_with("/static/");
        http::web_response resp;
        if (is_static) {
          resp = co_await next(req);
        } else {
          resp = co_await api->respond(req);
        }
        if (!quiet) {
          const double ms = duration<double, std::milli>(steady_clock::now() - start).count();
          // A streamed body (/stream/{n}) has gone out already: its size is not in the response.
          const std::size_t size = resp.file ? resp.file->size : resp.body.size();
          const std::string line = log_line(req, resp.status, size, ms, json_log);
          std::lock_guard lock(*log_mutex);
          std::cerr << line << std::endl;
        }
        co_return resp;
      });

  http::server_options so;
  so.host = opt.host;
  so.port = static_cast<std::uint16_t>(opt.port);
  so.threads = opt.threads;
  so.shutdown_timeout = seconds(10);
  http::server server(std::move(app), so);
  // The lab reads this line to learn the port; keep its form.
  std::cout << "serving on " << server.url("") << " (Ctrl-C to stop)" << std::endl;
  if (with_static)
    std::cout << "files of " << opt.static_dir << " at " << server.url("/static/") << std::endl;
  server.start();

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGUSR1) std::cerr << server.dump_tasks();
  if (!quiet) std::cerr << "concur serve: shutting down (finishing requests in flight)\n";
  server.shutdown();
  server.join();
  return 0;
}

}  // namespace concur_cli
