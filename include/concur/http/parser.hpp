#pragma once
// http::parser: an incremental, strict HTTP/1.1 parser (RFC 9112) for requests (server side)
// and responses (client side), with the limits a server needs (431 for oversized headers,
// 413 for oversized bodies).
//
// Strict means a message that could be read two ways is refused rather than guessed at, since
// two readings of one message (by a proxy and by this server) are how request smuggling
// starts: bare LF or CR line ends, whitespace before a field's colon, obsolete line folding in
// a request, both Content-Length and Transfer-Encoding, a Content-Length list, chunked that is
// not the final coding, chunk data not followed by CRLF, control characters anywhere, a
// version other than HTTP/1.0 and HTTP/1.1 (505), a missing or doubled Host in a request.
// docs/python-to-cpp.md lists every rule with its section of the RFC.
//
// Use: feed() bytes as they arrive; it consumes up to the end of the current message and
// stops there (so pipelined bytes stay with the caller). When message_complete(), read the
// parts, then reset() for the next message on the same connection. Body bytes collect in
// body() until taken, so a caller can stream a large body by taking it after each feed().
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"

namespace concur::http {

enum class message_kind { request, response };

struct parser_limits {
  // Request line or status line plus every header field; beyond it: parse_error 431.
  std::size_t max_header_bytes = 64 * 1024;
  // Number of header fields; beyond it: parse_error 431.
  std::size_t max_header_count = 128;
  // Decoded body bytes of one message; beyond it: parse_error 413.
  std::size_t max_body_bytes = std::numeric_limits<std::size_t>::max();
};

class parser {
 public:
  explicit parser(message_kind kind, parser_limits limits = {});

  // Parses bytes of the current message; returns how many it consumed, which is less than
  // data.size() only when the message completed (or switched protocols) before the end.
  // Throws parse_error on malformed input or a limit hit; the parser is then unusable.
  std::size_t feed(std::string_view data);
  // The peer closed the connection. Completes a response whose body runs to the close;
  // returns true if a message is complete, false if the connection closed between messages;
  // throws parse_error(incomplete) if it closed in the middle of one.
  bool feed_eof();
  // The response being parsed answers a HEAD request: it has headers but no body.
  void expect_no_body() noexcept { no_body_ = true; }
  // Prepares for the next message on the same connection (keeps limits and kind).
  void reset();

  message_kind kind() const noexcept { return kind_; }
  bool started() const noexcept { return started_; }
  bool headers_complete() const noexcept { return headers_complete_; }
  bool message_complete() const noexcept { return message_complete_; }

  // Request parts (valid once headers_complete()).
  std::string_view method() const noexcept { return method_; }
  const std::string& target() const noexcept { return target_; }
  // Response parts.
  int status() const noexcept { return status_; }
  const std::string& reason() const noexcept { return reason_; }

  int http_major() const noexcept { return major_; }
  int http_minor() const noexcept { return minor_; }
  const http::headers& headers() const noexcept { return headers_; }
  http::headers take_headers() noexcept { return std::move(headers_); }
  // HTTP/1.1 without "Connection: close", or HTTP/1.0 with "Connection: keep-alive".
  bool keep_alive() const noexcept { return keep_alive_; }
  // Upgrade or CONNECT: the bytes after the headers belong to another protocol.
  bool upgrade() const noexcept { return upgrade_; }
  bool chunked() const noexcept { return chunked_; }
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }

  // Body bytes parsed and not yet taken (chunked framing already removed).
  const std::string& body() const noexcept { return body_; }
  std::string take_body() noexcept { return std::exchange(body_, std::string()); }
  // Appends the pending body bytes to `out` and clears them; keeps this buffer's capacity.
  void drain_body_into(std::string& out) {
    out.append(body_);
    body_.clear();
  }
  std::size_t body_bytes_seen() const noexcept { return body_total_; }

 private:
  enum class stage : std::uint8_t {
    start_line,
    field_lines,
    body_sized,
    body_until_close,
    chunk_size_line,
    chunk_data,
    chunk_data_end,
    trailer_lines,
    complete,
  };

  struct head_fields;

  [[noreturn]] void fail(parse_error::kind k, const std::string& what);
  [[noreturn]] void fail_line_too_long();
  void clear_message();
  bool step(std::string_view data, std::size_t& pos);
  std::optional<std::string_view> next_line(std::string_view data, std::size_t& pos,
                                            std::size_t limit);
  std::optional<std::string_view> next_head_line(std::string_view data, std::size_t& pos);
  void parse_version(std::string_view text);
  void parse_request_line(std::string_view line);
  void parse_status_line(std::string_view line);
  std::pair<std::string_view, std::string_view> split_field_line(std::string_view line);
  void parse_field_line(std::string_view line);
  void fold_into_last_field(std::string_view line);
  void end_of_head();
  void check_request_host(const head_fields& fields);
  void set_keep_alive(const head_fields& fields);
  void decide_framing(const head_fields& fields);
  void frame_by_transfer_encoding(const head_fields& fields);
  void frame_by_content_length(const head_fields& fields);
  std::uint64_t parse_content_length(std::string_view text);
  void parse_chunk_size(std::string_view line);
  void parse_trailer_line(std::string_view line);
  void take_body_bytes(std::string_view data, std::size_t& pos);
  void end_chunk_data(std::string_view data, std::size_t& pos);
  void complete_message();
  std::string_view what_message() const noexcept;

  message_kind kind_;
  parser_limits limits_;
  stage stage_ = stage::start_line;

  bool started_ = false;
  bool headers_complete_ = false;
  bool message_complete_ = false;
  bool no_body_ = false;
  bool keep_alive_ = false;
  bool upgrade_ = false;
  bool chunked_ = false;
  bool failed_ = false;
  // A line split across feed() calls: its first part waits here.
  bool line_in_pending_ = false;
  // Bytes of the CRLF after a chunk's data seen so far (0 or 1).
  std::uint8_t chunk_end_seen_ = 0;
  std::optional<std::uint64_t> content_length_;
  std::uint64_t body_left_ = 0;
  int status_ = 0;
  int major_ = 1;
  int minor_ = 1;
  std::size_t header_bytes_ = 0;
  std::size_t body_total_ = 0;
  std::string method_;
  std::string target_;
  std::string reason_;
  std::string pending_;
  http::headers headers_;
  std::string body_;
};

// Reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view status_reason(int status) noexcept;

}  // namespace concur::http
