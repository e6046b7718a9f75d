#include "concur/net/streams.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "concur/core/error.hpp"
#include "resolver.hpp"
#include "stream_core.hpp"

namespace concur::net {

namespace detail {

// ------------------------------------------------------------------ parking

void park_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (slot_->busy()) {
    throw aio::invalid_state_error(std::string(what_) + " " + *where_ +
                                   ": another coroutine is already waiting on this stream");
  }
  awaiter::await_suspend(h);
}

std::string park_awaiter::describe(const aio::detail::wait_node& n) {
  const auto& self = static_cast<const park_awaiter&>(n);
  return std::string(self.what_) + " " + *self.where_;
}

void park_awaiter::await_resume() {
  if (!awaiter::await_resume())
    throw timeout_error(std::string(what_) + " " + *where_ + " timed out");
}

fill_awaiter::fill_awaiter(std::shared_ptr<stream_core> c) noexcept : core(std::move(c)) {}
fill_awaiter::~fill_awaiter() = default;

bool fill_awaiter::await_ready() {
  if (!core) throw connection_error("read from a stream_reader that is not connected");
  before = core->buffered_size();
  if (core->read_done()) return true;
  // Resuming reads at once what the socket already holds (its edge may have come meanwhile).
  core->ensure_reading();
  return core->buffered_size() > before || core->read_done();
}

void fill_awaiter::await_suspend(std::coroutine_handle<> h) {
  std::optional<aio::clock::time_point> deadline;
  if (core->read_timeout) deadline = aio::get_running_loop().now() + *core->read_timeout;
  park.emplace(core->read_slot, deadline, &core->where(), "read from");
  park->await_suspend(h);
}

bool fill_awaiter::await_resume() {
  if (park) park->await_resume();
  if (core->buffered_size() > before) return true;
  core->check_failure();
  return false;
}

drain_awaiter::drain_awaiter(std::shared_ptr<stream_core> c) noexcept : core(std::move(c)) {}
drain_awaiter::~drain_awaiter() = default;

bool drain_awaiter::await_ready() {
  if (!core) throw connection_error("drain on a stream_writer that is not connected");
  core->check_failure();
  return core->write_ready();
}

void drain_awaiter::await_suspend(std::coroutine_handle<> h) {
  park.emplace(core->write_slot, std::nullopt, &core->where(), "write to");
  park->await_suspend(h);
}

void drain_awaiter::await_resume() {
  if (park) park->await_resume();
  core->check_failure();
}

// ------------------------------------------------------------------ transport

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
}

stream_core::stream_core(aio::event_loop& loop, unique_fd fd, std::string where, std::size_t limit_,
                         std::size_t high_water)
    : limit(limit_),
      loop_(&loop),
      fd_(std::move(fd)),
      where_(std::move(where)),
      high_water_(high_water),
      low_water_(high_water / 4) {
  watch_.emplace(*this);
}

stream_core::~stream_core() { linger_.cancel(); }

void stream_core::start_reading() {
  if (reading_ || closed_ || eof_ || error_) return;
  reading_ = true;
  // Edge-triggered: what arrived before now gives no new edge; read it at once.
  if (watch_->read_ready()) on_readable();
}

void stream_core::ensure_reading() noexcept {
  if (!reading_ && !closing_) {
    try {
      start_reading();
    } catch (...) {
      fail(std::current_exception());
    }
  }
}

void stream_core::pause_reading() noexcept { reading_ = false; }

void stream_core::consume(std::size_t n) noexcept {
  rbuf_.consume(n);
  if (!reading_ && !eof_ && !closing_ && !error_ && rbuf_.size() < limit) ensure_reading();
}

