#pragma once
// asyncio's low-level socket calls (loop.sock_connect, sock_accept, sock_recv,
// sock_recv_into, sock_sendall) on sockets the caller owns. Each tries its syscall first and
// waits for readiness through the running loop only when the socket would block. The socket
// must be non-blocking (value_error otherwise: a blocking one would stall the loop), and only
// one task at a time may wait on it in each direction.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "concur/aio.hpp"
#include "concur/core/fd.hpp"
#include "concur/net/socket.hpp"

namespace concur::net {

// await loop.sock_recv(sock, n): up to n bytes; empty at the end of the stream.
aio::task<std::string> sock_recv(int fd, std::size_t n);
// await loop.sock_recv_into(sock, buf): the number of bytes read into `buf` (0 at the end).
aio::task<std::size_t> sock_recv_into(int fd, std::span<std::byte> buf);
// await loop.sock_sendall(sock, data): returns once every byte is sent; connection errors
// (connection_reset_error for a peer that went away) are thrown.
aio::task<void> sock_sendall(int fd, std::string data);
// await loop.sock_connect(sock, address): connection_refused_error / connection_error naming
// the address.
aio::task<void> sock_connect(int fd, endpoint address);
// await loop.sock_accept(sock): (conn, address); the new socket is non-blocking and
// close-on-exec.
aio::task<std::pair<unique_fd, endpoint>> sock_accept(int fd);

// await loop.sock_sendto(sock, data, address) / loop.sock_recvfrom(sock, bufsize): try the
// syscall, and wait for readiness through the loop only when it would block. A datagram
// longer than `bufsize` is cut to it (as recvfrom does).
aio::task<std::size_t> sock_sendto(int fd, std::string data, endpoint address);
aio::task<std::pair<std::string, endpoint>> sock_recvfrom(int fd, std::size_t bufsize);

}  // namespace concur::net
