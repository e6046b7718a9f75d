// The sans-I/O WebSocket layer: frames (RFC 6455), permessage-deflate (RFC 7692) and the
// handshake's keys. Every input is read whole, byte by byte and in 7-byte pieces, and the three
// readings must agree, since how bytes arrive must never change what a reader makes of them.
#include "concur/http/websocket_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace concur::http {
// gtest prints messages readably when a comparison fails.
void PrintTo(const ws_message& m, std::ostream* os) {
  *os << "{type " << static_cast<int>(m.type) << ", " << m.data.size() << " bytes";
  if (m.data.size() <= 40) *os << " \"" << m.data << "\"";
  *os << ", code " << m.close_code << "}";
}
}  // namespace concur::http

namespace {

using namespace concur::http;

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s.push_back(static_cast<char>(c));
  return s;
}

constexpr ws_mask_key rfc_key{0x37, 0xfa, 0x21, 0x3d};

// A frame as a client sends it (masked with a fixed key) or as a server sends it (not masked).
std::string client_frame(ws_opcode op, std::string_view payload, bool fin = true,
                         bool rsv1 = false) {
  std::string out;
  ws_write_frame(out, op, payload, fin, rsv1, rfc_key);
  return out;
}
std::string server_frame(ws_opcode op, std::string_view payload, bool fin = true,
                         bool rsv1 = false) {
  std::string out;
  ws_write_frame(out, op, payload, fin, rsv1);
  return out;
}

struct outcome {
  std::vector<ws_message> messages;
  int error = 0;  // the close code of the ws_protocol_error, 0 when none
  bool operator==(const outcome&) const = default;
};

void PrintTo(const outcome& o, std::ostream* os) {
  *os << o.messages.size() << " messages, error " << o.error;
}

struct reader_config {
  ws_role role = ws_role::client;
  std::size_t max = ws_frame_reader::default_max_message_size;
  std::optional<ws_deflate_params> deflate;
};

outcome read_in_steps(const reader_config& c, std::string_view input, std::size_t step) {
  ws_frame_reader r(c.role, c.max, c.deflate);
  outcome o;
  try {
    for (std::size_t i = 0; i < input.size(); i += step) r.feed(input.substr(i, step), o.messages);
  } catch (const ws_protocol_error& e) {
    o.error = static_cast<int>(e.close_code());
  }
  return o;
}

// Reads `input` whole, byte by byte and 7 bytes at a time; all three must agree.
outcome read_all(const reader_config& c, std::string_view input) {
  outcome whole = read_in_steps(c, input, input.size() + 1);
  EXPECT_EQ(whole, read_in_steps(c, input, 1)) << "byte by byte";
  EXPECT_EQ(whole, read_in_steps(c, input, 7)) << "in 7-byte pieces";
  return whole;
}

reader_config plain(ws_role role) {
  reader_config c;
  c.role = role;
  return c;
}

outcome read_client(std::string_view input) { return read_all(plain(ws_role::client), input); }
outcome read_server(std::string_view input) { return read_all(plain(ws_role::server), input); }

ws_message text(std::string s) { return {ws_msg_type::text, std::move(s), 0}; }
ws_message binary(std::string s) { return {ws_msg_type::binary, std::move(s), 0}; }

// ---------------------------------------------------------------------------------------------
// RFC 6455 section 5.7, byte for byte, both ways.

TEST(WsFrame, Rfc5_7SingleFrameUnmaskedText) {
  const auto wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  EXPECT_EQ(server_frame(ws_opcode::text, "Hello"), wire);
  EXPECT_EQ(read_client(wire), (outcome{{text("Hello")}, 0}));
}

TEST(WsFrame, Rfc5_7SingleFrameMaskedText) {
  const auto wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(client_frame(ws_opcode::text, "Hello"), wire);
  EXPECT_EQ(read_server(wire), (outcome{{text("Hello")}, 0}));
}

TEST(WsFrame, Rfc5_7FragmentedUnmaskedText) {
  const auto wire = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
  EXPECT_EQ(
      server_frame(ws_opcode::text, "Hel", false) + server_frame(ws_opcode::continuation, "lo"),
      wire);
  EXPECT_EQ(read_client(wire), (outcome{{text("Hello")}, 0}));
}

TEST(WsFrame, Rfc5_7PingAndMaskedPong) {
  const auto ping = bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  EXPECT_EQ(server_frame(ws_opcode::ping, "Hello"), ping);
  EXPECT_EQ(read_client(ping), (outcome{{{ws_msg_type::ping, "Hello", 0}}, 0}));
  const auto pong = bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(client_frame(ws_opcode::pong, "Hello"), pong);
  EXPECT_EQ(read_server(pong), (outcome{{{ws_msg_type::pong, "Hello", 0}}, 0}));
}

TEST(WsFrame, Rfc5_7LengthOf256In16Bits) {
  const std::string payload(256, 'x');
  const auto wire = server_frame(ws_opcode::binary, payload);
  EXPECT_EQ(wire.substr(0, 4), bytes({0x82, 0x7e, 0x01, 0x00}));
  EXPECT_EQ(wire.size(), 4u + 256u);
  EXPECT_EQ(read_client(wire), (outcome{{binary(payload)}, 0}));
}