// One recv into the read buffer (or the TLS engine). False when the socket has nothing more
// for now (EAGAIN, or a short read that emptied it: the next edge says when more comes) or the
// stream ended. After the peer's hang-up a short read is not the end: the EOF is still to read.
bool stream_core::read_some() {
  char cipher[16 * 1024];
  char* dst = cipher;
  std::size_t room = sizeof cipher;
  if (!tls_) {
    dst = rbuf_.prepare(read_chunk);
    room = rbuf_.tail_room();
  }
  ssize_t n = ::recv(fd_.get(), dst, room, 0);
  if (n < 0) {
    if (errno == EINTR) return true;
    if (would_block(errno)) {
      watch_->read_blocked();
      return false;
    }
    throw_connection_error(errno, "cannot read from", where_);
  }
  if (n == 0) {
    // For TLS, a peer that closes without close_notify: treated as EOF, as Python's
    // suppress_ragged_eofs does; HTTP framing still detects truncated bodies.
    eof_ = true;
    return false;
  }
  if (!tls_) {
    rbuf_.commit(static_cast<std::size_t>(n));
  } else {
    tls_->receive(std::string_view(cipher, static_cast<std::size_t>(n)));
  }
  if (static_cast<std::size_t>(n) < room) {
    watch_->read_blocked();
    return watch_->read_ready();
  }
  return true;
}

// Reads while the socket has bytes, reading is on and the buffer holds less than twice the
// limit (then reading pauses until the reader consumes).
void stream_core::pump_read() {
  while (reading_ && !eof_ && rbuf_.size() < 2 * limit) {
    bool more = read_some();
    if (tls_ && !handshaking_) {
      drain_tls();
      // Post-handshake messages (key updates, alerts) may need sending.
      if (tls_->has_output()) {
        tls_out_.clear();
        tls_->take_output(tls_out_);
        wbuf_.append(tls_out_);
        flush_now();
        if (!wbuf_.empty()) want_write();
      }
    }
    if (!more) break;
  }
}

// Moves every decrypted byte the TLS engine holds into the read buffer; a close_notify is EOF.
void stream_core::drain_tls() {
  for (;;) {
    std::size_t got = 0;
    char* p = rbuf_.prepare(16 * 1024);
    auto st = tls_->read(p, rbuf_.tail_room(), got);
    rbuf_.commit(got);
    if (st == tls_engine::read_status::want_more) break;
    if (st == tls_engine::read_status::closed) {
      eof_ = true;
      break;
    }
  }
}

void stream_core::on_readable() noexcept {
  if (!reading_) return;  // paused: the watch keeps the readiness for start_reading()
  std::size_t before = rbuf_.size();
  try {
    pump_read();
  } catch (...) {
    fail(std::current_exception());
    return;
  }
  if (eof_) pause_reading();
  if (rbuf_.size() >= 2 * limit) pause_reading();
  if (rbuf_.size() != before || eof_ || handshaking_) read_slot.wake();
}

void stream_core::flush_now() {
  while (!wbuf_.empty()) {
    auto v = wbuf_.view();
    ssize_t n = ::send(fd_.get(), v.data(), v.size(), MSG_NOSIGNAL);
    if (n > 0) {
      wbuf_.consume(static_cast<std::size_t>(n));
    } else if (n < 0 && would_block(errno)) {
      watch_->write_blocked();
      return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      int code = n < 0 ? errno : EPIPE;
      wbuf_.clear();
      try {
        throw_connection_error(code, "cannot write to", where_);
      } catch (...) {
        fail(std::current_exception());
      }
      return;
    }
  }
}

// Called after a send said EAGAIN (or while a connect is in progress): the socket's next
// writable edge continues.
void stream_core::want_write() {
  if (closed_) return;
  writing_ = true;
}

void stream_core::on_writable() noexcept {
  if (!writing_) return;
  flush_now();
  if (wbuf_.empty()) {
    writing_ = false;
    if (write_eof_sent_ && !tls_) ::shutdown(fd_.get(), SHUT_WR);
    if (closing_) {
      finish_close();
      return;
    }
  }
  if (wbuf_.size() <= low_water_ || error_) write_slot.wake();
}

void stream_core::fail(std::exception_ptr e) noexcept {
  if (!error_) error_ = std::move(e);
  pause_reading();
  writing_ = false;
  wbuf_.clear();
  read_slot.wake();
  write_slot.wake();
  if (closing_) finish_close();
}

