#pragma once
// The WebSocket protocol without I/O (RFC 6455, and RFC 7692 permessage-deflate): a frame
// reader that turns bytes into messages, a frame writer that turns messages into bytes, the
// permessage-deflate negotiation and the handshake's key helpers. No sockets and no event loop
// here: the server's WebSocketResponse and the client's ws_connect feed it and write what it
// produces. The names follow aiohttp (WSMsgType, WSCloseCode, WSMessage).
//
// Strict reading: a frame that breaks a MUST of the RFC is refused with ws_protocol_error,
// which carries the close code the connection layer sends before it drops the connection
// (1002 protocol error, 1007 invalid UTF-8, 1009 message too big).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concur/core/error.hpp"
#include "concur/http/errors.hpp"

namespace concur::http {

// aiohttp.WSMsgType. The data types carry their opcode's value; closing, closed and error are
// states a connection reports, never read from the wire.
enum class ws_msg_type : std::uint16_t {
  text = 0x1,
  binary = 0x2,
  ping = 0x9,
  pong = 0xa,
  close = 0x8,
  closing = 0x100,
  closed = 0x101,
  error = 0x102,
};

// aiohttp.WSCloseCode (RFC 6455 7.4.1 and the IANA registry). A scoped enum so that `ok` and
// `internal_error` do not land in concur::http; ws_message::close_code is a plain integer since
// peers may send any code of 3000-4999.
enum class ws_close_code : std::uint16_t {
  ok = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  // Reported when a Close frame had no code (RFC 6455 7.1.5); never sent on the wire. Not in
  // aiohttp's enum, which reports 0 there.
  no_status_received = 1005,
  abnormal_closure = 1006,
  invalid_text = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  mandatory_extension = 1010,
  internal_error = 1011,
  service_restart = 1012,
  try_again_later = 1013,
  bad_gateway = 1014,
};

// The peer broke the protocol. close_code() is the code to send in the Close frame before
// dropping the connection; what() names the fault and the RFC section it breaks.
class ws_protocol_error : public error {
 public:
  ws_protocol_error(ws_close_code code, const std::string& what) : error(what), code_(code) {}
  ws_close_code close_code() const noexcept { return code_; }

 private:
  ws_close_code code_;
};

// The opening handshake cannot go on (aiohttp.WSServerHandshakeError on the client side): a
// Sec-WebSocket-Extensions response this client did not offer or cannot honour.
class ws_handshake_error : public client_error {
 public:
  using client_error::client_error;
};

// aiohttp.WSMessage: `data` is the payload (text, binary, ping/pong payload, close reason),
// `close_code` aiohttp's `extra` for close (1005 when the Close frame had no code), else 0.
struct ws_message {
  ws_msg_type type = ws_msg_type::binary;
  std::string data;
  std::uint16_t close_code = 0;
  bool operator==(const ws_message&) const = default;
};

// Which end of the connection this is: it decides which frames must be masked (RFC 6455 5.1:
// client to server always, server to client never).
enum class ws_role { server, client };

enum class ws_opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

// A close code a peer may put on the wire (RFC 6455 7.4): 1000-1003, 1007-1014, 3000-4999.
bool ws_close_code_is_valid(std::uint16_t code) noexcept;

// Well-formed UTF-8 as RFC 3629 defines it: no overlongs, no surrogates, nothing above
// U+10FFFF.
bool ws_is_valid_utf8(std::string_view s) noexcept;

// ---------------------------------------------------------------------------------------
// permessage-deflate (RFC 7692)

// The parameters one connection agreed on. Each side compresses with its own window size and
// context rule: the server with server_*, the client with client_*.
struct ws_deflate_params {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;  // 8..15
  int client_max_window_bits = 15;  // 8..15
  bool operator==(const ws_deflate_params&) const = default;
};

// One permessage-deflate offer as a client sent it (RFC 7692 7.1): the parameters it named.
struct ws_deflate_offer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<int> server_max_window_bits;
  // client_max_window_bits may come without a value: "I can limit my window if you ask".
  bool client_max_window_bits_present = false;
  std::optional<int> client_max_window_bits;
};

