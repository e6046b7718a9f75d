#include "concur/http/stream_response.hpp"

#include <charconv>

#include "concur/core/error.hpp"
#include "server_stream.hpp"

namespace concur::http {

namespace detail {

namespace {

bool status_has_body(int status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

}  // namespace

server_stream::framing server_stream::begin(head h) {
  if (state_ != state::idle)
    throw invalid_state_error("a response was already started for this request");
  framing used = h.body;
  if (!status_has_body(h.status)) {
    used = framing::none;
  } else if (used == framing::chunked && minor_ == 0) {
    // HTTP/1.0 has no chunked coding (RFC 9112 7.1): the body ends with the connection.
    used = framing::until_close;
  }
  close_after_ = h.close || !keep_alive_ || used == framing::until_close;
  append_head(h, used, !close_after_);
  if (head_request_) used = framing::none;
  framing_ = used;
  remaining_ = used == framing::length ? h.length : 0;
  state_ = state::open;
  return used;
}

void server_stream::write_body(std::string_view data) {
  if (state_ != state::open) throw invalid_state_error("the response body has ended");
  if (data.empty()) return;
  switch (framing_) {
    case framing::none:
      return;  // HEAD, 204, 304: the fields went out, the body does not
    case framing::length:
      if (data.size() > remaining_)
        throw value_error("write of " + std::to_string(data.size()) + " bytes past the " +
                          "Content-Length (" + std::to_string(remaining_) + " bytes left)");
      remaining_ -= data.size();
      buffer().append(data);
      return;
    case framing::chunked: {
      char size[20];
      auto [end, ec] = std::to_chars(size, size + sizeof size, data.size(), 16);
      auto& o = buffer();
      o.append(size, end);
      o.append("\r\n");
      o.append(data);
      o.append("\r\n");
      return;
    }
    case framing::until_close:
      buffer().append(data);
      return;
  }
}

aio::task<void> server_stream::send_file(int fd, std::uint64_t offset, std::uint64_t count) {
  if (state_ != state::open) throw invalid_state_error("the response body has ended");
  if (framing_ == framing::none || count == 0) co_return;
  if (framing_ == framing::chunked)
    throw invalid_state_error("a file is sent with a known length, not in chunks");
  if (framing_ == framing::length) {
    if (count > remaining_) throw value_error("file part larger than the Content-Length");
    remaining_ -= count;
  }
  if (!try_flush()) co_await flush();
  co_await transmit_file(fd, offset, count);
}

bool server_stream::end_body() {
  if (state_ != state::open) return true;
  state_ = state::ended;
  if (framing_ == framing::chunked) buffer().append("0\r\n\r\n");
  if (framing_ == framing::length && remaining_ != 0) close_after_ = true;
  return !close_after_;
}

}  // namespace detail

namespace {

// aiohttp's StreamWriter drains when more than this is waiting.
constexpr std::size_t drain_threshold = 64 * 1024;

}  // namespace

aio::task<void> stream_response::prepare(web_request& request) {
  if (stream_ != nullptr) co_return;
  detail::server_stream* s = request.stream();
  if (s == nullptr)
    throw invalid_state_error("stream_response::prepare: the request is not being served");
  detail::server_stream::head h;
  h.status = status;
  h.reason = reason;
  h.content_type = content_type;
  h.fields = &headers;
  h.body = content_length ? detail::server_stream::framing::length
                          : detail::server_stream::framing::chunked;
  h.length = content_length.value_or(0);
  h.close = close_;
  s->begin(h);
  stream_ = s;
  request_ = &request;
  if (!s->try_flush()) co_await s->flush();
}

aio::task<void> stream_response::write(std::string_view data) {
  if (stream_ == nullptr) throw invalid_state_error("stream_response: write() before prepare()");
  if (eof_) throw invalid_state_error("stream_response: write() after write_eof()");
  stream_->write_body(data);
  if (!stream_->try_flush() && stream_->buffer().size() > drain_threshold)
    co_await stream_->flush();
}

aio::task<void> stream_response::drain() {
  if (stream_ == nullptr) throw invalid_state_error("stream_response: drain() before prepare()");
  if (!stream_->try_flush()) co_await stream_->flush();
}

aio::task<void> stream_response::write_eof(std::string_view data) {
  if (eof_) co_return;
  if (stream_ == nullptr)
    throw invalid_state_error("stream_response: write_eof() before prepare()");
  if (!data.empty()) stream_->write_body(data);
  eof_ = true;
  stream_->end_body();
  if (!stream_->try_flush()) co_await stream_->flush();
}

stream_response::operator web_response() const {
  web_response r(status, {}, content_type);
  r.reason = reason;
  r.headers = headers;
  r.close_connection = close_;
  return r;
}

// ---------------------------------------------------------------- server-sent events

namespace {

void check_field(std::string_view name, std::string_view value, bool forbid_nul) {
  auto bad = value.find_first_of(forbid_nul ? std::string_view("\r\n\0", 3) : "\r\n");
  if (bad != std::string_view::npos)
    throw value_error("sse_response::send: the " + std::string(name) +
                      " holds a CR, LF or NUL, which would end the field early");
}

void append_data_lines(std::string& event, std::string_view data) {
  // Every line terminator the format knows (CRLF, LF, CR) ends one "data:" line.
  for (;;) {
    auto cut = data.find_first_of("\r\n");
    event.append("data: ");
    event.append(data.substr(0, cut));
    event.push_back('\n');
    if (cut == std::string_view::npos) return;
    std::size_t skip = data.compare(cut, 2, "\r\n") == 0 ? 2 : 1;
    data.remove_prefix(cut + skip);
  }
}

}  // namespace

sse_response::sse_response() : stream_response(200) {
  content_type = "text/event-stream";
  headers.set("Cache-Control", "no-cache");
  // nginx buffers proxied responses unless told not to; events must arrive as sent.
  headers.set("X-Accel-Buffering", "no");
}

aio::task<void> sse_response::send(std::string_view data, std::string_view event,
                                   std::string_view id,
                                   std::optional<std::chrono::milliseconds> retry) {
  check_field("event", event, false);
  check_field("id", id, true);
  std::string text;
  text.reserve(data.size() + event.size() + id.size() + 32);
  if (!id.empty()) text.append("id: ").append(id).push_back('\n');
  if (!event.empty()) text.append("event: ").append(event).push_back('\n');
  if (retry) text.append("retry: ").append(std::to_string(retry->count())).push_back('\n');
  append_data_lines(text, data);
  text.push_back('\n');
  co_await write(text);
  co_await drain();
}

aio::task<void> sse_response::ping() {
  co_await write(": ping\n\n");
  co_await drain();
}

std::string_view sse_response::last_event_id() const noexcept {
  const web_request* r = request();
  return r == nullptr ? std::string_view() : r->headers().get("Last-Event-ID", "");
}

}  // namespace concur::http