TEST(WsFrame, Rfc5_7LengthOf64KiBIn64Bits) {
  std::string payload(65536, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  const auto wire = server_frame(ws_opcode::binary, payload);
  EXPECT_EQ(wire.substr(0, 10), bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(read_client(wire), (outcome{{binary(payload)}, 0}));
  // The same, masked, to a server.
  EXPECT_EQ(read_server(client_frame(ws_opcode::binary, payload)), (outcome{{binary(payload)}, 0}));
}

TEST(WsFrame, LengthBoundaries) {
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u}) {
    const std::string payload(n, 'a');
    const auto wire = client_frame(ws_opcode::text, payload);
    const std::size_t header = n < 126 ? 6 : n <= 65535 ? 8 : 14;
    EXPECT_EQ(wire.size(), header + n) << n;
    EXPECT_EQ(read_server(wire), (outcome{{text(payload)}, 0})) << n;
  }
}

// ---------------------------------------------------------------------------------------------
// Messages: fragments, control frames in between, close.

TEST(WsFrame, ControlFramesInsideAFragmentedMessage) {
  const auto wire = client_frame(ws_opcode::binary, "ab", false) +
                    client_frame(ws_opcode::ping, "p1") +
                    client_frame(ws_opcode::continuation, "", false) +
                    client_frame(ws_opcode::pong, "") + client_frame(ws_opcode::continuation, "cd");
  EXPECT_EQ(
      read_server(wire),
      (outcome{{{ws_msg_type::ping, "p1", 0}, {ws_msg_type::pong, "", 0}, binary("abcd")}, 0}));
}

TEST(WsFrame, ManyMessagesInOneFeed) {
  std::string wire;
  std::vector<ws_message> expected;
  for (int i = 0; i < 50; ++i) {
    const std::string s = "message " + std::to_string(i);
    wire += client_frame(i % 2 ? ws_opcode::text : ws_opcode::binary, s);
    expected.push_back(i % 2 ? text(s) : binary(s));
  }
  EXPECT_EQ(read_server(wire), (outcome{expected, 0}));
}

TEST(WsFrame, CloseWithCodeAndReason) {
  const auto wire = server_frame(ws_opcode::close, ws_close_payload(1001, "bye"));
  EXPECT_EQ(wire, bytes({0x88, 0x05, 0x03, 0xe9, 'b', 'y', 'e'}));
  EXPECT_EQ(read_client(wire), (outcome{{{ws_msg_type::close, "bye", 1001}}, 0}));
}

TEST(WsFrame, CloseWithoutPayloadReports1005) {
  EXPECT_EQ(read_client(bytes({0x88, 0x00})), (outcome{{{ws_msg_type::close, "", 1005}}, 0}));
}

TEST(WsFrame, NothingIsReadAfterClose) {
  // Even a malformed frame after the close is not looked at: the peer may send nothing more.
  const auto wire = server_frame(ws_opcode::close, ws_close_payload(1000)) +
                    server_frame(ws_opcode::text, "late") + bytes({0xff, 0xff});
  EXPECT_EQ(read_client(wire), (outcome{{{ws_msg_type::close, "", 1000}}, 0}));
  ws_frame_reader r(ws_role::client);
  std::vector<ws_message> out;
  r.feed(wire, out);
  EXPECT_TRUE(r.close_received());
  r.feed(wire, out);
  EXPECT_EQ(out.size(), 1u);
}

TEST(WsFrame, ValidCloseCodesAreAccepted) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    const auto wire = server_frame(ws_opcode::close, ws_close_payload(code, "r"));
    EXPECT_EQ(read_client(wire),
              (outcome{{{ws_msg_type::close, "r", static_cast<std::uint16_t>(code)}}, 0}))
        << code;
  }
}

TEST(WsFrame, InProgressAndEmptyMessages) {
  ws_frame_reader r(ws_role::client);
  std::vector<ws_message> out;
  r.feed(server_frame(ws_opcode::text, "a", false), out);
  EXPECT_TRUE(r.in_message());
  r.feed(server_frame(ws_opcode::continuation, ""), out);
  EXPECT_FALSE(r.in_message());
  r.feed(server_frame(ws_opcode::binary, ""), out);
  EXPECT_EQ(out, (std::vector<ws_message>{text("a"), binary("")}));
}

// ---------------------------------------------------------------------------------------------
// Refusals, each with its close code.

struct refusal {
  const char* what;
  ws_role role;
  std::string wire;
  int code;
};

void expect_refusals(const std::vector<refusal>& cases,
                     std::optional<ws_deflate_params> deflate = std::nullopt) {
  for (const auto& c : cases) {
    const auto o = read_all({c.role, ws_frame_reader::default_max_message_size, deflate}, c.wire);
    EXPECT_EQ(o.error, c.code) << c.what;
  }
}

