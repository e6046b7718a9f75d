#pragma once
// Test support: a stream server handler that echoes lines until the end of the stream.
#include <string>

#include "concur/net.hpp"

namespace concur_test {

inline concur::aio::task<void> echo_lines(concur::net::stream_reader reader,
                                          concur::net::stream_writer writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

}  // namespace concur_test
