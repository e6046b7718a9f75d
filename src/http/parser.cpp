#include "concur/http/parser.hpp"

#include <algorithm>
#include <cstring>

namespace concur::http {

namespace {

using namespace std::string_view_literals;

// Byte classes of RFC 9110 section 5.6 and RFC 9112 section 3, as 256-entry tables so a check
// is one load per byte.
struct byte_class {
  bool member[256];
  constexpr bool operator[](char c) const noexcept { return member[static_cast<unsigned char>(c)]; }
};

constexpr byte_class make_class(bool (*in)(unsigned char)) {
  byte_class t{};
  for (unsigned c = 0; c < 256; ++c) t.member[c] = in(static_cast<unsigned char>(c));
  return t;
}

constexpr bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return "!#$%&'*+-.^_`|~"sv.find(static_cast<char>(c)) != std::string_view::npos;
}

// tchar: field names, methods, transfer codings, chunk extension names.
constexpr byte_class token_bytes = make_class(is_tchar);
// A request target is printable ASCII without space (RFC 9112 section 3.2, RFC 3986).
constexpr byte_class target_bytes =
    make_class([](unsigned char c) { return c > 0x20 && c < 0x7f; });
// field-vchar, SP and HTAB (and obs-text): no CR, LF, NUL or other control byte.
constexpr byte_class value_bytes =
    make_class([](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); });
// qdtext of a quoted-string (RFC 9110 section 5.6.4): a value byte other than '"' and '\'.
constexpr byte_class quoted_bytes =
    make_class([](unsigned char c) { return value_bytes.member[c] && c != '"' && c != '\\'; });
// A Host value: printable ASCII that is not a path, query, fragment or userinfo delimiter.
constexpr byte_class host_bytes = make_class([](unsigned char c) {
  return target_bytes.member[c] && c != '/' && c != '?' && c != '#' && c != '@';
});

// No early exit: the bytes are almost always valid, and a branch-free loop is faster then.
bool all_of(std::string_view s, const byte_class& cls) noexcept {
  bool ok = true;
  for (char c : s) ok &= cls[c];
  return ok;
}

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Calls fn(element) for each non-empty element of a comma-separated list (RFC 9110 5.6.1).
template <class F>
void for_each_element(std::string_view list, F&& fn) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto element = trim_ows(list.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// A chunk-size line holds the size and its extensions; extensions are unusual, so this bound
// only stops a peer from making the parser buffer an endless line.
constexpr std::size_t max_chunk_line = 4096;

}  // namespace

// What the framing and connection fields of a head say, gathered in one pass.
struct parser::head_fields {
  std::size_t hosts = 0;
  std::string_view host;
  std::size_t content_lengths = 0;
  std::string_view content_length;
  bool transfer_encoding = false;
  bool chunked_last = false;
  bool chunked_twice = false;
  std::string_view other_coding;
  bool invalid_coding = false;
  bool upgrade_field = false;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;

  void add_coding(std::string_view coding) {
    if (iequals(coding, "chunked")) {
      chunked_twice = chunked_twice || chunked_last;
      chunked_last = true;
      return;
    }
    chunked_last = false;
    if (!all_of(coding, token_bytes)) invalid_coding = true;
    if (other_coding.empty()) other_coding = coding;
  }

  void add_connection_option(std::string_view option) {
    if (iequals(option, "close")) connection_close = true;
    if (iequals(option, "keep-alive")) connection_keep_alive = true;
    if (iequals(option, "upgrade")) connection_upgrade = true;
  }

  void add(std::string_view name, std::string_view value) {
    switch (name.size()) {
      case 4:
        if (iequals(name, "Host")) {
          ++hosts;
          host = value;
        }
        break;
      case 7:
        if (iequals(name, "Upgrade")) upgrade_field = true;
        break;
      case 10:
        if (iequals(name, "Connection"))
          for_each_element(value, [&](std::string_view o) { add_connection_option(o); });
        break;
      case 14:
        if (iequals(name, "Content-Length")) {
          ++content_lengths;
          content_length = value;
        }
        break;
      case 17:
        if (iequals(name, "Transfer-Encoding")) {
          transfer_encoding = true;
          for_each_element(value, [&](std::string_view c) { add_coding(c); });
        }
        break;
      default:
        break;
    }
  }
};

