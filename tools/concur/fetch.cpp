// concur fetch: a concurrent downloader on one event loop. -j bounds the downloads in
// flight, --per-host bounds them per host (the session's connection limit). A transfer that
// breaks (refused, reset, cut short, timed out) or a 408, 429 or 5xx is retried with
// exponential backoff (longer if the server's Retry-After asks); a URL that cannot work is
// not. Bodies stream to files whose names are made safe, and a file is complete or absent
// (with -c, a partial body stays as <name>.part and the next run continues it).
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <concur/aio.hpp>
#include <concur/http.hpp>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
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
  std::uint64_t bytes = 0;         // body bytes received by the last attempt
  std::uint64_t resumed_from = 0;  // bytes of an earlier part file the last attempt kept
  unsigned attempts = 0;
  double seconds = 0;
  std::string error;
  bool done = false;
  bool retrying = false;  // waiting before its next attempt
  bool skipped = false;   // -c and the file is already there, complete
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
// only once it is whole, so the final name holds a complete file or nothing. A failed or
// cancelled attempt removes its part file, unless it is kept for -c to continue.
class part_file {
 public:
  part_file(std::string final_path, bool keep_partial)
      : final_(std::move(final_path)), part_(final_ + ".part"), keep_(keep_partial) {}
  part_file(const part_file&) = delete;
  part_file& operator=(const part_file&) = delete;
  ~part_file() { discard(); }

