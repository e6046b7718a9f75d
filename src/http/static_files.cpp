#include "concur/http/static_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "concur/core/error.hpp"
#include "concur/core/fd.hpp"
#include "concur/http/url.hpp"

namespace concur::http {

// ---------------------------------------------------------------- content types

namespace {

bool iends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

std::string_view guess_content_type(std::string_view file_name) noexcept {
  struct entry {
    std::string_view ext;
    std::string_view type;
  };
  // Python's mimetypes table for what web servers meet most; text gets its charset, as
  // aiohttp's FileResponse adds through its content_type / charset pair.
  static constexpr std::array<entry, 34> table{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".xml", "text/xml; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/vnd.microsoft.icon"},
      {".avif", "image/avif"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".otf", "font/otf"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".tar", "application/x-tar"},
      {".wasm", "application/wasm"},
      {".mp3", "audio/mpeg"},
      {".ogg", "audio/ogg"},
      {".wav", "audio/x-wav"},
      {".mp4", "video/mp4"},
      {".webm", "video/webm"},
      {".map", "application/json"},
      {".bin", "application/octet-stream"},
  }};
  for (const auto& e : table) {
    if (iends_with(file_name, e.ext)) return e.type;
  }
  return "application/octet-stream";
}

// ---------------------------------------------------------------- HTTP-date

