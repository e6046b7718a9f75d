#include "concur/http/websocket_frame.hpp"

// zlib takes next_in as const only when asked to.
#define ZLIB_CONST
#include <openssl/evp.h>
#include <sys/random.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

namespace concur::http {

namespace {

// RFC 6455 1.3 (the brief this was written from said 47A3; the RFC and its example say 47DA).
constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
// The end of a sync flush (an empty stored block's LEN and NLEN): RFC 7692 7.2.1 strips it
// from each compressed message and 7.2.2 puts it back before inflating.
constexpr unsigned char deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

[[noreturn]] void fail(ws_close_code code, const std::string& what) {
  throw ws_protocol_error(code, "WebSocket protocol error: " + what);
}

[[noreturn]] void fail_protocol(const std::string& what) {
  fail(ws_close_code::protocol_error, what);
}

const unsigned char* bytes_of(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void fill_random(unsigned char* p, std::size_t n) {
  std::size_t got = 0;
  // getrandom returns at most 256 bytes at once unless interrupted; the bound only guards
  // against a kernel that keeps returning short.
  for (int attempt = 0; got < n; ++attempt) {
    const ssize_t r = ::getrandom(p + got, n - got, 0);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
    } else if (r < 0 && errno != EINTR) {
      throw_last_os_error("getrandom");
    }
    if (attempt > 1000) throw_os_error(EIO, "getrandom");
  }
}

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// --- Sec-WebSocket-Extensions (RFC 6455 9.1) -------------------------------------------------

struct ext_param {
  std::string name;
  bool has_value = false;
  std::string value;  // unquoted
};

struct extension {
  std::string name;
  std::vector<ext_param> params;
};

bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

class ext_lexer {
 public:
  explicit ext_lexer(std::string_view s) : s_(s) {}
  void skip_ows() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool at_end() const noexcept { return i_ >= s_.size(); }
  bool take(char c) noexcept {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::optional<std::string> token() {
    const std::size_t start = i_;
    while (i_ < s_.size() && is_tchar(s_[i_])) ++i_;
    if (i_ == start) return std::nullopt;
    return std::string(s_.substr(start, i_ - start));
  }
  std::optional<std::string> quoted_string() {
    if (!take('"')) return std::nullopt;
    std::string v;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return v;
      if (c == '\\') {
        if (i_ >= s_.size()) return std::nullopt;
        v.push_back(s_[i_++]);
      } else {
        v.push_back(c);
      }
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// The extensions of a header value, or nullopt if it does not parse.
std::optional<std::vector<extension>> parse_extensions(std::string_view header) {
  std::vector<extension> out;
  ext_lexer lx(header);
  // Each pass consumes at least one character or returns, so the loop ends.
  for (;;) {
    lx.skip_ows();
    if (lx.at_end()) return out;
    if (lx.take(',')) continue;  // empty list elements are allowed (RFC 9110 5.6.1)
    auto name = lx.token();
    if (!name) return std::nullopt;
    extension ext{std::move(*name), {}};
    for (;;) {
      lx.skip_ows();
      if (lx.at_end() || lx.take(',')) break;
      if (!lx.take(';')) return std::nullopt;
      lx.skip_ows();
      auto pname = lx.token();
      if (!pname) return std::nullopt;
      ext_param p{std::move(*pname), false, {}};
      lx.skip_ows();
      if (lx.take('=')) {
        lx.skip_ows();
        auto v = lx.token();
        if (!v) v = lx.quoted_string();
        if (!v) return std::nullopt;
        p.has_value = true;
        p.value = std::move(*v);
      }
      ext.params.push_back(std::move(p));
    }
    out.push_back(std::move(ext));
  }
}

// RFC 7692 7.1.2: "8" to "15", no leading zero.
std::optional<int> parse_window_bits(std::string_view v) noexcept {
  if (v.size() == 1 && (v[0] == '8' || v[0] == '9')) return v[0] - '0';
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return std::nullopt;
}

// The parameters of one permessage-deflate extension element, or an explanation of why they
// are not acceptable.
std::optional<ws_deflate_offer> read_deflate_params(const extension& ext, std::string& why) {
  ws_deflate_offer o;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  for (const auto& p : ext.params) {
    auto once = [&](bool& seen) {
      if (seen) why = "parameter " + p.name + " appears twice";
      seen = true;
      return why.empty();
    };
    if (ascii_iequals(p.name, "server_no_context_takeover")) {
      if (!once(seen_snct)) return std::nullopt;
      if (p.has_value) {
        why = "server_no_context_takeover takes no value";
        return std::nullopt;
      }
      o.server_no_context_takeover = true;
    } else if (ascii_iequals(p.name, "client_no_context_takeover")) {
      if (!once(seen_cnct)) return std::nullopt;
      if (p.has_value) {
        why = "client_no_context_takeover takes no value";
        return std::nullopt;
      }
      o.client_no_context_takeover = true;
    } else if (ascii_iequals(p.name, "server_max_window_bits")) {
      if (!once(seen_smwb)) return std::nullopt;
      auto bits = p.has_value ? parse_window_bits(p.value) : std::nullopt;
      if (!bits) {
        why = "server_max_window_bits needs a value of 8 to 15";
        return std::nullopt;
      }
      o.server_max_window_bits = bits;
    } else if (ascii_iequals(p.name, "client_max_window_bits")) {
      if (!once(seen_cmwb)) return std::nullopt;
      o.client_max_window_bits_present = true;
      if (p.has_value) {
        auto bits = parse_window_bits(p.value);
        if (!bits) {
          why = "client_max_window_bits must be 8 to 15";
          return std::nullopt;
        }
        o.client_max_window_bits = bits;
      }
    } else {
      why = "unknown parameter " + p.name;
      return std::nullopt;
    }
  }
  return o;
}

void check_window_bits(int bits, const char* name) {
  if (bits < 8 || bits > 15) {
    throw value_error(std::string(name) + " must be 8 to 15, not " + std::to_string(bits));
  }
}

}  // namespace

// --- small pieces ----------------------------------------------------------------------------

bool ws_close_code_is_valid(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;  // registered (3xxx) and private (4xxx)
  if (code < 1000 || code > 1014) return false;   // unused, or reserved for later RFCs
  // 1004 is reserved; 1005 and 1006 only ever describe a close locally.
  return code != 1004 && code != 1005 && code != 1006;
}

bool detail::utf8_validator::feed(const unsigned char* p, std::size_t n) noexcept {
  std::size_t i = 0;
  while (i < n) {
    if (need_ == 0) {
      // Most text is ASCII: skip it eight bytes at a time.
      while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if ((w & 0x8080808080808080ull) != 0) break;
        i += 8;
      }
      if (i == n) break;
      const unsigned char c = p[i++];
      if (c < 0x80) continue;
      // 80-BF cannot start a sequence; C0 and C1 could only start overlong ones.
      if (c < 0xc2) return false;
      if (c < 0xe0) {
        need_ = 1;
      } else if (c < 0xf0) {
        need_ = 2;
        lo_ = c == 0xe0 ? 0xa0 : 0x80;  // E0 80-9F would be overlong
        hi_ = c == 0xed ? 0x9f : 0xbf;  // ED A0-BF would be a surrogate
      } else if (c < 0xf5) {
        need_ = 3;
        lo_ = c == 0xf0 ? 0x90 : 0x80;  // F0 80-8F would be overlong
        hi_ = c == 0xf4 ? 0x8f : 0xbf;  // F4 90+ would pass U+10FFFF
      } else {
        return false;  // F5-FF would pass U+10FFFF
      }
      continue;
    }
    const unsigned char c = p[i++];
    if (c < lo_ || c > hi_) return false;
    lo_ = 0x80;
    hi_ = 0xbf;
    --need_;
  }
  return true;
}

bool ws_is_valid_utf8(std::string_view s) noexcept {
  detail::utf8_validator v;
  return v.feed(bytes_of(s), s.size()) && v.complete();
}

void ws_apply_mask(char* data, std::size_t n, ws_mask_key key, std::uint64_t offset) noexcept {
  // The key as it lines up with data[0], repeated to eight bytes so that whole words can be
  // XORed; memcpy keeps it free of alignment and aliasing trouble and compiles to plain loads.
  unsigned char k[8];
  for (std::size_t j = 0; j < 8; ++j) k[j] = key[(offset + j) & 3];
  std::size_t i = 0;
  if (n >= 8) {
    std::uint64_t kw;
    std::memcpy(&kw, k, 8);
    for (; i + 32 <= n; i += 32) {
      std::uint64_t w[4];
      std::memcpy(w, data + i, 32);
      w[0] ^= kw;
      w[1] ^= kw;
      w[2] ^= kw;
      w[3] ^= kw;
      std::memcpy(data + i, w, 32);
    }
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, data + i, 8);
      w ^= kw;
      std::memcpy(data + i, &w, 8);
    }
  }
  for (; i < n; ++i) data[i] = static_cast<char>(data[i] ^ k[i & 3]);
}

ws_mask_key ws_make_mask_key() {
  ws_mask_key k;
  fill_random(k.data(), k.size());
  return k;
}

ws_mask_source::ws_mask_source(ws_mask_source&& other) noexcept
    : pool_(other.pool_), used_(other.used_) {
  other.used_ = other.pool_.size();
}

ws_mask_source& ws_mask_source::operator=(ws_mask_source&& other) noexcept {
  pool_ = other.pool_;
  used_ = other.used_;
  other.used_ = other.pool_.size();
  return *this;
}

ws_mask_key ws_mask_source::next() {
  if (used_ + 4 > pool_.size()) {
    fill_random(pool_.data(), pool_.size());
    used_ = 0;
  }
  ws_mask_key k;
  std::memcpy(k.data(), pool_.data() + used_, 4);
  used_ += 4;
  return k;
}

void ws_write_frame(std::string& out, ws_opcode opcode, std::string_view payload, bool fin,
                    bool rsv1, std::optional<ws_mask_key> mask) {
  unsigned char h[14];
  std::size_t hn = 2;
  h[0] = static_cast<unsigned char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                    (static_cast<unsigned>(opcode) & 0x0f));
  const std::uint64_t len = payload.size();
  const unsigned char mask_bit = mask ? 0x80 : 0;
  if (len < 126) {
    h[1] = static_cast<unsigned char>(mask_bit | len);
  } else if (len <= 0xffff) {
    h[1] = mask_bit | 126;
    h[2] = static_cast<unsigned char>(len >> 8);
    h[3] = static_cast<unsigned char>(len);
    hn = 4;
  } else {
    h[1] = mask_bit | 127;
    for (std::size_t j = 0; j < 8; ++j) h[2 + j] = static_cast<unsigned char>(len >> (56 - 8 * j));
    hn = 10;
  }
  if (mask) {
    std::memcpy(h + hn, mask->data(), 4);
    hn += 4;
  }
  const std::size_t start = out.size() + hn;
  out.append(reinterpret_cast<const char*>(h), hn);
  out.append(payload);
  if (mask) ws_apply_mask(out.data() + start, payload.size(), *mask);
}

