#include "concur/http/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <future>
#include <optional>
#include <sstream>

#include "concur/aio/introspect.hpp"
#include "concur/aio/io.hpp"
#include "concur/aio/sleep.hpp"
#include "concur/core/checked_mutex.hpp"
#include "concur/core/error.hpp"
#include "concur/http/parser.hpp"
#include "concur/http/static_files.hpp"
#include "concur/net/errors.hpp"
#include "concur/net/socket.hpp"
#include "server_stream.hpp"

namespace concur::http {

// ---------------------------------------------------------------- application

namespace {

aio::task<web_response> raise_not_found(web_request&) {
  throw web_exception(404);
  co_return web_response{};
}

const std::string allow_key = "concur.allow";

aio::task<web_response> raise_not_allowed(web_request& request) {
  web_exception e(405);
  if (const auto* allow = request.find(allow_key)) {
    e.headers().set("Allow", std::any_cast<const std::string&>(*allow));
  }
  throw e;
  co_return web_response{};
}

}  // namespace

application::application() : not_found_(&raise_not_found), not_allowed_(&raise_not_allowed) {}

application& application::add_route(std::string_view method, std::string_view pattern, handler h) {
  if (!h)
    throw route_error("route " + std::string(method) + " " + std::string(pattern) +
                      ": the handler is empty");
  router_.add(method, pattern);
  handlers_.push_back(std::move(h));
  return *this;
}

application& application::add_middleware(middleware m) {
  if (!m) throw error("add_middleware: the middleware is empty");
  middlewares_.push_back(std::move(m));
  return *this;
}

aio::task<web_response> application::handle(web_request& request) const {
  auto m = router_.resolve(request.method(), request.path(), request.mutable_match_info());
  const handler* h = &not_found_;
  if (m.result == router::outcome::found) {
    h = &handlers_[m.route];
  } else if (m.result == router::outcome::method_not_allowed) {
    request[allow_key] = std::move(m.allow);
    h = &not_allowed_;
  }
  // Not a coroutine: the handler's own task is returned, so a request without middlewares
  // costs one coroutine frame.
  if (middlewares_.empty()) return (*h)(request);
  return next_handler(this, 0, h)(request);
}

aio::task<web_response> next_handler::operator()(web_request& request) const {
  if (index_ < app_->middlewares_.size()) {
    return app_->middlewares_[index_](request, next_handler(app_, index_ + 1, last_));
  }
  return (*last_)(request);
}

// ---------------------------------------------------------------- server internals

struct server::shared_state {
  std::vector<concur::unique_fd> listeners;
  std::vector<concur::unique_fd> stop_fds;  // one eventfd per loop
  bool handle_signals = false;              // run_app: SIGINT/SIGTERM shut down, on loop 0
  std::function<void()> on_serving;         // run_app's on_ready, once loop 0 takes signals
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> requests{0};
  checked_mutex error_mutex;
  std::exception_ptr error CONCUR_GUARDED_BY(error_mutex);
  // Each serving loop's door, while it serves (dump_tasks asks the loops through them).
  checked_mutex loops_mutex;
  std::vector<std::shared_ptr<aio::detail::loop_inbox>> loops CONCUR_GUARDED_BY(loops_mutex);

  void set_loop(std::size_t index, std::shared_ptr<aio::detail::loop_inbox> inbox) {
    const checked_lock lock(loops_mutex);
    if (loops.size() <= index) loops.resize(index + 1);
    loops[index] = std::move(inbox);
  }

  void request_shutdown() noexcept {
    std::uint64_t one = 1;
    for (auto& fd : stop_fds) {
      // An eventfd write only fails when the counter would overflow: it is set anyway.
      [[maybe_unused]] auto n = ::write(fd.get(), &one, sizeof one);
    }
  }
  void record(std::exception_ptr e) {
    const checked_lock lock(error_mutex);
    if (!error) error = std::move(e);
  }
};

namespace {

// Literals with their length known at compile time: append() then needs no strlen.
using namespace std::string_view_literals;

std::int64_t coarse_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct connection;

// Everything one serving loop owns. Lives in the frame of serve_on(), which outlives every task
// it starts. Its descriptors are watched by the loop's own epoll (aio::fd_watch, registered
// once, edge-triggered), like every connection's socket.
struct loop_state {
  loop_state(const application& a, const server_options& o, server::shared_state& s) noexcept
      : app(a), opt(o), shared(s) {}
  const application& app;
  const server_options& opt;
  server::shared_state& shared;
  std::optional<aio::fd_watch> listener;
  std::optional<aio::fd_watch> stopper;
  connection* head = nullptr;  // intrusive list of open connections
  std::size_t count = 0;
  bool stopping = false;
  std::int64_t date_second = -1;
  char date[40] = {};
  std::size_t date_len = 0;