parser::parser(message_kind kind, parser_limits limits) : kind_(kind), limits_(limits) { reset(); }

void parser::reset() {
  clear_message();
  started_ = false;
  no_body_ = false;
  failed_ = false;
  pending_.clear();
  line_in_pending_ = false;
}

void parser::clear_message() {
  stage_ = stage::start_line;
  headers_complete_ = false;
  message_complete_ = false;
  keep_alive_ = false;
  upgrade_ = false;
  chunked_ = false;
  chunk_end_seen_ = 0;
  content_length_.reset();
  body_left_ = 0;
  status_ = 0;
  major_ = 1;
  minor_ = 1;
  header_bytes_ = 0;
  body_total_ = 0;
  method_.clear();
  target_.clear();
  reason_.clear();
  headers_.clear();
  body_.clear();
}

void parser::fail(parse_error::kind k, const std::string& what) {
  failed_ = true;
  throw parse_error(k, what);
}

std::string_view parser::what_message() const noexcept {
  return kind_ == message_kind::request ? "request"sv : "response"sv;
}

std::size_t parser::feed(std::string_view data) {
  if (failed_) throw parse_error(parse_error::kind::malformed, "parser used after an error");
  std::size_t pos = 0;
  while (pos < data.size() && !message_complete_) {
    if (!step(data, pos)) break;
  }
  return pos;
}

bool parser::feed_eof() {
  if (failed_) throw parse_error(parse_error::kind::malformed, "parser used after an error");
  if (message_complete_) return true;
  if (stage_ == stage::body_until_close) {
    complete_message();
    return true;
  }
  if (!started_) return false;
  fail(parse_error::kind::incomplete, "connection closed in the middle of an HTTP " +
                                          std::string(what_message()) +
                                          (headers_complete_ ? " body" : " header"));
}

// One unit of the message: a line of the head or of the chunked framing, or a run of body
// bytes. False when the bytes left in `data` are all kept for later (a line not yet ended).
bool parser::step(std::string_view data, std::size_t& pos) {
  switch (stage_) {
    case stage::start_line: {
      auto line = next_head_line(data, pos);
      if (!line) {
        // A request may be preceded by empty lines (RFC 9112 section 2.2); they do not start it.
        started_ = started_ || (!pending_.empty() && pending_ != "\r");
        return false;
      }
      if (kind_ == message_kind::request && line->empty()) return true;
      started_ = true;
      if (kind_ == message_kind::request)
        parse_request_line(*line);
      else
        parse_status_line(*line);
      stage_ = stage::field_lines;
      return true;
    }
    case stage::field_lines: {
      auto line = next_head_line(data, pos);
      if (!line) return false;
      if (line->empty())
        end_of_head();
      else
        parse_field_line(*line);
      return true;
    }
    case stage::body_sized:
    case stage::body_until_close:
    case stage::chunk_data:
      take_body_bytes(data, pos);
      return true;
    case stage::chunk_data_end:
      end_chunk_data(data, pos);
      return true;
    case stage::chunk_size_line: {
      auto line = next_line(data, pos, max_chunk_line);
      if (!line) return false;
      parse_chunk_size(*line);
      return true;
    }
    case stage::trailer_lines: {
      auto line = next_head_line(data, pos);
      if (!line) return false;
      if (line->empty())
        complete_message();
      else
        parse_trailer_line(*line);
      return true;
    }
    case stage::complete:
      break;
  }
  return false;
}