TEST(WsFrame, RefusesBrokenFrames) {
  const auto S = ws_role::server;
  const auto C = ws_role::client;
  std::vector<refusal> cases = {
      {"RSV1 without permessage-deflate", C, bytes({0xc1, 0x00}), 1002},
      {"RSV2", C, bytes({0xa1, 0x00}), 1002},
      {"RSV3", C, bytes({0x91, 0x00}), 1002},
      {"RSV2 on a masked frame", S, bytes({0xa2, 0x80, 0, 0, 0, 0}), 1002},
      {"fragmented ping", C, bytes({0x09, 0x00}), 1002},
      {"fragmented close", C, bytes({0x08, 0x00}), 1002},
      {"pong of 126 bytes", C, server_frame(ws_opcode::pong, std::string(126, 'p')), 1002},
      {"ping of 126 bytes, masked", S, client_frame(ws_opcode::ping, std::string(126, 'p')), 1002},
      {"continuation with no message", C, bytes({0x80, 0x00}), 1002},
      {"continuation after a finished message", C,
       server_frame(ws_opcode::text, "a") + server_frame(ws_opcode::continuation, "b"), 1002},
      {"text inside a fragmented message", C,
       server_frame(ws_opcode::text, "a", false) + server_frame(ws_opcode::text, "b"), 1002},
      {"binary inside a fragmented message", C,
       server_frame(ws_opcode::binary, "a", false) + server_frame(ws_opcode::binary, "b"), 1002},
      {"unmasked frame to a server", S, server_frame(ws_opcode::text, "a"), 1002},
      {"masked frame to a client", C, client_frame(ws_opcode::text, "a"), 1002},
      {"64-bit length with MSB set", C, bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}), 1002},
      {"5 in 16 bits", C, bytes({0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5}), 1002},
      {"125 in 16 bits", C, bytes({0x82, 0x7e, 0x00, 0x7d}), 1002},
      {"5 in 64 bits", C, bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x05, 1, 2, 3, 4, 5}), 1002},
      {"65535 in 64 bits", C, bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}), 1002},
      {"close with a 1-byte payload", C, bytes({0x88, 0x01, 0x03}), 1002},
      {"close reason not UTF-8", C, bytes({0x88, 0x04, 0x03, 0xe8, 0xff, 0xfe}), 1007},
      {"close reason a lone surrogate", C, bytes({0x88, 0x05, 0x03, 0xe8, 0xed, 0xa0, 0x80}), 1007},
      {"text not UTF-8", C, bytes({0x81, 0x02, 0xc3, 0x28}), 1007},
  };
  for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    cases.push_back({"unknown opcode", C, bytes({0x80 | op, 0x00}), 1002});
  }
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    cases.push_back(
        {"close code that may not be sent", C, bytes({0x88, 0x02, code >> 8, code & 0xff}), 1002});
  }
  expect_refusals(cases);
}

TEST(WsFrame, RefusesRsv1OnControlAndContinuationWithDeflate) {
  const auto C = ws_role::client;
  expect_refusals(
      {
          {"RSV1 on ping", C, server_frame(ws_opcode::ping, "", true, true), 1002},
          {"RSV1 on close", C, server_frame(ws_opcode::close, "", true, true), 1002},
          {"RSV1 on continuation", C,
           server_frame(ws_opcode::binary, "", false, true) +
               server_frame(ws_opcode::continuation, "", true, true),
           1002},
      },
      ws_deflate_params{});
}

TEST(WsFrame, RefusalComesBeforeThePayload) {
  // A bad header fails as soon as it is read, before its (possibly huge) payload arrives.
  ws_frame_reader r(ws_role::client);
  std::vector<ws_message> out;
  EXPECT_THROW(r.feed(bytes({0x89, 0x7e}), out), ws_protocol_error);  // a ping of 126+ bytes
}