  std::string_view date_header() noexcept;
};

std::string_view loop_state::date_header() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != date_second) {
    // Formatting a date costs more than the rest of a small response: once a second.
    date_second = ts.tv_sec;
    auto text = format_http_date(ts.tv_sec);
    date_len = std::min(text.size(), sizeof date);
    std::memcpy(date, text.data(), date_len);
  }
  return {date, date_len};
}

// upgraded: the connection speaks WebSocket after a 101 and waits on the peer without a
// timeout of the server's.
enum class phase { idle, reading, handling, writing, lingering, upgraded };

// A connection is also what a streamed response of its current request writes through.
struct connection final : detail::server_stream {
  connection(loop_state& l, concur::unique_fd fd, std::string peer_name)
      : ls(l),
        sock(std::move(fd)),
        w(aio::get_running_loop(), sock.get()),
        p(message_kind::request,
          parser_limits{l.opt.max_header_bytes, l.opt.max_header_count, l.opt.max_body_bytes}),
        in(new char[in_capacity]) {
    req.set_peer(std::move(peer_name));
    req.set_stream(this);
    since = coarse_now();
    next = ls.head;
    if (next != nullptr) next->prev = this;
    ls.head = this;
    ++ls.count;
    ls.shared.open.fetch_add(1, std::memory_order_relaxed);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    if (prev != nullptr) prev->next = next;
    if (next != nullptr) next->prev = prev;
    if (ls.head == this) ls.head = next;
    --ls.count;
    ls.shared.open.fetch_sub(1, std::memory_order_relaxed);
    // Members go in reverse: the watch leaves the epoll set, then the socket closes.
  }

  void set_phase(phase next_phase) noexcept {
    if (ph != next_phase) {
      ph = next_phase;
      since = coarse_now();
    }
  }

  int fd() const noexcept { return sock.get(); }

  // detail::server_stream
  std::string& buffer() noexcept override { return out; }
  bool try_flush() override;
  aio::task<void> flush() override;
  void append_head(const head& h, framing used, bool keep_alive) override;
  aio::task<void> transmit_file(int fd, std::uint64_t offset, std::uint64_t count) override;
  std::string_view received() noexcept override { return {in.get() + in_pos, in_len - in_pos}; }
  void consume(std::size_t n) noexcept override { in_pos += n; }
  aio::task<bool> receive_more() override;
  bool shutting_down() const noexcept override { return ls.stopping; }
  void switch_protocols() noexcept override {
    keep = false;
    set_phase(phase::upgraded);
  }
  // A streamed write waits in `writing`, then goes back to what it was doing.
  phase resume = phase::handling;
  using detail::server_stream::close_after;
  using detail::server_stream::reset;

