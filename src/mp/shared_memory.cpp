#include "concur/mp/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "concur/core/fd.hpp"
#include "concur/core/random.hpp"

namespace concur::mp {

namespace {

// Python names its blocks "psm_" and 8 random hex digits; these say whose they are.
std::string fresh_name() { return "concur_" + random_hex(8); }

std::string path_of(std::string_view name) {
  if (name.empty()) throw value_error("shared_memory: the name is empty");
  std::string path = name.front() == '/' ? std::string(name) : "/" + std::string(name);
  if (path.find('/', 1) != std::string::npos)
    throw value_error("shared_memory: a name cannot contain '/' after its first character");
  return path;
}

std::byte* map_block(int fd, std::size_t size, const std::string& name) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw_last_os_error("shared_memory: mmap of '" + name + "'");
  return static_cast<std::byte*>(p);
}

}  // namespace

shared_memory::shared_memory(std::string_view name) {
  const std::string path = path_of(name);
  concur::unique_fd fd(::shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (!fd) throw_last_os_error("shared_memory: open '" + path.substr(1) + "'");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_last_os_error("shared_memory: fstat");
  if (st.st_size <= 0) throw value_error("shared_memory: '" + path.substr(1) + "' is empty");
  size_ = static_cast<std::size_t>(st.st_size);
  name_ = path.substr(1);
  data_ = map_block(fd.get(), size_, name_);
}

shared_memory shared_memory::create(std::size_t size, std::string_view name) {
  if (size == 0) throw value_error("shared_memory: 'size' must be a positive number");
  const bool chosen = !name.empty();
  for (int attempt = 0;; ++attempt) {
    const std::string path = path_of(chosen ? std::string(name) : fresh_name());
    concur::unique_fd fd(::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == EEXIST && !chosen && attempt < 8) continue;
      throw_last_os_error("shared_memory: create '" + path.substr(1) + "'");
    }
    shared_memory m;
    m.name_ = path.substr(1);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      const int err = errno;
      ::shm_unlink(path.c_str());
      throw_os_error(err, "shared_memory: ftruncate");
    }
    try {
      m.data_ = map_block(fd.get(), size, m.name_);
    } catch (...) {
      ::shm_unlink(path.c_str());
      throw;
    }
    m.size_ = size;
    return m;
  }
}

shared_memory::shared_memory(shared_memory&& o) noexcept
    : name_(std::move(o.name_)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

shared_memory& shared_memory::operator=(shared_memory&& o) noexcept {
  if (this != &o) {
    close();
    name_ = std::move(o.name_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

void shared_memory::close() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

void shared_memory::unlink() {
  if (::shm_unlink(path_of(name_).c_str()) != 0)
    throw_last_os_error("shared_memory: unlink '" + name_ + "'");
}

}  // namespace concur::mp
