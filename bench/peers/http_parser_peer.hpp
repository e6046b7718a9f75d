#pragma once
// The HTTP/1.1 parser concur used before its own: Debian's libhttp-parser (lenient mode) behind
// the same interface as http::parser, kept only so bench_http_parse can time both side by side.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/parser.hpp"

namespace concur_bench {

using concur::http::message_kind;
using concur::http::parse_error;
using concur::http::parser_limits;
namespace http = concur::http;

class legacy_parser {
 public:
  explicit legacy_parser(message_kind kind, parser_limits limits = {});

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
  std::string_view method() const noexcept;
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

  // Opaque storage for libhttp-parser's state (kept inline so a parser is one allocation-free
  // value; sized and aligned for struct http_parser, checked in parser.cpp).
  struct alignas(8) raw_state {
    unsigned char bytes[32];
  };

 private:
  friend struct parser_callbacks;
  void fail(parse_error::kind k, const std::string& what);
  void begin_message();
  bool add_header_bytes(std::size_t n);
  void commit_field();

  raw_state raw_{};
  message_kind kind_;
  parser_limits limits_;

  bool started_ = false;
  bool headers_complete_ = false;
  bool message_complete_ = false;
  bool no_body_ = false;
  bool keep_alive_ = false;
  bool upgrade_ = false;
  bool chunked_ = false;
  bool in_value_ = false;
  bool failed_ = false;
  std::optional<std::uint64_t> content_length_;
  int status_ = 0;
  int major_ = 1;
  int minor_ = 1;
  unsigned method_ = 0;
  std::size_t header_bytes_ = 0;
  std::size_t body_total_ = 0;
  std::string target_;
  std::string reason_;
  std::string field_;
  std::string value_;
  http::headers headers_;
  std::string body_;
  std::optional<parse_error> error_;
};

}  // namespace concur_bench
