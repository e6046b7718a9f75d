#include <gtest/gtest.h>

#include "concur/http/compression.hpp"
#include "concur/http/errors.hpp"

namespace http = concur::http;

namespace {
std::string sample() {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "line " + std::to_string(i) + " of the body\n";
  return s;
}
}  // namespace

TEST(Compression, GzipAndDeflateRoundTripInAnySplit) {
  auto text = sample();
  for (auto coding : {http::content_coding::gzip, http::content_coding::deflate}) {
    auto packed = http::compress(text, coding);
    ASSERT_LT(packed.size(), text.size());
    for (std::size_t step : {1u, 7u, 4096u, 1u << 20}) {
      http::decompressor d(coding);
      std::string out;
      for (std::size_t i = 0; i < packed.size(); i += step)
        d.feed(std::string_view(packed).substr(i, step), out);
      d.finish();
      EXPECT_EQ(out, text);
    }
  }
}

TEST(Compression, RawDeflateAccepted) {
  // Some servers send raw deflate for "deflate"; build one by stripping the zlib wrapper.
  auto wrapped = http::compress("hello hello hello", http::content_coding::deflate);
  std::string raw = wrapped.substr(2, wrapped.size() - 6);
  http::decompressor d(http::content_coding::deflate);
  std::string out;
  d.feed(raw, out);
  EXPECT_EQ(out, "hello hello hello");
}

TEST(Compression, CorruptAndTruncatedAreErrors) {
  auto packed = http::compress(sample(), http::content_coding::gzip);
  {
    http::decompressor d(http::content_coding::gzip);
    std::string out;
    d.feed(packed.substr(0, packed.size() / 2), out);
    EXPECT_THROW(d.finish(), http::payload_error);
  }
  {
    http::decompressor d(http::content_coding::gzip);
    std::string out;
    EXPECT_THROW(d.feed("this is not gzip at all, no sir", out), http::payload_error);
  }
}

TEST(Compression, BombIsStopped) {
  std::string zeros(10 << 20, '\0');
  auto packed = http::compress(zeros, http::content_coding::gzip);
  http::decompressor d(http::content_coding::gzip);
  d.set_max_output(1 << 20);
  std::string out;
  EXPECT_THROW(d.feed(packed, out), http::payload_error);
}

TEST(Compression, CodingNames) {
  EXPECT_EQ(http::parse_content_coding(" GZIP "), http::content_coding::gzip);
  EXPECT_EQ(http::parse_content_coding("x-gzip"), http::content_coding::gzip);
  EXPECT_EQ(http::parse_content_coding("deflate"), http::content_coding::deflate);
  EXPECT_EQ(http::parse_content_coding(""), http::content_coding::identity);
  EXPECT_THROW(http::parse_content_coding("br"), http::payload_error);
}
