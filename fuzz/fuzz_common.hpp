#pragma once
// Shared driver: feeds fuzz input to http::parser twice, whole and in pieces whose size comes
// from the input's first byte, stepping over pipelined messages and ending with EOF. Only
// parse_error may escape the parser; anything else (a crash, a sanitizer report, another
// exception) is a finding. The two runs must read the same messages and fail the same way:
// how bytes arrive must never change how a message is read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "concur/http/parser.hpp"

namespace concur_fuzz {

// Everything a caller reads from each message, then how the input ended.
inline std::string transcript(concur::http::message_kind kind, std::string_view input,
                              std::size_t step, bool small_limits, bool head) {
  concur::http::parser_limits limits;
  if (small_limits) {
    limits.max_header_bytes = 256;
    limits.max_header_count = 8;
    limits.max_body_bytes = 512;
  }
  concur::http::parser p(kind, limits);
  std::string out;
  std::string body;
  try {
    if (head) p.expect_no_body();
    int messages = 0;
    while (!input.empty() && messages < 64) {
      std::size_t used = p.feed(input.substr(0, step));
      input.remove_prefix(used);
      p.drain_body_into(body);
      if (p.message_complete()) {
        ++messages;
        out.append(p.method()).append("|").append(p.target()).append("|");
        out.append(std::to_string(p.status())).append("|").append(p.reason()).append("|");
        for (const auto& [k, v] : p.headers()) out.append(k).append(":").append(v).append("|");
        out.append(body).append(p.keep_alive() ? "|keep|" : "|close|");
        out.append(std::to_string(p.http_minor())).append("\n");
        body.clear();
        if (p.upgrade()) return out + "upgrade";
        p.reset();
        if (head) p.expect_no_body();
      } else if (used == 0) {
        return out + "stuck";
      }
    }
    out.append(p.feed_eof() ? "eof-complete" : "eof-clean");
    out.append(body);
  } catch (const concur::http::parse_error& e) {
    out.append("error ").append(std::to_string(e.status_hint()));
  }
  return out;
}

inline void drive(concur::http::message_kind kind, const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const std::size_t step = 1u + data[0] % 64u;
  const bool small_limits = (data[1] & 1) != 0;
  const bool head = (data[1] & 2) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto whole = transcript(kind, input, input.size() + 1, small_limits, head);
  const auto pieces = transcript(kind, input, step, small_limits, head);
  if (whole != pieces) std::abort();
}

}  // namespace concur_fuzz