// The next CRLF-ended line from data[pos...], without its CRLF; nothing when the line goes on
// past the end of `data` (its bytes then wait in pending_). A line longer than `limit` bytes
// with its CRLF fails.
std::optional<std::string_view> parser::next_line(std::string_view data, std::size_t& pos,
                                                  std::size_t limit) {
  if (line_in_pending_) {
    pending_.clear();
    line_in_pending_ = false;
  }
  const char* begin = data.data() + pos;
  const std::size_t avail = data.size() - pos;
  const void* lf = std::memchr(begin, '\n', avail);
  if (lf == nullptr) {
    if (pending_.size() + avail > limit) fail_line_too_long();
    pending_.append(begin, avail);
    pos = data.size();
    return std::nullopt;
  }
  const auto len = static_cast<std::size_t>(static_cast<const char*>(lf) - begin);
  if (pending_.size() + len + 1 > limit) fail_line_too_long();
  pos += len + 1;
  std::string_view line(begin, len);
  if (!pending_.empty()) {
    pending_.append(begin, len);
    line = pending_;
    line_in_pending_ = true;
  }
  if (line.empty() || line.back() != '\r')
    fail(parse_error::kind::malformed, "a line of the HTTP " + std::string(what_message()) +
                                           " ends in a bare LF (RFC 9112 section 2.2 wants CRLF)");
  line.remove_suffix(1);
  return line;
}

void parser::fail_line_too_long() {
  if (stage_ == stage::chunk_size_line)
    fail(parse_error::kind::malformed,
         "chunk size line is longer than " + std::to_string(max_chunk_line) + " bytes");
  fail(
      parse_error::kind::header_too_large,
      "header section exceeds the limit of " + std::to_string(limits_.max_header_bytes) + " bytes");
}

// A line of the head or of the trailers: all of them share max_header_bytes.
std::optional<std::string_view> parser::next_head_line(std::string_view data, std::size_t& pos) {
  const std::size_t room =
      limits_.max_header_bytes - std::min(header_bytes_, limits_.max_header_bytes);
  auto line = next_line(data, pos, room);
  if (line) header_bytes_ += line->size() + 2;
  return line;
}

void parser::parse_version(std::string_view text) {
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 section 2.3).
  const bool well_formed = text.size() == 8 && text.substr(0, 5) == "HTTP/" && text[5] >= '0' &&
                           text[5] <= '9' && text[6] == '.' && text[7] >= '0' && text[7] <= '9';
  if (!well_formed)
    fail(parse_error::kind::malformed,
         "the HTTP version of the " + std::string(what_message()) + " is not HTTP/<digit>.<digit>");
  major_ = text[5] - '0';
  minor_ = text[7] - '0';
  if (major_ != 1 || minor_ > 1)
    fail(parse_error::kind::version_not_supported,
         "HTTP version " + std::string(text.substr(5)) + " is not supported (only 1.0 and 1.1)");
}

void parser::parse_request_line(std::string_view line) {
  // method SP request-target SP HTTP-version, one space each (RFC 9112 section 3).
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1)
    fail(parse_error::kind::malformed,
         "the request line is not 'method SP target SP version' (RFC 9112 section 3)");
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!all_of(method, token_bytes))
    fail(parse_error::kind::malformed, "the request method is not a token (RFC 9112 section 3.1)");
  if (!all_of(target, target_bytes))
    fail(parse_error::kind::malformed,
         "the request target has a byte that is not printable ASCII (RFC 9112 section 3.2)");
  parse_version(line.substr(sp2 + 1));
  method_.assign(method);
  target_.assign(target);
}

void parser::parse_status_line(std::string_view line) {
  // HTTP-version SP 3DIGIT SP [reason-phrase] (RFC 9112 section 4); a status line that ends
  // right after the code is read one way only, so it is taken.
  parse_version(line.substr(0, 8));
  const bool code_ok = line.size() >= 12 && line[8] == ' ' && line[9] >= '1' && line[9] <= '5' &&
                       line[10] >= '0' && line[10] <= '9' && line[11] >= '0' && line[11] <= '9' &&
                       (line.size() == 12 || line[12] == ' ');
  if (!code_ok)
    fail(parse_error::kind::malformed,
         "the status line is not 'version SP code SP reason' with a code of 100-599");
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  const auto reason = line.size() > 12 ? line.substr(13) : std::string_view();
  if (!all_of(reason, value_bytes))
    fail(parse_error::kind::malformed, "the reason phrase has a control character");
  reason_.assign(reason);
}