TEST(WsFrame, FailedReaderKeepsFailing) {
  ws_frame_reader r(ws_role::server);
  std::vector<ws_message> out;
  // A good message, then an unmasked frame: the message is delivered, then the error.
  const auto wire = client_frame(ws_opcode::text, "ok") + server_frame(ws_opcode::text, "no");
  try {
    r.feed(wire, out);
    ADD_FAILURE() << "no error";
  } catch (const ws_protocol_error& e) {
    EXPECT_EQ(e.close_code(), ws_close_code::protocol_error);
    EXPECT_NE(std::string(e.what()).find("RFC 6455 section 5.1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(out, std::vector<ws_message>{text("ok")});
  try {
    r.feed(client_frame(ws_opcode::text, "again"), out);
    ADD_FAILURE() << "no error";
  } catch (const ws_protocol_error& e) {
    EXPECT_EQ(e.close_code(), ws_close_code::protocol_error);
  }
  EXPECT_EQ(out.size(), 1u);
}

TEST(WsFrame, MaxMessageSize) {
  const reader_config ten{ws_role::client, 10, std::nullopt};
  EXPECT_EQ(read_all(ten, server_frame(ws_opcode::binary, std::string(10, 'x'))),
            (outcome{{binary(std::string(10, 'x'))}, 0}));
  EXPECT_EQ(read_all(ten, server_frame(ws_opcode::binary, std::string(11, 'x'))).error, 1009);
  // Reassembled size counts: 6 + 5 passes 10.
  EXPECT_EQ(read_all(ten, server_frame(ws_opcode::text, "aaaaaa", false) +
                              server_frame(ws_opcode::continuation, "bbbbb"))
                .error,
            1009);
  // The limit is checked from the header, before the payload: a claimed 2^62 bytes fails at once.
  ws_frame_reader r(ws_role::client, 10);
  std::vector<ws_message> out;
  EXPECT_THROW(r.feed(bytes({0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0}), out), ws_protocol_error);
  // 0 means no limit.
  const std::string big(100000, 'z');
  EXPECT_EQ(read_all({ws_role::client, 0, std::nullopt}, server_frame(ws_opcode::binary, big)),
            (outcome{{binary(big)}, 0}));
  // Control frames are not data messages.
  EXPECT_EQ(read_all(ten, server_frame(ws_opcode::ping, std::string(100, 'p'))).error, 0);
}

// ---------------------------------------------------------------------------------------------
// UTF-8, in the spirit of the Autobahn test suite's sections 6.x.

const std::vector<std::string> valid_texts = {
    "",
    "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",  // κόσμε
    "\x7f",
    "\xc2\x80",
    "\xdf\xbf",
    "\xe0\xa0\x80",
    "\xed\x9f\xbf",  // U+D7FF, just below the surrogates
    "\xee\x80\x80",  // U+E000, just above them
    "\xef\xbf\xbd",  // U+FFFD
    "\xef\xbf\xbf",  // U+FFFF
    "\xf0\x90\x80\x80",
    "\xf4\x8f\xbf\xbf",  // U+10FFFF
    "\xf0\x9f\x98\x80 emoji and ASCII after it, long enough for the fast path",
};

const std::vector<std::string> invalid_texts = {
    "\x80",  // lone continuation bytes
    "\xbf",
    "a\x80\x62",  // "a", a stray continuation byte, "b"
    "\xc0\xaf",   // overlong "/"
    "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf",
    "\xc1\xbf",  // largest overlongs
    "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf",
    "\xc0\x80",      // overlong NUL
    "\xed\xa0\x80",  // surrogates, single and paired
    "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80",
    "\xf4\x90\x80\x80",  // above U+10FFFF
    "\xf5\x80\x80\x80", "\xfe", "\xff", "\xfe\xfe\xff\xff",
    "\xc2",  // cut short at the end of the message
    "\xe0\xa0", "\xf0\x90\x80",
    "\xc2\x41",  // a lead byte followed by ASCII
    // Autobahn 6.3.1: "κόσμε", a surrogate, "edited".
    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
    "edited",
    "0123456789abcdef\xe0\x80",  // after the fast path
};

TEST(WsFrame, Utf8ValidTextSplitAtEveryPosition) {
  for (const auto& s : valid_texts) {
    EXPECT_TRUE(ws_is_valid_utf8(s)) << s;
    // One frame, then two fragments split at every byte, then one fragment per byte.
    EXPECT_EQ(read_client(server_frame(ws_opcode::text, s)), (outcome{{text(s)}, 0}));
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      const auto wire = server_frame(ws_opcode::text, s.substr(0, cut), false) +
                        server_frame(ws_opcode::continuation, s.substr(cut));
      EXPECT_EQ(read_client(wire), (outcome{{text(s)}, 0})) << cut;
    }
    if (s.empty()) continue;
    std::string wire = server_frame(ws_opcode::text, s.substr(0, 1), s.size() == 1);
    for (std::size_t i = 1; i < s.size(); ++i) {
      wire += server_frame(ws_opcode::continuation, s.substr(i, 1), i + 1 == s.size());
    }
    EXPECT_EQ(read_client(wire), (outcome{{text(s)}, 0}));
  }
}

TEST(WsFrame, Utf8InvalidTextIsRefusedWith1007) {
  for (const auto& s : invalid_texts) {
    EXPECT_FALSE(ws_is_valid_utf8(s)) << s;
    EXPECT_EQ(read_client(server_frame(ws_opcode::text, s)).error, 1007) << s;
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      const auto wire = server_frame(ws_opcode::text, s.substr(0, cut), false) +
                        server_frame(ws_opcode::continuation, s.substr(cut));
      EXPECT_EQ(read_client(wire).error, 1007) << cut;
    }
    // Binary messages carry any bytes.
    EXPECT_EQ(read_client(server_frame(ws_opcode::binary, s)), (outcome{{binary(s)}, 0}));
  }
}

TEST(WsFrame, Utf8InvalidPrefixFailsEarly) {
  // The first fragment already cannot be text: it fails before the message (or even the frame)
  // is complete.
  ws_frame_reader r(ws_role::client);
  std::vector<ws_message> out;
  EXPECT_THROW(r.feed(server_frame(ws_opcode::text, "ok \xed\xa0\x80", false), out),
               ws_protocol_error);
  ws_frame_reader r2(ws_role::client);
  const auto frame = server_frame(ws_opcode::text, "ab\xff" + std::string(1000, 'c'));
  try {
    r2.feed(frame.substr(0, 8), out);
    ADD_FAILURE() << "no error";
  } catch (const ws_protocol_error& e) {
    EXPECT_EQ(e.close_code(), ws_close_code::invalid_text);
  }
  // A code point cut by a frame boundary is not an error until the message ends.
  ws_frame_reader r3(ws_role::client);
  EXPECT_NO_THROW(r3.feed(server_frame(ws_opcode::text, "\xf0\x9f", false), out));
  EXPECT_THROW(r3.feed(server_frame(ws_opcode::continuation, "x"), out), ws_protocol_error);
}

// ---------------------------------------------------------------------------------------------
// Masking and writing.

TEST(WsFrame, MaskMatchesTheBytewiseDefinition) {
  const ws_mask_key key{0x01, 0x80, 0xfe, 0x5a};
  for (std::size_t n = 0; n < 100; ++n) {
    std::string data(n, '\0');
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 31 + 7);
    for (std::uint64_t offset = 0; offset < 4; ++offset) {
      std::string expect = data;
      for (std::size_t i = 0; i < n; ++i) {
        expect[i] = static_cast<char>(expect[i] ^ key[(offset + i) % 4]);
      }
      std::string got = data;
      ws_apply_mask(got.data(), n, key, offset);
      ASSERT_EQ(got, expect) << n << " " << offset;
      // In two pieces, the second continuing the first's offset.
      std::string pieces = data;
      const std::size_t cut = n / 3;
      ws_apply_mask(pieces.data(), cut, key, offset);
      ws_apply_mask(pieces.data() + cut, n - cut, key, offset + cut);
      ASSERT_EQ(pieces, expect) << n << " " << offset;
    }
  }
}

TEST(WsFrame, MaskKeysAreFresh) {
  ws_mask_source src;
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 200; ++i) {  // crosses the 64-key refill several times
    const auto k = src.next();
    seen.insert(std::uint32_t{k[0]} << 24 | std::uint32_t{k[1]} << 16 | std::uint32_t{k[2]} << 8 |
                k[3]);
  }
  EXPECT_GT(seen.size(), 190u);  // 200 random 32-bit keys all but never collide
  const auto a = ws_make_mask_key();
  const auto b = ws_make_mask_key();
  const auto c = ws_make_mask_key();
  EXPECT_FALSE(a == b && b == c);
}

