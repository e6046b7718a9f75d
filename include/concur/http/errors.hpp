#pragma once
// Errors of concur::http. The names follow aiohttp (ClientError, ClientResponseError,
// TooManyRedirects, InvalidURL) and requests (HTTPError); all derive from concur::error.
#include <string>

#include "concur/futures/errors.hpp"

namespace concur::http {

// aiohttp.ClientError / requests.RequestException: base of the client's own errors.
class client_error : public error {
 public:
  using error::error;
};

// aiohttp.InvalidURL / requests.InvalidURL.
class invalid_url_error : public client_error {
 public:
  using client_error::client_error;
};

// aiohttp.ClientResponseError / requests.HTTPError, thrown by response::raise_for_status().
class http_error : public client_error {
 public:
  http_error(int status, std::string reason, std::string url)
      : client_error(std::to_string(status) + ", message='" + reason + "', url='" + url + "'"),
        status_(status),
        reason_(std::move(reason)),
        url_(std::move(url)) {}
  int status() const noexcept { return status_; }
  const std::string& reason() const noexcept { return reason_; }
  const std::string& url() const noexcept { return url_; }

 private:
  int status_;
  std::string reason_;
  std::string url_;
};

// aiohttp.TooManyRedirects / requests.TooManyRedirects.
class too_many_redirects : public client_error {
 public:
  using client_error::client_error;
};

// aiohttp.ClientPayloadError / ServerDisconnectedError: the peer broke the HTTP exchange
// (closed mid-body, sent a malformed message, a body that does not decompress).
class payload_error : public client_error {
 public:
  using client_error::client_error;
};

// A malformed or over-limit HTTP/1.1 message, from http::parser. `kind` tells a server which
// status to answer with (400, 431, 413, 505 or 501).
class parse_error : public error {
 public:
  enum class kind {
    malformed,
    header_too_large,
    body_too_large,
    incomplete,
    // A well-formed version other than HTTP/1.0 and HTTP/1.1.
    version_not_supported,
    // A transfer coding other than chunked, which this parser cannot undo.
    not_implemented,
  };
  parse_error(kind k, const std::string& what) : error(what), kind_(k) {}
  kind which() const noexcept { return kind_; }
  // The status a server should answer with: 400, 431, 413, 505 or 501.
  int status_hint() const noexcept {
    switch (kind_) {
      case kind::header_too_large:
        return 431;
      case kind::body_too_large:
        return 413;
      case kind::version_not_supported:
        return 505;
      case kind::not_implemented:
        return 501;
      default:
        return 400;
    }
  }

 private:
  kind kind_;
};

}  // namespace concur::http