std::string ws_close_payload(std::uint16_t code, std::string_view reason) {
  if (code == static_cast<std::uint16_t>(ws_close_code::no_status_received)) {
    if (!reason.empty()) throw value_error("a close reason needs a close code");
    return {};
  }
  if (!ws_close_code_is_valid(code)) {
    throw value_error("close code " + std::to_string(code) +
                      " may not be sent (RFC 6455 section 7.4)");
  }
  if (!ws_is_valid_utf8(reason)) {
    throw value_error("close reason is not UTF-8 (RFC 6455 section 5.5.1)");
  }
  if (reason.size() > 123) {
    // Cut before the code point that straddles byte 123, so the reason stays UTF-8.
    std::size_t cut = 123;
    while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xc0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  std::string p;
  p.reserve(2 + reason.size());
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xff));
  p.append(reason);
  return p;
}

// --- zlib streams ----------------------------------------------------------------------------

struct detail::inflater {
  z_stream z{};
  bool reset_each_message;
  // Set when the peer ended its DEFLATE stream (BFINAL) inside a message: the rest of that
  // message carries nothing (RFC 7692 7.2.3.4 shows such a message).
  bool ended = false;
  // Output goes here first, then to the message, so that a small message does not pay for a
  // large zero-filled resize. 32 KiB is also the largest window, which the restart after
  // BFINAL keeps.
  std::array<unsigned char, 32768> buf;

