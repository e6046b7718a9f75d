#include "concur/mp/detail/shared_segment.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "concur/mp/errors.hpp"

namespace concur::mp::detail {

namespace {

std::byte* map_shared(int fd, std::size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw_last_os_error("concur::mp: mmap of shared memory");
  return static_cast<std::byte*>(p);
}

}  // namespace

shared_segment::shared_segment(std::size_t size, const char* what)
    : fd_(::memfd_create(what, MFD_CLOEXEC)), size_(size == 0 ? 1 : size) {
  if (!fd_) throw_last_os_error("concur::mp: memfd_create");
  if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0)
    throw_last_os_error("concur::mp: ftruncate of shared memory");
  data_ = map_shared(fd_.get(), size_);
}

shared_segment::shared_segment(unique_fd fd) : fd_(std::move(fd)) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_last_os_error("concur::mp: fstat of shared memory");
  if (st.st_size <= 0) throw error("concur::mp: a shared object arrived with an empty segment");
  size_ = static_cast<std::size_t>(st.st_size);
  data_ = map_shared(fd_.get(), size_);
}

shared_segment::~shared_segment() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace concur::mp::detail
