#include "concur/http/response.hpp"

#include "client_impl.hpp"
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
    release();
    done_ = true;
    throw payload_error("response body from " + url_ + " is broken: " + e.what());
  } catch (const payload_error&) {
    release();
    done_ = true;
    throw;
  } catch (const net::connection_error& e) {
    release();
    done_ = true;
    throw payload_error("connection lost while reading the body of " + url_ + ": " + e.what());
  } catch (...) {
    // Timeouts and cancellation: the connection is mid-body, so it cannot be reused.
    release();
    done_ = true;
    throw;
  }
}

aio::task<std::string> body_reader::next(std::size_t max) {
  if (max == 0) max = 1;
  while (pending_.empty() && !done_) co_await pump();
  if (pending_.size() <= max) co_return std::exchange(pending_, std::string());
  std::string out = pending_.substr(0, max);
  pending_.erase(0, max);
  co_return out;
}

aio::task<std::string> body_reader::rest() {
  while (!done_) co_await pump();
  co_return std::exchange(pending_, std::string());
}

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
      body_(std::move(body)) {}

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
  if (!full_body_) {
    if (!body_) {
      full_body_.emplace();
    } else {
      full_body_ = co_await body_->rest();
    }
  }
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

aio::task<std::string> response::read_chunk(std::size_t max) {
  if (full_body_) {
    // read() already took everything; hand it out once more in pieces.
    if (full_body_->empty()) co_return std::string();
    std::string out = full_body_->substr(0, max);
    full_body_->erase(0, max);
    co_return out;
  }
  if (!body_) co_return std::string();
  co_return co_await body_->next(max);
}

bool response::body_complete() const noexcept {
  return full_body_.has_value() || !body_ || body_->done();
}

const std::string& response::body() const {
  if (!full_body_) throw invalid_state_error("response body not read yet: co_await read() first");
  return *full_body_;
}

void response::release() noexcept {
  if (body_) body_->release();
}

}  // namespace concur::http