  inflater(int window_bits, bool reset) : reset_each_message(reset) {
    if (inflateInit2(&z, -window_bits) != Z_OK) throw std::bad_alloc();
  }
  ~inflater() { inflateEnd(&z); }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  // The DEFLATE stream ended: start a new one that still sees the last window, since later
  // messages may refer back to it under context takeover.
  void restart_keeping_window() {
    uInt n = static_cast<uInt>(buf.size());
    inflateGetDictionary(&z, buf.data(), &n);
    inflateReset(&z);
    if (n != 0) inflateSetDictionary(&z, buf.data(), n);
  }
};

struct detail::deflater {
  z_stream z{};
  bool reset_each_message;

  deflater(int level, int window_bits, bool reset) : reset_each_message(reset) {
    check_window_bits(window_bits, "max_window_bits");
    if (level < -1 || level > 9) throw value_error("compression level must be -1 to 9");
    // zlib refuses a raw deflate window of 8 bits (deflateInit2 returns Z_STREAM_ERROR), so use
    // 9. That still honours a peer's limit of 8: zlib never emits a distance over
    // window - 262 bytes, which for 9 bits is 250, inside a 256-byte window.
    const int bits = window_bits == 8 ? 9 : window_bits;
    if (deflateInit2(&z, level, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
  }
  ~deflater() { deflateEnd(&z); }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  // Compresses `data` and sync-flushes, replacing the content of `out`.
  void compress(std::string_view data, std::string& out) {
    out.clear();
    z.next_in = bytes_of(data);
    std::size_t left = data.size();
    // Each round feeds at most 1 GiB (avail_in is 32-bit) and flushes when the input is done.
    for (;;) {
      const auto chunk_in = static_cast<uInt>(std::min<std::size_t>(left, std::size_t(1) << 30));
      z.avail_in = chunk_in;
      left -= chunk_in;
      const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
      for (;;) {
        const std::size_t old = out.size();
        const std::size_t room = std::max<std::size_t>(z.avail_in + z.avail_in / 8 + 64, 4096);
        out.resize(old + room);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
        z.avail_out = static_cast<uInt>(room);
        const int rc = deflate(&z, flush);
        out.resize(old + room - z.avail_out);
        if (rc == Z_STREAM_ERROR) throw invalid_state_error("zlib deflate failed");
        // Done when zlib left output room unused: everything it had is out. Z_BUF_ERROR means
        // there was nothing to do (an empty input right after a flush).
        if (z.avail_out != 0 || rc == Z_BUF_ERROR) break;
      }
      if (left == 0) break;
    }
  }
};

// --- ws_frame_reader -------------------------------------------------------------------------

ws_frame_reader::ws_frame_reader(ws_role role, std::size_t max_message_size,
                                 std::optional<ws_deflate_params> deflate)
    : role_(role), max_message_size_(max_message_size), deflate_(deflate) {
  if (deflate_) {
    // What the peer compresses with: a server reads the client's messages.
    const bool server = role_ == ws_role::server;
    const int bits = server ? deflate_->client_max_window_bits : deflate_->server_max_window_bits;
    check_window_bits(bits, "max_window_bits");
    const bool reset =
        server ? deflate_->client_no_context_takeover : deflate_->server_no_context_takeover;
    // Inflated with the largest window whatever was agreed: zlib checks a back-reference
    // against the window only when it reaches past what the current call produced, so with
    // the agreed (smaller) window a peer's too-far reference was refused or taken depending on
    // how the bytes arrived. A reading must never depend on that (the fuzzer's oracle found
    // it), so such a reference is always taken, as most peers do; a well-behaved peer never
    // sends one.
    inflater_ = std::make_unique<detail::inflater>(15, reset);
  }
  control_.reserve(125);
}

ws_frame_reader::ws_frame_reader(ws_frame_reader&&) noexcept = default;
ws_frame_reader& ws_frame_reader::operator=(ws_frame_reader&&) noexcept = default;
ws_frame_reader::~ws_frame_reader() = default;

void ws_frame_reader::feed(std::string_view in, std::vector<ws_message>& out) {
  if (failed_code_ != 0) throw ws_protocol_error(ws_close_code{failed_code_}, failed_what_);
  try {
    // Each pass consumes at least one byte, or completes a frame header and with it (for an
    // empty payload) the frame, so the loop ends with the input.
    while (!in.empty() && !close_received_) {
      if (!in_payload_) {
        read_header(in, out);
        continue;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      take_payload(bytes_of(in), n);
      in.remove_prefix(n);
      remaining_ -= n;
      payload_pos_ += n;
      if (remaining_ == 0) end_frame(out);
    }
  } catch (const ws_protocol_error& e) {
    failed_code_ = static_cast<std::uint16_t>(e.close_code());
    failed_what_ = e.what();
    throw;
  }
}

void ws_frame_reader::read_header(std::string_view& in, std::vector<ws_message>& out) {
  if (hdr_len_ == 0 && in.size() >= 2) {
    const unsigned char* p = bytes_of(in);
    const std::size_t need = check_first_two(p[0], p[1]);
    if (in.size() >= need) {
      in.remove_prefix(need);
      begin_frame(p, out);
      return;
    }
    hdr_need_ = static_cast<std::uint8_t>(need);
  }
  // The header is cut across feeds: gather it in hdr_.
  while (!in.empty()) {
    if (hdr_len_ < 2) {
      hdr_[hdr_len_++] = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      if (hdr_len_ == 2 && hdr_need_ == 0) {
        hdr_need_ = static_cast<std::uint8_t>(check_first_two(hdr_[0], hdr_[1]));
      }
    } else {
      const std::size_t n = std::min<std::size_t>(hdr_need_ - hdr_len_, in.size());
      std::memcpy(hdr_.data() + hdr_len_, in.data(), n);
      hdr_len_ = static_cast<std::uint8_t>(hdr_len_ + n);
      in.remove_prefix(n);
    }
    if (hdr_len_ >= 2 && hdr_len_ == hdr_need_) {
      hdr_len_ = 0;
      hdr_need_ = 0;
      begin_frame(hdr_.data(), out);
      return;
    }
  }
}

// Everything the first two bytes can break, checked as soon as they are here so that a bad
// frame fails at the same point however the bytes were split. Returns the header's length.
std::size_t ws_frame_reader::check_first_two(unsigned char b0, unsigned char b1) {
  const bool fin = (b0 & 0x80) != 0;
  const bool rsv1 = (b0 & 0x40) != 0;
  const unsigned op = b0 & 0x0f;
  const bool masked = (b1 & 0x80) != 0;
  const unsigned len7 = b1 & 0x7f;
  if ((b0 & 0x30) != 0) {
    fail_protocol(
        "RSV2 or RSV3 set, and no extension that defines them was negotiated (RFC 6455 "
        "section 5.2)");
  }
  if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 && op != 10) {
    fail_protocol("unknown opcode " + std::to_string(op) + " (RFC 6455 section 5.2)");
  }
  const bool control = (op & 0x8) != 0;
  if (control && !fin) fail_protocol("fragmented control frame (RFC 6455 section 5.5)");
  if (control && len7 > 125) {
    fail_protocol("control frame payload over 125 bytes (RFC 6455 section 5.5)");
  }
  if (rsv1 && !deflate_) {
    fail_protocol("RSV1 set, and permessage-deflate was not negotiated (RFC 6455 section 5.2)");
  }
  if (rsv1 && op != 1 && op != 2) {
    fail_protocol("RSV1 set on a control or continuation frame (RFC 7692 section 6.1)");
  }
  if (op == 0 && !in_message_) {
    fail_protocol("continuation frame with no message in progress (RFC 6455 section 5.4)");
  }
  if ((op == 1 || op == 2) && in_message_) {
    fail_protocol("new data frame inside a fragmented message (RFC 6455 section 5.4)");
  }
  if (role_ == ws_role::server && !masked) {
    fail_protocol("unmasked frame from a client (RFC 6455 section 5.1)");
  }
  if (role_ == ws_role::client && masked) {
    fail_protocol("masked frame from a server (RFC 6455 section 5.1)");
  }
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
}

void ws_frame_reader::begin_frame(const unsigned char* h, std::vector<ws_message>& out) {
  fin_ = (h[0] & 0x80) != 0;
  opcode_ = h[0] & 0x0f;
  masked_ = (h[1] & 0x80) != 0;
  std::uint64_t len = h[1] & 0x7f;
  std::size_t pos = 2;
  if (len == 126) {
    len = (std::uint64_t{h[2]} << 8) | h[3];
    pos = 4;
    if (len < 126) {
      fail_protocol("length " + std::to_string(len) +
                    " in 16 bits, where 7 would do (RFC 6455 section 5.2: the minimal number of "
                    "bytes MUST be used)");
    }
  } else if (len == 127) {
    len = 0;
    for (std::size_t j = 0; j < 8; ++j) len = (len << 8) | h[2 + j];
    pos = 10;
    if ((len >> 63) != 0) {
      fail_protocol("64-bit length with its most significant bit set (RFC 6455 section 5.2)");
    }
    if (len <= 0xffff) {
      fail_protocol("length " + std::to_string(len) +
                    " in 64 bits, where 16 would do (RFC 6455 section 5.2: the minimal number of "
                    "bytes MUST be used)");
    }
  }
  if (masked_) std::memcpy(mask_.data(), h + pos, 4);
  remaining_ = len;
  payload_pos_ = 0;

  if (opcode_ >= 8) {
    control_.clear();
  } else {
    if (opcode_ != 0) {
      in_message_ = true;
      msg_type_ = opcode_ == 1 ? ws_msg_type::text : ws_msg_type::binary;
      compressed_ = (h[0] & 0x40) != 0;
      utf8_.reset();
      msg_.clear();
    }
    // An uncompressed message's size is known from its headers: refuse it before reading it.
    if (!compressed_ && max_message_size_ != 0 && len > max_message_size_ - msg_.size()) {
      fail(ws_close_code::message_too_big,
           "message of more than " + std::to_string(max_message_size_) +
               " bytes (max_message_size; RFC 6455 section 7.4.1, code 1009)");
    }
    // One allocation for the usual single-frame message; the cap keeps a peer's claimed length
    // from reserving memory before the bytes arrive.
    if (!compressed_ && opcode_ != 0) {
      msg_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(len, 64 * 1024)));
    }
  }
  in_payload_ = true;
  if (remaining_ == 0) end_frame(out);
}