TEST(WsFrame, WriterRoundTripsBothWays) {
  for (ws_role writer_role : {ws_role::client, ws_role::server}) {
    ws_frame_writer w(writer_role);
    std::string wire;
    w.write_message(wire, ws_msg_type::text, "h\xc3\xa9llo");
    w.write_message(wire, ws_msg_type::binary, std::string(70000, '\x01'));
    w.write_fragment(wire, ws_msg_type::text, "frag", false);
    w.write_ping(wire, "are you there");
    w.write_fragment(wire, ws_msg_type::binary, "ment", true);
    w.write_pong(wire);
    w.write_close(wire, 4001, "done");
    const ws_role reader_role = writer_role == ws_role::client ? ws_role::server : ws_role::client;
    EXPECT_EQ(read_all(plain(reader_role), wire), (outcome{{text("h\xc3\xa9llo"),
                                                            binary(std::string(70000, '\x01')),
                                                            {ws_msg_type::ping, "are you there", 0},
                                                            text("fragment"),
                                                            {ws_msg_type::pong, "", 0},
                                                            {ws_msg_type::close, "done", 4001}},
                                                           0}));
  }
}

TEST(WsFrame, ClientWriterMasksEveryFrameWithItsOwnKey) {
  ws_frame_writer w(ws_role::client);
  std::string a, b;
  w.write_message(a, ws_msg_type::binary, "same");
  w.write_message(b, ws_msg_type::binary, "same");
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(a[1]), 0x84);  // mask bit, length 4
  EXPECT_NE(a, b);  // different keys (a 2^-32 chance of a false alarm)
}

TEST(WsFrame, WriterRefusesWhatMayNotBeSent) {
  ws_frame_writer w(ws_role::server);
  std::string out;
  EXPECT_THROW(w.write_message(out, ws_msg_type::text, "\xff"), concur::value_error);
  EXPECT_THROW(w.write_message(out, ws_msg_type::text, "\xe2\x82"), concur::value_error);
  EXPECT_THROW(w.write_message(out, ws_msg_type::ping, "x"), concur::value_error);
  EXPECT_THROW(w.write_ping(out, std::string(126, 'p')), concur::value_error);
  EXPECT_THROW(w.write_close(out, 1006), concur::value_error);
  EXPECT_THROW(w.write_close(out, 2000), concur::value_error);
  EXPECT_THROW(w.write_close(out, 1000, "\xc0\xaf"), concur::value_error);
  EXPECT_TRUE(out.empty());
  // A code point may straddle fragments; a message cannot start while one is open.
  w.write_fragment(out, ws_msg_type::text, "\xe2\x82", false);
  EXPECT_THROW(w.write_message(out, ws_msg_type::text, "x"), concur::invalid_state_error);
  EXPECT_THROW(w.write_fragment(out, ws_msg_type::text, "\xac\xac", true), concur::value_error);
  w.write_fragment(out, ws_msg_type::text, "\xac", true);
  EXPECT_EQ(read_client(out), (outcome{{text("\xe2\x82\xac")}, 0}));
}

TEST(WsFrame, ClosePayload) {
  EXPECT_EQ(ws_close_payload(1000), bytes({0x03, 0xe8}));
  EXPECT_EQ(ws_close_payload(1005), "");
  EXPECT_THROW(ws_close_payload(1005, "why"), concur::value_error);
  // 100 two-byte characters: cut to 61 of them (122 bytes), never inside one.
  std::string reason;
  for (int i = 0; i < 100; ++i) reason += "\xc3\xa9";
  const auto p = ws_close_payload(1001, reason);
  EXPECT_EQ(p.size(), 2u + 122u);
  EXPECT_TRUE(ws_is_valid_utf8(std::string_view(p).substr(2)));
  EXPECT_EQ(ws_close_payload(1001, std::string(200, 'a')).size(), 125u);
  ws_frame_writer w(ws_role::server);
  std::string out;
  w.write_close(out, 1001, reason);
  EXPECT_EQ(read_client(out).messages.at(0).data, reason.substr(0, 122));
  EXPECT_TRUE(ws_close_code_is_valid(3000));
  EXPECT_FALSE(ws_close_code_is_valid(1015));
}

// ---------------------------------------------------------------------------------------------
// permessage-deflate (RFC 7692)

const ws_deflate_params defaults{};

reader_config deflate_client(std::size_t max = ws_frame_reader::default_max_message_size,
                             ws_deflate_params p = defaults) {
  return {ws_role::client, max, p};
}

TEST(WsDeflate, Rfc7692_7_2_3_1OneBlock) {
  const auto hello = bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  EXPECT_EQ(read_all(deflate_client(), hello), (outcome{{text("Hello")}, 0}));
  const auto fragmented = bytes({0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00});
  EXPECT_EQ(read_all(deflate_client(), fragmented), (outcome{{text("Hello")}, 0}));
  ws_frame_writer w(ws_role::server, defaults);
  std::string out;
  w.write_message(out, ws_msg_type::text, "Hello");
  EXPECT_EQ(out, hello);
}

