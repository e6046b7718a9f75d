#include "http_parser_peer.hpp"

#include <http_parser.h>

#include <new>

namespace concur_bench {

static_assert(sizeof(http_parser) <= sizeof(legacy_parser::raw_state));
static_assert(alignof(http_parser) <= alignof(legacy_parser::raw_state));

namespace {
http_parser* raw(legacy_parser::raw_state& s) noexcept {
  return std::launder(reinterpret_cast<http_parser*>(s.bytes));
}
}  // namespace

// libhttp-parser calls back through C function pointers; these forward to the parser object
// stored in http_parser::data. A nonzero return stops the C parser with an error.
struct parser_callbacks {
  static legacy_parser& self(http_parser* p) noexcept {
    return *static_cast<legacy_parser*>(p->data);
  }

  static int on_message_begin(http_parser* p) {
    self(p).begin_message();
    return 0;
  }
  static int on_url(http_parser* p, const char* at, std::size_t n) {
    auto& s = self(p);
    if (!s.add_header_bytes(n)) return 1;
    s.target_.append(at, n);
    return 0;
  }
  static int on_status(http_parser* p, const char* at, std::size_t n) {
    auto& s = self(p);
    if (!s.add_header_bytes(n)) return 1;
    s.reason_.append(at, n);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    auto& s = self(p);
    if (!s.add_header_bytes(n)) return 1;
    if (s.in_value_) {
      s.commit_field();
      if (s.headers_.size() >= s.limits_.max_header_count) {
        s.fail(parse_error::kind::header_too_large,
               "too many header fields (limit " + std::to_string(s.limits_.max_header_count) + ")");
        return 1;
      }
    }
    s.field_.append(at, n);
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    auto& s = self(p);
    if (!s.add_header_bytes(n)) return 1;
    s.in_value_ = true;
    s.value_.append(at, n);
    return 0;
  }
  static int on_headers_complete(http_parser* p) {
    auto& s = self(p);
    if (s.in_value_) s.commit_field();
    if (s.headers_.size() > s.limits_.max_header_count) {
      s.fail(parse_error::kind::header_too_large,
             "too many header fields (limit " + std::to_string(s.limits_.max_header_count) + ")");
      return -1;
    }
    s.headers_complete_ = true;
    s.status_ = static_cast<int>(p->status_code);
    s.method_ = p->method;
    s.major_ = p->http_major;
    s.minor_ = p->http_minor;
    s.keep_alive_ = http_should_keep_alive(p) != 0;
    s.chunked_ = (p->flags & F_CHUNKED) != 0;
    if ((p->flags & F_CONTENTLENGTH) != 0) {
      s.content_length_ = p->content_length;
      if (p->content_length > s.limits_.max_body_bytes) {
        s.fail(parse_error::kind::body_too_large, "body of " + std::to_string(p->content_length) +
                                                      " bytes exceeds the limit of " +
                                                      std::to_string(s.limits_.max_body_bytes));
        return -1;
      }
    }
    // 1 tells libhttp-parser that this message has no body (a response to HEAD).
    return s.no_body_ ? 1 : 0;
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    auto& s = self(p);
    s.body_total_ += n;
    if (s.body_total_ > s.limits_.max_body_bytes) {
      s.fail(parse_error::kind::body_too_large,
             "body exceeds the limit of " + std::to_string(s.limits_.max_body_bytes) + " bytes");
      return 1;
    }
    s.body_.append(at, n);
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    auto& s = self(p);
    s.message_complete_ = true;
    s.keep_alive_ = http_should_keep_alive(p) != 0;
    // Stop here so bytes of a pipelined next message stay with the caller.
    http_parser_pause(p, 1);
    return 0;
  }

  static const http_parser_settings settings;
};

const http_parser_settings parser_callbacks::settings = {
    parser_callbacks::on_message_begin,
    parser_callbacks::on_url,
    parser_callbacks::on_status,
    parser_callbacks::on_header_field,
    parser_callbacks::on_header_value,
    parser_callbacks::on_headers_complete,
    parser_callbacks::on_body,
    parser_callbacks::on_message_complete,
    nullptr,
    nullptr,
};

legacy_parser::legacy_parser(message_kind kind, parser_limits limits)
    : kind_(kind), limits_(limits) {
  new (raw_.bytes) http_parser;
  reset();
}

void legacy_parser::reset() {
  http_parser_init(raw(raw_), kind_ == message_kind::request ? HTTP_REQUEST : HTTP_RESPONSE);
  begin_message();
  started_ = false;
  no_body_ = false;
  failed_ = false;
  error_.reset();
}

void legacy_parser::begin_message() {
  started_ = true;
  headers_complete_ = false;
  message_complete_ = false;
  keep_alive_ = false;
  upgrade_ = false;
  chunked_ = false;
  in_value_ = false;
  content_length_.reset();
  status_ = 0;
  method_ = 0;
  header_bytes_ = 0;
  body_total_ = 0;
  target_.clear();
  reason_.clear();
  field_.clear();
  value_.clear();
  headers_.clear();
  body_.clear();
}

void legacy_parser::fail(parse_error::kind k, const std::string& what) {
  if (!error_) error_.emplace(k, what);
}

bool legacy_parser::add_header_bytes(std::size_t n) {
  header_bytes_ += n;
  if (header_bytes_ > limits_.max_header_bytes) {
    fail(parse_error::kind::header_too_large, "header section exceeds the limit of " +
                                                  std::to_string(limits_.max_header_bytes) +
                                                  " bytes");
    return false;
  }
  return true;
}

void legacy_parser::commit_field() {
  headers_.add(field_, value_);
  field_.clear();
  value_.clear();
  in_value_ = false;
}

std::size_t legacy_parser::feed(std::string_view data) {
  if (failed_) throw parse_error(parse_error::kind::malformed, "parser used after an error");
  if (message_complete_ || data.empty()) return 0;
  auto* p = raw(raw_);
  p->data = this;
  std::size_t n = http_parser_execute(p, &parser_callbacks::settings, data.data(), data.size());
  auto err = HTTP_PARSER_ERRNO(p);
  if (err == HPE_PAUSED) {
    http_parser_pause(p, 0);
  } else if (err != HPE_OK) {
    failed_ = true;
    if (error_) throw *error_;
    if (err == HPE_HEADER_OVERFLOW)
      throw parse_error(parse_error::kind::header_too_large, "header section too large");
    throw parse_error(parse_error::kind::malformed,
                      std::string("malformed HTTP ") +
                          (kind_ == message_kind::request ? "request" : "response") + ": " +
                          http_errno_description(err));
  }
  if (p->upgrade) {
    upgrade_ = true;
    message_complete_ = headers_complete_;
  }
  return n;
}

bool legacy_parser::feed_eof() {
  if (failed_) throw parse_error(parse_error::kind::malformed, "parser used after an error");
  if (message_complete_) return true;
  auto* p = raw(raw_);
  p->data = this;
  http_parser_execute(p, &parser_callbacks::settings, nullptr, 0);
  auto err = HTTP_PARSER_ERRNO(p);
  if (err == HPE_PAUSED) http_parser_pause(p, 0);
  if (message_complete_) return true;
  if (!started_) return false;
  failed_ = true;
  throw parse_error(parse_error::kind::incomplete,
                    std::string("connection closed in the middle of an HTTP ") +
                        (kind_ == message_kind::request ? "request" : "response") +
                        (headers_complete_ ? " body" : " header"));
}

std::string_view legacy_parser::method() const noexcept {
  return http_method_str(static_cast<http_method>(method_));
}

}  // namespace concur_bench