aio::task<void> stream_core::finish_connecting(std::optional<aio::clock::time_point> deadline) {
  want_write();
  if (!watch_->write_ready()) co_await park_awaiter(write_slot, deadline, &where_, "connect to");
  writing_ = false;
  finish_connect(fd_.get(), where_);
  peer = endpoint::peer_of(fd_.get());
  local = endpoint::local_of(fd_.get());
}

aio::task<void> stream_core::handshake(tls_engine engine,
                                       std::optional<aio::clock::time_point> deadline) {
  tls_.emplace(std::move(engine));
  handshaking_ = true;
  start_reading();
  for (;;) {
    check_failure();
    bool done = tls_->handshake();
    if (tls_->has_output()) {
      tls_out_.clear();
      tls_->take_output(tls_out_);
      wbuf_.append(tls_out_);
      flush_now();
      check_failure();
      if (!wbuf_.empty()) want_write();
    }
    if (done) break;
    if (eof_) throw tls_error(where_ + ": connection closed during the TLS handshake");
    co_await park_awaiter(read_slot, deadline, &where_, "TLS handshake with");
  }
  handshaking_ = false;
  // Application data that arrived with the last handshake flight is already in the engine.
  try {
    drain_tls();
  } catch (...) {
    fail(std::current_exception());
    throw;
  }
}

void stream_core::write(std::string_view data) {
  if (closing_ || closed_) throw connection_error("write to " + where_ + " after close()");
  check_failure();
  if (tls_) {
    tls_->write(data);
    tls_out_.clear();
    tls_->take_output(tls_out_);
    data = tls_out_;
  }
  if (wbuf_.empty()) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && would_block(errno)) {
        break;
      } else {
        int code = n < 0 ? errno : EPIPE;
        try {
          throw_connection_error(code, "cannot write to", where_);
        } catch (...) {
          fail(std::current_exception());
        }
        return;
      }
    }
  }
  if (!data.empty()) {
    wbuf_.append(data);
    want_write();
  }
}

void stream_core::write_eof() {
  if (tls_) throw connection_error("write_eof() is not possible on a TLS stream to " + where_);
  if (write_eof_sent_ || closed_) return;
  write_eof_sent_ = true;
  if (wbuf_.empty()) ::shutdown(fd_.get(), SHUT_WR);
}

void stream_core::close() noexcept {
  if (closing_) return;
  closing_ = true;
  pause_reading();
  if (tls_ && !handshaking_ && !error_) {
    try {
      tls_->shutdown();
      tls_out_.clear();
      tls_->take_output(tls_out_);
      wbuf_.append(tls_out_);
    } catch (...) {
    }
  }
  if (!error_) flush_now();
  if (wbuf_.empty() || error_) {
    finish_close();
    return;
  }
  try {
    want_write();
    // A peer that never reads must not keep the socket (and wait_closed) forever.
    std::weak_ptr<stream_core> weak = weak_from_this();
    linger_ = loop_->call_later(std::chrono::seconds(30), [weak] {
      if (auto self = weak.lock()) self->abort();
    });
  } catch (...) {
    finish_close();
  }
}

void stream_core::abort() noexcept {
  closing_ = true;
  wbuf_.clear();
  finish_close();
}

void stream_core::finish_close() noexcept {
  if (closed_) return;
  closed_ = true;
  eof_ = true;
  pause_reading();
  writing_ = false;
  linger_.cancel();
  watch_.reset();
  fd_.reset();
  read_slot.wake();
  write_slot.wake();
  closed_slot_.wake();
}

aio::task<void> stream_core::wait_closed() {
  auto keep = shared_from_this();
  while (!closed_) co_await park_awaiter(closed_slot_, std::nullopt, &where_, "close of");
}

}  // namespace detail

// ------------------------------------------------------------------ reader / writer

namespace {
detail::stream_core& need(const std::shared_ptr<detail::stream_core>& c) {
  if (!c) throw connection_error("stream is not connected");
  return *c;
}
}  // namespace