TEST(WsDeflate, Rfc7692_7_2_3_2SharedWindow) {
  const auto first = bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  const auto second = bytes({0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00});
  EXPECT_EQ(read_all(deflate_client(), first + second),
            (outcome{{text("Hello"), text("Hello")}, 0}));
  ws_frame_writer w(ws_role::server, defaults);
  std::string out;
  w.write_message(out, ws_msg_type::text, "Hello");
  w.write_message(out, ws_msg_type::text, "Hello");
  EXPECT_EQ(out, first + second);
  // Without context takeover the second message is compressed afresh.
  ws_deflate_params nct;
  nct.server_no_context_takeover = true;
  ws_frame_writer w2(ws_role::server, nct);
  std::string out2;
  w2.write_message(out2, ws_msg_type::text, "Hello");
  w2.write_message(out2, ws_msg_type::text, "Hello");
  EXPECT_EQ(out2, first + first);
  EXPECT_EQ(read_all(deflate_client(ws_frame_reader::default_max_message_size, nct), out2),
            (outcome{{text("Hello"), text("Hello")}, 0}));
}

TEST(WsDeflate, Rfc7692_7_2_3_3To5OtherBlockKinds) {
  // A stored (uncompressed) block, a block with BFINAL set, and two blocks.
  const auto stored =
      bytes({0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00});
  const auto bfinal = bytes({0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00});
  const auto two = bytes(
      {0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00});
  for (const auto& wire : {stored, bfinal, two}) {
    EXPECT_EQ(read_all(deflate_client(), wire), (outcome{{text("Hello")}, 0}));
  }
  // After a BFINAL block the stream goes on, and the window is kept for the next message.
  const auto second = bytes({0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00});
  EXPECT_EQ(read_all(deflate_client(), bfinal + second),
            (outcome{{text("Hello"), text("Hello")}, 0}));
}

TEST(WsDeflate, EmptyMessages) {
  ws_frame_writer w(ws_role::server, defaults);
  std::string out;
  w.write_message(out, ws_msg_type::binary, "");
  EXPECT_EQ(out, bytes({0xc2, 0x01, 0x00}));  // RFC 7692 7.2.3.6: one 0x00 byte
  w.write_message(out, ws_msg_type::binary, "x");
  w.write_message(out, ws_msg_type::binary, "");
  w.write_message(out, ws_msg_type::binary, "");
  w.write_fragment(out, ws_msg_type::text, "abc", false);
  w.write_fragment(out, ws_msg_type::text, "", true);
  w.write_message(out, ws_msg_type::text, "after");
  EXPECT_EQ(
      read_all(deflate_client(), out),
      (outcome{{binary(""), binary("x"), binary(""), binary(""), text("abc"), text("after")}, 0}));
}

std::string sample(std::size_t i) {
  // Texts that compress, repeat across messages, and a few that do not compress at all.
  std::string s = "{\"id\": " + std::to_string(i) + ", \"name\": \"user " + std::to_string(i % 7) +
                  "\", \"tags\": [\"a\", \"b\", \"\xc3\xa9t\xc3\xa9\"]}";
  if (i % 5 == 0) s += std::string(i * 13 % 3000, 'x');
  if (i % 9 == 0) {
    for (std::size_t k = 0; k < 400; ++k) s.push_back(static_cast<char>('0' + (k * k + i) % 75));
  }
  return s;
}

// Every combination of the parameters, both directions, with fragments, control frames and
// uncompressed messages mixed in.
TEST(WsDeflate, RoundTripsWithAndWithoutContextTakeover) {
  for (int bits : {8, 9, 12, 15}) {
    for (int nct = 0; nct < 4; ++nct) {
      ws_deflate_params p;
      p.server_no_context_takeover = (nct & 1) != 0;
      p.client_no_context_takeover = (nct & 2) != 0;
      p.server_max_window_bits = bits;
      p.client_max_window_bits = 23 - bits;
      for (ws_role role : {ws_role::client, ws_role::server}) {
        ws_frame_writer w(role, p);
        std::string wire;
        std::vector<ws_message> expected;
        for (std::size_t i = 0; i < 30; ++i) {
          const std::string s = sample(i);
          if (i % 4 == 3) {
            const std::size_t cut = s.size() / 2;
            w.write_fragment(wire, ws_msg_type::text, s.substr(0, cut), false, i % 8 != 7);
            w.write_ping(wire, "x");
            expected.push_back({ws_msg_type::ping, "x", 0});
            w.write_fragment(wire, ws_msg_type::text, s.substr(cut), true);
          } else {
            w.write_message(wire, i % 3 ? ws_msg_type::text : ws_msg_type::binary, s, i % 6 != 5);
          }
          expected.push_back(
              {i % 4 != 3 && i % 3 == 0 ? ws_msg_type::binary : ws_msg_type::text, s, 0});
        }
        const ws_role other = role == ws_role::client ? ws_role::server : ws_role::client;
        EXPECT_EQ(read_all({other, ws_frame_reader::default_max_message_size, p}, wire),
                  (outcome{expected, 0}))
            << bits << " " << nct;
      }
    }
  }
}

TEST(WsDeflate, WindowOf8BitsHoldsForDistancesPast256) {
  // Repeats 300 bytes apart: a compressor that used a 512-byte window carelessly would refer
  // past the 256 bytes the reader keeps, and inflation would fail.
  std::string s;
  for (int i = 0; i < 40; ++i) {
    for (int k = 0; k < 300; ++k) s.push_back(static_cast<char>('a' + (k * 7 + k / 13) % 26));
  }
  ws_deflate_params p;
  p.server_max_window_bits = 8;
  ws_frame_writer w(ws_role::server, p);
  std::string wire;
  w.write_message(wire, ws_msg_type::binary, s);
  w.write_message(wire, ws_msg_type::binary, s);
  EXPECT_EQ(read_all({ws_role::client, 0, p}, wire), (outcome{{binary(s), binary(s)}, 0}));
}