// name ":" OWS value OWS; no whitespace before the colon (RFC 9112 section 5.1).
std::pair<std::string_view, std::string_view> parser::split_field_line(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos)
    fail(parse_error::kind::malformed, "a header field line has no colon");
  const auto name = line.substr(0, colon);
  if (name.empty()) fail(parse_error::kind::malformed, "a header field has an empty name");
  if (!all_of(name, token_bytes))
    fail(parse_error::kind::malformed,
         is_ows(name.back())
             ? "whitespace between a header field name and its colon (RFC 9112 section 5.1)"
             : "a header field name has a byte that is not a token character");
  const auto value = trim_ows(line.substr(colon + 1));
  if (!all_of(value, value_bytes))
    fail(parse_error::kind::malformed,
         "header field " + std::string(name) + " has a control character in its value");
  return {name, value};
}

void parser::parse_field_line(std::string_view line) {
  if (is_ows(line.front())) {
    fold_into_last_field(line);
    return;
  }
  const auto [name, value] = split_field_line(line);
  if (headers_.size() >= limits_.max_header_count)
    fail(parse_error::kind::header_too_large,
         "too many header fields (limit " + std::to_string(limits_.max_header_count) + ")");
  headers_.add(name, value);
}

// A line that starts with whitespace continues the previous field (obs-fold). A request with
// one is refused (RFC 9112 section 5.2); in a response the fold becomes a space.
void parser::fold_into_last_field(std::string_view line) {
  if (kind_ == message_kind::request)
    fail(parse_error::kind::malformed,
         "obsolete line folding in a request header (RFC 9112 section 5.2)");
  if (headers_.empty())
    fail(parse_error::kind::malformed,
         "whitespace between the status line and the first header field (RFC 9112 section 2.2)");
  const auto value = trim_ows(line);
  if (!all_of(value, value_bytes))
    fail(parse_error::kind::malformed, "a folded header line has a control character");
  auto& last = *(headers_.end() - 1);
  if (!value.empty()) {
    if (!last.second.empty()) last.second.push_back(' ');
    last.second.append(value);
  }
}

void parser::end_of_head() {
  headers_complete_ = true;
  head_fields fields;
  for (const auto& [name, value] : headers_) fields.add(name, value);
  if (kind_ == message_kind::request) check_request_host(fields);
  set_keep_alive(fields);
  decide_framing(fields);
}

// RFC 9112 section 3.2: 400 for an HTTP/1.1 request without Host, for more than one Host,
// and for a Host value that is not an authority.
void parser::check_request_host(const head_fields& fields) {
  if (fields.hosts > 1)
    fail(parse_error::kind::malformed, "the request has more than one Host field");
  if (fields.hosts == 0 && minor_ == 1)
    fail(parse_error::kind::malformed,
         "an HTTP/1.1 request without a Host field (RFC 9112 section 3.2)");
  if (!all_of(fields.host, host_bytes))
    fail(parse_error::kind::malformed, "the Host field is not a host and port");
}

void parser::set_keep_alive(const head_fields& fields) {
  keep_alive_ = minor_ == 1 ? !fields.connection_close
                            : fields.connection_keep_alive && !fields.connection_close;
}

// RFC 9112 section 6.3: which of Transfer-Encoding, Content-Length or the close ends the body.
void parser::decide_framing(const head_fields& fields) {
  if (kind_ == message_kind::request) {
    upgrade_ = method_ == "CONNECT" || (fields.connection_upgrade && fields.upgrade_field);
    if (method_ == "CONNECT" && (fields.transfer_encoding || fields.content_lengths > 0))
      fail(parse_error::kind::malformed, "a CONNECT request has no content (RFC 9110 9.3.6)");
  } else if (status_ == 101) {
    upgrade_ = true;
  }
  const bool bodiless_response = kind_ == message_kind::response &&
                                 (no_body_ || status_ < 200 || status_ == 204 || status_ == 304);
  if (bodiless_response) {
    // The length still tells the size of what a HEAD asked about.
    if (fields.content_lengths == 1 && !fields.transfer_encoding)
      content_length_ = parse_content_length(fields.content_length);
    complete_message();
  } else if (fields.transfer_encoding) {
    frame_by_transfer_encoding(fields);
  } else if (fields.content_lengths > 0) {
    frame_by_content_length(fields);
  } else if (kind_ == message_kind::response) {
    stage_ = stage::body_until_close;
    keep_alive_ = false;
  } else {
    complete_message();
  }
}