void ws_frame_reader::take_payload(const unsigned char* p, std::size_t n) {
  const char* c = reinterpret_cast<const char*>(p);
  if (opcode_ >= 8) {
    const std::size_t from = control_.size();
    control_.append(c, n);
    if (masked_) ws_apply_mask(control_.data() + from, n, mask_, payload_pos_);
    return;
  }
  if (compressed_) {
    if (!masked_) {
      inflate_chunk(p, n);
      return;
    }
    // Unmask in slices so that a huge frame does not double its memory.
    constexpr std::size_t slice = 64 * 1024;
    for (std::size_t done = 0; done < n;) {
      const std::size_t k = std::min(slice, n - done);
      unmasked_.assign(c + done, k);
      ws_apply_mask(unmasked_.data(), k, mask_, payload_pos_ + done);
      inflate_chunk(bytes_of(unmasked_), k);
      done += k;
    }
    return;
  }
  const std::size_t from = msg_.size();
  msg_.append(c, n);
  if (masked_) ws_apply_mask(msg_.data() + from, n, mask_, payload_pos_);
  if (msg_type_ == ws_msg_type::text) check_text(from);
}

void ws_frame_reader::check_text(std::size_t from) {
  if (!utf8_.feed(bytes_of(msg_) + from, msg_.size() - from)) {
    fail(ws_close_code::invalid_text, "text message is not valid UTF-8 (RFC 6455 section 8.1)");
  }
}