TEST(WsDeflate, DecompressionBombStopsAtMaxMessageSize) {
  ws_frame_writer w(ws_role::server, defaults);
  std::string wire;
  w.write_message(wire, ws_msg_type::binary, std::string(8 * 1024 * 1024, '\0'));
  EXPECT_LT(wire.size(), 20000u);
  EXPECT_EQ(read_all(deflate_client(1024 * 1024), wire).error, 1009);
  EXPECT_EQ(read_all(deflate_client(0), wire).messages.at(0).data.size(), 8u * 1024 * 1024);
  // The limit is exact.
  std::string wire2;
  ws_frame_writer w2(ws_role::server, defaults);
  w2.write_message(wire2, ws_msg_type::text, std::string(1000, 'a'));
  EXPECT_EQ(read_all(deflate_client(1000), wire2).error, 0);
  EXPECT_EQ(read_all(deflate_client(999), wire2).error, 1009);
}

TEST(WsDeflate, CorruptOrInvalidCompressedData) {
  // Block type 3 is reserved in DEFLATE.
  EXPECT_EQ(read_all(deflate_client(), bytes({0xc2, 0x01, 0x07})).error, 1002);
  // Inflates to invalid UTF-8 in a text message.
  ws_frame_writer w(ws_role::server, defaults);
  std::string bad_text;
  w.write_message(bad_text, ws_msg_type::binary, "ok \xed\xa0\x80");
  bad_text[0] = static_cast<char>(0xc1);  // now claims to be text
  EXPECT_EQ(read_all(deflate_client(), bad_text).error, 1007);
  // RSV1 with deflate not negotiated.
  EXPECT_EQ(read_client(bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})).error, 1002);
}

TEST(WsDeflate, ParsesOffers) {
  auto offers = ws_parse_deflate_offers(
      "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits; "
      "server_max_window_bits=10 , permessage-deflate;client_max_window_bits=\"12\";"
      "server_no_context_takeover;client_no_context_takeover, permessage-deflate");
  ASSERT_EQ(offers.size(), 3u);
  EXPECT_TRUE(offers[0].client_max_window_bits_present);
  EXPECT_FALSE(offers[0].client_max_window_bits);
  EXPECT_EQ(offers[0].server_max_window_bits, 10);
  EXPECT_EQ(offers[1].client_max_window_bits, 12);
  EXPECT_TRUE(offers[1].server_no_context_takeover);
  EXPECT_TRUE(offers[1].client_no_context_takeover);
  EXPECT_FALSE(offers[2].client_max_window_bits_present);
  // Offers a server must decline.
  for (const char* bad : {"permessage-deflate; foo", "permessage-deflate; server_max_window_bits",
                          "permessage-deflate; server_max_window_bits=7",
                          "permessage-deflate; server_max_window_bits=16",
                          "permessage-deflate; server_max_window_bits=08",
                          "permessage-deflate; client_max_window_bits=1a",
                          "permessage-deflate; server_no_context_takeover=1",
                          "permessage-deflate; server_no_context_takeover; "
                          "server_no_context_takeover",
                          "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
                          "permessage-deflate; ", "permessage-deflate; a=\"unterminated"}) {
    EXPECT_TRUE(ws_parse_deflate_offers(bad).empty()) << bad;
  }
  EXPECT_TRUE(ws_parse_deflate_offers("").empty());
}

TEST(WsDeflate, ServerPicksTheFirstAcceptableOffer) {
  auto a = ws_deflate_accept(
      "permessage-deflate; bogus, permessage-deflate; server_no_context_takeover");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response, "permessage-deflate; server_no_context_takeover");
  EXPECT_TRUE(a->params.server_no_context_takeover);
  EXPECT_FALSE(ws_deflate_accept("x-webkit-deflate-frame"));
  EXPECT_FALSE(ws_deflate_accept(""));

  a = ws_deflate_accept("permessage-deflate; client_max_window_bits");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response, "permessage-deflate");
  EXPECT_EQ(a->params, ws_deflate_params{});

  a = ws_deflate_accept("permessage-deflate; server_max_window_bits=8; client_max_window_bits=9");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response, "permessage-deflate; server_max_window_bits=8; client_max_window_bits=9");
  EXPECT_EQ(a->params.server_max_window_bits, 8);
  EXPECT_EQ(a->params.client_max_window_bits, 9);

  // What the server wants of the client is asked only where the client allowed it.
  ws_deflate_options want;
  want.client_max_window_bits = 10;
  want.client_no_context_takeover = true;
  a = ws_deflate_accept("permessage-deflate", want);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response, "permessage-deflate; client_no_context_takeover");
  EXPECT_EQ(a->params.client_max_window_bits, 15);
  a = ws_deflate_accept("permessage-deflate; client_max_window_bits", want);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response,
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=10");
  EXPECT_EQ(a->params.client_max_window_bits, 10);
  EXPECT_THROW(ws_deflate_accept("permessage-deflate", ws_deflate_options{false, false, 16, 15}),
               concur::value_error);
}

