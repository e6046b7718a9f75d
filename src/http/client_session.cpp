#include "concur/http/client_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

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

}  // namespace detail

namespace {

bool has_crlf(std::string_view s) noexcept {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

void add_header(std::string& out, std::string_view name, std::string_view value) {
  if (has_crlf(name) || has_crlf(value) || name.empty())
    throw client_error("invalid header field '" + std::string(name) + "'");
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE";
}

struct prepared_body {
  std::string bytes;
  std::string content_type;
  bool present = false;
  // A file body is streamed after the head instead of held in `bytes`.
  std::optional<std::filesystem::path> file;
  std::uint64_t file_size = 0;
  // A chunked upload from a source that runs once; `started` once it has been asked for data.
  std::function<aio::task<std::string>()> stream;
  std::shared_ptr<bool> stream_started = std::make_shared<bool>(false);

  std::uint64_t length() const noexcept { return file ? file_size : bytes.size(); }
};

prepared_body prepare_body(const request_options& o) {
  prepared_body b;
  int given = int(o.json.has_value()) + int(o.form.has_value()) + int(o.data.has_value()) +
              int(o.file.has_value()) + int(static_cast<bool>(o.stream));
  if (given > 1) throw client_error("request: give only one of json, form, data, file and stream");
  if (o.json) {
    b.bytes = o.json->dump();
    b.content_type = "application/json";
    b.present = true;
  } else if (o.form) {
    b.bytes = urlencode(*o.form);
    b.content_type = "application/x-www-form-urlencoded";
    b.present = true;
  } else if (o.data) {
    b.bytes = *o.data;
    b.content_type = "application/octet-stream";
    b.present = true;
  } else if (o.file) {
    std::error_code ec;
    b.file_size = std::filesystem::file_size(*o.file, ec);
    if (ec) throw os_error(ec.value(), "stat " + o.file->string());
    b.file = *o.file;
    b.content_type = "application/octet-stream";
    b.present = true;
  } else if (o.stream) {
    b.stream = o.stream;
    b.content_type = "application/octet-stream";
    b.present = true;
  }
  return b;
}

void serialize(std::string& out, const std::string& method, const url& u, const session_options& so,
               const http::headers& hdrs, const prepared_body& body) {
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
    add_header(out, k, v);
  }
  for (const auto& [k, v] : so.headers) {
    if (iequals(k, "host") || iequals(k, "content-length") || hdrs.contains(k)) continue;
    add_header(out, k, v);
  }
  auto present = [&](std::string_view n) { return hdrs.contains(n) || so.headers.contains(n); };
  if (!present("user-agent")) add_header(out, "User-Agent", so.user_agent);
  if (!present("accept")) out.append("Accept: */*\r\n");
  if (so.auto_decompress && !present("accept-encoding"))
    out.append("Accept-Encoding: gzip, deflate\r\n");
  bool needs_length = body.present || method == "POST" || method == "PUT" || method == "PATCH";
  if (body.present && !present("content-type")) add_header(out, "Content-Type", body.content_type);
  if (body.stream) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (needs_length) {
    out.append("Content-Length: ");
    out.append(std::to_string(body.length()));
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(body.bytes);
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

// Sends a file body after the head, 64 KiB at a time, opening the file afresh so a retry or a
// redirect sends it whole again. A file that shrank since its size went into Content-Length
// would leave the message short: that is an error, and the connection is not reused.
aio::task<void> send_file_body(net::stream_writer& w, const prepared_body& body,
                               std::optional<concur::time_point> deadline) {
  const std::string name = body.file->string();
  concur::unique_fd fd(::open(body.file->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw os_error(errno, "open " + name);
  std::string buf(64 * 1024, '\0');
  for (std::uint64_t left = body.file_size; left > 0;) {
    const auto n = ::read(fd.get(), buf.data(), std::min<std::uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw os_error(errno, "read " + name);
    if (n == 0)
      throw client_error("file " + name + " became shorter than the " +
                         std::to_string(body.file_size) + " bytes announced while it was sent");
    w.write(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    left -= static_cast<std::uint64_t>(n);
    co_await drain_until(w, deadline);
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

  serialize(c.out, method, u, pool->opts, hdrs, body);
  ++c.requests;
  c.parser.reset();
  if (method == "HEAD") c.parser.expect_no_body();
  try {
    c.writer.write(c.out);
    co_await drain_until(c.writer, deadline);
    if (body.file) co_await send_file_body(c.writer, body, deadline);
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
  auto start = aio::get_running_loop().now();
  std::optional<concur::time_point> deadline;
  if (t.total) deadline = start + *t.total;
  std::optional<concur::time_point> connect_deadline = deadline;
  if (t.connect) {
    auto cd = start + *t.connect;
    if (!connect_deadline || cd < *connect_deadline) connect_deadline = cd;
  }

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