  static constexpr std::size_t in_capacity = 16 * 1024;
  loop_state& ls;
  concur::unique_fd sock;
  aio::fd_watch w;
  parser p;
  web_request req;
  std::unique_ptr<char[]> in;
  std::size_t in_len = 0;
  std::size_t in_pos = 0;
  std::string out;
  std::size_t sent = 0;  // of out
  bool keep = true;      // the connection stays open after this batch
  bool sent_continue = false;
  bool linger = false;
  phase ph = phase::idle;
  std::int64_t since = 0;
  aio::task_handle<void> task;
  bool started = false;
  connection* prev = nullptr;
  connection* next = nullptr;
};

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Header text with CR and LF replaced: a handler's value must not split the response.
void append_field_text(std::string& out, std::string_view text) {
  if (text.find_first_of("\r\n") == std::string_view::npos) {
    out.append(text);
    return;
  }
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

using framing = detail::server_stream::framing;

// The status line and fields of every response: the server frames the message itself
// (Content-Length or chunked) and writes Date, Server and Connection.
void append_head(std::string& out, loop_state& ls, const detail::server_stream::head& h,
                 framing body, bool keep_alive, int minor) {
  int status = (h.status >= 100 && h.status <= 999) ? h.status : 500;
  out.append("HTTP/1.1 "sv);
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  append_field_text(out, h.reason.empty() ? status_reason(status) : h.reason);
  out.append("\r\n"sv);
  bool bodiless = status < 200 || status == 204 || status == 304;
  if (!h.content_type.empty() && !bodiless) {
    out.append("Content-Type: "sv);
    append_field_text(out, h.content_type);
    out.append("\r\n"sv);
  }
  if (!bodiless && body == framing::length) {
    out.append("Content-Length: "sv);
    append_number(out, h.length);
    out.append("\r\n"sv);
  } else if (!bodiless && body == framing::chunked) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
  }
  out.append("Date: "sv);
  out.append(ls.date_header());
  out.append("\r\n"sv);
  if (!ls.opt.server_name.empty()) {
    out.append("Server: "sv);
    append_field_text(out, ls.opt.server_name);
    out.append("\r\n"sv);
  }
  if (status == 101) {
    out.append("Connection: Upgrade\r\n"sv);
  } else if (!keep_alive) {
    out.append("Connection: close\r\n"sv);
  } else if (minor == 0) {
    out.append("Connection: keep-alive\r\n"sv);
  }
  if (h.fields != nullptr) {
    for (const auto& [name, value] : *h.fields) {
      // The server frames the message itself; a handler's framing fields would contradict it.
      if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
          iequals(name, "Connection"))
        continue;
      append_field_text(out, name);
      out.append(": "sv);
      append_field_text(out, value);
      out.append("\r\n"sv);
    }
  }
  out.append("\r\n"sv);
}

void append_response(std::string& out, loop_state& ls, const web_response& r, bool head,
                     bool keep_alive, int minor) {
  detail::server_stream::head h;
  h.status = r.status;
  h.reason = r.reason;
  h.content_type = r.content_type;
  h.fields = &r.headers;
  h.length = r.body.size();
  append_head(out, ls, h, framing::length, keep_alive, minor);
  bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
  if (!head && !bodiless) out.append(r.body);
}

web_response response_for(const web_exception& e) {
  web_response r(e.status(), e.text());
  r.headers = e.headers();
  return r;
}