bool stream_reader::at_eof() const noexcept { return core_ && core_->at_eof(); }
std::string_view stream_reader::buffered() const noexcept {
  return core_ ? core_->buffered() : std::string_view();
}
void stream_reader::consume(std::size_t n) noexcept {
  if (core_) core_->consume(n);
}
detail::fill_awaiter stream_reader::fill() { return detail::fill_awaiter(core_); }
void stream_reader::set_read_timeout(std::optional<duration> timeout) noexcept {
  if (core_) core_->read_timeout = timeout;
}
void stream_reader::set_limit(std::size_t limit) noexcept {
  if (core_) core_->limit = limit;
}

namespace {
aio::task<std::string> read_impl(std::shared_ptr<detail::stream_core> core, std::ptrdiff_t n) {
  need(core);
  if (n == 0) co_return std::string();
  if (n < 0) {
    while (co_await detail::fill_awaiter(core)) {
    }
    std::string all(core->buffered());
    core->consume(all.size());
    co_return all;
  }
  if (core->buffered().empty()) co_await detail::fill_awaiter(core);
  auto take = std::min<std::size_t>(static_cast<std::size_t>(n), core->buffered().size());
  std::string out(core->buffered().substr(0, take));
  core->consume(take);
  co_return out;
}
}  // namespace

aio::task<std::string> stream_reader::read(std::ptrdiff_t n) { return read_impl(core_, n); }

aio::task<std::string> stream_reader::readexactly(std::size_t n) {
  auto core = core_;
  need(core);
  while (core->buffered().size() < n) {
    if (!co_await detail::fill_awaiter(core)) {
      std::string partial(core->buffered());
      core->consume(partial.size());
      throw incomplete_read_error(std::move(partial), n);
    }
  }
  std::string out(core->buffered().substr(0, n));
  core->consume(n);
  co_return out;
}

namespace {
aio::task<std::string> readuntil_impl(std::shared_ptr<detail::stream_core> core,
                                      std::string separator) {
  need(core);
  if (separator.empty()) throw error("readuntil: separator must not be empty");
  std::size_t searched = 0;
  for (;;) {
    auto view = core->buffered();
    auto pos = view.find(separator, searched);
    if (pos != std::string_view::npos) {
      auto end = pos + separator.size();
      if (end > core->limit)
        throw limit_overrun_error("separator found, but chunk is longer than limit", end);
      std::string out(view.substr(0, end));
      core->consume(end);
      co_return out;
    }
    if (view.size() > core->limit)
      throw limit_overrun_error("separator is not found, and chunk exceed the limit", view.size());
    searched = view.size() >= separator.size() ? view.size() - separator.size() + 1 : 0;
    if (!co_await detail::fill_awaiter(core)) {
      std::string partial(core->buffered());
      core->consume(partial.size());
      throw incomplete_read_error(std::move(partial), 0);
    }
  }
}
}  // namespace

aio::task<std::string> stream_reader::readuntil(std::string separator) {
  return readuntil_impl(core_, std::move(separator));
}
aio::task<std::string> stream_reader::readuntil() { return readuntil_impl(core_, "\n"); }

aio::task<std::string> stream_reader::readline() {
  try {
    co_return co_await readuntil_impl(core_, "\n");
  } catch (const incomplete_read_error& e) {
    co_return e.partial();
  }
}

void stream_writer::write(std::string_view data) { need(core_).write(data); }
detail::drain_awaiter stream_writer::drain() { return detail::drain_awaiter(core_); }
bool stream_writer::can_write_eof() const noexcept { return core_ && core_->can_write_eof(); }
void stream_writer::write_eof() { need(core_).write_eof(); }
void stream_writer::close() {
  if (core_) core_->close();
}
bool stream_writer::is_closing() const noexcept { return !core_ || core_->is_closing(); }
aio::task<void> stream_writer::wait_closed() {
  if (core_) co_await core_->wait_closed();
}
void stream_writer::abort() noexcept {
  if (core_) core_->abort();
}
std::optional<endpoint> stream_writer::get_extra_info(std::string_view name) const {
  if (!core_) return std::nullopt;
  if (name == "peername") return core_->peer;
  if (name == "sockname") return core_->local;
  return std::nullopt;
}
endpoint stream_writer::peername() const { return need(core_).peer; }
endpoint stream_writer::sockname() const { return need(core_).local; }
std::string stream_writer::tls_version() const { return need(core_).tls_version(); }
std::size_t stream_writer::write_buffer_size() const noexcept {
  return core_ ? core_->write_buffer_size() : 0;
}
void stream_writer::set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low) {
  need(core_).set_write_limits(high, low ? *low : high / 4);
}

