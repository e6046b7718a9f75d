#include "concur/http/sync.hpp"

#include "concur/aio.hpp"
#include "concur/http/client_session.hpp"
#include "concur/http/errors.hpp"

namespace concur::http {

sync_response::sync_response(const response& r, std::string body, concur::duration elapsed)
    : status_(r.status()),
      reason_(r.reason()),
      headers_(r.headers()),
      url_(r.url()),
      body_(std::move(body)),
      history_(r.history()),
      elapsed_(elapsed) {}

nlohmann::json sync_response::json() const {
  try {
    return nlohmann::json::parse(body_);
  } catch (const nlohmann::json::exception& e) {
    throw client_error("invalid JSON in the body of " + url_.str() + ": " + e.what());
  }
}

void sync_response::raise_for_status() const {
  if (status_ >= 400) throw http_error(status_, reason_, url_.str());
}

namespace {

aio::task<sync_response> fetch(client_session& client, std::string method, std::string url,
                               request_options options) {
  auto start = concur::clock::now();
  response r = co_await client.request(std::move(method), std::move(url), std::move(options));
  std::string body = co_await r.read();
  co_return sync_response(r, std::move(body), concur::clock::now() - start);
}

}  // namespace

session::session() : session(session_options()) {}
session::session(session_options options)
    : loop_(std::make_unique<aio::event_loop>()),
      client_(std::make_unique<client_session>(std::move(options))) {}
session::session(session&&) noexcept = default;
session& session::operator=(session&& o) noexcept {
  if (this != &o) {
    client_.reset();
    loop_ = std::move(o.loop_);
    client_ = std::move(o.client_);
  }
  return *this;
}
session::~session() {
  // Connections unregister from the loop as they close, so the client goes first.
  client_.reset();
}

sync_response session::request(const std::string& method, const std::string& url,
                               const request_options& options) {
  if (!client_ || !loop_) throw client_error("http::session is closed or was moved from");
  if (aio::running_loop_or_null() != nullptr)
    throw invalid_state_error(
        "the blocking http API cannot run inside a running aio loop; use client_session");
  return loop_->run_until_complete(fetch(*client_, method, url, options));
}

#define CONCUR_SYNC_VERB(fn, verb)                                                    \
  sync_response session::fn(const std::string& url, const request_options& options) { \
    return request(verb, url, options);                                               \
  }                                                                                   \
  sync_response fn(const std::string& url, const request_options& options,            \
                   const session_options& settings) {                                 \
    session s(settings);                                                              \
    return s.request(verb, url, options);                                             \
  }
CONCUR_SYNC_VERB(get, "GET")
CONCUR_SYNC_VERB(post, "POST")
CONCUR_SYNC_VERB(put, "PUT")
CONCUR_SYNC_VERB(patch, "PATCH")
CONCUR_SYNC_VERB(delete_, "DELETE")
CONCUR_SYNC_VERB(head, "HEAD")
#undef CONCUR_SYNC_VERB

sync_response session::options(const std::string& url, const request_options& options) {
  return request("OPTIONS", url, options);
}

void session::close() { client_.reset(); }

std::size_t session::connections_opened() const noexcept {
  return client_ ? client_->connections_opened() : 0;
}

sync_response request(const std::string& method, const std::string& url,
                      const request_options& options, const session_options& settings) {
  session s(settings);
  return s.request(method, url, options);
}

}  // namespace concur::http