  // Bytes already in the part file (what a Range request may continue from).
  static std::uint64_t existing(const std::string& final_path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(final_path + ".part", ec);
    return ec ? 0 : size;
  }
  // append: keep what the part file holds and write after it; otherwise start it afresh.
  void open(bool append) {
    out_.open(part_, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
    if (!out_) throw concur::error("cannot write " + part_);
  }
  void write(std::string_view chunk) {
    out_.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (!out_) throw concur::error("cannot write " + part_);
  }
  void commit() {
    if (out_.is_open()) out_.close();
    if (!out_) throw concur::error("cannot write " + part_);
    std::error_code ec;
    std::filesystem::rename(part_, final_, ec);
    if (ec) throw concur::error("cannot rename " + part_ + " to " + final_ + ": " + ec.message());
    committed_ = true;
  }
  void discard() noexcept {
    if (committed_) return;
    if (out_.is_open()) out_.close();
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove(part_, ec);
  }

 private:
  std::string final_;
  std::string part_;
  std::ofstream out_;
  bool keep_;
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

// Whether a 206 continues exactly where the part file ends: "bytes <from>-<last>/<total>".
bool range_starts_at(const http::response& r, std::uint64_t from) {
  auto value = r.headers().get("Content-Range");
  if (!value) return false;
  const std::string expected = "bytes " + std::to_string(from) + "-";
  return value->substr(0, expected.size()) == expected;
}

// A 416 to "bytes=<have>-" whose Content-Range says the whole is "<have>" bytes: the part
// file already holds all of it (wget's "already fully retrieved").
bool part_is_whole(const http::response& r, std::uint64_t have) {
  auto value = r.headers().get("Content-Range");
  return value && *value == "bytes */" + std::to_string(have);
}

std::chrono::duration<double> seconds_of(double s) { return std::chrono::duration<double>(s); }

// One attempt: the status, the bytes, and (on success) the file in place. Throws what broke.
aio::task<void> attempt_once(http::client_session& session, download& d, const fetch_options& opt,
                             std::optional<http::duration> time_left, std::uint64_t& bytes_done,
                             std::optional<std::chrono::seconds>& asked_wait) {
  http::request_options ro;
  // The smaller of --attempt-timeout and what --timeout leaves; neither: no limit.
  std::optional<http::duration> limit = time_left;
  if (opt.attempt_timeout_s > 0) {
    auto per_try = std::chrono::duration_cast<http::duration>(seconds_of(opt.attempt_timeout_s));
    limit = limit ? std::min(*limit, per_try) : per_try;
  }
  http::client_timeout timeout;
  timeout.total = limit;
  ro.timeout = timeout;
  const std::uint64_t have = opt.resume && !d.file.empty() ? part_file::existing(d.file) : 0;
  if (have > 0) {
    ro.with_header("Range", "bytes=" + std::to_string(have) + "-");
    ro.with_header("Accept-Encoding", "identity");  // a range of the bytes as stored
  }
  auto r = co_await session.get(d.url, std::move(ro));
  d.status = r.status();
  asked_wait = retry_after(r);
  std::optional<part_file> out;
  if (have > 0 && r.status() == 416 && part_is_whole(r, have)) {
    part_file whole(d.file, true);
    whole.commit();
    d.status = 200;
    d.resumed_from = have;
    co_return;
  }
  const bool continues = have > 0 && r.status() == 206 && range_starts_at(r, have);
  if (r.status() == 206 && !continues) {
    // A part that does not start where the part file ends (or a part nobody asked for)
    // cannot be appended or saved as the whole file; asking again would get the same answer.
    const std::string range(r.headers().get("Content-Range", "none"));
    d.error = have > 0 ? "the server's partial answer (Content-Range: " + range +
                             ") does not continue the " + std::to_string(have) + " bytes of " +
                             d.file + ".part"
                       : "the server answered 206 (Content-Range: " + range +
                             ") to a request for the whole file";
    co_return;
  }
  if (!d.file.empty() && (r.ok() || continues)) {
    out.emplace(d.file, opt.resume);
    out->open(continues);
    d.resumed_from = continues ? have : 0;
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

// The terminal (or pipe) side of a run: a line per URL as soon as it is done, a progress
// bar on a terminal, and the summary.
class reporter {
 public:
  reporter(const std::vector<download>& all, const fetch_options& opt, bool bar)
      : all_(all), opt_(opt), bar_(bar && !opt.quiet), start_(clock_type::now()) {
    for (const auto& d : all)
      url_width_ = std::min<std::size_t>(60, std::max(url_width_, d.url.size()));
  }

  void finished(const download& d) {
    clear_bar();
    if (opt_.json) {
      std::cout << to_json(d).dump() << std::endl;
    } else if (!opt_.quiet) {
      std::cout << text_line(d) << std::endl;
    }
    if (!d.ok())
      std::cerr << "concur fetch: " << d.url << ": "
                << (d.error.empty() ? "HTTP " + std::to_string(d.status) : d.error) << "\n";
    draw();
  }

  void draw() {
    if (!bar_) return;
    std::cerr << "\r\033[K" << bar_line(terminal_width()) << std::flush;
    drawn_ = true;
  }
  // The bar is gone for good: what follows (the summary) stays on a clean line.
  void end_bar() {
    clear_bar();
    bar_ = false;
  }
  void clear_bar() {
    if (!drawn_) return;
    std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }

  std::uint64_t& bytes_done() noexcept { return bytes_done_; }
  double elapsed() const {
    return std::chrono::duration<double>(clock_type::now() - start_).count();
  }

 private:
  static nlohmann::json to_json(const download& d) {
    nlohmann::json j = {{"url", d.url},         {"ok", d.ok()},
                        {"status", d.status},   {"bytes", d.bytes + d.resumed_from},
                        {"seconds", d.seconds}, {"tries", d.attempts}};
    if (!d.file.empty() && d.ok()) j["file"] = d.file;
    if (d.resumed_from > 0) j["resumed_from"] = d.resumed_from;
    if (d.skipped) j["skipped"] = true;
    if (!d.error.empty()) j["error"] = d.error;
    return j;
  }

  std::string text_line(const download& d) const {
    std::string url = d.url.size() > url_width_ ? d.url.substr(0, url_width_ - 3) + "..." : d.url;
    std::string line = std::string(d.ok() ? "ok    " : "FAIL  ") + url +
                       std::string(url_width_ - url.size(), ' ') + "  " +
                       (d.status ? std::to_string(d.status) : "---") + "  " +
                       format_bytes(d.bytes + d.resumed_from) + "  " + format_seconds(d.seconds) +
                       "  tries=" + std::to_string(d.attempts);
    if (d.skipped) line += "  (already complete)";
    if (d.resumed_from > 0) line += "  (continued from " + format_bytes(d.resumed_from) + ")";
    if (!d.error.empty()) line += "  " + d.error;
    if (!d.file.empty() && d.ok()) line += "  -> " + d.file;
    return line;
  }

  static std::string mm_ss(double s) {
    const long total = s < 0 ? 0 : static_cast<long>(s + 0.5);
    char buf[32];
    if (total >= 3600) {
      std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
    } else {
      std::snprintf(buf, sizeof buf, "%02ld:%02ld", total / 60, total % 60);
    }
    return buf;
  }

  // tqdm's shape: " 37/120  31% |#####.....| 00:12<00:26, 3.1 files/s, 1.2 MiB/s, 2 failed,
  // 1 retrying", the bar taking what the terminal's width leaves.
  std::string bar_line(std::size_t columns) const {
    std::size_t done = 0, failed = 0, retrying = 0;
    for (const auto& d : all_) {
      done += d.done;
      failed += d.done && !d.ok();
      retrying += !d.done && d.retrying;
    }
    const double elapsed_s = elapsed();
    const double total = double(all_.size());
    const double percent = total > 0 ? 100.0 * double(done) / total : 100.0;
    char head[64];
    std::snprintf(head, sizeof head, "%zu/%zu %3.0f%% ", done, all_.size(), percent);
    std::string tail = " " + mm_ss(elapsed_s) + "<" +
                       (done > 0 ? mm_ss(elapsed_s / double(done) * (total - double(done))) : "?") +
                       ", ";
    char rates[64];
    std::snprintf(rates, sizeof rates, "%.1f files/s, ", double(done) / std::max(elapsed_s, 1e-3));
    tail += rates;
    tail += format_bytes(std::uint64_t(double(bytes_done_) / std::max(elapsed_s, 1e-3))) + "/s";
    if (failed) tail += ", " + std::to_string(failed) + " failed";
    if (retrying) tail += ", " + std::to_string(retrying) + " retrying";
    const std::size_t fixed = std::string_view(head).size() + tail.size() + 2;
    if (columns < fixed + 10)
      return (std::string(head) + tail).substr(0, columns ? columns - 1 : 0);
    const std::size_t width = std::min<std::size_t>(columns - fixed - 1, 40);
    const auto filled = std::size_t(double(width) * double(done) / std::max(total, 1.0));
    return std::string(head) + "|" + std::string(filled, '#') + std::string(width - filled, '.') +
           "|" + tail;
  }

  static std::size_t terminal_width() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
  }

  const std::vector<download>& all_;
  const fetch_options& opt_;
  bool bar_;
  bool drawn_ = false;
  clock_type::time_point start_;
  std::uint64_t bytes_done_ = 0;
  std::size_t url_width_ = 3;
};

aio::task<void> fetch_one(http::client_session& session, aio::semaphore& slots, download& d,
                          const fetch_options& opt, reporter& report) {
  co_await slots.acquire();
  struct release_slot {
    aio::semaphore& s;
    ~release_slot() { s.release(); }
  } hold{slots};
  const auto start = clock_type::now();
  // --timeout bounds the whole download, every try and wait included.
  const auto deadline =
      opt.timeout_s > 0
          ? start + std::chrono::duration_cast<clock_type::duration>(seconds_of(opt.timeout_s))
          : clock_type::time_point::max();
  auto time_left = [&]() -> std::optional<http::duration> {
    if (deadline == clock_type::time_point::max()) return std::nullopt;
    return std::chrono::duration_cast<http::duration>(deadline - clock_type::now());
  };
  auto out_of_time = [&] {
    auto left = time_left();
    return left && *left <= http::duration::zero();
  };
  std::optional<std::chrono::seconds> asked_wait;
  bool deadline_hit = false;
  for (unsigned attempt = 0; attempt <= opt.retries; ++attempt) {
    if (attempt > 0) {
      const auto wait = backoff(attempt, asked_wait);
      if (auto left = time_left(); left && wait >= *left) {
        deadline_hit = true;  // no time for another try: keep the last error
        break;
      }
      d.retrying = true;
      co_await aio::sleep(wait);
      d.retrying = false;
    }
    d.attempts = attempt + 1;
    d.error.clear();
    d.status = 0;
    d.bytes = 0;
    d.resumed_from = 0;
    asked_wait.reset();
    std::exception_ptr failure;
    try {
      if (out_of_time()) throw concur::timeout_error("no time left for another try");
      co_await attempt_once(session, d, opt, time_left(), report.bytes_done(), asked_wait);
    } catch (const std::exception& e) {
      d.error = e.what();
      failure = std::current_exception();
    }
    const bool again =
        failure ? retryable_failure(failure) : (!d.error.empty() && retryable_status(d.status));
    if (!again) break;
  }
  if (!d.error.empty() && (deadline_hit || out_of_time())) {
    char text[96];
    std::snprintf(text, sizeof text, " (no time left: --timeout %g s for this URL)", opt.timeout_s);
    d.error += text;
  }
  d.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  d.done = true;
  report.finished(d);
}

aio::task<void> show_progress(reporter& report) {
  for (;;) {
    report.draw();
    co_await aio::sleep(std::chrono::milliseconds(100));
  }
}

// True when Ctrl-C interrupted it: aio::run cancels this task at the first SIGINT (a second
// one ends the program at once); the downloads are cancelled with it, which removes their
// part files (or keeps them with -c), and the summary is still printed.
aio::task<bool> fetch_all(std::vector<download>& all, const fetch_options& opt, reporter& report,
                          bool progress) {
  http::session_options so;
  so.limit = std::max<std::size_t>(opt.jobs, 1);
  so.limit_per_host = opt.per_host;
  http::client_session session(so);
  aio::semaphore slots(opt.jobs);
  std::optional<aio::task_handle<void>> bar;
  if (progress) bar = aio::create_task(show_progress(report));
  std::vector<aio::task<void>> tasks;
  for (auto& d : all) {
    if (d.done) continue;  // skipped: already complete
    tasks.push_back(fetch_one(session, slots, d, opt, report));
  }
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
  }
  report.end_bar();
  co_await session.close();
  co_return interrupted;
}

std::vector<std::string> read_urls(const fetch_options& opt) {
  std::vector<std::string> urls = opt.urls;
  if (opt.input_file == "-") {
    auto more = read_url_stream(std::cin);
    urls.insert(urls.end(), more.begin(), more.end());
  } else if (!opt.input_file.empty()) {
    auto more = read_url_file(opt.input_file, "fetch");
    urls.insert(urls.end(), more.begin(), more.end());
  }
  if (urls.empty()) throw concur::error("no URLs to fetch");
  return urls;
}

// -c and a complete file already under the final name: nothing to fetch.
void mark_complete(download& d) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(d.file, ec);
  if (ec) return;
  d.done = d.skipped = true;
  d.status = 200;
  d.bytes = size;
}

}  // namespace