namespace {

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void append_2(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

// A cursor over the date text: each step consumes what it matched or fails.
struct date_reader {
  std::string_view s;

  bool literal(std::string_view lit) noexcept {
    if (s.substr(0, lit.size()) != lit) return false;
    s.remove_prefix(lit.size());
    return true;
  }
  bool number(std::size_t min_digits, std::size_t max_digits, int& out) noexcept {
    std::size_t n = 0;
    while (n < s.size() && n < max_digits && s[n] >= '0' && s[n] <= '9') ++n;
    if (n < min_digits) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out = out * 10 + (s[i] - '0');
    s.remove_prefix(n);
    return true;
  }
  bool month(int& out) noexcept {
    for (std::size_t i = 0; i < month_names.size(); ++i) {
      if (literal(month_names[i])) {
        out = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool time_of_day(std::tm& t) noexcept {
    return number(2, 2, t.tm_hour) && literal(":") && number(2, 2, t.tm_min) && literal(":") &&
           number(2, 2, t.tm_sec);
  }
  // A day name, short ("Sun") or long ("Sunday", RFC 850): only its shape is checked, the
  // date itself decides the day.
  bool day_name(bool long_form) noexcept {
    static constexpr std::array<std::string_view, 7> long_names{
        "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
    if (long_form)
      return std::any_of(long_names.begin(), long_names.end(),
                         [&](std::string_view n) { return literal(n); });
    return std::any_of(day_names.begin(), day_names.end(),
                       [&](std::string_view n) { return literal(n); });
  }
};

bool parse_imf_fixdate(std::string_view text, std::tm& t) noexcept {
  date_reader r{text};
  return r.day_name(false) && r.literal(", ") && r.number(2, 2, t.tm_mday) && r.literal(" ") &&
         r.month(t.tm_mon) && r.literal(" ") && r.number(4, 4, t.tm_year) && r.literal(" ") &&
         r.time_of_day(t) && r.literal(" GMT") && r.s.empty();
}

bool parse_rfc850(std::string_view text, std::tm& t) noexcept {
  date_reader r{text};
  if (!(r.day_name(true) && r.literal(", ") && r.number(2, 2, t.tm_mday) && r.literal("-") &&
        r.month(t.tm_mon) && r.literal("-") && r.number(2, 2, t.tm_year) && r.literal(" ") &&
        r.time_of_day(t) && r.literal(" GMT") && r.s.empty()))
    return false;
  // Two-digit years: RFC 9110 5.6.7 reads a year more than 50 years ahead as the past.
  t.tm_year += t.tm_year < 70 ? 2000 : 1900;
  return true;
}

bool parse_asctime(std::string_view text, std::tm& t) noexcept {
  date_reader r{text};
  if (!(r.day_name(false) && r.literal(" ") && r.month(t.tm_mon) && r.literal(" "))) return false;
  // The day of the month takes two places: " 6" or "16".
  bool day = r.literal(" ") ? r.number(1, 1, t.tm_mday) : r.number(2, 2, t.tm_mday);
  return day && r.literal(" ") && r.time_of_day(t) && r.literal(" ") && r.number(4, 4, t.tm_year) &&
         r.s.empty();
}

}  // namespace

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::string out;
  out.reserve(29);
  out.append(day_names[static_cast<std::size_t>(tm.tm_wday)]).append(", ");
  append_2(out, tm.tm_mday);
  out.push_back(' ');
  out.append(month_names[static_cast<std::size_t>(tm.tm_mon)]).push_back(' ');
  out.append(std::to_string(tm.tm_year + 1900)).push_back(' ');
  append_2(out, tm.tm_hour);
  out.push_back(':');
  append_2(out, tm.tm_min);
  out.push_back(':');
  append_2(out, tm.tm_sec);
  out.append(" GMT");
  return out;
}

bool parse_http_date(std::string_view text, std::time_t& out) noexcept {
  std::tm t{};
  bool ok = parse_imf_fixdate(text, t);
  if (ok) {
    t.tm_year -= 1900;
  } else {
    t = std::tm{};
    ok = parse_rfc850(text, t);
    if (!ok) {
      t = std::tm{};
      ok = parse_asctime(text, t);
    }
    if (ok) t.tm_year -= 1900;
  }
  if (!ok || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 || t.tm_sec > 60)
    return false;
  out = ::timegm(&t);
  return out != static_cast<std::time_t>(-1);
}

// ---------------------------------------------------------------- conditional and range requests

namespace {

std::string hex(std::uint64_t v) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  return std::string(buf, end);
}

// aiohttp's validator: changes whenever the file is rewritten or resized.
std::string make_etag(std::uint64_t size, std::int64_t mtime_ns) {
  return '"' + hex(static_cast<std::uint64_t>(mtime_ns)) + '-' + hex(size) + '"';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-Match / If-None-Match: "*" or a list of entity tags. Weak comparison ignores the W/
// prefix on both sides (RFC 9110 8.8.3.2); strong comparison never matches a weak tag.
bool etag_listed(std::string_view list, std::string_view etag, bool weak) {
  if (trim(list) == "*") return true;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    bool is_weak = item.substr(0, 2) == "W/";
    if (is_weak) {
      if (!weak) continue;
      item.remove_prefix(2);
    }
    if (item == etag) return true;
  }
  return false;
}

std::optional<std::time_t> header_date(const http::headers& h, std::string_view name) {
  auto v = h.get(name);
  std::time_t t = 0;
  // An invalid date makes the condition absent (RFC 9110 13.1.3, 13.1.4).
  if (!v || !parse_http_date(trim(*v), t)) return std::nullopt;
  return t;
}

bool parse_position(std::string_view digits, std::uint64_t& out) noexcept {
  if (digits.empty() || digits.size() > 19) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

// "bytes=first-last", "bytes=first-", "bytes=-suffix": the one form aiohttp serves. Sets
// offset/length, or returns false for anything that cannot be satisfied (416).
bool resolve_range(std::string_view spec, std::uint64_t size, std::uint64_t& offset,
                   std::uint64_t& length) {
  if (spec.substr(0, 6) != "bytes=") return false;
  spec.remove_prefix(6);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return false;
  std::string_view first = spec.substr(0, dash);
  std::string_view last = spec.substr(dash + 1);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (first.empty()) {
    // A suffix: the last b bytes; "-0" asks for nothing (RFC 9110 14.1.3).
    if (!parse_position(last, b) || b == 0 || size == 0) return false;
    length = std::min(b, size);
    offset = size - length;
    return true;
  }
  if (!parse_position(first, a) || a >= size) return false;
  if (last.empty()) {
    b = size - 1;
  } else if (!parse_position(last, b) || b < a) {
    return false;
  }
  offset = a;
  length = std::min(b, size - 1) - a + 1;
  return true;
}

// If-Range: the range applies only while the client's copy is current (an ETag that matches
// strongly, or exactly the Last-Modified date).
bool range_applies(const http::headers& request, std::string_view etag, std::time_t mtime) {
  auto v = request.get("If-Range");
  if (!v) return true;
  auto value = trim(*v);
  if (!value.empty() && (value.front() == '"' || value.substr(0, 2) == "W/")) return value == etag;
  std::time_t t = 0;
  return parse_http_date(value, t) && t == mtime;
}

}  // namespace

file_answer plan_file_answer(const http::headers& request, std::uint64_t size,
                             std::int64_t mtime_ns) {
  file_answer a;
  const std::string etag = make_etag(size, mtime_ns);
  const std::time_t mtime = static_cast<std::time_t>(mtime_ns / 1'000'000'000);
  const auto if_match = request.get("If-Match");
  const auto if_none_match = request.get("If-None-Match");
  // RFC 9110 13.2.2: If-Match, then If-Unmodified-Since when there is no If-Match, then
  // If-None-Match, then If-Modified-Since when there is no If-None-Match, then Range.
  bool failed = if_match ? !etag_listed(*if_match, etag, false) : false;
  if (!if_match) {
    auto since = header_date(request, "If-Unmodified-Since");
    failed = since && mtime > *since;
  }
  if (failed) {
    a.status = 412;
    return a;
  }
  bool not_modified = if_none_match ? etag_listed(*if_none_match, etag, true) : false;
  if (!if_none_match) {
    auto since = header_date(request, "If-Modified-Since");
    not_modified = since && mtime <= *since;
  }
  a.fields.set("ETag", etag);
  a.fields.set("Last-Modified", format_http_date(mtime));
  if (not_modified) {
    a.status = 304;
    return a;
  }
  a.fields.set("Accept-Ranges", "bytes");
  a.length = size;
  auto range = request.get("Range");
  if (!range || !range_applies(request, etag, mtime)) return a;
  if (!resolve_range(trim(*range), size, a.offset, a.length)) {
    a.status = 416;
    a.offset = a.length = 0;
    a.fields.set("Content-Range", "bytes */" + std::to_string(size));
    return a;
  }
  a.status = 206;
  a.fields.set("Content-Range", "bytes " + std::to_string(a.offset) + "-" +
                                    std::to_string(a.offset + a.length - 1) + "/" +
                                    std::to_string(size));
  return a;
}

// ---------------------------------------------------------------- opening files

namespace {

[[noreturn]] void throw_open_error(int err, std::string_view shown) {
  if (err == ENOENT || err == ENOTDIR || err == EXDEV || err == ELOOP || err == ENAMETOOLONG)
    throw web_exception(404);
  if (err == EACCES || err == EPERM) throw web_exception(403);
  throw web_exception(500,
                      "cannot open '" + std::string(shown) + "': " + concur::errno_message(err));
}

web_response response_for_open_file(concur::unique_fd fd, const struct stat& st,
                                    std::string content_type) {
  auto body = std::make_shared<file_body>();
  body->fd = std::move(fd);
  body->size = static_cast<std::uint64_t>(st.st_size);
  body->mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  web_response r(200, {}, std::move(content_type));
  r.file = std::move(body);
  return r;
}

}  // namespace

web_response file_response(const std::filesystem::path& path, std::string content_type) {
  concur::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) throw_open_error(errno, path.native());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_open_error(errno, path.native());
  if (!S_ISREG(st.st_mode)) throw web_exception(403);
  if (content_type.empty()) content_type = guess_content_type(path.filename().native());
  return response_for_open_file(std::move(fd), st, std::move(content_type));
}

namespace {

// The relative path below the root, checked by name: no NUL, no "..", not absolute
// (aiohttp answers 403 for an absolute one and 404 for one that leaves the root).
std::string relative_below_root(std::string_view name) {
  if (name.find('\0') != std::string_view::npos) throw web_exception(404);
  if (!name.empty() && name.front() == '/') throw web_exception(403);
  std::string_view rest = name;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") throw web_exception(404);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return name.empty() ? std::string(".") : std::string(name);
}

// Where openat2 is missing (before Linux 5.6, or filtered by a sandbox), a walk that opens
// each component without following links: stricter, as it refuses links inside the root too.
int open_walk_nofollow(int root, const std::string& rel) {
  concur::unique_fd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  std::string_view rest = rel;
  for (;;) {
    auto slash = rest.find('/');
    std::string part(rest.substr(0, slash));
    bool last = slash == std::string_view::npos;
    rest = last ? std::string_view() : rest.substr(slash + 1);
    while (!last && rest.empty()) last = true;  // a trailing slash ends the walk too
    if (part.empty()) part = ".";
    int flags = O_CLOEXEC | O_NOFOLLOW | (last ? O_RDONLY : O_PATH | O_DIRECTORY);
    concur::unique_fd next(::openat(dir.get(), part.c_str(), flags));
    if (!next) return -1;
    if (last) return next.release();
    dir = std::move(next);
  }
}

int openat2_below(int root, const std::string& rel, std::uint64_t resolve) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

// The directory add_static serves, open, with its canonical name (for absolute links).
struct static_root {
  concur::unique_fd fd;
  std::string real;
};

// An absolute link is refused by RESOLVE_BENEATH even when it points inside the root (the
// kernel cannot follow it without leaving). aiohttp serves such a link: resolve the name, and
// if it lands below the root open that link-free name, refusing links this time, so a link
// swapped in after the check fails the open instead of leading out.
int open_through_absolute_link(const static_root& root, const std::string& rel) {
  std::string joined = root.real + "/" + rel;
  std::unique_ptr<char, void (*)(void*)> real(::realpath(joined.c_str(), nullptr), &std::free);
  if (!real) return -1;
  std::string_view r = real.get();
  if (r.substr(0, root.real.size()) != root.real || r.size() <= root.real.size() ||
      r[root.real.size()] != '/') {
    errno = EXDEV;
    return -1;
  }
  std::string below(r.substr(root.real.size() + 1));
  return openat2_below(root.fd.get(), below, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

int open_below(const static_root& root, const std::string& rel, bool follow_symlinks) {
  if (follow_symlinks) return ::openat(root.fd.get(), rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  int fd = openat2_below(root.fd.get(), rel, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) return open_walk_nofollow(root.fd.get(), rel);
  if (fd < 0 && errno == EXDEV) return open_through_absolute_link(root, rel);
  return fd;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '&':
        out.append("&amp;");
        break;
      case '"':
        out.append("&quot;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// aiohttp's show_index page: the entries of the directory, sorted, as links.
web_response directory_index(int dir_fd, std::string_view shown_path) {
  int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw_open_error(errno, shown_path);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(copy), &::closedir);
  if (!dir) {
    int err = errno;
    ::close(copy);
    throw_open_error(err, shown_path);
  }
  std::vector<std::pair<std::string, bool>> entries;
  // readdir is unsafe only on a DIR* that two threads share: this one is private to the call.
  while (const dirent* e = ::readdir(dir.get())) {  // NOLINT(concurrency-mt-unsafe)
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    entries.emplace_back(std::string(name), e->d_type == DT_DIR);
  }
  std::sort(entries.begin(), entries.end());
  std::string base(shown_path);
  if (base.empty() || base.back() != '/') base.push_back('/');
  std::string title = "Index of " + html_escape(base);
  std::string html = "<html>\n<head>\n<title>" + title + "</title>\n</head>\n<body>\n<h1>" + title +
                     "</h1>\n<ul>\n";
  for (const auto& [name, is_dir] : entries) {
    std::string shown = name + (is_dir ? "/" : "");
    html += "<li><a href=\"" + html_escape(percent_encode(base + shown, "/")) + "\">" +
            html_escape(shown) + "</a></li>\n";
  }
  html += "</ul>\n</body>\n</html>";
  return text_response(std::move(html), 200, "text/html; charset=utf-8");
}

}  // namespace

void add_static(application& app, std::string_view prefix, const std::filesystem::path& root,
                static_options options) {
  std::string base(prefix);
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto served = std::make_shared<static_root>();
  served->fd = concur::unique_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!served->fd)
    throw route_error("add_static: '" + root.native() +
                      "' is not a directory: " + concur::errno_message(errno));
  std::error_code ec;
  served->real = std::filesystem::canonical(root, ec).native();
  app.get(base + "/{filename:.*}",
          [served, options](web_request& request) -> aio::task<web_response> {
            std::string rel = relative_below_root(request.match_info("filename"));
            concur::unique_fd fd(open_below(*served, rel, options.follow_symlinks));
            if (!fd) throw_open_error(errno, rel);
            struct stat st {};
            if (::fstat(fd.get(), &st) != 0) throw_open_error(errno, rel);
            if (S_ISDIR(st.st_mode)) {
              if (!options.show_index) throw web_exception(403);
              co_return directory_index(fd.get(), request.path());
            }
            if (!S_ISREG(st.st_mode)) throw web_exception(403);
            std::string type(guess_content_type(rel));
            co_return response_for_open_file(std::move(fd), st, std::move(type));
          });
}

}  // namespace concur::http
