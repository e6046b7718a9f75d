#include "concur/http/compression.hpp"

#include <zlib.h>

#include <cstring>

#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"

namespace concur::http {

content_coding parse_content_coding(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || iequals(value, "identity")) return content_coding::identity;
  if (iequals(value, "gzip") || iequals(value, "x-gzip")) return content_coding::gzip;
  if (iequals(value, "deflate")) return content_coding::deflate;
  throw payload_error("unsupported Content-Encoding '" + std::string(value) + "'");
}

struct decompressor::state {
  z_stream z{};
  bool initialised = false;
  // "deflate" in the wild is sometimes raw deflate without the zlib wrapper; decided from the
  // first bytes.
  bool sniffed = false;
  ~state() {
    if (initialised) inflateEnd(&z);
  }
  void init(int window_bits) {
    if (initialised) inflateEnd(&z);
    z = z_stream{};
    if (inflateInit2(&z, window_bits) != Z_OK) throw payload_error("cannot initialise zlib");
    initialised = true;
  }
};

decompressor::decompressor(content_coding coding) : coding_(coding) {
  if (coding_ == content_coding::identity) return;
  state_ = std::make_unique<state>();
  // 16+: gzip wrapper only; deflate starts as zlib-wrapped and may switch to raw below.
  state_->init(coding_ == content_coding::gzip ? 16 + MAX_WBITS : MAX_WBITS);
}

decompressor::decompressor(decompressor&&) noexcept = default;
decompressor& decompressor::operator=(decompressor&&) noexcept = default;
decompressor::~decompressor() = default;

void decompressor::feed(std::string_view data, std::string& out) {
  if (coding_ == content_coding::identity) {
    total_out_ += data.size();
    out.append(data);
    return;
  }
  if (data.empty()) return;
  auto& s = *state_;
  if (coding_ == content_coding::deflate && !s.sniffed) {
    s.sniffed = true;
    auto b0 = static_cast<unsigned char>(data[0]);
    // A zlib header has compression method 8 in the low nibble; otherwise assume raw deflate.
    if ((b0 & 0x0f) != 8) s.init(-MAX_WBITS);
  }
  if (ended_) {
    // Trailing garbage after the end of the stream: ignore like browsers and aiohttp do.
    return;
  }
  s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.z.avail_in = static_cast<uInt>(data.size());
  while (s.z.avail_in > 0 && !ended_) {
    char buf[16384];
    s.z.next_out = reinterpret_cast<Bytef*>(buf);
    s.z.avail_out = sizeof buf;
    int r = inflate(&s.z, Z_NO_FLUSH);
    std::size_t produced = sizeof buf - s.z.avail_out;
    total_out_ += produced;
    if (total_out_ > max_output_)
      throw payload_error("decompressed body exceeds " + std::to_string(max_output_) + " bytes");
    out.append(buf, produced);
    if (r == Z_STREAM_END) {
      ended_ = true;
    } else if (r == Z_BUF_ERROR && produced == 0) {
      break;
    } else if (r != Z_OK) {
      throw payload_error(std::string("cannot decode ") +
                          (coding_ == content_coding::gzip ? "gzip" : "deflate") +
                          " body: " + (s.z.msg ? s.z.msg : "corrupt data"));
    }
  }
  // Bytes may remain buffered inside zlib's window; drain them.
  while (!ended_) {
    char buf[16384];
    s.z.next_out = reinterpret_cast<Bytef*>(buf);
    s.z.avail_out = sizeof buf;
    int r = inflate(&s.z, Z_NO_FLUSH);
    std::size_t produced = sizeof buf - s.z.avail_out;
    if (produced == 0) break;
    total_out_ += produced;
    if (total_out_ > max_output_)
      throw payload_error("decompressed body exceeds " + std::to_string(max_output_) + " bytes");
    out.append(buf, produced);
    if (r == Z_STREAM_END) ended_ = true;
  }
}

void decompressor::finish() {
  if (coding_ == content_coding::identity || ended_) return;
  throw payload_error(std::string("truncated ") +
                      (coding_ == content_coding::gzip ? "gzip" : "deflate") + " body");
}

std::string compress(std::string_view data, content_coding coding, int level) {
  if (coding == content_coding::identity) return std::string(data);
  z_stream z{};
  int bits = coding == content_coding::gzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (deflateInit2(&z, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw payload_error("cannot initialise zlib");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int r = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (r != Z_STREAM_END) throw payload_error("compression failed");
  return out;
}

}  // namespace concur::http
