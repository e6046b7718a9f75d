// concur fetch: a concurrent downloader on one event loop. -j bounds the downloads in
// flight, --per-host bounds them per host (the session's connection limit). A transfer that
// breaks (refused, reset, cut short, timed out) or a 408, 429 or 5xx is retried with
// exponential backoff (longer if the server's Retry-After asks); a URL that cannot work is
// not. Bodies stream to files whose names are made safe, and a file is complete or absent.
#include <algorithm>
#include <chrono>
#include <concur/aio.hpp>
#include <concur/http.hpp>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>

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

// A body on its way to disk: written under "<name>.part" beside its final name and renamed
// only once it is whole, so the final name holds a complete file or nothing (a failed or
// cancelled attempt removes its part file).
class part_file {
 public:
  explicit part_file(std::string final_path)
      : final_(std::move(final_path)), part_(final_ + ".part") {}
  part_file(const part_file&) = delete;
  part_file& operator=(const part_file&) = delete;
  ~part_file() { discard(); }

  void open() {
    out_.open(part_, std::ios::binary | std::ios::trunc);
    if (!out_) throw concur::error("cannot write " + part_);
  }
  void write(std::string_view chunk) {
    out_.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (!out_) throw concur::error("cannot write " + part_);
  }
  void commit() {
    out_.close();
    if (!out_) throw concur::error("cannot write " + part_);
    std::error_code ec;
    std::filesystem::rename(part_, final_, ec);
    if (ec) throw concur::error("cannot rename " + part_ + " to " + final_ + ": " + ec.message());
    committed_ = true;
  }
  void discard() noexcept {
    if (committed_) return;
    if (out_.is_open()) out_.close();
    std::error_code ec;
    std::filesystem::remove(part_, ec);
  }

 private:
  std::string final_;
  std::string part_;
  std::ofstream out_;
  bool committed_ = false;
};

// Worth another try: a timeout (408), throttling (429) or a server error; any other status is
// the server's final word.
bool retryable_status(int status) { return status == 408 || status == 429 || status >= 500; }

// A failure of the transfer itself (refused, reset, cut body, timeout) is worth another try;
// a URL that cannot work (malformed, a name that does not resolve, a redirect loop) is not.
bool retryable_failure(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const http::invalid_url_error&) {
    return false;
  } catch (const http::too_many_redirects&) {
    return false;
  } catch (const concur::net::dns_error&) {
    return false;
  } catch (...) {
    return true;
  }
}

// Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP-date; nullopt when absent or unreadable.
std::optional<std::chrono::seconds> retry_after(const http::response& r) {
  auto value = r.headers().get("Retry-After");
  if (!value || value->empty()) return std::nullopt;
  if (std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value->size() > 6) return std::chrono::seconds(999999);
    return std::chrono::seconds(std::stoll(std::string(*value)));
  }
  std::time_t when = 0;
  if (!http::parse_http_date(*value, when)) return std::nullopt;
  return std::chrono::seconds(std::max<long long>(0, when - std::time(nullptr)));
}

// 0.25 s, 0.5 s, 1 s, ... capped at 8 s between attempts; a server's Retry-After wins when
// it asks for longer, up to two minutes.
std::chrono::milliseconds backoff(unsigned attempt, std::optional<std::chrono::seconds> asked) {
  auto wait = std::chrono::milliseconds(std::min<long long>(8000, 250LL << (attempt - 1)));
  if (asked)
    wait = std::max<std::chrono::milliseconds>(wait, std::min(*asked, std::chrono::seconds(120)));
  return wait;
}

// One attempt: the status, the bytes, and (on success) the file in place. Throws what broke.
aio::task<void> attempt_once(http::client_session& session, download& d, const fetch_options& opt,
                             std::uint64_t& bytes_done,
                             std::optional<std::chrono::seconds>& asked_wait) {
  http::request_options ro;
  ro.timeout = http::client_timeout(
      std::chrono::duration_cast<http::duration>(std::chrono::duration<double>(opt.timeout_s)));
  auto r = co_await session.get(d.url, std::move(ro));
  d.status = r.status();
  asked_wait = retry_after(r);
  std::optional<part_file> out;
  if (!d.file.empty() && r.ok()) {
    out.emplace(d.file);
    out->open();
  }
  for (;;) {
    std::string chunk = co_await r.content().read(64 * 1024);
    if (chunk.empty()) break;
    d.bytes += chunk.size();
    bytes_done += chunk.size();
    if (out) out->write(chunk);
  }
  if (out) out->commit();
  if (!r.ok()) d.error = "HTTP " + std::to_string(r.status()) + " " + r.reason();
}

aio::task<void> fetch_one(http::client_session& session, aio::semaphore& slots, download& d,
                          const fetch_options& opt, std::uint64_t& bytes_done) {
  co_await slots.acquire();
  struct release_slot {
    aio::semaphore& s;
    ~release_slot() { s.release(); }
  } hold{slots};
  const auto start = clock_type::now();
  std::optional<std::chrono::seconds> asked_wait;
  for (unsigned attempt = 0; attempt <= opt.retries; ++attempt) {
    if (attempt > 0) co_await aio::sleep(backoff(attempt, asked_wait));
    d.attempts = attempt + 1;
    d.error.clear();
    d.status = 0;
    d.bytes = 0;
    asked_wait.reset();
    std::exception_ptr failure;
    try {
      co_await attempt_once(session, d, opt, bytes_done, asked_wait);
    } catch (const std::exception& e) {
      d.error = e.what();
      failure = std::current_exception();
    }
    const bool again =
        failure ? retryable_failure(failure) : (!d.error.empty() && retryable_status(d.status));
    if (!again) break;
  }
  d.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  d.done = true;
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

// True when Ctrl-C interrupted it: aio::run cancels this task at the first SIGINT (a second
// one ends the program at once); the downloads are cancelled with it, which removes their
// part files, and the summary is still printed.
aio::task<bool> fetch_all(std::vector<download>& all, const fetch_options& opt, bool progress) {
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
  bool interrupted = false;
  try {
    co_await aio::gather(std::move(tasks));
  } catch (const aio::cancelled_error&) {
    interrupted = true;
  }
  if (bar) {
    bar->cancel();
    try {
      co_await *bar;
    } catch (const aio::cancelled_error&) {
    }
    std::cerr << "\r\033[K" << std::flush;
  }
  co_await session.close();
  co_return interrupted;
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
  const bool interrupted = aio::run(fetch_all(all, opt, opt.progress && stderr_is_terminal()));
  std::size_t cancelled = 0;
  for (auto& d : all) {
    if (d.done) continue;
    d.error = "cancelled (Ctrl-C)";
    ++cancelled;
  }
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
  if (interrupted) {
    std::cerr << "concur fetch: interrupted: " << cancelled << " download"
              << (cancelled == 1 ? "" : "s") << " cancelled\n";
    return 130;  // what a shell reports for a program ended by SIGINT
  }
  return failed ? 1 : 0;
}

}  // namespace concur_cli
