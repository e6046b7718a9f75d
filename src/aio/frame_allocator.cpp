#include <array>
#include <concur/aio/frame_allocator.hpp>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CONCUR_AIO_NO_FRAME_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CONCUR_AIO_NO_FRAME_CACHE 1
#endif
#endif

namespace concur::aio::detail {

#ifndef CONCUR_AIO_NO_FRAME_CACHE
namespace {

constexpr std::size_t granularity = 16;
constexpr std::size_t classes = 64;  // blocks up to 1 KiB
constexpr std::size_t max_cached_bytes = std::size_t{64} << 20;

struct free_block {
  free_block* next;
};

class frame_cache {
 public:
  frame_cache() = default;
  frame_cache(const frame_cache&) = delete;
  frame_cache& operator=(const frame_cache&) = delete;
  ~frame_cache() {
    for (std::size_t c = 0; c < classes; ++c) {
      while (free_block* b = heads_[c]) {
        heads_[c] = b->next;
        ::operator delete(b);
      }
    }
  }
  void* take(std::size_t c) noexcept {
    free_block* b = heads_[c];
    if (b == nullptr) return nullptr;
    heads_[c] = b->next;
    cached_ -= (c + 1) * granularity;
    return b;
  }
  bool give(void* p, std::size_t c) noexcept {
    std::size_t bytes = (c + 1) * granularity;
    if (cached_ + bytes > max_cached_bytes) return false;
    auto* b = static_cast<free_block*>(p);
    b->next = heads_[c];
    heads_[c] = b;
    cached_ += bytes;
    return true;
  }

 private:
  std::array<free_block*, classes> heads_{};
  std::size_t cached_ = 0;
};

// Set once this thread's cache is destroyed: frames freed later (other thread_local
// destructors) go straight back to the heap.
thread_local bool cache_gone = false;

struct owned_cache : frame_cache {
  ~owned_cache() { cache_gone = true; }
};

frame_cache* cache() noexcept {
  if (cache_gone) return nullptr;
  thread_local owned_cache c;
  return &c;
}

std::size_t size_class(std::size_t size) noexcept {
  return (size + granularity - 1) / granularity - 1;
}

}  // namespace

void* frame_allocate(std::size_t size) {
  std::size_t c = size_class(size);
  if (c < classes) {
    if (frame_cache* fc = cache()) {
      if (void* p = fc->take(c)) return p;
    }
    return ::operator new((c + 1) * granularity);
  }
  return ::operator new(size);
}

void frame_deallocate(void* p, std::size_t size) noexcept {
  std::size_t c = size_class(size);
  if (c < classes) {
    frame_cache* fc = cache();
    if (fc != nullptr && fc->give(p, c)) return;
  }
  ::operator delete(p);
}

#else

void* frame_allocate(std::size_t size) { return ::operator new(size); }
void frame_deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }

#endif

}  // namespace concur::aio::detail