void parser::frame_by_transfer_encoding(const head_fields& fields) {
  if (minor_ == 0)
    fail(parse_error::kind::malformed,
         "Transfer-Encoding in an HTTP/1.0 message (RFC 9112 section 6.1)");
  if (fields.content_lengths > 0)
    fail(parse_error::kind::malformed,
         "both Content-Length and Transfer-Encoding (RFC 9112 section 6.3)");
  if (fields.invalid_coding) fail(parse_error::kind::malformed, "a transfer coding is not a token");
  if (fields.chunked_twice)
    fail(parse_error::kind::malformed, "chunked is applied more than once (RFC 9112 section 6.1)");
  if (!fields.chunked_last) {
    if (kind_ == message_kind::request)
      fail(parse_error::kind::malformed,
           "chunked is not the final transfer coding of the request (RFC 9112 section 6.3)");
    stage_ = stage::body_until_close;
    keep_alive_ = false;
    return;
  }
  if (!fields.other_coding.empty())
    fail(parse_error::kind::not_implemented,
         "transfer coding " + std::string(fields.other_coding) + " is not supported");
  chunked_ = true;
  stage_ = stage::chunk_size_line;
}

std::uint64_t parser::parse_content_length(std::string_view text) {
  // 1*DIGIT: no sign, no list, no space inside (RFC 9110 section 8.6).
  const bool digits =
      !text.empty() && text.size() <= 19 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    fail(parse_error::kind::malformed,
         "Content-Length is not a decimal number of at most 19 digits (RFC 9110 section 8.6)");
  std::uint64_t length = 0;
  for (char c : text) length = length * 10 + static_cast<std::uint64_t>(c - '0');
  return length;
}

void parser::frame_by_content_length(const head_fields& fields) {
  if (fields.content_lengths > 1)
    fail(parse_error::kind::malformed, "more than one Content-Length field");
  const std::uint64_t length = parse_content_length(fields.content_length);
  content_length_ = length;
  if (length > limits_.max_body_bytes)
    fail(parse_error::kind::body_too_large, "body of " + std::to_string(length) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(limits_.max_body_bytes));
  if (length == 0) {
    complete_message();
    return;
  }
  body_left_ = length;
  stage_ = stage::body_sized;
}

namespace {

// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), RFC 9112 7.1.1.
class chunk_ext_reader {
 public:
  explicit chunk_ext_reader(std::string_view s) : s_(s) {}

  bool valid() {
    for (;;) {
      if (i_ == s_.size()) return true;
      skip_ows();
      if (!take(';')) return false;
      skip_ows();
      if (!take_token()) return false;
      const std::size_t after_name = i_;
      skip_ows();
      if (!take('=')) {
        i_ = after_name;
        continue;
      }
      skip_ows();
      if (!(peek('"') ? take_quoted() : take_token())) return false;
    }
  }

