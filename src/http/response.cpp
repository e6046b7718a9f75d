#include "concur/http/response.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "client_impl.hpp"
#include "concur/core/fd.hpp"
#include "concur/net/errors.hpp"

namespace concur::http {

namespace detail {

body_reader::body_reader(std::shared_ptr<connection_pool> pool,
                         std::unique_ptr<client_connection> conn,
                         std::optional<content_coding> coding, std::optional<time_point> deadline,
                         std::optional<duration> sock_read, std::string url)
    : pool_(std::move(pool)),
      conn_(std::move(conn)),
      deadline_(deadline),
      sock_read_(sock_read),
      url_(std::move(url)) {
  if (coding) {
    decoder_.emplace(*coding);
    decoder_->set_max_output(pool_->limits.max_body_bytes);
  }
  // Bytes of the body that arrived with the headers.
  raw_ = conn_->parser.take_body();
  try {
    decode(raw_);
  } catch (...) {
    release();
    throw;
  }
}

body_reader::body_reader(std::string complete_body, std::string url)
    : url_(std::move(url)), pending_(std::move(complete_body)), done_(true) {}

body_reader::~body_reader() { release(); }

void body_reader::release() noexcept {
  if (conn_ && pool_) pool_->release(std::move(conn_), false);
}

void body_reader::decode(std::string_view raw) {
  if (raw.empty()) return;
  if (start_ > 0) {
    pending_.erase(0, start_);
    start_ = 0;
  }
  if (decoder_) {
    decoder_->feed(raw, pending_);
  } else {
    pending_.append(raw);
  }
}

void body_reader::finish() {
  if (decoder_) decoder_->finish();
  done_ = true;
  bool keep = conn_->parser.keep_alive() && !conn_->parser.upgrade();
  pool_->release(std::move(conn_), keep);
}

aio::task<bool> body_reader::pump() {
  auto& c = *conn_;
  try {
    for (;;) {
      auto buf = c.reader.buffered();
      if (!buf.empty()) {
        std::size_t n = c.parser.feed(buf);
        c.reader.consume(n);
        raw_.clear();
        c.parser.drain_body_into(raw_);
        decode(raw_);
        if (c.parser.message_complete()) {
          finish();
          co_return false;
        }
        if (!raw_.empty()) co_return true;
        continue;
      }
      arm_read_timeout(c.reader, sock_read_, deadline_, c.where);
      if (!co_await c.reader.fill()) {
        c.parser.feed_eof();  // completes a read-until-close body, else throws
        raw_.clear();
        c.parser.drain_body_into(raw_);
        decode(raw_);
        finish();
        co_return false;
      }
    }
  } catch (const parse_error& e) {
    fail(std::make_exception_ptr(
        payload_error("response body from " + url_ + " is broken: " + e.what())));
    std::rethrow_exception(error_);
  } catch (const net::connection_error& e) {
    fail(std::make_exception_ptr(
        payload_error("connection lost while reading the body of " + url_ + ": " + e.what())));
    std::rethrow_exception(error_);
  } catch (const payload_error&) {
    fail(std::current_exception());
    throw;
  } catch (...) {
    // A timeout or a cancellation: the connection is mid-body, so it cannot be reused, and the
    // body cannot go on. Later reads say so instead of ending the body as if it were complete.
    fail(std::make_exception_ptr(payload_error(
        "the body of " + url_ + " was abandoned: a read timed out or was cancelled")));
    throw;
  }
}

void body_reader::fail(std::exception_ptr e) {
  release();
  done_ = true;
  error_ = std::move(e);
}

std::string body_reader::take(std::size_t n) {
  const auto view = buffered().substr(0, n);
  std::string out(view);
  start_ += view.size();
  if (start_ == pending_.size()) {
    pending_.clear();
    start_ = 0;
  }
  return out;
}

aio::task<bool> body_reader::more() {
  if (!done_ && !conn_) {
    // response::release() gave the connection up mid-body: the rest can never come.
    fail(std::make_exception_ptr(
        payload_error("the body of " + url_ + " was released before it was read to its end")));
  }
  if (error_) std::rethrow_exception(error_);
  const std::size_t before = pending_.size() - start_;
  while (!done_ && pending_.size() - start_ == before) co_await pump();
  co_return pending_.size() - start_ > before;
}

// A file that is complete or absent: written under a temporary name beside its final one
// (same folder, so the rename cannot cross file systems), renamed over it by commit(), removed
// by the destructor otherwise.
class partial_file {
 public:
  explicit partial_file(std::filesystem::path final_path) : final_(std::move(final_path)) {
    std::random_device rd;
    for (int attempt = 0; attempt < 16 && !fd_; ++attempt) {
      temp_ = final_;
      temp_ += ".part-" + std::to_string(rd() % 1'000'000'000u);
      // 0666 so the umask decides, as for any file a program creates.
      int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        fd_ = concur::unique_fd(fd);
      } else if (errno != EEXIST) {
        throw os_error(errno, "open " + temp_.string());
      }
    }
    if (!fd_) throw os_error(EEXIST, "open " + temp_.string());
  }
  partial_file(const partial_file&) = delete;
  partial_file& operator=(const partial_file&) = delete;
  ~partial_file() {
    if (!committed_) ::unlink(temp_.c_str());
  }