// ------------------------------------------------------------------ DNS

namespace {

// Names go to the loop's resolver (c-ares, see resolver.hpp); numeric hosts skip it.
aio::task<std::vector<endpoint>> resolve_until(std::string host, std::uint16_t port,
                                               std::optional<aio::clock::time_point> deadline) {
  endpoint numeric;
  if (host.empty()) host = "localhost";
  if (endpoint::from_numeric(host, port, numeric)) co_return std::vector<endpoint>{numeric};
  auto& r = aio::get_running_loop().service<detail::resolver>();
  co_return co_await r.resolve(std::move(host), port, deadline);
}

}  // namespace

aio::task<std::vector<endpoint>> resolve(std::string host, std::uint16_t port) {
  return resolve_until(std::move(host), port, std::nullopt);
}

// ------------------------------------------------------------------ open_connection

namespace {

std::optional<aio::clock::time_point> deadline_after(const std::optional<duration>& d) {
  if (!d) return std::nullopt;
  return aio::get_running_loop().now() + *d;
}

}  // namespace

namespace {
// A connected stream core to `ep` (TCP or AF_UNIX), waiting for a connect in progress.
aio::task<std::shared_ptr<detail::stream_core>> connect_to(
    aio::event_loop& loop, const endpoint& ep, const std::string& where,
    const connection_options& options, std::optional<aio::clock::time_point> deadline) {
  bool in_progress = false;
  unique_fd fd = start_connect(ep, in_progress, where);
  auto core = std::make_shared<detail::stream_core>(loop, std::move(fd), where, options.limit,
                                                    options.high_water);
  if (in_progress) {
    co_await core->finish_connecting(deadline);
  } else {
    core->peer = endpoint::peer_of(core->fd());
    core->local = endpoint::local_of(core->fd());
  }
  co_return core;
}

stream_pair start_stream(const std::shared_ptr<detail::stream_core>& core,
                         const connection_options& options) {
  core->read_timeout = options.read_timeout;
  core->start_reading();
  return stream_pair{stream_reader(core), stream_writer(core)};
}

// GCC 12 mishandles default arguments of coroutine parameters (a double destruction), so
// every public entry point with defaults is a plain function forwarding to a coroutine.
aio::task<stream_pair> open_connection_impl(std::string host, std::uint16_t port,
                                            connection_options options) {
  auto& loop = aio::get_running_loop();
  std::string where = host_port(host, port);
  auto deadline = deadline_after(options.connect_timeout);
  if (options.tls && options.tls->is_server())
    throw tls_error("open_connection to " + where + " needs a client TLS context");

  // The lookup counts against the connect deadline too.
  std::vector<endpoint> addresses = co_await resolve_until(host, port, deadline);

  std::exception_ptr last;
  for (const auto& ep : addresses) {
    std::shared_ptr<detail::stream_core> core;
    try {
      core = co_await connect_to(loop, ep, where, options, deadline);
    } catch (const timeout_error&) {
      throw;
    } catch (const connection_error&) {
      last = std::current_exception();
      continue;
    }
    if (options.tls) {
      std::string name = options.server_hostname.empty() ? host : options.server_hostname;
      co_await core->handshake(tls_engine(*options.tls, name, where), deadline);
    }
    co_return start_stream(core, options);
  }
  if (last) std::rethrow_exception(last);
  throw connection_error("cannot connect to " + where + ": no address");
}
}  // namespace

aio::task<stream_pair> open_connection(std::string host, std::uint16_t port,
                                       connection_options options) {
  return open_connection_impl(std::move(host), port, std::move(options));
}
aio::task<stream_pair> open_connection(std::string host, std::uint16_t port) {
  return open_connection_impl(std::move(host), port, connection_options());
}

