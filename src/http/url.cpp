#include "concur/http/url.hpp"

#include <algorithm>
#include <charconv>

#include "concur/http/errors.hpp"

namespace concur::http {

namespace {

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool is_unreserved(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void bad_url(std::string_view text, std::string_view why) {
  throw invalid_url_error("invalid URL '" + std::string(text) + "': " + std::string(why));
}

std::uint16_t default_port(std::string_view scheme) noexcept {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  return 0;
}

// Removes "." and ".." segments (RFC 3986 5.2.4).
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  bool trailing_slash = false;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    auto seg = path.substr(i, j - i);
    trailing_slash = false;
    if (seg == ".") {
      trailing_slash = true;
    } else if (seg == "..") {
      if (out.size() > 1) out.pop_back();
      trailing_slash = true;
    } else if (!(seg.empty() && i == 0)) {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string result;
  for (auto seg : out) {
    result += '/';
    result += seg;
  }
  if (trailing_slash || result.empty()) result += '/';
  return result;
}

}  // namespace

url url::parse(std::string_view text) {
  url u;
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) bad_url(text, "no scheme");
  for (std::size_t i = 0; i < colon; ++i) {
    char c = text[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) bad_url(text, "bad scheme");
    u.scheme += lower(c);
  }
  auto rest = text.substr(colon + 1);
  if (rest.substr(0, 2) != "//") bad_url(text, "no host (expected '//' after the scheme)");
  rest.remove_prefix(2);
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) bad_url(text, "control or space");
  }

  auto auth_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);

  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(text, "unterminated IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(text, "junk after IPv6 literal");
      port_text = after.substr(1);
      u.explicit_port = true;
    }
  } else {
    auto pc = authority.rfind(':');
    if (pc != std::string_view::npos) {
      port_text = authority.substr(pc + 1);
      authority = authority.substr(0, pc);
      u.explicit_port = true;
    }
    u.host.reserve(authority.size());
    for (char c : authority) u.host += lower(c);
  }
  if (u.host.empty()) bad_url(text, "empty host");
  if (u.explicit_port) {
    if (port_text.empty()) {
      u.explicit_port = false;
    } else {
      unsigned value = 0;
      auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
      if (ec != std::errc() || p != port_text.data() + port_text.size() || value == 0 ||
          value > 65535)
        bad_url(text, "bad port '" + std::string(port_text) + "'");
      u.port = static_cast<std::uint16_t>(value);
    }
  }
  if (!u.explicit_port) u.port = default_port(u.scheme);
  if (u.port == 0) bad_url(text, "no port and no default port for scheme '" + u.scheme + "'");

  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    u.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    u.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  u.path = rest.empty() ? std::string("/") : std::string(rest);
  return u;
}

std::string url::target() const {
  if (query.empty()) return path;
  std::string t;
  t.reserve(path.size() + 1 + query.size());
  t += path;
  t += '?';
  t += query;
  return t;
}

std::string url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port(scheme)) {
    h += ':';
    h += std::to_string(port);
  }
  return h;
}

std::string url::origin() const { return scheme + "://" + host_header(); }

std::string url::str() const {
  std::string s = scheme + "://";
  if (!userinfo.empty()) s += userinfo + "@";
  s += host_header();
  s += target();
  if (!fragment.empty()) s += "#" + fragment;
  return s;
}

url url::resolve(std::string_view ref) const {
  auto colon = ref.find(':');
  auto first_special = ref.find_first_of("/?#");
  if (colon != std::string_view::npos && colon > 0 &&
      (first_special == std::string_view::npos || colon < first_special)) {
    return parse(ref);  // absolute
  }
  if (ref.substr(0, 2) == "//") return parse(scheme + ":" + std::string(ref));
  url out = *this;
  out.fragment.clear();
  std::string_view r = ref;
  if (auto hash = r.find('#'); hash != std::string_view::npos) {
    out.fragment = std::string(r.substr(hash + 1));
    r = r.substr(0, hash);
  }
  std::string_view new_query;
  bool has_query = false;
  if (auto q = r.find('?'); q != std::string_view::npos) {
    new_query = r.substr(q + 1);
    has_query = true;
    r = r.substr(0, q);
  }
  if (r.empty()) {
    if (has_query) out.query = std::string(new_query);
    return out;
  }
  out.query = std::string(new_query);
  if (r.front() == '/') {
    out.path = remove_dot_segments(r);
  } else {
    auto slash = path.rfind('/');
    std::string merged = path.substr(0, slash + 1) + std::string(r);
    out.path = remove_dot_segments(merged);
  }
  return out;
}

url url::with_params(const query_params& params) const {
  if (params.empty()) return *this;
  url out = *this;
  if (!out.query.empty()) out.query += '&';
  out.query += urlencode(params);
  return out;
}

std::string percent_encode(std::string_view text, std::string_view safe) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_unreserved(c) || safe.find(c) != std::string_view::npos) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += digits[b >> 4];
      out += digits[b & 15];
    }
  }
  return out;
}

std::string percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        throw invalid_url_error("truncated percent-escape in '" + std::string(text) + "'");
      }
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        throw invalid_url_error("bad percent-escape in '" + std::string(text) + "'");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string urlencode(const query_params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += percent_encode(k);
    out += '=';
    out += percent_encode(v);
  }
  return out;
}

query_params parse_query(std::string_view query) {
  query_params out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percent_decode(pair, true), std::string());
    } else {
      out.emplace_back(percent_decode(pair.substr(0, eq), true),
                       percent_decode(pair.substr(eq + 1), true));
    }
  }
  return out;
}

}  // namespace concur::http