TEST(WsDeflate, ClientOfferAndResponse) {
  EXPECT_EQ(ws_deflate_make_offer(), "permessage-deflate; client_max_window_bits");
  ws_deflate_options o;
  o.server_no_context_takeover = true;
  o.server_max_window_bits = 10;
  o.client_max_window_bits = 12;
  EXPECT_EQ(ws_deflate_make_offer(o),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits=12");

  EXPECT_FALSE(ws_deflate_check_response(""));
  EXPECT_FALSE(ws_deflate_check_response("  "));
  EXPECT_EQ(ws_deflate_check_response("permessage-deflate"), ws_deflate_params{});
  auto p = ws_deflate_check_response(
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=9;"
      " client_max_window_bits=11",
      o);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_EQ(p->server_max_window_bits, 9);
  EXPECT_EQ(p->client_max_window_bits, 11);
  // The client keeps its own window hint even if the server does not ask.
  p = ws_deflate_check_response(
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=10", o);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->client_max_window_bits, 12);

  for (const char* bad :
       {"x-webkit-deflate-frame", "permessage-deflate, permessage-deflate",
        "permessage-deflate; foo", "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_no_context_takeover; "
        "client_no_context_takeover",
        "permessage-deflate;;", "permessage-deflate; server_max_window_bits=0x9"}) {
    EXPECT_THROW(ws_deflate_check_response(bad), ws_handshake_error) << bad;
  }
  // Against the offer `o`: what was offered must be accepted, within its limits.
  for (const char* bad : {"permessage-deflate; server_max_window_bits=10",
                          "permessage-deflate; server_no_context_takeover",
                          "permessage-deflate; server_no_context_takeover; "
                          "server_max_window_bits=11",
                          "permessage-deflate; server_no_context_takeover; "
                          "server_max_window_bits=10; client_max_window_bits=13"}) {
    EXPECT_THROW(ws_deflate_check_response(bad, o), ws_handshake_error) << bad;
  }
}

TEST(WsDeflate, NegotiatedParametersWorkEndToEnd) {
  ws_deflate_options client_wants;
  client_wants.client_no_context_takeover = true;
  client_wants.server_max_window_bits = 11;
  ws_deflate_options server_wants;
  server_wants.client_max_window_bits = 9;
  const auto agreed = ws_deflate_accept(ws_deflate_make_offer(client_wants), server_wants);
  ASSERT_TRUE(agreed);
  const auto client_params = ws_deflate_check_response(agreed->response, client_wants);
  ASSERT_TRUE(client_params);
  EXPECT_EQ(*client_params, agreed->params);
  EXPECT_EQ(agreed->params.client_max_window_bits, 9);
  EXPECT_EQ(agreed->params.server_max_window_bits, 11);

  ws_frame_writer client(ws_role::client, *client_params);
  ws_frame_writer server(ws_role::server, agreed->params);
  std::string up, down;
  std::vector<ws_message> expected;
  for (std::size_t i = 0; i < 20; ++i) {
    client.write_message(up, ws_msg_type::text, sample(i));
    server.write_message(down, ws_msg_type::text, sample(i));
    expected.push_back(text(sample(i)));
  }
  EXPECT_EQ(read_all({ws_role::server, 0, agreed->params}, up), (outcome{expected, 0}));
  EXPECT_EQ(read_all({ws_role::client, 0, *client_params}, down), (outcome{expected, 0}));
}

// ---------------------------------------------------------------------------------------------
// The opening handshake.

TEST(WsHandshake, Rfc6455AcceptKeyExample) {
  EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ClientKeys) {
  const auto a = ws_make_client_key();
  const auto b = ws_make_client_key();
  EXPECT_EQ(a.size(), 24u);
  EXPECT_TRUE(ws_is_valid_client_key(a)) << a;
  EXPECT_TRUE(ws_is_valid_client_key(b)) << b;
  EXPECT_NE(a, b);
  EXPECT_EQ(ws_accept_key(a).size(), 28u);
}

TEST(WsHandshake, ValidatesClientKeys) {
  EXPECT_TRUE(ws_is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(ws_is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(ws_is_valid_client_key("/+/+/+/+/+/+/+/+/+/+/w=="));
  for (const char* bad : {
           "",
           "dGhlIHNhbXBsZSBub25jZQ",      // no padding
           "dGhlIHNhbXBsZSBub25jZQ=",     // short padding
           "dGhlIHNhbXBsZSBub25jZR==",    // non-canonical: stray bits in the last digit
           "dGhlIHNhbXBsZSBub25jZ===",    // 15 bytes
           "dGhlIHNhbXBsZSBub25jZQAA",    // 18 bytes
           "dGhlIHNhbXBsZSBub25jZQA=",    // 17 bytes
           "dGhlIHNhbXBsZSBub25j ZQ==",   // a space
           "dGhlIHNhbXBsZSBub25jZQ==\n",  // trailing newline
           "dGhlIHNhbXBsZSBub2-jZQ==",    // URL-safe alphabet
       }) {
    EXPECT_FALSE(ws_is_valid_client_key(bad)) << bad;
  }
}

}  // namespace

// Found by fuzz_ws_frame: a compressed fragment whose back-references reach further than the
// agreed 256-byte window. zlib noticed it only when the bytes came one at a time (the history
// then has to come from its window, not from the output of the same call), so the two
// readings differed. The reader inflates with the full window: the same answer either way.
TEST(WsDeflate, ABackReferenceBeyondTheAgreedWindowReadsTheSameHoweverSplit) {
  reader_config c;
  c.role = ws_role::client;
  c.max = 1 << 20;
  ws_deflate_params p;
  p.server_max_window_bits = 8;
  p.client_max_window_bits = 8;
  c.deflate = p;
  std::string input = bytes({0x41, 0x2a, 0x0a, 0xe6, 0x40});
  input += std::string(4, '\x03') + std::string(27, '\x07') + std::string(6, '\x03') + "\n";
  ASSERT_EQ(input.size(), 43U);
  outcome o = read_all(c, input);
  EXPECT_EQ(o.error, 0);
  EXPECT_TRUE(o.messages.empty());  // FIN is not set: the message goes on
}
