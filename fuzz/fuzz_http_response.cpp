// libFuzzer target: HTTP/1.1 responses through http::parser (what the client parses), and
// their bodies through the gzip decoder.
#include <string>

#include "concur/http/compression.hpp"
#include "concur/http/errors.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  concur_fuzz::drive(concur::http::message_kind::response, data, size);
  if (size > 0 && (data[0] & 0x80) != 0) {
    try {
      concur::http::decompressor d(concur::http::content_coding::gzip);
      d.set_max_output(1 << 20);
      std::string out;
      d.feed(std::string_view(reinterpret_cast<const char*>(data), size), out);
      d.finish();
    } catch (const concur::http::payload_error&) {
    }
  }
  return 0;
}