// Sends what is possible without waiting (the 408 of an expired slow request, the 400 of one
// cut short).
void send_now(int fd, std::string_view data) noexcept {
  [[maybe_unused]] auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

constexpr std::string_view timeout_408 =
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 24\r\nConnection: close\r\n\r\n408: Request Timeout\r\n\r\n";
constexpr std::string_view incomplete_400 =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 47\r\nConnection: close\r\n\r\n400: the request ended before it was "
    "complete\r\n";

// ---- the steps of one connection: the awaits stay in connection_main, the work is here

// Answers are batched up to this size before they are sent.
constexpr std::size_t batch_limit = 256 * 1024;

enum class parsed { need_more, request, bad };

// Read head / read body: feeds the buffered bytes to the parser until a request is complete.
parsed parse_buffered(connection& c) {
  std::size_t used = 0;
  try {
    used = c.p.feed(std::string_view(c.in.get() + c.in_pos, c.in_len - c.in_pos));
  } catch (const parse_error& e) {
    append_response(c.out, c.ls, web_response(e.status_hint(), e.what()), false, false, 1);
    c.keep = false;
    c.linger = true;
    return parsed::bad;
  }
  c.in_pos += used;
  if (c.p.message_complete()) return parsed::request;
  if (c.p.headers_complete() && !c.sent_continue &&
      iequals(c.p.headers().get("Expect", ""), "100-continue")) {
    c.out.append("HTTP/1.1 100 Continue\r\n\r\n"sv);
    c.sent_continue = true;
  }
  return parsed::need_more;
}

struct request_info {
  bool head = false;
  int minor = 1;
  bool keep_alive = true;
};

void connection::append_head(const head& h, framing used, bool keep_alive) {
  http::append_head(out, ls, h, used, keep_alive, http_minor());
}

// Moves the parsed request into c.req (reusing its buffers) and readies the parser for the
// next. False when the request cannot be dispatched: `early` then holds its answer.
bool take_request(connection& c, request_info& info, web_response& early) {
  c.set_phase(phase::handling);
  c.sent_continue = false;
  web_request& req = c.req;
  req.clear();
  info.minor = c.p.http_minor();
  info.keep_alive = c.p.keep_alive() && !c.p.upgrade();
  bool dispatch = true;
  try {
    req.set_target(c.p.method(), c.p.target());
    info.head = req.method() == "HEAD";
  } catch (const web_exception& e) {
    early = response_for(e);
    info.keep_alive = false;
    dispatch = false;
  }
  req.mutable_headers() = c.p.headers();
  req.mutable_body().assign(c.p.body());
  req.set_version(c.p.http_major(), info.minor);
  req.set_keep_alive(info.keep_alive);
  c.reset(info.head, info.minor, info.keep_alive && !c.ls.stopping);
  c.p.reset();
  c.ls.shared.requests.fetch_add(1, std::memory_order_relaxed);
  return dispatch;
}

// Adds the response to the batch and decides whether the connection stays open.
void answer(connection& c, const web_response& resp, const request_info& info) {
  if (resp.close_connection || !info.keep_alive || c.ls.stopping) c.keep = false;
  append_response(c.out, c.ls, resp, info.head, c.keep, info.minor);
}

enum class io_result { done, blocked, ended, failed };

// Write: sends the batch; `blocked` when the socket's buffer is full.
io_result try_send(connection& c) {
  while (c.sent < c.out.size()) {
    auto n = ::send(c.fd(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.w.write_blocked();
      return io_result::blocked;
    }
    return io_result::failed;  // reset by the peer
  }
  c.out.clear();
  c.sent = 0;
  if (c.out.capacity() > 1024 * 1024) c.out.shrink_to_fit();
  return io_result::done;
}

bool connection::try_flush() {
  io_result r = try_send(*this);
  if (r == io_result::failed)
    throw net::connection_reset_error("http server: the client closed the connection", EPIPE);
  return r == io_result::done;
}

// Streamed bodies wait here for the client to take them, timed as the batch's writes are.
aio::task<void> connection::flush() {
  for (;;) {
    io_result r = try_send(*this);
    if (r == io_result::done) break;
    if (r == io_result::failed)
      throw net::connection_reset_error("http server: the client closed the connection", EPIPE);
    if (ph != phase::writing) resume = ph;
    set_phase(phase::writing);
    co_await w.writable();
    if (w.interrupted())
      throw net::connection_reset_error("http server: the client stopped reading", ETIMEDOUT);
  }
  if (ph == phase::writing) set_phase(resume);
}

aio::task<void> connection::transmit_file(int file, std::uint64_t offset, std::uint64_t count) {
  auto pos = static_cast<off_t>(offset);
  while (count > 0) {
    // 2 MiB a call, as nginx's sendfile_max_chunk: back to the loop between chunks, and
    // faster than one call asking for everything (bench/static_file_vs.sh).
    auto n = ::sendfile(fd(), file, &pos, std::min<std::uint64_t>(count, 2U << 20));
    if (n > 0) {
      count -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) throw error("http server: the file ended before its size (it shrank while sent)");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      throw net::connection_reset_error("http server: sendfile: " + concur::errno_message(errno),
                                        errno);
    w.write_blocked();
    if (ph != phase::writing) resume = ph;
    set_phase(phase::writing);
    co_await w.writable();
    if (w.interrupted())
      throw net::connection_reset_error("http server: the client stopped reading", ETIMEDOUT);
  }
  if (ph == phase::writing) set_phase(resume);
}

// Keep-alive: sets the phase the sweeper times while the connection waits for bytes.
void await_next(connection& c) {
  c.in_pos = c.in_len = 0;
  c.set_phase(c.p.started() ? phase::reading : phase::idle);
}

// Reads what has arrived; `blocked` (without a syscall) when the socket is known to be empty,
// `ended` at the peer's end of stream (which a half-close makes visible at once).
io_result try_recv(connection& c) {
  for (;;) {
    if (!c.w.read_ready()) return io_result::blocked;
    auto n = ::recv(c.fd(), c.in.get(), connection::in_capacity, 0);
    if (n > 0) {
      c.in_len = static_cast<std::size_t>(n);
      // A short read drained the socket: the next edge says when more arrives.
      if (c.in_len < connection::in_capacity) c.w.read_blocked();
      if (c.ph == phase::idle) c.set_phase(phase::reading);
      return io_result::done;
    }
    if (n == 0) return io_result::ended;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c.w.read_blocked();
      continue;
    }
    if (errno == EINTR) continue;
    return io_result::failed;
  }
}

aio::task<bool> connection::receive_more() {
  if (in_pos < in_len) co_return true;
  in_pos = in_len = 0;
  for (;;) {
    io_result r = try_recv(*this);
    if (r == io_result::done) co_return true;
    if (r == io_result::ended) co_return false;
    if (r == io_result::failed)
      throw net::connection_reset_error("http server: the connection was reset", ECONNRESET);
    co_await w.readable();
    if (w.interrupted())
      throw net::connection_reset_error("http server: the connection is closing", ECONNABORTED);
  }
}

// Closing with unread request bytes makes the kernel send RST, which can destroy the error
// response before the client reads it: half-close, then drain what the client still sends,
// for a bounded time and amount.
aio::task<void> linger(connection& c) {
  ::shutdown(c.fd(), SHUT_WR);
  c.set_phase(phase::lingering);
  std::size_t drained = 0;
  while (drained < 4 * 1024 * 1024) {
    c.in_pos = c.in_len = 0;
    io_result r = try_recv(c);
    if (r == io_result::done) {
      drained += c.in_len;
      continue;
    }
    if (r != io_result::blocked) break;
    co_await c.w.readable();
    if (c.w.interrupted()) break;
  }
}

// A file_response: the answer the request's conditions and range call for, its body by
// sendfile.
aio::task<void> send_file_answer(connection& c, const web_response& resp) {
  const file_body& f = *resp.file;
  file_answer plan = plan_file_answer(c.req.headers(), f.size, f.mtime_ns);
  http::headers fields = resp.headers;
  for (const auto& [name, value] : plan.fields) fields.set(name, value);
  detail::server_stream::head h;
  h.status = plan.status == 200 ? resp.status : plan.status;
  h.reason = plan.status == 200 ? std::string_view(resp.reason) : std::string_view();
  // 412 and 416 describe the request, not the file: the file's type would mislabel them.
  if (plan.status == 200 || plan.status == 206) h.content_type = resp.content_type;
  h.fields = &fields;
  h.body = framing::length;
  h.length = plan.length;
  h.close = resp.close_connection;
  c.begin(h);
  co_await c.send_file(f.fd.get(), plan.offset, plan.length);
}

// Runs the handler for the request just taken and adds its answer: batched when it is a
// plain response, sent now when it is a file or was streamed by the handler.
aio::task<void> respond(connection& c, const request_info& info) {
  web_response resp;
  try {
    resp = co_await c.ls.app.handle(c.req);
  } catch (const web_exception& e) {
    resp = response_for(e);
  } catch (const aio::cancelled_error&) {
    throw;
  } catch (...) {
    // After the status line went out nothing can be said any more: the connection closes
    // with the body cut short, which the client sees as an incomplete message.
    if (c.response_started()) throw;
    resp = status_response(500);
  }
  if (!c.response_started() && resp.file) co_await send_file_answer(c, resp);
  if (!c.response_started()) {
    answer(c, resp, info);
    co_return;
  }
  bool complete = c.end_body();
  if (!complete || c.close_after()) c.keep = false;
}

// Serves one connection until it closes. Returns normally in every case (a connection's end
// is not an error of the server).
aio::task<void> connection_main(std::unique_ptr<connection> owned) {
  // A local, not the parameter: locals are destroyed before the frame's final suspension, so
  // the connection (and the task_handle it holds) goes away as soon as the work is done.
  std::unique_ptr<connection> self = std::move(owned);
  connection& c = *self;
  c.started = true;
  try {
    for (;;) {
      // Every complete request already buffered, answered in order into one batch.
      while (c.keep && c.in_pos < c.in_len && c.out.size() < batch_limit) {
        if (parse_buffered(c) != parsed::request) break;
        request_info info;
        web_response early;
        if (take_request(c, info, early)) {
          co_await respond(c, info);
        } else {
          answer(c, early, info);
        }
      }
      // One send for the whole batch.
      for (io_result r; (r = try_send(c)) != io_result::done;) {
        if (r == io_result::failed) co_return;
        c.set_phase(phase::writing);
        co_await c.w.writable();
        if (c.w.interrupted()) co_return;  // the client stopped reading
      }
      if (!c.keep) break;
      if (c.in_pos < c.in_len) continue;
      await_next(c);
      if (c.ph == phase::idle && c.ls.stopping) break;
      io_result r;
      while ((r = try_recv(c)) == io_result::blocked) {
        co_await c.w.readable();
        if (c.w.interrupted()) {
          if (c.ph == phase::reading) send_now(c.fd(), timeout_408);
          co_return;
        }
      }
      if (r == io_result::ended && c.p.started()) send_now(c.fd(), incomplete_400);
      if (r != io_result::done) break;
    }
    if (c.linger) co_await linger(c);
  } catch (const aio::cancelled_error&) {
    // Forced close at the end of a shutdown.
  } catch (...) {
    // A failure of one connection (out of memory while buffering, say) closes only it.
  }
}

void expire_stale(loop_state& ls) noexcept {
  auto now = coarse_now();
  const auto& opt = ls.opt;
  for (auto* c = ls.head; c != nullptr; c = c->next) {
    std::int64_t limit = 0;
    switch (c->ph) {
      case phase::idle:
        limit = opt.keep_alive_timeout.count();
        break;
      case phase::reading:
        limit = opt.request_timeout.count();
        break;
      case phase::writing:
        limit = opt.write_timeout.count();
        break;
      case phase::lingering:
        limit = std::min<std::int64_t>(opt.request_timeout.count(), 2'000'000'000);
        break;
      case phase::handling:
      case phase::upgraded:
        continue;
    }
    if (now - c->since > limit) c->w.interrupt();
  }
}

aio::task<void> sweep(loop_state& ls) {
  using namespace std::chrono;
  auto shortest =
      std::min({ls.opt.keep_alive_timeout, ls.opt.request_timeout, ls.opt.write_timeout});
  // Coarse checks are enough: a timeout fires between 1x and 1.25x its value.
  auto tick = std::clamp<nanoseconds>(shortest / 4, milliseconds(10), seconds(1));
  for (;;) {
    co_await aio::sleep(tick);
    expire_stale(ls);
  }
}

std::string peer_name(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  return "unknown";
}

aio::task<void> accept_loop(loop_state& ls) {
  aio::fd_watch& listener = *ls.listener;
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = ::accept4(listener.fd(), reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        listener.read_blocked();
        co_await listener.readable();
        if (listener.interrupted()) co_return;
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors or memory: back off instead of spinning on the listener.
      co_await aio::sleep(std::chrono::milliseconds(50));
      continue;
    }
    concur::unique_fd sock(fd);
    ls.shared.accepted.fetch_add(1, std::memory_order_relaxed);
    net::set_nodelay(fd);
    try {
      std::string peer = peer_name(addr);
      std::string name = "connection from " + peer;  // in the loop's task dump
      auto c = std::make_unique<connection>(ls, std::move(sock), std::move(peer));
      auto* raw = c.get();
      raw->task = aio::create_task(connection_main(std::move(c)), std::move(name));
    } catch (...) {
      // Whatever did not take the connection (out of memory, a full fd table) closed it.
    }
  }
}

template <class T>
aio::task<void> finish(aio::task_handle<T> h) {
  if (!h.valid()) co_return;
  h.cancel();
  try {
    co_await h;
  } catch (...) {
  }
}

// Serves listener `index` on the running loop until the stop eventfd fires.
aio::task<void> serve_on(const application& app, const server_options& opt,
                         server::shared_state& shared, std::size_t index) {
  loop_state ls(app, opt, shared);
  auto& loop = aio::get_running_loop();
  ls.listener.emplace(loop, shared.listeners.at(index).get());
  ls.stopper.emplace(loop, shared.stop_fds.at(index).get());
  shared.set_loop(index, loop.inbox());
  struct forget_loop {
    server::shared_state& shared;
    std::size_t index;
    ~forget_loop() { shared.set_loop(index, nullptr); }
  } forget{shared, index};
  // run_app's SIGINT/SIGTERM: the same graceful shutdown as server::shutdown().
  const bool signals = index == 0 && shared.handle_signals;
  if (signals) {
    loop.add_signal_handler(SIGINT, [&shared] { shared.request_shutdown(); });
    loop.add_signal_handler(SIGTERM, [&shared] { shared.request_shutdown(); });
  }
  // Ready means a SIGINT now shuts down gracefully (the listeners already queue connections).
  if (index == 0 && shared.on_serving) shared.on_serving();

  auto acceptor = aio::create_task(accept_loop(ls), "accept");
  auto sweeper = aio::create_task(sweep(ls), "close idle connections");
  bool cancelled = false;
  try {
    co_await ls.stopper->readable();
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }

  // Graceful shutdown: stop accepting, close idle connections, let the others finish the
  // request in flight (bounded), then cancel what is left.
  ls.stopping = true;
  ls.listener->interrupt();
  co_await finish(std::move(acceptor));
  ls.listener.reset();
  shared.listeners.at(index).reset();
  for (auto* c = ls.head; c != nullptr; c = c->next) {
    if (c->ph == phase::idle || c->ph == phase::upgraded) c->w.interrupt();
  }
  auto deadline = coarse_now() + (cancelled ? 0 : opt.shutdown_timeout.count());
  while (ls.count > 0 && coarse_now() < deadline) {
    co_await aio::sleep(std::chrono::milliseconds(5));
  }
  for (auto* c = ls.head; c != nullptr; c = c->next) {
    c->w.interrupt();
    // A task that has not started yet would be dropped unstarted with its connection
    // inside; it starts next, sees the shutdown and ends by itself.
    if (c->started && c->task.valid()) c->task.cancel();
  }
  for (int i = 0; i < 2000 && ls.count > 0; ++i) {
    co_await aio::sleep(std::chrono::milliseconds(1));
  }
  co_await finish(std::move(sweeper));
  if (signals) {
    loop.remove_signal_handler(SIGINT);
    loop.remove_signal_handler(SIGTERM);
  }
  if (cancelled) throw aio::cancelled_error();
}

}  // namespace