aio::task<stream_pair> open_unix_connection(std::string path, connection_options options) {
  if (options.tls) throw tls_error("open_unix_connection: TLS over a Unix socket is not offered");
  const endpoint ep = endpoint::unix_socket(path);
  const std::string where = ep.str();
  auto core = co_await connect_to(aio::get_running_loop(), ep, where, options,
                                  deadline_after(options.connect_timeout));
  co_return start_stream(core, options);
}
aio::task<stream_pair> open_unix_connection(std::string path) {
  return open_unix_connection(std::move(path), connection_options());
}

// ------------------------------------------------------------------ server

namespace detail {

class server_core : public std::enable_shared_from_this<server_core> {
 public:
  server_core(aio::event_loop& loop, client_connected_cb handler, server_options options)
      : loop_(&loop), handler_(std::move(handler)), options_(std::move(options)) {}

  void listen(const endpoint& ep) {
    listen_options lo;
    lo.backlog = options_.backlog;
    lo.reuse_port = options_.reuse_port;
    listener l;
    l.fd = open_listener(ep, lo);
    l.ep = endpoint::local_of(l.fd.get());
    listeners_.push_back(std::move(l));
  }

  // A socket the caller bound and put in the listening state (start_server's sock=).
  void adopt(unique_fd fd) {
    int type = 0;
    socklen_t len = sizeof type;
    int listening = 0;
    socklen_t llen = sizeof listening;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) != 0 || !listening)
      throw error("start_server: sock must be a listening stream socket");
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0)
      throw_last_os_error("start_server: fcntl(O_NONBLOCK)");
    listener l;
    l.ep = endpoint::local_of(fd.get());
    l.fd = std::move(fd);
    listeners_.push_back(std::move(l));
  }

  void start() {
    serving_ = true;
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      if (!listeners_[i].watch) listeners_[i].watch = std::make_unique<accept_watch>(*this, i);
      on_accept(i);  // edge-triggered: connections queued before now give no new edge
    }
  }

  // start_unix_server's cleanup_socket: the file goes when the server closes, if it is still
  // the socket this server made.
  void remove_on_close(std::string path, ino_t inode) {
    unix_path_ = std::move(path);
    unix_inode_ = inode;
  }

  void close() {
    if (!serving_ && listeners_.empty()) return;
    serving_ = false;
    listeners_.clear();
    remove_unix_path();
    forever_slot_.wake();
    maybe_done();
  }

  void close_clients() {
    for (auto& weak : clients_) {
      if (auto c = weak.lock()) c->close();
    }
  }

  aio::task<void> wait_closed() {
    auto keep = shared_from_this();
    static const std::string where = "server";
    while (serving_ || active_ > 0) {
      park_slot mine;
      closed_waiters_.push_back(&mine);
      struct unlist {
        std::vector<park_slot*>& v;
        park_slot* s;
        ~unlist() { std::erase(v, s); }
      } guard{closed_waiters_, &mine};
      co_await park_awaiter(mine, std::nullopt, &where, "wait_closed of");
    }
  }

  aio::task<void> serve_forever() {
    auto keep = shared_from_this();
    static const std::string where = "server";
    if (!serving_) start();
    while (serving_) co_await park_awaiter(forever_slot_, std::nullopt, &where, "serve_forever");
  }

  bool serving() const noexcept { return serving_; }
  std::size_t active() const noexcept { return active_; }
  std::vector<endpoint> sockets() const {
    std::vector<endpoint> out;
    for (const auto& l : listeners_) out.push_back(l.ep);
    if (out.empty()) out = bound_;
    return out;
  }
  void remember_bound() { bound_ = sockets(); }

 private:
  // A listening socket's registration: its edges accept.
  class accept_watch final : public aio::fd_watch {
   public:
    accept_watch(server_core& s, std::size_t i)
        : fd_watch(*s.loop_, s.listeners_[i].fd.get()), server_(s), index_(i) {}

   private:
    void on_ready(bool readable, bool) noexcept override {
      if (readable) server_.on_accept(index_);
    }
    server_core& server_;
    std::size_t index_;
  };
  struct listener {
    unique_fd fd;
    endpoint ep;
    std::unique_ptr<accept_watch> watch;  // after fd: leaves the epoll set before it closes
  };

  void on_accept(std::size_t i) noexcept {
    // Accept what is queued now, a bounded batch per turn so one busy listener cannot starve
    // the loop; a full batch goes on in the next iteration (no new edge would come for the
    // connections still queued).
    for (int batch = 0; batch < 64; ++batch) {
      if (!serving_ || i >= listeners_.size() || !listeners_[i].watch) return;
      int fd = ::accept4(listeners_[i].fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (would_block(errno)) {
          listeners_[i].watch->read_blocked();
        } else if (errno == EMFILE || errno == ENFILE) {
          loop_->call_exception_handler(
              {"accept on " + listeners_[i].ep.str() + " failed: too many open files", {}, {}});
          retry_accept(i, std::chrono::milliseconds(50));  // no edge will come for those queued
        } else if (errno == EINTR || errno == ECONNABORTED) {
          continue;
        }
        return;
      }
      try {
        spawn(unique_fd(fd));
      } catch (...) {
        loop_->call_exception_handler(
            {"cannot start a connection handler", std::current_exception(), {}});
      }
    }
    retry_accept(i, std::chrono::milliseconds(0));
  }

  void retry_accept(std::size_t i, std::chrono::milliseconds after) noexcept {
    try {
      loop_->call_later(after, [weak = weak_from_this(), i] {
        if (auto self = weak.lock()) self->on_accept(i);
      });
    } catch (...) {
    }
  }

  void spawn(unique_fd fd) {
    if (listeners_.front().ep.family() != AF_UNIX) set_nodelay(fd.get());
    endpoint peer = endpoint::peer_of(fd.get());
    auto core = std::make_shared<stream_core>(*loop_, std::move(fd), peer.str(), options_.limit,
                                              options_.high_water);
    core->peer = peer;
    core->local = endpoint::local_of(core->fd());
    ++active_;
    // Prune dead entries now and then so the list stays the size of the live set.
    if (clients_.size() > 2 * active_ + 16) {
      std::erase_if(clients_, [](const std::weak_ptr<stream_core>& w) { return w.expired(); });
    }
    clients_.push_back(core);
    loop_->create_task(run_client(shared_from_this(), std::move(core)));
  }

  static aio::task<void> run_client(std::shared_ptr<server_core> self,
                                    std::shared_ptr<stream_core> core) {
    try {
      if (self->options_.tls) {
        co_await core->handshake(tls_engine(*self->options_.tls, "", core->where()),
                                 self->loop_->now() + self->options_.handshake_timeout);
      }
      core->start_reading();
      co_await self->handler_(stream_reader(core), stream_writer(core));
    } catch (const aio::cancelled_error&) {
      // The loop is shutting down: close quietly.
    } catch (...) {
      self->loop_->call_exception_handler(
          {"Unhandled exception in client_connected_cb for " + core->where(),
           std::current_exception(),
           {}});
    }
    core->close();
    --self->active_;
    self->maybe_done();
  }

  void remove_unix_path() noexcept {
    if (unix_path_.empty()) return;
    struct stat st {};
    if (::stat(unix_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == unix_inode_)
      ::unlink(unix_path_.c_str());
    unix_path_.clear();
  }

  void maybe_done() {
    if (serving_ || active_ > 0) return;
    for (park_slot* s : closed_waiters_) s->wake();
  }

  aio::event_loop* loop_;
  client_connected_cb handler_;
  server_options options_;
  std::vector<listener> listeners_;
  std::vector<endpoint> bound_;
  std::vector<std::weak_ptr<stream_core>> clients_;
  std::vector<park_slot*> closed_waiters_;
  park_slot forever_slot_;
  std::size_t active_ = 0;
  bool serving_ = false;
  std::string unix_path_;
  ino_t unix_inode_ = 0;
};

}  // namespace detail

