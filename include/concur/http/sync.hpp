#pragma once
// The blocking client (Python's requests): http::get(url), http::post(url, options), and
// http::session for keep-alive. It is the client_session engine run on a private event loop
// (run until each request completes), so behaviour, limits and errors are the same.
//
//   auto r = http::get("http://127.0.0.1:8080/posts/1");
//   r.raise_for_status();
//   std::cout << r.json()["title"];
//
// Not for use inside a running aio loop (the private loop cannot run there: use
// client_session). A session is used by one thread at a time, like requests.Session.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "concur/http/client.hpp"
#include "concur/http/response.hpp"

namespace concur::aio {
class event_loop;
}

namespace concur::http {

class client_session;

// requests.Response: everything already read.
class sync_response {
 public:
  int status_code() const noexcept { return status_; }
  const std::string& reason() const noexcept { return reason_; }
  const http::headers& headers() const noexcept { return headers_; }
  const http::url& url() const noexcept { return url_; }
  // Response.text / Response.content (the decoded bytes; UTF-8 assumed for text).
  const std::string& text() const noexcept { return body_; }
  const std::string& content() const noexcept { return body_; }
  // Response.json(); throws client_error naming the URL on invalid JSON.
  nlohmann::json json() const;
  bool ok() const noexcept { return status_ < 400; }
  void raise_for_status() const;
  const std::vector<redirect_hop>& history() const noexcept { return history_; }
  // Time from sending the request to having the whole body.
  concur::duration elapsed() const noexcept { return elapsed_; }

  sync_response() = default;
  sync_response(const response& r, std::string body, concur::duration elapsed);

 private:
  int status_ = 0;
  std::string reason_;
  http::headers headers_;
  http::url url_;
  std::string body_;
  std::vector<redirect_hop> history_;
  concur::duration elapsed_{};
};

// requests.Session: keep-alive connections between calls.
class session {
 public:
  session();
  explicit session(session_options options);
  session(session&&) noexcept;
  session& operator=(session&&) noexcept;
  ~session();

  sync_response request(const std::string& method, const std::string& url,
                        const request_options& options = request_options());
  sync_response get(const std::string& url, const request_options& options = request_options());
  sync_response post(const std::string& url, const request_options& options = request_options());
  sync_response put(const std::string& url, const request_options& options = request_options());
  sync_response patch(const std::string& url, const request_options& options = request_options());
  sync_response delete_(const std::string& url, const request_options& options = request_options());
  sync_response head(const std::string& url, const request_options& options = request_options());
  sync_response options(const std::string& url, const request_options& options = request_options());
  void close();
  std::size_t connections_opened() const noexcept;

 private:
  // The loop outlives the client (declared first, destroyed last).
  std::unique_ptr<aio::event_loop> loop_;
  std::unique_ptr<client_session> client_;
};

// requests.request / get / post / ...: one request on a fresh session.
sync_response request(const std::string& method, const std::string& url,
                      const request_options& options = request_options(),
                      const session_options& settings = session_options());
sync_response get(const std::string& url, const request_options& options = request_options(),
                  const session_options& settings = session_options());
sync_response post(const std::string& url, const request_options& options = request_options(),
                   const session_options& settings = session_options());
sync_response put(const std::string& url, const request_options& options = request_options(),
                  const session_options& settings = session_options());
sync_response patch(const std::string& url, const request_options& options = request_options(),
                    const session_options& settings = session_options());
sync_response delete_(const std::string& url, const request_options& options = request_options(),
                      const session_options& settings = session_options());
sync_response head(const std::string& url, const request_options& options = request_options(),
                   const session_options& settings = session_options());

}  // namespace concur::http