void ws_frame_reader::inflate_chunk(const unsigned char* p, std::size_t n) {
  auto& inf = *inflater_;
  if (inf.ended) return;
  z_stream& z = inf.z;
  z.next_in = p;
  std::size_t left = n;
  // Each round either consumes input or produces output; zlib reports Z_BUF_ERROR when it can
  // do neither, which ends the loop.
  for (;;) {
    if (z.avail_in == 0 && left != 0) {
      const auto k = static_cast<uInt>(std::min<std::size_t>(left, std::size_t(1) << 30));
      z.avail_in = k;
      left -= k;
    }
    z.next_out = inf.buf.data();
    z.avail_out = static_cast<uInt>(inf.buf.size());
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const std::size_t produced = inf.buf.size() - z.avail_out;
    if (produced != 0) {
      // Take output up to the limit and check it before reporting the overflow, so the error
      // does not depend on how the input was split.
      const std::size_t room = max_message_size_ == 0 ? produced : max_message_size_ - msg_.size();
      const std::size_t take = std::min(produced, room);
      const std::size_t from = msg_.size();
      msg_.append(reinterpret_cast<const char*>(inf.buf.data()), take);
      if (msg_type_ == ws_msg_type::text) check_text(from);
      if (take < produced) {
        fail(ws_close_code::message_too_big,
             "message inflates to more than " + std::to_string(max_message_size_) +
                 " bytes (max_message_size; RFC 6455 section 7.4.1, code 1009)");
      }
    }
    if (rc == Z_STREAM_END) {
      inf.restart_keeping_window();
      inf.ended = true;
      z.avail_in = 0;
      return;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
      fail_protocol(std::string("compressed message does not inflate: ") +
                    (z.msg != nullptr ? z.msg : "corrupt data") + " (RFC 7692 section 6.2)");
    }
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc == Z_BUF_ERROR) return;
    if (z.avail_in == 0 && left == 0 && z.avail_out != 0) return;
  }
}

