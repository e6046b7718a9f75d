#pragma once
// Content-Encoding support through zlib: streaming decompression of gzip and deflate bodies
// (what aiohttp does for Content-Encoding) and one-shot compression for tests and servers.
#include <memory>
#include <string>
#include <string_view>

namespace concur::http {

enum class content_coding { identity, gzip, deflate };

// Parses a Content-Encoding value ("gzip", "x-gzip", "deflate", "identity", "");
// throws payload_error for codings it cannot decode (e.g. "br").
content_coding parse_content_coding(std::string_view value);

class decompressor {
 public:
  explicit decompressor(content_coding coding);
  decompressor(decompressor&&) noexcept;
  decompressor& operator=(decompressor&&) noexcept;
  ~decompressor();

  // Appends the decoded form of `data` to `out`. Throws payload_error on corrupt input or when
  // the decoded size would pass `max_output` in total (a decompression bomb).
  void feed(std::string_view data, std::string& out);
  // The body ended: throws payload_error if the compressed stream was cut short.
  void finish();
  void set_max_output(std::size_t n) noexcept { max_output_ = n; }

 private:
  struct state;
  std::unique_ptr<state> state_;
  content_coding coding_;
  std::size_t total_out_ = 0;
  std::size_t max_output_ = std::size_t(1) << 30;
  bool ended_ = false;
};

// Compresses `data` as gzip or deflate (zlib-wrapped, as RFC 9110 defines "deflate").
std::string compress(std::string_view data, content_coding coding, int level = 6);

}  // namespace concur::http
