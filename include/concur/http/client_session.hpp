#pragma once
// http::client_session: aiohttp.ClientSession. Keeps a pool of keep-alive connections (a
// total and a per-host limit, like aiohttp's TCPConnector), applies default headers, a base
// URL and timeouts, follows redirects, decodes chunked and gzip/deflate bodies, speaks TLS.
//
//   http::client_session session;                         // inside a running aio loop
//   auto r = co_await session.get("http://127.0.0.1:8080/posts/1");
//   r.raise_for_status();
//   nlohmann::json post = co_await r.json();
//   co_await session.close();
//
// A session belongs to the loop it is used on and must be closed or destroyed on it.
#include <cstddef>
#include <memory>
#include <string>

#include "concur/aio.hpp"
#include "concur/http/client.hpp"
#include "concur/http/response.hpp"
#include "concur/http/websocket.hpp"
#include "concur/net/errors.hpp"  // the connection errors requests can throw

namespace concur::http {

namespace detail {
class connection_pool;
}

class client_session {
 public:
  client_session();
  explicit client_session(session_options options);
  client_session(client_session&&) noexcept;
  client_session& operator=(client_session&&) noexcept;
  // Closes idle connections (connections lent to live responses close with them).
  ~client_session();

  // session.request(method, url, **kwargs). Throws invalid_url_error, net::dns_error,
  // net::connection_error (and subclasses), net::tls_error, timeout_error, too_many_redirects,
  // payload_error, http_error (with raise_for_status).
  aio::task<response> request(std::string method, std::string url, request_options options);
  aio::task<response> request(std::string method, std::string url);

  aio::task<response> get(std::string url, request_options options);
  aio::task<response> get(std::string url);
  aio::task<response> post(std::string url, request_options options);
  aio::task<response> post(std::string url);
  aio::task<response> put(std::string url, request_options options);
  aio::task<response> put(std::string url);
  aio::task<response> patch(std::string url, request_options options);
  aio::task<response> patch(std::string url);
  // `delete` is a C++ keyword.
  aio::task<response> delete_(std::string url, request_options options);
  aio::task<response> delete_(std::string url);
  aio::task<response> head(std::string url, request_options options);
  aio::task<response> head(std::string url);
  aio::task<response> options(std::string url, request_options options);
  aio::task<response> options(std::string url);

  // session.ws_connect(url, ...): a WebSocket connection (ws:// or wss://, also http(s)://)
  // after the opening handshake of RFC 6455 4.1, offering permessage-deflate unless
  // options.ws.compress is off. Throws ws_handshake_error (a client_error) when the server
  // does not switch protocols as the RFC says (status, Upgrade, Connection,
  // Sec-WebSocket-Accept, a protocol or extension it was not offered), and the connection
  // errors of request(). The connection counts against the session's limits until closed.
  aio::task<client_websocket> ws_connect(std::string url, ws_connect_options options);
  aio::task<client_websocket> ws_connect(std::string url);

  // session.close(): closes idle connections; later requests throw client_error.
  aio::task<void> close();
  bool closed() const noexcept;
  const session_options& settings() const noexcept;

  // Pool statistics (for tests and benchmarks).
  std::size_t connections_opened() const noexcept;
  std::size_t connections_idle() const noexcept;
  std::size_t connections_in_use() const noexcept;

 private:
  std::shared_ptr<detail::connection_pool> pool_;
};

}  // namespace concur::http
