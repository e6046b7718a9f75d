#pragma once
// Shared driver: feeds fuzz input to http::parser in pieces whose sizes come from the input's
// first bytes, steps over pipelined messages, and ends with EOF. Only parse_error may escape
// the parser; anything else (a crash, a sanitizer report, another exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "concur/http/parser.hpp"

namespace concur_fuzz {

inline void drive(concur::http::message_kind kind, const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const unsigned step = 1u + data[0] % 64u;
  const bool small_limits = (data[1] & 1) != 0;
  const bool head = (data[1] & 2) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  concur::http::parser_limits limits;
  if (small_limits) {
    limits.max_header_bytes = 256;
    limits.max_header_count = 8;
    limits.max_body_bytes = 512;
  }
  concur::http::parser p(kind, limits);
  if (head) p.expect_no_body();
  try {
    int messages = 0;
    while (!input.empty() && messages < 64) {
      std::size_t used = p.feed(input.substr(0, step));
      input.remove_prefix(used);
      if (p.message_complete()) {
        ++messages;
        // Touch everything a caller reads so sanitizers see use of the stored parts.
        std::size_t sink = p.target().size() + p.reason().size() + p.body().size() +
                           p.method().size() + static_cast<std::size_t>(p.status());
        for (const auto& [k, v] : p.headers()) sink += k.size() + v.size();
        (void)sink;
        if (p.upgrade()) return;
        p.reset();
      } else if (used == 0) {
        return;
      }
    }
    p.feed_eof();
  } catch (const concur::http::parse_error&) {
  }
}

}  // namespace concur_fuzz
