// concur fetch: a concurrent downloader on one event loop. -j bounds the downloads in
// flight, --per-host bounds them per host (the session's connection limit), failures are
// retried with exponential backoff, bodies stream to files whose names are made safe.
#include <algorithm>
#include <chrono>
#include <concur/aio.hpp>
#include <concur/http.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "options.hpp"
#include "report.hpp"
#include "url_file.hpp"

namespace concur_cli {
namespace {

namespace aio = concur::aio;
namespace http = concur::http;
using clock_type = std::chrono::steady_clock;

struct download {
  std::string url;
  std::string file;  // where the body goes, when -o is given
  int status = 0;
  std::uint64_t bytes = 0;
  unsigned attempts = 0;
  double seconds = 0;
  std::string error;
  bool done = false;
  bool ok() const { return error.empty() && status >= 200 && status < 400; }
};

// A name that stays inside the output directory: only [A-Za-z0-9._-], no leading dot (so
// never "." or ".." or a hidden file), bounded length, made unique among this run's files.
std::string safe_file_name(const std::string& url, std::set<std::string>& taken) {
  std::string rest = url;
  if (auto p = rest.find("://"); p != std::string::npos) rest = rest.substr(p + 3);
  if (auto q = rest.find_first_of("?#"); q != std::string::npos) rest = rest.substr(0, q);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::string name;
  for (char c : rest)
    name +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  while (!name.empty() && (name.front() == '.' || name.front() == '_')) name.erase(0, 1);
  if (name.size() > 150) name.resize(150);
  if (name.empty()) name = "index";
  std::string candidate = name;
  for (int i = 2; taken.count(candidate); ++i) candidate = name + "-" + std::to_string(i);
  taken.insert(candidate);
  return candidate;
}

bool retryable(const download& d) { return d.status == 0 || d.status >= 500 || d.status == 429; }

aio::task<void> fetch_one(http::client_session& session, aio::semaphore& slots, download& d,
                          const fetch_options& opt, std::uint64_t& bytes_done) {
  co_await slots.acquire();
  const auto start = clock_type::now();
  for (unsigned attempt = 0; attempt <= opt.retries; ++attempt) {
    if (attempt > 0) {
      // 0.25 s, 0.5 s, 1 s, ... capped at 8 s between attempts.
      const auto wait =
          std::chrono::milliseconds(std::min<long long>(8000, 250LL << (attempt - 1)));
      co_await aio::sleep(wait);
    }
    d.attempts = attempt + 1;
    d.error.clear();
    d.status = 0;
    std::uint64_t got = 0;
    try {
      http::request_options ro;
      ro.timeout = http::client_timeout(
          std::chrono::duration_cast<http::duration>(std::chrono::duration<double>(opt.timeout_s)));
      auto r = co_await session.get(d.url, std::move(ro));
      d.status = r.status();
      std::optional<std::ofstream> out;
      if (!d.file.empty() && r.ok()) {
        out.emplace(d.file, std::ios::binary | std::ios::trunc);
        if (!*out) throw concur::error("cannot write " + d.file);
      }
      for (;;) {
        std::string chunk = co_await r.content().read(64 * 1024);
        if (chunk.empty()) break;
        got += chunk.size();
        bytes_done += chunk.size();
        if (out) out->write(chunk.data(), std::streamsize(chunk.size()));
      }
      if (out && !*out) throw concur::error("cannot write " + d.file);
      if (!r.ok()) d.error = "HTTP " + std::to_string(r.status()) + " " + r.reason();
    } catch (const aio::cancelled_error&) {
      slots.release();
      throw;
    } catch (const std::exception& e) {
      d.error = e.what();
    }
    d.bytes = got;
    if (d.error.empty() || !retryable(d)) break;
  }
  d.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  d.done = true;
  slots.release();
}

std::string rate(double bytes, double seconds) {
  return format_bytes(std::uint64_t(bytes / std::max(seconds, 1e-3))) + "/s";
}

aio::task<void> show_progress(const std::vector<download>& all, const std::uint64_t& bytes_done,
                              clock_type::time_point start) {
  for (;;) {
    co_await aio::sleep(std::chrono::milliseconds(100));
    const auto done =
        std::size_t(std::count_if(all.begin(), all.end(), [](auto& d) { return d.done; }));
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    const double per = done ? elapsed / double(done) : 0;
    const int width = 30;
    const int filled = int(double(width) * double(done) / double(all.size()));
    std::cerr << "\r\033[K[" << std::string(std::size_t(filled), '#')
              << std::string(std::size_t(width - filled), '.') << "] " << done << "/" << all.size()
              << "  " << format_bytes(bytes_done) << "  " << rate(double(bytes_done), elapsed);
    if (done) std::cerr << "  ETA " << format_seconds(per * double(all.size() - done));
    std::cerr << std::flush;
  }
}

aio::task<void> fetch_all(std::vector<download>& all, const fetch_options& opt, bool progress) {
  http::session_options so;
  so.limit = std::max<std::size_t>(opt.jobs, 1);
  so.limit_per_host = opt.per_host;
  http::client_session session(so);
  aio::semaphore slots(opt.jobs);
  std::uint64_t bytes_done = 0;
  std::optional<aio::task_handle<void>> bar;
  if (progress) bar = aio::create_task(show_progress(all, bytes_done, clock_type::now()));
  std::vector<aio::task<void>> tasks;
  for (auto& d : all) tasks.push_back(fetch_one(session, slots, d, opt, bytes_done));
  co_await aio::gather(std::move(tasks));
  if (bar) {
    bar->cancel();
    try {
      co_await *bar;
    } catch (const aio::cancelled_error&) {
    }
    std::cerr << "\r\033[K" << std::flush;
  }
  co_await session.close();
}

}  // namespace

int run_fetch(const fetch_options& opt) {
  std::vector<download> all;
  std::vector<std::string> urls = opt.urls;
  if (!opt.input_file.empty()) {
    auto more = read_url_file(opt.input_file, "fetch");
    urls.insert(urls.end(), more.begin(), more.end());
  }
  if (urls.empty()) throw concur::error("fetch: no URLs to fetch");
  std::set<std::string> taken;
  if (!opt.output_dir.empty()) std::filesystem::create_directories(opt.output_dir);
  for (auto& u : urls) {
    download d;
    d.url = u;
    if (!opt.output_dir.empty())
      d.file = (std::filesystem::path(opt.output_dir) / safe_file_name(u, taken)).string();
    all.push_back(std::move(d));
  }
  const auto start = clock_type::now();
  aio::run(fetch_all(all, opt, opt.progress && stderr_is_terminal()));
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

  std::size_t width = 3, failed = 0;
  std::uint64_t bytes = 0;
  for (auto& d : all) width = std::min<std::size_t>(60, std::max(width, d.url.size()));
  std::cout << std::left;
  for (auto& d : all) {
    std::string url = d.url.size() > width ? d.url.substr(0, width - 3) + "..." : d.url;
    std::cout << (d.ok() ? "ok    " : "FAIL  ") << url << std::string(width - url.size(), ' ')
              << "  " << (d.status ? std::to_string(d.status) : "---") << "  "
              << format_bytes(d.bytes) << "  " << format_seconds(d.seconds)
              << "  tries=" << d.attempts;
    if (!d.error.empty()) std::cout << "  " << d.error;
    if (!d.file.empty() && d.ok()) std::cout << "  -> " << d.file;
    std::cout << "\n";
    if (!d.ok())
      std::cerr << "concur fetch: " << d.url << ": "
                << (d.error.empty() ? "HTTP " + std::to_string(d.status) : d.error) << "\n";
    failed += !d.ok();
    bytes += d.bytes;
  }
  std::cout << all.size() << " URLs, " << all.size() - failed << " ok, " << failed << " failed, "
            << format_bytes(bytes) << " in " << format_seconds(elapsed) << " ("
            << rate(double(bytes), elapsed) << ")\n";
  return failed ? 1 : 0;
}

}  // namespace concur_cli