void ws_frame_reader::end_frame(std::vector<ws_message>& out) {
  in_payload_ = false;
  if (opcode_ >= 8) {
    end_control_frame(out);
    return;
  }
  if (!fin_) return;
  if (compressed_) {
    inflate_chunk(deflate_tail, sizeof deflate_tail);
    inflater_->ended = false;
    if (inflater_->reset_each_message) inflateReset(&inflater_->z);
  }
  if (msg_type_ == ws_msg_type::text && !utf8_.complete()) {
    fail(ws_close_code::invalid_text,
         "text message ends inside a UTF-8 sequence (RFC 6455 section 8.1)");
  }
  in_message_ = false;
  compressed_ = false;
  out.push_back(ws_message{msg_type_, std::move(msg_), 0});
  msg_.clear();  // a moved-from string is only valid; now it is empty
}

void ws_frame_reader::end_control_frame(std::vector<ws_message>& out) {
  switch (opcode_) {
    case 0x8: {
      std::uint16_t code = static_cast<std::uint16_t>(ws_close_code::no_status_received);
      std::string_view reason;
      if (control_.size() == 1) {
        fail_protocol("close frame with a 1-byte payload (RFC 6455 section 5.5.1)");
      }
      if (control_.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                          static_cast<unsigned char>(control_[1]));
        if (!ws_close_code_is_valid(code)) {
          fail_protocol("close code " + std::to_string(code) +
                        " may not be sent (RFC 6455 section 7.4)");
        }
        reason = std::string_view(control_).substr(2);
        if (!ws_is_valid_utf8(reason)) {
          fail(ws_close_code::invalid_text,
               "close reason is not valid UTF-8 (RFC 6455 section 5.5.1)");
        }
      }
      close_received_ = true;
      out.push_back(ws_message{ws_msg_type::close, std::string(reason), code});
      break;
    }
    case 0x9:
      out.push_back(ws_message{ws_msg_type::ping, control_, 0});
      break;
    default:
      out.push_back(ws_message{ws_msg_type::pong, control_, 0});
      break;
  }
}

// --- ws_frame_writer -------------------------------------------------------------------------

ws_frame_writer::ws_frame_writer(ws_role role, std::optional<ws_deflate_params> deflate,
                                 int compression_level)
    : role_(role) {
  if (deflate) {
    const bool server = role_ == ws_role::server;
    deflater_ = std::make_unique<detail::deflater>(
        compression_level,
        server ? deflate->server_max_window_bits : deflate->client_max_window_bits,
        server ? deflate->server_no_context_takeover : deflate->client_no_context_takeover);
  }
}

