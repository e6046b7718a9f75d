// libFuzzer target: HTTP/1.1 requests through http::parser (what the server parses).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  concur_fuzz::drive(concur::http::message_kind::request, data, size);
  return 0;
}
