#pragma once
#include <cstddef>

namespace concur::aio::detail {

// Coroutine frames of aio::task come from here: a per-thread cache of recently freed blocks
// by 16-byte size class (up to 1 KiB, at most 64 MiB cached per thread, freed at thread
// exit). Programs create and destroy tasks by the hundred thousand; reusing warm blocks
// avoids malloc's search and the page faults of memory it has just returned to the OS.
// Each block is an ordinary ::operator new block, so any thread may free any block.
// Under sanitizers the cache is bypassed so use-after-free stays detectable.
void* frame_allocate(std::size_t size);
void frame_deallocate(void* p, std::size_t size) noexcept;

}  // namespace concur::aio::detail
