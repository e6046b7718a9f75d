#pragma once
// http::url: the parts of an http(s) URL (yarl.URL / urllib.parse in the Python world), plus
// percent-encoding and query-string helpers.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace concur::http {

// Ordered name/value pairs for a query string or a form body (`params=` / `data=`).
using query_params = std::vector<std::pair<std::string, std::string>>;

struct url {
  std::string scheme;      // lower case: "http" or "https" (others parse but the client refuses)
  std::string userinfo;    // "user:pass" when present (still percent-encoded)
  std::string host;        // lower case; IPv6 literals without brackets
  std::uint16_t port = 0;  // explicit or the scheme's default (80/443)
  bool explicit_port = false;
  std::string path = "/";  // percent-encoded, never empty
  std::string query;       // without '?', percent-encoded
  std::string fragment;    // without '#'

  // Parses an absolute URL ("http://host[:port]/path?query#frag"); throws invalid_url_error
  // naming the URL and the problem.
  static url parse(std::string_view text);

  bool is_tls() const noexcept { return scheme == "https"; }
  // "path?query", what goes on the request line.
  std::string target() const;
  // Host header value: host, with ":port" only when the port is not the default.
  std::string host_header() const;
  // Scheme, host and port: the connection pool's key.
  std::string origin() const;
  std::string str() const;

  // Resolves a reference (a Location header, a relative path) against this URL (RFC 3986 5.2).
  url resolve(std::string_view reference) const;
  // Appends encoded params to the query.
  url with_params(const query_params& params) const;

  friend bool operator==(const url&, const url&) = default;
};

// Percent-encodes every byte outside RFC 3986's unreserved set and `safe`.
std::string percent_encode(std::string_view text, std::string_view safe = "");
// Decodes %XX escapes (and '+' as space when `plus_as_space`); throws invalid_url_error on a
// malformed escape.
std::string percent_decode(std::string_view text, bool plus_as_space = false);
// application/x-www-form-urlencoded (urllib.parse.urlencode).
std::string urlencode(const query_params& params);
// Parses "a=1&b=2" (urllib.parse.parse_qsl with keep_blank_values=True).
query_params parse_query(std::string_view query);

}  // namespace concur::http
