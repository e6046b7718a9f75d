#include "concur/http/client_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <random>
#include <vector>

#include "client_impl.hpp"
#include "concur/core/fd.hpp"
#include "concur/http/errors.hpp"
#include "concur/net/errors.hpp"

namespace concur::http {

namespace detail {

// ------------------------------------------------------------------ pool

connection_pool::connection_pool(session_options o) : opts(std::move(o)) {
  if (opts.limit == 0) throw client_error("client_session: limit must be at least 1");
  limits.max_header_bytes = opts.max_header_bytes;
  limits.max_body_bytes = opts.max_body_bytes;
}

connection_pool::~connection_pool() { close_all(); }

const net::tls_context& connection_pool::tls() {
  if (!tls_) tls_ = net::tls_context::client(opts.tls);
  return *tls_;
}

void connection_pool::wake_waiters() noexcept {
  for (auto* slot : waiters_) slot->wake();
}

aio::task<std::unique_ptr<client_connection>> connection_pool::acquire(
    const url& u, std::optional<time_point> deadline, bool& reused) {
  // Keeps the pool alive while this coroutine runs, even if the session goes away.
  auto self = shared_from_this();
  std::string key = u.origin();
  std::string where = net::host_port(u.host, u.port);
  reused = false;
  for (;;) {
    if (closed) throw client_error("client_session is closed");
    host_state& hs = hosts_[key];
    auto now = aio::get_running_loop().now();
    while (!hs.idle.empty()) {
      std::unique_ptr<client_connection> c = std::move(hs.idle.back());
      hs.idle.pop_back();
      --idle;
      // The background reader has already seen a server that closed an idle connection.
      bool stale = c->reader.at_eof() || !c->reader.buffered().empty() || c->writer.is_closing() ||
                   now - c->idle_since > opts.keepalive_timeout;
      if (stale) {
        c->writer.abort();
        continue;
      }
      ++in_use;
      ++hs.in_use;
      reused = true;
      co_return c;
    }
    if (has_room(hs)) break;
    net::detail::park_slot mine;
    waiters_.push_back(&mine);
    struct unlist {
      std::vector<net::detail::park_slot*>& v;
      net::detail::park_slot* s;
      ~unlist() { std::erase(v, s); }
    } guard{waiters_, &mine};
    co_await net::detail::park_awaiter(mine, deadline, &where, "waiting for a connection to");
  }
  host_state& hs = hosts_[key];
  ++in_use;
  ++hs.in_use;
  try {
    net::connection_options co;
    if (deadline) {
      auto left = *deadline - aio::get_running_loop().now();
      if (left <= duration::zero()) throw timeout_error("connect to " + where + " timed out");
      co.connect_timeout = left;
    }
    if (u.is_tls()) co.tls = tls();
    co.limit = std::max<std::size_t>(opts.max_header_bytes, 64 * 1024);
    auto [reader, writer] = co_await net::open_connection(u.host, u.port, co);
    ++opened;
    co_return std::make_unique<client_connection>(std::move(reader), std::move(writer), key, where,
                                                  limits);
  } catch (...) {
    --in_use;
    --hosts_[key].in_use;
    wake_waiters();
    throw;
  }
}

void connection_pool::release(std::unique_ptr<client_connection> c, bool reusable) noexcept {
  if (!c) return;
  --in_use;
  auto it = hosts_.find(c->key);
  if (it != hosts_.end()) --it->second.in_use;
  if (reusable && !closed && it != hosts_.end() && !c->writer.is_closing() &&
      c->reader.buffered().empty()) {
    c->idle_since = aio::get_running_loop().now();
    c->parser.reset();
    try {
      it->second.idle.push_back(std::move(c));
      ++idle;
    } catch (...) {
      c->writer.abort();
    }
  } else {
    c->writer.abort();
  }
  wake_waiters();
}

void connection_pool::close_all() noexcept {
  closed = true;
  for (auto& [key, hs] : hosts_) {
    for (auto& c : hs.idle) c->writer.abort();
    hs.idle.clear();
  }
  idle = 0;
  wake_waiters();
}

void arm_read_timeout(net::stream_reader& reader, std::optional<duration> sock_read,
                      std::optional<time_point> deadline, const std::string& where) {
  std::optional<duration> t = sock_read;
  if (deadline) {
    auto left = *deadline - aio::get_running_loop().now();
    if (left <= duration::zero()) throw timeout_error("request to " + where + " timed out");
    if (!t || left < *t) t = left;
  }
  reader.set_read_timeout(t);
}

request_deadlines deadlines_for(const client_timeout& t) {
  auto start = aio::get_running_loop().now();
  request_deadlines d;
  if (t.total) d.total = start + *t.total;
  d.connect = d.total;
  if (t.connect && (!d.connect || start + *t.connect < *d.connect)) d.connect = start + *t.connect;
  return d;
}

void add_header(std::string& out, std::string_view name, std::string_view value) {
  auto has_crlf = [](std::string_view v) {
    return v.find_first_of("\r\n") != std::string_view::npos;
  };
  if (has_crlf(name) || has_crlf(value) || name.empty())
    throw client_error("invalid header field '" + std::string(name) + "'");
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace detail

namespace {

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE";
}

// A piece of a request body: bytes in memory, or a file read when it is sent.
struct body_segment {
  std::string bytes;
  std::optional<std::filesystem::path> file;
  std::uint64_t file_size = 0;

  std::uint64_t length() const noexcept { return file ? file_size : bytes.size(); }
};

struct prepared_body {
  // Sent in order after the head, their total as Content-Length.
  std::vector<body_segment> segments;
  std::string content_type;
  bool present = false;
  // A chunked upload from a source that runs once; `started` once it has been asked for data.
  std::function<aio::task<std::string>()> stream;
  std::shared_ptr<bool> stream_started = std::make_shared<bool>(false);

  std::uint64_t length() const noexcept {
    std::uint64_t n = 0;
    for (const auto& s : segments) n += s.length();
    return n;
  }
  void add_bytes(std::string_view b) {
    if (segments.empty() || segments.back().file) segments.emplace_back();
    segments.back().bytes.append(b);
  }
  void add_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw os_error(ec.value(), "stat " + path.string());
    segments.push_back(body_segment{std::string(), path, size});
  }
};

// A quoted-string parameter of Content-Disposition as browsers write it (the HTML standard's
// form encoding): '"', CR and LF percent-encoded, so a name cannot end its quotes or its line.
std::string disposition_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') {
      out += "%22";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// 128 random bits in hex, as aiohttp's uuid4 boundary: a part that contains it by chance is
// not a concern at that size.
std::string random_boundary() {
  static constexpr char digits[] = "0123456789abcdef";
  std::random_device rd;
  std::string out(32, '0');
  for (std::size_t i = 0; i < out.size(); i += 8) {
    auto v = rd();
    for (std::size_t j = 0; j < 8; ++j, v >>= 4) out[i + j] = digits[v & 15u];
  }
  return out;
}

// multipart/form-data (RFC 7578): one part per field, files as file segments.
void prepare_multipart(prepared_body& b, const form_data& form) {
  const std::string boundary = random_boundary();
  for (const auto& f : form.fields()) {
    std::string head =
        "--" + boundary + "\r\nContent-Disposition: form-data; name=" + disposition_quoted(f.name);
    if (f.filename) head += "; filename=" + disposition_quoted(*f.filename);
    head += "\r\n";
    if (!f.content_type.empty()) head += "Content-Type: " + f.content_type + "\r\n";
    head += "\r\n";
    b.add_bytes(head);
    if (f.file) {
      b.add_file(*f.file);
    } else {
      b.add_bytes(f.value);
    }
    b.add_bytes("\r\n");
  }
  b.add_bytes("--" + boundary + "--\r\n");
  b.content_type = "multipart/form-data; boundary=" + boundary;
}

prepared_body prepare_body(const request_options& o) {
  prepared_body b;
  int given = int(o.json.has_value()) + int(o.form.has_value()) + int(o.data.has_value()) +
              int(o.file.has_value()) + int(o.form_fields.has_value()) +
              int(static_cast<bool>(o.stream));
  if (given > 1)
    throw client_error("request: give only one of json, form, form_data, data, file and stream");
  b.present = given == 1;
  if (o.json) {
    b.add_bytes(o.json->dump());
    b.content_type = "application/json";
  } else if (o.form) {
    b.add_bytes(urlencode(*o.form));
    b.content_type = "application/x-www-form-urlencoded";
  } else if (o.form_fields && !o.form_fields->is_multipart()) {
    query_params pairs;
    for (const auto& f : o.form_fields->fields()) pairs.emplace_back(f.name, f.value);
    b.add_bytes(urlencode(pairs));
    b.content_type = "application/x-www-form-urlencoded";
  } else if (o.form_fields) {
    prepare_multipart(b, *o.form_fields);
  } else if (o.data) {
    b.add_bytes(*o.data);
    b.content_type = "application/octet-stream";
  } else if (o.file) {
    b.add_file(*o.file);
    b.content_type = "application/octet-stream";
  } else if (o.stream) {
    b.stream = o.stream;
    b.content_type = "application/octet-stream";
  }
  return b;
}

// Writes the head into `out`, and the body's first segment too when it is in memory (the usual
// case: one write for the whole request); returns how many segments it wrote.
std::size_t serialize(std::string& out, const std::string& method, const url& u,
                      const session_options& so, const http::headers& hdrs,
                      const prepared_body& body) {
  out.clear();
  out.append(method);
  out.push_back(' ');
  out.append(u.path);
  if (!u.query.empty()) {
    out.push_back('?');
    out.append(u.query);
  }
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(u.host_header());
  out.append("\r\n");
  for (const auto& [k, v] : hdrs) {
    if (iequals(k, "host") || iequals(k, "content-length")) continue;
    detail::add_header(out, k, v);
  }
  for (const auto& [k, v] : so.headers) {
    if (iequals(k, "host") || iequals(k, "content-length") || hdrs.contains(k)) continue;
    detail::add_header(out, k, v);
  }
  auto present = [&](std::string_view n) { return hdrs.contains(n) || so.headers.contains(n); };
  if (!present("user-agent")) detail::add_header(out, "User-Agent", so.user_agent);
  if (!present("accept")) out.append("Accept: */*\r\n");
  if (so.auto_decompress && !present("accept-encoding"))
    out.append("Accept-Encoding: gzip, deflate\r\n");
  bool needs_length = body.present || method == "POST" || method == "PUT" || method == "PATCH";
  if (body.present && !present("content-type"))
    detail::add_header(out, "Content-Type", body.content_type);
  if (body.stream) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (needs_length) {
    out.append("Content-Length: ");
    out.append(std::to_string(body.length()));
    out.append("\r\n");
  }
  out.append("\r\n");
  if (body.segments.empty() || body.segments.front().file) return 0;
  out.append(body.segments.front().bytes);
  return 1;
}

std::optional<content_coding> coding_of(const http::headers& h, bool auto_decompress) {
  if (!auto_decompress) return std::nullopt;
  auto enc = h.get("content-encoding");
  if (!enc) return std::nullopt;
  auto c = parse_content_coding(*enc);
  if (c == content_coding::identity) return std::nullopt;
  return c;
}

// Waits until what was written is sent, up to the request's deadline.
aio::task<void> drain_until(net::stream_writer& w, std::optional<concur::time_point> deadline) {
  if (w.write_buffer_size() == 0) co_return;
  if (deadline) {
    co_await aio::timeout_at(*deadline, [](net::stream_writer writer) -> aio::task<void> {
      co_await writer.drain();
    }(w));
  } else {
    co_await w.drain();
  }
}

// Streams one file segment, 64 KiB at a time, opening the file afresh so a retry or a redirect
// sends it whole again. A file that shrank since its size went into Content-Length would leave
// the message short: that is an error, and the connection is not reused.
aio::task<void> send_file(net::stream_writer& w, const body_segment& seg,
                          std::optional<concur::time_point> deadline) {
  const std::string name = seg.file->string();
  concur::unique_fd fd(::open(seg.file->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw os_error(errno, "open " + name);
  std::string buf(64 * 1024, '\0');
  for (std::uint64_t left = seg.file_size; left > 0;) {
    const auto n = ::read(fd.get(), buf.data(), std::min<std::uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw os_error(errno, "read " + name);
    if (n == 0)
      throw client_error("file " + name + " became shorter than the " +
                         std::to_string(seg.file_size) + " bytes announced while it was sent");
    w.write(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    left -= static_cast<std::uint64_t>(n);
    co_await drain_until(w, deadline);
  }
}

// Sends the body's segments from `first` on (those serialize() did not put in the head's write).
aio::task<void> send_segments(net::stream_writer& w, const prepared_body& body, std::size_t first,
                              std::optional<concur::time_point> deadline) {
  for (std::size_t i = first; i < body.segments.size(); ++i) {
    const auto& seg = body.segments[i];
    if (seg.file) {
      co_await send_file(w, seg, deadline);
    } else {
      w.write(seg.bytes);
      co_await drain_until(w, deadline);
    }
  }
}

// Sends a streamed body after the head in chunked framing, one chunk per piece of the source,
// and the last chunk when the source returns "".
aio::task<void> send_stream_body(net::stream_writer& w, const prepared_body& body,
                                 std::optional<concur::time_point> deadline) {
  *body.stream_started = true;
  for (;;) {
    std::string piece = co_await body.stream();
    if (piece.empty()) break;
    char size[20];
    auto [end, ec] = std::to_chars(size, size + sizeof size, piece.size(), 16);
    w.write(std::string_view(size, static_cast<std::size_t>(end - size)));
    w.write("\r\n");
    w.write(piece);
    w.write("\r\n");
    co_await drain_until(w, deadline);
  }
  w.write("0\r\n\r\n");
  co_await drain_until(w, deadline);
}

// Outcome of one exchange on one connection.
struct exchange_result {
  response resp;
  bool retry = false;  // the reused connection was dead before any response byte
};

aio::task<exchange_result> exchange(std::shared_ptr<detail::connection_pool> pool,
                                    const std::string& method, const url& u,
                                    const http::headers& hdrs, const prepared_body& body,
                                    std::optional<concur::time_point> deadline,
                                    std::optional<duration> sock_read,
                                    std::optional<concur::time_point> connect_deadline) {
  bool reused = false;
  std::unique_ptr<detail::client_connection> conn =
      co_await pool->acquire(u, connect_deadline, reused);
  auto& c = *conn;
  bool ok = false;
  struct give_back {
    std::shared_ptr<detail::connection_pool>& pool;
    std::unique_ptr<detail::client_connection>& conn;
    bool& ok;
    ~give_back() {
      if (conn && !ok) pool->release(std::move(conn), false);
    }
  } guard{pool, conn, ok};

  const std::size_t inlined = serialize(c.out, method, u, pool->opts, hdrs, body);
  ++c.requests;
  c.parser.reset();
  if (method == "HEAD") c.parser.expect_no_body();
  try {
    c.writer.write(c.out);
    co_await drain_until(c.writer, deadline);
    co_await send_segments(c.writer, body, inlined, deadline);
    if (body.stream) co_await send_stream_body(c.writer, body, deadline);
  } catch (const net::connection_error&) {
    if (reused) co_return exchange_result{response(), true};
    throw;
  }

  // Status line and headers.
  bool any_bytes = false;
  try {
    for (;;) {
      auto buf = c.reader.buffered();
      if (!buf.empty()) {
        any_bytes = true;
        std::size_t n = c.parser.feed(buf);
        c.reader.consume(n);
        if (c.parser.headers_complete()) break;
        if (n < buf.size()) continue;
      }
      detail::arm_read_timeout(c.reader, sock_read, deadline, c.where);
      if (!co_await c.reader.fill()) {
        if (!any_bytes && reused) co_return exchange_result{response(), true};
        c.parser.feed_eof();
        if (c.parser.headers_complete()) break;
        throw payload_error("server " + c.where + " closed the connection before responding");
      }
    }
  } catch (const parse_error& e) {
    throw payload_error("bad response from " + c.where + ": " + e.what());
  } catch (const net::connection_error& e) {
    if (!any_bytes && reused && idempotent(method)) co_return exchange_result{response(), true};
    throw;
  }

  response::init parts;
  parts.status = c.parser.status();
  parts.reason = c.parser.reason();
  parts.headers = c.parser.take_headers();
  parts.url = u;
  parts.method = method;
  parts.major = c.parser.http_major();
  parts.minor = c.parser.http_minor();
  auto coding = coding_of(parts.headers, pool->opts.auto_decompress);

  std::unique_ptr<detail::body_reader> reader;
  if (c.parser.message_complete()) {
    // The whole body came with the headers (the common case for small responses): decode it
    // now and give the connection back at once.
    std::string b = c.parser.take_body();
    if (coding) {
      decompressor d(*coding);
      d.set_max_output(pool->limits.max_body_bytes);
      std::string plain;
      d.feed(b, plain);
      d.finish();
      b = std::move(plain);
    }
    bool keep = c.parser.keep_alive() && !c.parser.upgrade();
    ok = true;
    pool->release(std::move(conn), keep);
    reader = std::make_unique<detail::body_reader>(std::move(b), u.str());
  } else {
    ok = true;
    reader = std::make_unique<detail::body_reader>(pool, std::move(conn), coding, deadline,
                                                   sock_read, u.str());
  }
  co_return exchange_result{response(std::move(parts), std::move(reader)), false};
}

aio::task<response> run_request(std::shared_ptr<detail::connection_pool> pool, std::string method,
                                std::string target, request_options o) {
  if (pool->closed) throw client_error("client_session is closed");
  for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const auto& so = pool->opts;
  client_timeout t = o.timeout ? *o.timeout : so.timeout;
  const detail::request_deadlines limits = detail::deadlines_for(t);
  const std::optional<concur::time_point> deadline = limits.total;
  const std::optional<concur::time_point> connect_deadline = limits.connect;

  url u = so.base_url.empty() ? url::parse(target) : url::parse(so.base_url).resolve(target);
  if (u.scheme != "http" && u.scheme != "https")
    throw invalid_url_error("unsupported URL scheme '" + u.scheme + "' in " + u.str());
  u = u.with_params(o.params);
  prepared_body body = prepare_body(o);
  http::headers hdrs = o.headers;
  int max_redirects = o.max_redirects ? *o.max_redirects : so.max_redirects;
  bool raise = o.raise_for_status ? *o.raise_for_status : so.raise_for_status;
  std::vector<redirect_hop> history;

  for (;;) {
    exchange_result r;
    for (int attempt = 0;; ++attempt) {
      r = co_await exchange(pool, method, u, hdrs, body, deadline, t.sock_read, connect_deadline);
      if (!r.retry) break;
      if (attempt >= 1 || !idempotent(method) || *body.stream_started)
        throw payload_error("server " + u.host_header() + " closed a keep-alive connection");
    }
    response& resp = r.resp;
    auto location = resp.headers().get("location");
    if (o.allow_redirects && is_redirect(resp.status()) && location) {
      if (static_cast<int>(history.size()) >= max_redirects) {
        resp.release();
        throw too_many_redirects("more than " + std::to_string(max_redirects) +
                                 " redirects, last to " + std::string(*location) + " from " +
                                 u.str());
      }
      url next = u.resolve(*location);
      history.push_back(redirect_hop{resp.status(), u, resp.headers()});
      // Drain a small body so the connection can be reused; a big one is not worth it.
      if (!resp.body_complete()) {
        auto cl = resp.content_length();
        if (cl && *cl <= 64 * 1024) {
          co_await resp.read();
        }
      }
      resp.release();
      int s = resp.status();
      if (s == 303 || ((s == 301 || s == 302) && method == "POST")) {
        if (method != "HEAD") method = "GET";
        body = prepared_body{};
        hdrs.erase("content-type");
      }
      if (body.stream && *body.stream_started)
        throw client_error("a " + std::to_string(s) + " redirect to " + next.str() +
                           " needs the request body again, and a streamed body is sent once");
      if (next.origin() != u.origin()) hdrs.erase("authorization");
      u = std::move(next);
      continue;
    }
    resp.set_history(std::move(history));
    if (raise && resp.status() >= 400) {
      resp.release();
      resp.raise_for_status();
    }
    co_return std::move(resp);
  }
}

}  // namespace

client_session::client_session() : client_session(session_options()) {}
client_session::client_session(session_options options)
    : pool_(std::make_shared<detail::connection_pool>(std::move(options))) {}
client_session::client_session(client_session&&) noexcept = default;
client_session& client_session::operator=(client_session&& o) noexcept {
  if (this != &o) {
    if (pool_) pool_->close_all();
    pool_ = std::move(o.pool_);
  }
  return *this;
}
client_session::~client_session() {
  if (pool_) pool_->close_all();
}

aio::task<response> client_session::request(std::string method, std::string url,
                                            request_options options) {
  if (!pool_) throw client_error("client_session was moved from");
  return run_request(pool_, std::move(method), std::move(url), std::move(options));
}
aio::task<response> client_session::request(std::string method, std::string url) {
  return request(std::move(method), std::move(url), request_options());
}

#define CONCUR_HTTP_VERB(fn, verb)                                                   \
  aio::task<response> client_session::fn(std::string url, request_options options) { \
    return request(verb, std::move(url), std::move(options));                        \
  }                                                                                  \
  aio::task<response> client_session::fn(std::string url) {                          \
    return request(verb, std::move(url), request_options());                         \
  }
CONCUR_HTTP_VERB(get, "GET")
CONCUR_HTTP_VERB(post, "POST")
CONCUR_HTTP_VERB(put, "PUT")
CONCUR_HTTP_VERB(patch, "PATCH")
CONCUR_HTTP_VERB(delete_, "DELETE")
CONCUR_HTTP_VERB(head, "HEAD")
CONCUR_HTTP_VERB(options, "OPTIONS")
#undef CONCUR_HTTP_VERB

aio::task<void> client_session::close() {
  if (pool_) pool_->close_all();
  co_return;
}
bool client_session::closed() const noexcept { return !pool_ || pool_->closed; }
const session_options& client_session::settings() const noexcept { return pool_->opts; }
std::size_t client_session::connections_opened() const noexcept {
  return pool_ ? pool_->opened : 0;
}
std::size_t client_session::connections_idle() const noexcept { return pool_ ? pool_->idle : 0; }
std::size_t client_session::connections_in_use() const noexcept {
  return pool_ ? pool_->in_use : 0;
}

}  // namespace concur::http