// What one side wants: for a server, the limits it asks of the client and sets on itself;
// for a client, what it puts in its offer. Window bits of 15 mean "no limit".
struct ws_deflate_options {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

// The permessage-deflate offers of a Sec-WebSocket-Extensions value, in order. Other
// extensions are skipped; an offer with an unknown, repeated or out-of-range parameter is
// dropped, since RFC 7692 5 says a server MUST decline it (a later offer may still do).
std::vector<ws_deflate_offer> ws_parse_deflate_offers(std::string_view header);

struct ws_deflate_agreement {
  ws_deflate_params params;
  std::string response;  // the server's Sec-WebSocket-Extensions value
};

// Server side: the first acceptable offer of a request's Sec-WebSocket-Extensions value, the
// parameters in force and the response value; nullopt when no offer is acceptable (the
// connection then goes on uncompressed).
std::optional<ws_deflate_agreement> ws_deflate_accept(std::string_view request_header,
                                                      const ws_deflate_options& wanted = {});

// Client side: the Sec-WebSocket-Extensions value offering permessage-deflate. Throws
// value_error for window bits outside 8..15.
std::string ws_deflate_make_offer(const ws_deflate_options& offer = {});

// Client side: checks the server's Sec-WebSocket-Extensions value against the offer this
// client made (ws_deflate_make_offer(offer)). nullopt when the server answered without
// permessage-deflate; throws ws_handshake_error for anything the client did not offer or
// cannot honour (an unknown extension or parameter, a duplicate, a bad value).
std::optional<ws_deflate_params> ws_deflate_check_response(std::string_view response_header,
                                                           const ws_deflate_options& offer = {});

// ---------------------------------------------------------------------------------------
// Reading frames

namespace detail {
// An incremental UTF-8 check: bytes can be fed in any split, a code point may straddle two
// calls, and a sequence is refused at its first byte that cannot belong to well-formed text.
class utf8_validator {
 public:
  // False if the bytes seen so far cannot begin well-formed UTF-8 (reset() before reuse).
  bool feed(const unsigned char* p, std::size_t n) noexcept;
  // The text ended: false if it stopped inside a code point.
  bool complete() const noexcept { return need_ == 0; }
  void reset() noexcept { *this = utf8_validator{}; }

 private:
  std::uint8_t need_ = 0;  // continuation bytes still due
  // Range of the next continuation byte: narrower than 80-BF right after E0, ED, F0 and F4.
  std::uint8_t lo_ = 0x80;
  std::uint8_t hi_ = 0xbf;
};

// zlib streams, defined in the .cpp so that zlib.h stays out of this header.
struct inflater;
struct deflater;
}  // namespace detail

// An incremental frame parser. feed() takes bytes as they come, in any split, and appends the
// messages they complete (fragments reassembled, decompressed, UTF-8 checked). Ping, pong and
// close come out as messages too: answering them is the connection's job. After a Close frame
// the reader ignores what follows (the peer MUST NOT send more: RFC 6455 5.5.1).
class ws_frame_reader {
 public:
  // aiohttp's default max_msg_size.
  static constexpr std::size_t default_max_message_size = 4 * 1024 * 1024;

  // max_message_size: bytes of one message, reassembled and decompressed; 0 = no limit.
  // deflate: the negotiated permessage-deflate parameters, if any.
  explicit ws_frame_reader(ws_role role, std::size_t max_message_size = default_max_message_size,
                           std::optional<ws_deflate_params> deflate = std::nullopt);
  ws_frame_reader(ws_frame_reader&&) noexcept;
  ws_frame_reader& operator=(ws_frame_reader&&) noexcept;
  ~ws_frame_reader();

  // Consumes all of `bytes`, appending complete messages to `out` in order. Throws
  // ws_protocol_error at the first fault; messages completed before it are already in `out`.
  // The reader is then failed: every later feed() throws the same error again.
  void feed(std::string_view bytes, std::vector<ws_message>& out);

  bool close_received() const noexcept { return close_received_; }
  // A data message has begun and not yet ended (the connection closing now would cut it).
  bool in_message() const noexcept { return in_message_; }

 private:
  void read_header(std::string_view& in, std::vector<ws_message>& out);
  std::size_t check_first_two(unsigned char b0, unsigned char b1);
  void begin_frame(const unsigned char* h, std::vector<ws_message>& out);
  void take_payload(const unsigned char* p, std::size_t n);
  void end_frame(std::vector<ws_message>& out);
  void inflate_chunk(const unsigned char* p, std::size_t n);
  void check_text(std::size_t from);
  void end_control_frame(std::vector<ws_message>& out);

  ws_role role_;
  std::size_t max_message_size_;
  std::optional<ws_deflate_params> deflate_;
  std::unique_ptr<detail::inflater> inflater_;

  // The frame being read. Its header is parsed straight from the caller's bytes when they
  // hold all of it; only a header cut across feeds is copied into hdr_.
  bool in_payload_ = false;
  std::array<unsigned char, 14> hdr_{};
  std::uint8_t hdr_len_ = 0;
  std::uint8_t hdr_need_ = 0;
  std::uint8_t opcode_ = 0;
  bool fin_ = false;
  bool masked_ = false;
  std::array<unsigned char, 4> mask_{};
  std::uint64_t remaining_ = 0;
  std::uint64_t payload_pos_ = 0;  // bytes of this frame's payload read so far

  // The data message being assembled.
  bool in_message_ = false;
  bool compressed_ = false;
  ws_msg_type msg_type_ = ws_msg_type::binary;
  std::string msg_;
  detail::utf8_validator utf8_;