int run_fetch(const fetch_options& opt) {
  std::vector<download> all;
  std::set<std::string> taken;
  if (!opt.output_dir.empty()) std::filesystem::create_directories(opt.output_dir);
  for (auto& u : read_urls(opt)) {
    download d;
    d.url = u;
    if (!opt.output_dir.empty()) {
      d.file = (std::filesystem::path(opt.output_dir) / safe_file_name(u, taken)).string();
      if (opt.resume) mark_complete(d);
    }
    all.push_back(std::move(d));
  }
  const bool progress = opt.progress && !opt.quiet && stderr_is_terminal();
  reporter report(all, opt, progress);
  for (const auto& d : all) {
    if (d.skipped) report.finished(d);
  }
  const bool interrupted = aio::run(fetch_all(all, opt, report, progress));
  std::size_t cancelled = 0;
  for (auto& d : all) {
    if (d.done) continue;
    d.error = "cancelled (Ctrl-C)";
    d.seconds = report.elapsed();
    report.finished(d);
    ++cancelled;
  }

  std::size_t failed = 0;
  std::uint64_t bytes = 0;
  for (const auto& d : all) {
    failed += !d.ok();
    if (!d.skipped) bytes += d.bytes;
  }
  const double elapsed = report.elapsed();
  if (!opt.quiet) {
    // With --json, stdout carries only the objects: the summary goes to stderr.
    std::ostream& out = opt.json ? std::cerr : std::cout;
    out << all.size() << " URLs, " << all.size() - failed << " ok, " << failed << " failed, "
        << format_bytes(bytes) << " in " << format_seconds(elapsed) << " ("
        << format_bytes(std::uint64_t(double(bytes) / std::max(elapsed, 1e-3))) << "/s)\n";
  }
  if (interrupted) {
    std::cerr << "concur fetch: interrupted: " << cancelled << " download"
              << (cancelled == 1 ? "" : "s") << " cancelled\n";
    return 130;  // what a shell reports for a program ended by SIGINT
  }
  return failed ? 1 : 0;
}

}  // namespace concur_cli