  void write(std::string_view data) {
    while (!data.empty()) {
      auto n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw os_error(errno, "write " + temp_.string());
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void commit() {
    if (::close(fd_.release()) != 0) throw os_error(errno, "close " + temp_.string());
    if (::rename(temp_.c_str(), final_.c_str()) != 0)
      throw os_error(errno, "rename " + temp_.string() + " to " + final_.string());
    committed_ = true;
  }

 private:
  std::filesystem::path final_;
  std::filesystem::path temp_;
  concur::unique_fd fd_;
  bool committed_ = false;
};

}  // namespace detail

response::response() = default;
response::response(response&&) noexcept = default;
response& response::operator=(response&&) noexcept = default;
response::~response() = default;

response::response(init parts, std::unique_ptr<detail::body_reader> body)
    : status_(parts.status),
      reason_(std::move(parts.reason)),
      headers_(std::move(parts.headers)),
      url_(std::move(parts.url)),
      method_(std::move(parts.method)),
      major_(parts.major),
      minor_(parts.minor),
      history_(std::move(parts.history)),
      body_(std::move(body)),
      content_(body_.get()) {}

std::string response::content_type() const {
  auto v = headers_.get("content-type");
  if (!v) return {};
  std::string_view t = *v;
  t = t.substr(0, t.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  std::string out(t);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<std::size_t> response::content_length() const {
  auto v = headers_.get("content-length");
  if (!v) return std::nullopt;
  try {
    return static_cast<std::size_t>(std::stoull(std::string(*v)));
  } catch (...) {
    return std::nullopt;
  }
}

void response::raise_for_status() const {
  if (status_ >= 400) throw http_error(status_, reason_, url_.str());
}

aio::task<std::string> response::read() {
  if (full_body_) co_return *full_body_;
  std::string all = co_await content_.read(-1);
  full_body_ = std::move(all);
  co_return *full_body_;
}

aio::task<std::string> response::text() { co_return co_await read(); }

aio::task<nlohmann::json> response::json() {
  std::string b = co_await read();
  try {
    co_return nlohmann::json::parse(b);
  } catch (const nlohmann::json::exception& e) {
    throw client_error("invalid JSON in the body of " + url_.str() + ": " + e.what());
  }
}

bool response::body_complete() const noexcept {
  return full_body_.has_value() || content_.at_eof();
}

const std::string& response::body() const {
  if (!full_body_) throw invalid_state_error("response body not read yet: co_await read() first");
  return *full_body_;
}

void response::release() noexcept {
  if (body_) body_->release();
}

aio::task<std::uint64_t> response::save(const std::filesystem::path& path) {
  detail::partial_file file(path);
  std::uint64_t total = 0;
  if (full_body_) {
    file.write(*full_body_);
    total = full_body_->size();
  }
  for (;;) {
    std::string chunk = co_await content_.readany();
    if (chunk.empty()) break;
    file.write(chunk);
    total += chunk.size();
  }
  file.commit();
  co_return total;
}

// ---- body_stream: aiohttp's StreamReader over the body_reader's buffer

aio::task<std::string> body_stream::read(std::ptrdiff_t n) {
  if (reader_ == nullptr || n == 0) co_return std::string();
  if (n < 0) {
    for (;;) {
      const bool grew = co_await reader_->more();
      if (!grew) break;
    }
    co_return reader_->take(std::string::npos);
  }
  if (reader_->buffered().empty()) co_await reader_->more();
  co_return reader_->take(static_cast<std::size_t>(n));
}

aio::task<std::string> body_stream::readany() {
  if (reader_ == nullptr) co_return std::string();
  if (reader_->buffered().empty()) co_await reader_->more();
  co_return reader_->take(std::string::npos);
}

aio::task<std::string> body_stream::readexactly(std::size_t n) {
  if (reader_ == nullptr) {
    if (n == 0) co_return std::string();
    throw net::incomplete_read_error(std::string(), n);
  }
  while (reader_->buffered().size() < n) {
    const bool grew = co_await reader_->more();
    if (!grew) throw net::incomplete_read_error(reader_->take(std::string::npos), n);
  }
  co_return reader_->take(n);
}

aio::task<std::string> body_stream::readline() { co_return co_await readuntil("\n"); }

aio::task<std::string> body_stream::readuntil(std::string separator) {
  if (separator.empty()) throw value_error("readuntil: the separator is empty");
  if (reader_ == nullptr) co_return std::string();
  std::size_t searched = 0;  // bytes of the buffer known to hold no separator start
  for (;;) {
    const auto buf = reader_->buffered();
    const auto at = buf.find(separator, searched);
    const std::size_t end = at == std::string_view::npos ? buf.size() : at + separator.size();
    if (end > limit_)
      throw value_error("Chunk too big: no separator within " + std::to_string(limit_) +
                        " bytes of the body");
    if (at != std::string_view::npos) co_return reader_->take(end);
    searched = buf.size() >= separator.size() ? buf.size() - separator.size() + 1 : 0;
    const bool grew = co_await reader_->more();
    if (!grew) co_return reader_->take(std::string::npos);
  }
}

std::string body_stream::read_nowait(std::ptrdiff_t n) {
  if (reader_ == nullptr || n == 0) return std::string();
  return reader_->take(n < 0 ? std::string::npos : static_cast<std::size_t>(n));
}

bool body_stream::is_eof() const noexcept { return reader_ == nullptr || reader_->ended(); }

bool body_stream::at_eof() const noexcept {
  return reader_ == nullptr || (reader_->ended() && reader_->buffered().empty());
}

}  // namespace concur::http