void server::close() {
  if (core_) core_->close();
}
void server::close_clients() {
  if (core_) core_->close_clients();
}
aio::task<void> server::wait_closed() {
  if (core_) co_await core_->wait_closed();
}
aio::task<void> server::serve_forever() {
  if (core_) co_await core_->serve_forever();
}
bool server::is_serving() const noexcept { return core_ && core_->serving(); }
std::vector<endpoint> server::sockets() const {
  return core_ ? core_->sockets() : std::vector<endpoint>{};
}
std::uint16_t server::port() const {
  auto s = sockets();
  return s.empty() ? 0 : s.front().port();
}
std::size_t server::active_connections() const noexcept { return core_ ? core_->active() : 0; }

namespace {
aio::task<server> start_server_impl(client_connected_cb handler, std::string host,
                                    std::uint16_t port, server_options options) {
  if (!handler) throw error("start_server needs a client_connected_cb");
  if (options.tls && !options.tls->is_server())
    throw tls_error("start_server needs a server TLS context (tls_context::server)");
  auto& loop = aio::get_running_loop();
  std::vector<endpoint> addresses;
  if (host.empty()) {
    addresses = resolve_blocking("", port, true);
  } else {
    addresses = co_await resolve(host, port);
  }
  auto core = std::make_shared<detail::server_core>(loop, std::move(handler), std::move(options));
  std::exception_ptr last;
  std::size_t bound = 0;
  for (const auto& ep : addresses) {
    try {
      core->listen(ep);
      ++bound;
    } catch (const connection_error&) {
      last = std::current_exception();
    }
  }
  if (bound == 0) {
    if (last) std::rethrow_exception(last);
    throw connection_error("cannot listen on " + host_port(host, port) + ": no address");
  }
  core->remember_bound();
  core->start();
  co_return server(std::move(core));
}
}  // namespace

