#pragma once
// A growable byte buffer with a consumed prefix, so reads append at the tail and parsers
// consume from the head without shifting bytes on every step (compaction happens only when
// the tail runs out of room). Not zero-initialised on growth, unlike std::string::resize.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace concur::net::detail {

class byte_buffer {
 public:
  std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  void consume(std::size_t n) noexcept {
    begin_ += n < size() ? n : size();
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void clear() noexcept { begin_ = end_ = 0; }
  // Room for at least `n` more bytes at the tail; returns where to write them.
  char* prepare(std::size_t n) {
    if (cap_ - end_ >= n) return data_.get() + end_;
    std::size_t used = size();
    if (begin_ > 0 && cap_ - used >= n) {
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      std::size_t cap = cap_ ? cap_ : 4096;
      while (cap - used < n) cap *= 2;
      auto fresh = std::make_unique_for_overwrite<char[]>(cap);
      if (used) std::memcpy(fresh.get(), data_.get() + begin_, used);
      data_ = std::move(fresh);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
    return data_.get() + end_;
  }
  std::size_t tail_room() const noexcept { return cap_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }
  void append(std::string_view s) {
    std::memcpy(prepare(s.size()), s.data(), s.size());
    commit(s.size());
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace concur::net::detail
