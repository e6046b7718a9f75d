// libFuzzer target: a peer's bytes through http::ws_frame_reader, as a server (masked frames), as
// a client (unmasked) and with permessage-deflate. Each input is read twice, whole and in pieces
// whose size comes from the input's first byte, and the two readings must give the same messages
// and end the same way (how bytes arrive must never change how they are read). Then each message
// read is written again by a ws_frame_writer of the other side and read back: it must come out
// the same. Only ws_protocol_error may escape the reader; anything else (a crash, a sanitizer
// report, another exception, a disagreement) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concur/http/websocket_frame.hpp"

namespace {

using namespace concur::http;

struct config {
  ws_role role;
  std::size_t max;
  std::optional<ws_deflate_params> deflate;
};

struct reading {
  std::vector<ws_message> messages;
  int error = 0;
  bool operator==(const reading&) const = default;
};

reading read(const config& c, std::string_view input, std::size_t step) {
  ws_frame_reader r(c.role, c.max, c.deflate);
  reading out;
  try {
    for (std::size_t i = 0; i < input.size(); i += step)
      r.feed(input.substr(i, step), out.messages);
  } catch (const ws_protocol_error& e) {
    out.error = static_cast<int>(e.close_code());
  }
  return out;
}

// Writes what was read as the peer would, and reads it back.
void check_round_trip(const config& c, const std::vector<ws_message>& messages) {
  if (messages.empty()) return;
  ws_frame_writer w(c.role == ws_role::server ? ws_role::client : ws_role::server, c.deflate);
  std::string wire;
  for (const auto& m : messages) {
    switch (m.type) {
      case ws_msg_type::text:
      case ws_msg_type::binary:
        w.write_message(wire, m.type, m.data);
        break;
      case ws_msg_type::ping:
        w.write_ping(wire, m.data);
        break;
      case ws_msg_type::pong:
        w.write_pong(wire, m.data);
        break;
      case ws_msg_type::close:
        w.write_close(wire, m.close_code, m.data);
        break;
      default:
        std::abort();  // a reader never makes the other types
    }
  }
  const reading back = read(c, wire, wire.size() + 1);
  if (back.error != 0 || back.messages != messages) std::abort();
}

void drive(const config& c, std::string_view input, std::size_t step) {
  const reading whole = read(c, input, input.size() + 1);
  const reading pieces = read(c, input, step);
  if (!(whole == pieces)) std::abort();
  check_round_trip(c, whole.messages);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t step = 1u + data[0] % 64u;
  const std::uint8_t flags = data[1];
  const std::uint8_t deflate_flags = data[2];
  const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);
  // A small limit some of the time, so that 1009 and the decompression cut-off get exercised.
  const std::size_t max = (flags & 1) != 0 ? 256 : 1 << 20;

  drive({ws_role::server, max, std::nullopt}, input, step);
  drive({ws_role::client, max, std::nullopt}, input, step);

  ws_deflate_params p;
  p.server_no_context_takeover = (deflate_flags & 1) != 0;
  p.client_no_context_takeover = (deflate_flags & 2) != 0;
  p.server_max_window_bits = 8 + (deflate_flags >> 2 & 7);
  p.client_max_window_bits = 8 + (deflate_flags >> 5 & 7);
  drive({(flags & 2) != 0 ? ws_role::server : ws_role::client, max, p}, input, step);
  return 0;
}