aio::task<server> start_server(client_connected_cb handler, std::string host, std::uint16_t port,
                               server_options options) {
  return start_server_impl(std::move(handler), std::move(host), port, std::move(options));
}
aio::task<server> start_server(client_connected_cb handler, std::string host, std::uint16_t port) {
  return start_server_impl(std::move(handler), std::move(host), port, server_options());
}

aio::task<server> start_server(client_connected_cb handler, unique_fd sock,
                               server_options options) {
  if (!handler) throw error("start_server needs a client_connected_cb");
  if (options.tls && !options.tls->is_server())
    throw tls_error("start_server needs a server TLS context (tls_context::server)");
  auto core = std::make_shared<detail::server_core>(aio::get_running_loop(), std::move(handler),
                                                    std::move(options));
  core->adopt(std::move(sock));
  core->remember_bound();
  core->start();
  co_return server(std::move(core));
}
aio::task<server> start_server(client_connected_cb handler, unique_fd sock) {
  return start_server(std::move(handler), std::move(sock), server_options());
}

namespace {
// A socket file left at `path` by an earlier server is replaced, as asyncio does; anything
// else there is the caller's and stays.
void remove_stale_socket(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}
}  // namespace

aio::task<server> start_unix_server(client_connected_cb handler, std::string path,
                                    server_options options) {
  if (!handler) throw error("start_unix_server needs a client_connected_cb");
  if (options.tls) throw tls_error("start_unix_server: TLS over a Unix socket is not offered");
  const endpoint ep = endpoint::unix_socket(path);
  const bool abstract = path.front() == '@' || path.front() == '\0';
  if (!abstract) remove_stale_socket(path);
  listen_options lo;
  lo.backlog = options.backlog;
  lo.reuse_address = false;
  unique_fd fd = open_listener(ep, lo);
  struct stat st {};
  const bool made_file = !abstract && ::stat(path.c_str(), &st) == 0;
  auto core = std::make_shared<detail::server_core>(aio::get_running_loop(), std::move(handler),
                                                    std::move(options));
  core->adopt(std::move(fd));
  if (made_file) core->remove_on_close(path, st.st_ino);
  core->remember_bound();
  core->start();
  co_return server(std::move(core));
}
aio::task<server> start_unix_server(client_connected_cb handler, std::string path) {
  return start_unix_server(std::move(handler), std::move(path), server_options());
}

}  // namespace concur::net