ws_frame_writer::ws_frame_writer(ws_frame_writer&&) noexcept = default;
ws_frame_writer& ws_frame_writer::operator=(ws_frame_writer&&) noexcept = default;
ws_frame_writer::~ws_frame_writer() = default;

void ws_frame_writer::emit(std::string& out, ws_opcode op, std::string_view payload, bool fin,
                           bool rsv1) {
  if (role_ == ws_role::client) {
    ws_write_frame(out, op, payload, fin, rsv1, masks_.next());
  } else {
    ws_write_frame(out, op, payload, fin, rsv1);
  }
}

void ws_frame_writer::write_message(std::string& out, ws_msg_type type, std::string_view data,
                                    bool compress) {
  if (in_message_) {
    throw invalid_state_error("a fragmented WebSocket message is in progress");
  }
  write_fragment(out, type, data, true, compress);
}

void ws_frame_writer::write_fragment(std::string& out, ws_msg_type type, std::string_view data,
                                     bool fin, bool compress) {
  const bool first = !in_message_;
  if (first && type != ws_msg_type::text && type != ws_msg_type::binary) {
    throw value_error("a WebSocket data message is text or binary");
  }
  const bool text = first ? type == ws_msg_type::text : text_message_;
  if (text) {
    // Checked on a copy so that a refused fragment leaves the writer as it was.
    detail::utf8_validator v = first ? detail::utf8_validator{} : utf8_;
    if (!v.feed(bytes_of(data), data.size()) || (fin && !v.complete())) {
      throw value_error("text message is not UTF-8 (RFC 6455 section 5.6)");
    }
    utf8_ = v;
  }
  if (first) {
    text_message_ = text;
    compressing_message_ = compress && deflater_ != nullptr;
  }
  const ws_opcode op = !first ? ws_opcode::continuation
                       : text ? ws_opcode::text
                              : ws_opcode::binary;
  if (!compressing_message_) {
    emit(out, op, data, fin, false);
  } else {
    deflater_->compress(data, compressed_);
    if (fin) {
      const std::string_view tail(reinterpret_cast<const char*>(deflate_tail), 4);
      if (compressed_.size() >= 4 &&
          std::string_view(compressed_).substr(compressed_.size() - 4) == tail) {
        compressed_.resize(compressed_.size() - 4);
      } else if (compressed_.empty()) {
        // Nothing came out (the stream was already flushed): send the empty stored block's
        // first byte, which the receiver's appended 00 00 ff ff completes (RFC 7692 7.2.3.6).
        compressed_.push_back('\0');
      }
      if (deflater_->reset_each_message) deflateReset(&deflater_->z);
    }
    emit(out, op, compressed_, fin, first);
  }
  in_message_ = !fin;
}

void ws_frame_writer::write_control(std::string& out, ws_opcode op, std::string_view payload) {
  if (payload.size() > 125) {
    throw value_error("control frame payload over 125 bytes (RFC 6455 section 5.5)");
  }
  emit(out, op, payload, true, false);
}

void ws_frame_writer::write_ping(std::string& out, std::string_view payload) {
  write_control(out, ws_opcode::ping, payload);
}

void ws_frame_writer::write_pong(std::string& out, std::string_view payload) {
  write_control(out, ws_opcode::pong, payload);
}

void ws_frame_writer::write_close(std::string& out, std::uint16_t code, std::string_view reason) {
  write_control(out, ws_opcode::close, ws_close_payload(code, reason));
}

// --- permessage-deflate negotiation ----------------------------------------------------------

std::vector<ws_deflate_offer> ws_parse_deflate_offers(std::string_view header) {
  std::vector<ws_deflate_offer> offers;
  auto exts = parse_extensions(header);
  if (!exts) return offers;
  for (const auto& e : *exts) {
    if (!ascii_iequals(e.name, "permessage-deflate")) continue;
    std::string why;
    if (auto o = read_deflate_params(e, why)) offers.push_back(*o);
  }
  return offers;
}

std::optional<ws_deflate_agreement> ws_deflate_accept(std::string_view request_header,
                                                      const ws_deflate_options& wanted) {
  check_window_bits(wanted.server_max_window_bits, "server_max_window_bits");
  check_window_bits(wanted.client_max_window_bits, "client_max_window_bits");
  const auto offers = ws_parse_deflate_offers(request_header);
  // zlib can honour every valid offer (window 8 included, see deflater), so the first one is
  // the one accepted.
  if (offers.empty()) return std::nullopt;
  const ws_deflate_offer& o = offers.front();
  ws_deflate_agreement a;
  ws_deflate_params& p = a.params;
  p.server_no_context_takeover = o.server_no_context_takeover || wanted.server_no_context_takeover;
  p.client_no_context_takeover = o.client_no_context_takeover || wanted.client_no_context_takeover;
  p.server_max_window_bits =
      std::min(wanted.server_max_window_bits, o.server_max_window_bits.value_or(15));
  // The client's window can only be limited if it said it can take a limit (RFC 7692 7.1.2.2);
  // its value is a hint that saves the server a bigger window than needed.
  if (o.client_max_window_bits_present) {
    p.client_max_window_bits =
        std::min(wanted.client_max_window_bits, o.client_max_window_bits.value_or(15));
  }
  a.response = "permessage-deflate";
  if (p.server_no_context_takeover) a.response += "; server_no_context_takeover";
  if (p.client_no_context_takeover) a.response += "; client_no_context_takeover";
  // An offered server_max_window_bits is accepted by naming it (RFC 7692 7.1.2.1).
  if (o.server_max_window_bits || p.server_max_window_bits < 15) {
    a.response += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
  }
  if (p.client_max_window_bits < 15) {
    a.response += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
  }
  return a;
}

