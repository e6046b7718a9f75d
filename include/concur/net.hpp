#pragma once
// concur::net: asyncio streams over TCP and TLS, name resolution off the loop.
// The stream names are also reachable as concur::aio::open_connection etc., where asyncio
// has them.
#include "concur/net/datagram.hpp"
#include "concur/net/errors.hpp"
#include "concur/net/sock_ops.hpp"
#include "concur/net/socket.hpp"
#include "concur/net/streams.hpp"
#include "concur/net/subprocess.hpp"
#include "concur/net/tls.hpp"

namespace concur::aio {
using net::create_subprocess_exec;
using net::create_subprocess_shell;
using net::open_connection;
using net::open_unix_connection;
using net::start_server;
using net::start_unix_server;
using net::stream_reader;
using net::stream_writer;
using net::subprocess;
// loop.getaddrinfo(host, port) for TCP: the addresses in the resolver's order.
inline aio::task<std::vector<net::endpoint>> getaddrinfo(std::string host, std::uint16_t port) {
  return net::resolve(std::move(host), port);
}
}  // namespace concur::aio