// ---------------------------------------------------------------- server

server::server(application app, server_options options)
    : server(std::make_shared<const application>(std::move(app)), std::move(options)) {}

server::server(std::shared_ptr<const application> app, server_options options)
    : app_(std::move(app)), options_(std::move(options)), state_(std::make_shared<shared_state>()) {
  if (!app_) throw error("http::server: the application is null");
  if (options_.threads == 0) throw error("http::server: threads must be at least 1");
  if (options_.max_header_bytes == 0 || options_.max_header_count == 0)
    throw error("http::server: header limits must be positive");
  net::endpoint ep;
  if (!net::endpoint::from_numeric(options_.host, options_.port, ep)) {
    ep = net::resolve_blocking(options_.host, options_.port, true).at(0);
  }
  net::listen_options lo;
  lo.backlog = options_.backlog;
  lo.reuse_port = options_.threads > 1;
  for (unsigned i = 0; i < options_.threads; ++i) {
    state_->listeners.push_back(net::open_listener(ep, lo));
    if (i == 0) {
      port_ = net::endpoint::local_of(state_->listeners[0].get()).port();
      // The others share the port picked for the first (port 0 means "any" only once).
      auto* sa = reinterpret_cast<sockaddr*>(&ep.storage);
      if (sa->sa_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(sa)->sin_port = htons(port_);
      } else {
        reinterpret_cast<sockaddr_in6*>(sa)->sin6_port = htons(port_);
      }
    }
    concur::unique_fd stop(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!stop) throw_last_os_error("eventfd");
    state_->stop_fds.push_back(std::move(stop));
  }
}