std::string ws_deflate_make_offer(const ws_deflate_options& offer) {
  check_window_bits(offer.server_max_window_bits, "server_max_window_bits");
  check_window_bits(offer.client_max_window_bits, "client_max_window_bits");
  std::string s = "permessage-deflate";
  if (offer.server_no_context_takeover) s += "; server_no_context_takeover";
  if (offer.client_no_context_takeover) s += "; client_no_context_takeover";
  if (offer.server_max_window_bits < 15) {
    s += "; server_max_window_bits=" + std::to_string(offer.server_max_window_bits);
  }
  // Always say the client can take a window limit: it costs nothing and lets a server save
  // memory.
  s += "; client_max_window_bits";
  if (offer.client_max_window_bits < 15) s += "=" + std::to_string(offer.client_max_window_bits);
  return s;
}

std::optional<ws_deflate_params> ws_deflate_check_response(std::string_view response_header,
                                                           const ws_deflate_options& offer) {
  auto refuse = [](const std::string& why) -> ws_handshake_error {
    return ws_handshake_error("Sec-WebSocket-Extensions response refused: " + why +
                              " (RFC 7692 section 5)");
  };
  auto exts = parse_extensions(response_header);
  if (!exts) throw refuse("malformed header value");
  if (exts->empty()) return std::nullopt;
  if (exts->size() > 1) throw refuse("more than one extension accepted");
  const extension& e = exts->front();
  if (!ascii_iequals(e.name, "permessage-deflate")) {
    throw refuse("extension " + e.name + " was not offered");
  }
  std::string why;
  auto r = read_deflate_params(e, why);
  if (!r) throw refuse(why);
  if (r->client_max_window_bits_present && !r->client_max_window_bits) {
    throw refuse("client_max_window_bits without a value");
  }
  if (offer.server_no_context_takeover && !r->server_no_context_takeover) {
    throw refuse("server_no_context_takeover was offered and not accepted");
  }
  if (offer.server_max_window_bits < 15) {
    if (!r->server_max_window_bits)
      throw refuse("server_max_window_bits was offered, not accepted");
    if (*r->server_max_window_bits > offer.server_max_window_bits) {
      throw refuse("server_max_window_bits above the offered " +
                   std::to_string(offer.server_max_window_bits));
    }
  }
  if (r->client_max_window_bits && offer.client_max_window_bits < 15 &&
      *r->client_max_window_bits > offer.client_max_window_bits) {
    throw refuse("client_max_window_bits above the offered " +
                 std::to_string(offer.client_max_window_bits));
  }
  ws_deflate_params p;
  p.server_no_context_takeover = r->server_no_context_takeover;
  // Offering client_no_context_takeover is a promise the client keeps either way.
  p.client_no_context_takeover = r->client_no_context_takeover || offer.client_no_context_takeover;
  p.server_max_window_bits = r->server_max_window_bits.value_or(15);
  p.client_max_window_bits =
      std::min(r->client_max_window_bits.value_or(15), offer.client_max_window_bits);
  return p;
}

// --- handshake -------------------------------------------------------------------------------

std::string ws_accept_key(std::string_view sec_websocket_key) {
  std::string s;
  s.reserve(sec_websocket_key.size() + ws_guid.size());
  s.append(sec_websocket_key).append(ws_guid);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr) != 1) {
    throw invalid_state_error("OpenSSL could not compute SHA-1");
  }
  return base64(md, len);
}

std::string ws_make_client_key() {
  unsigned char nonce[16];
  fill_random(nonce, sizeof nonce);
  return base64(nonce, sizeof nonce);
}

bool ws_is_valid_client_key(std::string_view key) noexcept {
  // 16 bytes are 22 base64 digits and "==". The 22nd digit carries only 2 bits of data, so
  // its other 4 are zero in the canonical form: A, Q, g or w.
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  auto digit = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (std::size_t i = 0; i < 22; ++i) {
    if (digit(key[i]) < 0) return false;
  }
  return (digit(key[21]) & 0x0f) == 0;
}

}  // namespace concur::http