  std::string control_;   // a control frame's payload (<= 125 bytes, kept between messages)
  std::string unmasked_;  // a masked compressed chunk, unmasked before inflation
  bool close_received_ = false;
  std::uint16_t failed_code_ = 0;
  std::string failed_what_;
};

// ---------------------------------------------------------------------------------------
// Writing frames

using ws_mask_key = std::array<unsigned char, 4>;

// XORs `data` with `key` as RFC 6455 5.3 says, as if the data began at byte `offset` of the
// payload (so a payload can be masked in pieces). Word at a time.
void ws_apply_mask(char* data, std::size_t n, ws_mask_key key, std::uint64_t offset = 0) noexcept;

// One mask key from the kernel's CSPRNG (getrandom): RFC 6455 10.3 wants keys a peer cannot
// predict. Throws os_error if the kernel has no getrandom.
ws_mask_key ws_make_mask_key();

// Mask keys drawn from getrandom 64 at a time, so a client sending many small messages makes
// one system call per 64 messages instead of one each.
class ws_mask_source {
 public:
  ws_mask_source() = default;
  // Not copyable: two copies would hand out the same keys. A move leaves the source empty.
  ws_mask_source(const ws_mask_source&) = delete;
  ws_mask_source& operator=(const ws_mask_source&) = delete;
  ws_mask_source(ws_mask_source&& other) noexcept;
  ws_mask_source& operator=(ws_mask_source&& other) noexcept;
  ~ws_mask_source() = default;

  ws_mask_key next();

 private:
  std::array<unsigned char, 256> pool_{};
  std::size_t used_ = 256;
};

// Appends one frame to `out` as told, masking the payload when a key is given. It checks
// nothing (so tests can build the frames a reader must refuse); ws_frame_writer does.
void ws_write_frame(std::string& out, ws_opcode opcode, std::string_view payload, bool fin = true,
                    bool rsv1 = false, std::optional<ws_mask_key> mask = std::nullopt);

// The payload of a Close frame: the code big-endian, then the reason. Throws value_error for a
// code that may not be sent (ws_close_code_is_valid) or a reason that is not UTF-8; a reason
// over 123 bytes is cut at the last whole code point that fits (RFC 6455 5.5: control payloads
// are at most 125 bytes). Code 1005 (no_status_received) gives the empty payload.
std::string ws_close_payload(std::uint16_t code, std::string_view reason = {});

// Writes messages as one side of a connection: masks when it is the client (keys from its own
// ws_mask_source), compresses data messages when permessage-deflate was agreed, and refuses
// what the RFC forbids sending (value_error): a text message that is not UTF-8, a control
// payload over 125 bytes, a close code that may not be sent.
class ws_frame_writer {
 public:
  explicit ws_frame_writer(ws_role role, std::optional<ws_deflate_params> deflate = std::nullopt,
                           int compression_level = 6);
  ws_frame_writer(ws_frame_writer&&) noexcept;
  ws_frame_writer& operator=(ws_frame_writer&&) noexcept;
  ~ws_frame_writer();

  // A whole text or binary message as one frame; compress = false sends it uncompressed even
  // with permessage-deflate (e.g. data already compressed). invalid_state_error while a
  // fragmented message is in progress.
  void write_message(std::string& out, ws_msg_type type, std::string_view data,
                     bool compress = true);
  // One fragment of a text or binary message; `type` and `compress` count on the first
  // fragment only, and fin ends the message. Text is checked for UTF-8 across fragments (a code
  // point may straddle two). Control frames may be written between fragments.
  void write_fragment(std::string& out, ws_msg_type type, std::string_view data, bool fin,
                      bool compress = true);
  void write_ping(std::string& out, std::string_view payload = {});
  void write_pong(std::string& out, std::string_view payload = {});
  void write_close(std::string& out, std::uint16_t code = 1000, std::string_view reason = {});

  bool compresses() const noexcept { return deflater_ != nullptr; }

 private:
  void write_control(std::string& out, ws_opcode op, std::string_view payload);
  void emit(std::string& out, ws_opcode op, std::string_view payload, bool fin, bool rsv1);

  ws_role role_;
  std::unique_ptr<detail::deflater> deflater_;
  ws_mask_source masks_;
  std::string compressed_;  // reused output buffer of the deflater
  detail::utf8_validator utf8_;
  bool in_message_ = false;
  bool text_message_ = false;
  bool compressing_message_ = false;
};

// ---------------------------------------------------------------------------------------
// The opening handshake (RFC 6455 4)

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string ws_accept_key(std::string_view sec_websocket_key);
// A fresh Sec-WebSocket-Key: 16 random bytes, base64 (24 characters).
std::string ws_make_client_key();
// True if `key` is the base64 of exactly 16 bytes, in canonical form (what a server must check
// before answering: RFC 6455 4.2.1 item 5).
bool ws_is_valid_client_key(std::string_view key) noexcept;

}  // namespace concur::http