server::~server() {
  shutdown();
  try {
    join();
  } catch (...) {
    // A loop's failure was the caller's to see through join()/run(); a destructor cannot.
  }
}

std::string server::url(std::string_view path) const {
  std::string host = options_.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port_) + std::string(path);
}

namespace {

// One serving loop, run to its end on the calling thread; a loop that fails records why and
// stops the others.
void run_loop(const application& app, const server_options& opt, server::shared_state& st,
              std::size_t index) noexcept {
  try {
    aio::run([](const application& a, const server_options& o, server::shared_state& s,
                std::size_t i) -> aio::task<void> {
      aio::current_task().set_name("http server, loop " + std::to_string(i));  // in task dumps
      co_await serve_on(a, o, s, i);
    }(app, opt, st, index));
  } catch (...) {
    st.record(std::current_exception());
    st.request_shutdown();
  }
}

}  // namespace

void server::start() {
  if (started_) throw aio::invalid_state_error("http::server: already started");
  started_ = true;
  for (std::size_t i = 0; i < options_.threads; ++i)
    threads_.emplace_back(
        [app = app_, &opt = options_, st = state_, i] { run_loop(*app, opt, *st, i); });
}

void server::run() {
  if (started_) throw aio::invalid_state_error("http::server: already started");
  started_ = true;
  for (std::size_t i = 1; i < options_.threads; ++i)
    threads_.emplace_back(
        [app = app_, &opt = options_, st = state_, i] { run_loop(*app, opt, *st, i); });
  run_loop(*app_, options_, *state_, 0);
  join();
}