 private:
  bool peek(char c) const noexcept { return i_ < s_.size() && s_[i_] == c; }
  bool take(char c) noexcept {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  void skip_ows() noexcept {
    while (i_ < s_.size() && is_ows(s_[i_])) ++i_;
  }
  bool take_token() noexcept {
    const std::size_t start = i_;
    while (i_ < s_.size() && token_bytes[s_[i_]]) ++i_;
    return i_ > start;
  }
  bool take_quoted() noexcept {
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (i_ == s_.size() || !value_bytes[s_[i_]]) return false;
        ++i_;
      } else if (!quoted_bytes[c]) {
        return false;
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

void parser::parse_chunk_size(std::string_view line) {
  std::uint64_t size = 0;
  std::size_t digits = 0;
  for (; digits < line.size(); ++digits) {
    const int v = hex_value(line[digits]);
    if (v < 0) break;
    if ((size >> 60) != 0) fail(parse_error::kind::malformed, "chunk size does not fit 64 bits");
    size = size * 16 + static_cast<std::uint64_t>(v);
  }
  if (digits == 0) fail(parse_error::kind::malformed, "chunk size is not a hexadecimal number");
  if (!chunk_ext_reader(line.substr(digits)).valid())
    fail(parse_error::kind::malformed,
         "chunk extension is not ';name=value' pairs of tokens or quoted strings "
         "(RFC 9112 section 7.1.1)");
  if (size == 0) {
    stage_ = stage::trailer_lines;
    return;
  }
  if (size > limits_.max_body_bytes - std::min<std::uint64_t>(body_total_, limits_.max_body_bytes))
    fail(parse_error::kind::body_too_large,
         "body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes");
  body_left_ = size;
  stage_ = stage::chunk_data;
}

void parser::parse_trailer_line(std::string_view line) {
  if (is_ows(line.front()))
    fail(parse_error::kind::malformed, "obsolete line folding in a trailer (RFC 9112 section 5.2)");
  // Trailer fields are checked like header fields and dropped, as aiohttp does.
  split_field_line(line);
}

void parser::take_body_bytes(std::string_view data, std::size_t& pos) {
  std::size_t n = data.size() - pos;
  if (stage_ != stage::body_until_close) {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, body_left_));
    body_left_ -= n;
  } else if (n > limits_.max_body_bytes - body_total_) {
    fail(parse_error::kind::body_too_large,
         "body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  body_.append(data.data() + pos, n);
  body_total_ += n;
  pos += n;
  if (stage_ == stage::body_sized && body_left_ == 0) {
    complete_message();
  } else if (stage_ == stage::chunk_data && body_left_ == 0) {
    stage_ = stage::chunk_data_end;
    chunk_end_seen_ = 0;
    end_chunk_data(data, pos);
  }
}

void parser::end_chunk_data(std::string_view data, std::size_t& pos) {
  if (chunk_end_seen_ == 0 && data.size() - pos >= 2 && data[pos] == '\r' &&
      data[pos + 1] == '\n') {
    pos += 2;
    stage_ = stage::chunk_size_line;
    return;
  }
  while (pos < data.size() && chunk_end_seen_ < 2) {
    if (data[pos] != (chunk_end_seen_ == 0 ? '\r' : '\n'))
      fail(parse_error::kind::malformed,
           "chunk data is not followed by CRLF (RFC 9112 section 7.1)");
    ++pos;
    ++chunk_end_seen_;
  }
  if (chunk_end_seen_ == 2) stage_ = stage::chunk_size_line;
}

void parser::complete_message() {
  stage_ = stage::complete;
  message_complete_ = true;
}

namespace {

struct status_text {
  int code;
  std::string_view reason;
};

// The IANA HTTP Status Code Registry (RFC 9110 section 15 and its later additions), by code.
constexpr status_text status_texts[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {102, "Processing"},
    {103, "Early Hints"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {207, "Multi-Status"},
    {208, "Already Reported"},
    {226, "IM Used"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {305, "Use Proxy"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {418, "I'm a teapot"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {423, "Locked"},
    {424, "Failed Dependency"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {506, "Variant Also Negotiates"},
    {507, "Insufficient Storage"},
    {508, "Loop Detected"},
    {510, "Not Extended"},
    {511, "Network Authentication Required"},
};

}  // namespace

std::string_view status_reason(int status) noexcept {
  const auto* it = std::lower_bound(std::begin(status_texts), std::end(status_texts), status,
                                    [](const status_text& t, int code) { return t.code < code; });
  return it != std::end(status_texts) && it->code == status ? it->reason : "Unknown";
}

}  // namespace concur::http