aio::task<void> server::serve() {
  if (started_) throw aio::invalid_state_error("http::server: already started");
  started_ = true;
  co_await serve_on(*app_, options_, *state_, 0);
}

void server::shutdown() noexcept { state_->request_shutdown(); }

namespace {

// Asks one loop for its task tree; the answer comes from the loop's own thread.
std::future<std::string> ask_for_tasks(aio::detail::loop_inbox& inbox) {
  std::promise<std::string> answer;
  auto result = answer.get_future();
  aio::detail::post_to(inbox, [answer = std::move(answer)]() mutable {
    try {
      std::ostringstream text;
      aio::get_running_loop().dump_tasks(text);
      answer.set_value(text.str());
    } catch (...) {
      answer.set_exception(std::current_exception());
    }
  });
  return result;  // a loop that closed first drops the callback: broken_promise
}

std::string loop_answer(std::future<std::string>& answer,
                        std::chrono::steady_clock::time_point deadline) {
  if (!answer.valid()) return "not serving\n";
  if (answer.wait_until(deadline) != std::future_status::ready) {
    return "no answer: the loop is busy (a step that does not yield?)\n";
  }
  try {
    return answer.get();
  } catch (const std::exception& e) {
    return std::string("no answer: ") + e.what() + "\n";
  }
}

}  // namespace

std::string server::dump_tasks(std::chrono::milliseconds wait) const {
  std::vector<std::shared_ptr<aio::detail::loop_inbox>> inboxes;
  {
    const checked_lock lock(state_->loops_mutex);
    inboxes = state_->loops;
  }
  std::vector<std::future<std::string>> answers(inboxes.size());
  for (std::size_t i = 0; i < inboxes.size(); ++i) {
    if (inboxes[i]) answers[i] = ask_for_tasks(*inboxes[i]);
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::string out;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    out += "loop " + std::to_string(i) + " of " + std::to_string(answers.size()) + ": ";
    out += loop_answer(answers[i], deadline);
  }
  if (answers.empty()) out = "no loop is serving\n";
  return out;
}

void server::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  std::exception_ptr e;
  {
    const checked_lock lock(state_->error_mutex);
    e = std::exchange(state_->error, nullptr);
  }
  if (e) std::rethrow_exception(e);
}

server_stats server::stats() const noexcept {
  return {state_->accepted.load(std::memory_order_relaxed),
          state_->open.load(std::memory_order_relaxed),
          state_->requests.load(std::memory_order_relaxed)};
}

void run_app(application app, server_options options,
             const std::function<void(std::uint16_t)>& on_ready) {
  // SIGINT/SIGTERM reach loop 0 through its add_signal_handler. Blocking them here first
  // (before the loop threads start, which inherit the mask) keeps the default action away
  // until then: one that comes early waits, pending, for loop 0.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigset_t old;
  if (int e = ::pthread_sigmask(SIG_BLOCK, &mask, &old); e != 0)
    throw_os_error(e, "pthread_sigmask");
  struct restore {
    sigset_t old;
    ~restore() { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); }
  } restore_mask{old};
  server srv(std::move(app), std::move(options));
  srv.state_->handle_signals = true;
  if (on_ready) srv.state_->on_serving = [&] { on_ready(srv.port()); };
  srv.run();
}

}  // namespace concur::http
