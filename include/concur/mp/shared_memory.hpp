#pragma once
// multiprocessing.shared_memory: SharedMemory (a named block of memory any process can attach
// by name) and ShareableList (a fixed-length list of one trivially copyable type in such a
// block).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/mp/errors.hpp"

namespace concur::mp {

// SharedMemory: POSIX shared memory (/dev/shm) mapped into this process. create() makes a new
// block (a fresh name unless one is given; os_error with EEXIST if the name is taken); the
// constructor attaches to an existing one by name (os_error with ENOENT if there is none). As
// in Python, close() unmaps it here (the destructor does that too) and unlink() removes the
// name once every process is done; a block nobody unlinks stays until reboot (Python's
// resource tracker would unlink it; C++ has none: unlink it yourself). Sending one to another
// process sends its name, so it can go to pool tasks too.
class shared_memory {
 public:
  shared_memory() = default;
  explicit shared_memory(std::string_view name);
  static shared_memory create(std::size_t size, std::string_view name = {});
  shared_memory(shared_memory&& o) noexcept;
  shared_memory& operator=(shared_memory&& o) noexcept;
  shared_memory(const shared_memory&) = delete;
  shared_memory& operator=(const shared_memory&) = delete;
  ~shared_memory() { close(); }

  // The block's bytes (empty once closed).
  std::span<std::byte> buf() const noexcept { return {data_, size_}; }
  // Its name, without the leading '/', as Python's .name.
  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return size_; }
  void close() noexcept;
  void unlink();

  template <class Archive>
  void save(Archive& ar) const {
    ar(name_);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::string name;
    ar(name);
    *this = shared_memory(name);
  }

 private:
  std::string name_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {
// What a shareable_list's block starts with: a check that an attaching process reads it as the
// type it was written as (its size and a tag), then the count.
struct list_header {
  std::uint64_t magic;
  std::uint64_t item_size;
  std::uint64_t count;
};
inline constexpr std::uint64_t list_magic = 0x636f6e6375722d6cULL;  // "concur-l"
}  // namespace detail

// ShareableList: a fixed number of T (trivially copyable: numbers, plain structs, fixed-size
// arrays) in a shared_memory block; create(values) or attach by name. Python's list holds mixed
// types with per-slot formats; here the type is the template's, and attaching to a block written
// with another item size throws value_error. at(i) checks the index (std::out_of_range, Python's
// IndexError); index(v) throws value_error when v is absent, as Python's.
template <class T>
class shareable_list {
  static_assert(std::is_trivially_copyable_v<T>,
                "concur::mp: shareable_list holds trivially copyable types");

 public:
  shareable_list() = default;
  explicit shareable_list(std::string_view name) : shm_(name) { check(); }
  static shareable_list create(std::span<const T> values, std::string_view name = {}) {
    shareable_list l;
    l.shm_ = shared_memory::create(sizeof(detail::list_header) + values.size() * sizeof(T), name);
    const detail::list_header h{detail::list_magic, sizeof(T), values.size()};
    std::memcpy(l.shm_.buf().data(), &h, sizeof h);
    if (!values.empty())
      std::memcpy(l.shm_.buf().data() + sizeof h, values.data(), values.size() * sizeof(T));
    l.count_ = values.size();
    return l;
  }
  static shareable_list create(std::initializer_list<T> values, std::string_view name = {}) {
    return create(std::span<const T>(values.begin(), values.size()), name);
  }

  std::size_t size() const noexcept { return count_; }
  T* begin() const noexcept { return items(); }
  T* end() const noexcept { return items() + count_; }
  T& operator[](std::size_t i) const noexcept { return items()[i]; }
  T& at(std::size_t i) const {
    if (i >= count_) throw std::out_of_range("shareable_list index out of range");
    return items()[i];
  }
  std::size_t count(const T& v) const {
    std::size_t n = 0;
    for (const T& x : *this) n += equal(x, v) ? 1 : 0;
    return n;
  }
  std::size_t index(const T& v) const {
    for (std::size_t i = 0; i < count_; ++i)
      if (equal(items()[i], v)) return i;
    throw value_error("shareable_list::index: value not in the list");
  }
  const shared_memory& shm() const noexcept { return shm_; }
  shared_memory& shm() noexcept { return shm_; }

  template <class Archive>
  void save(Archive& ar) const {
    ar(shm_);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(shm_);
    check();
  }

 private:
  static bool equal(const T& a, const T& b) {
    if constexpr (requires { a == b; }) {
      return a == b;
    } else {
      return std::memcmp(&a, &b, sizeof(T)) == 0;
    }
  }
  T* items() const noexcept {
    return reinterpret_cast<T*>(shm_.buf().data() + sizeof(detail::list_header));
  }
  void check() {
    detail::list_header h{};
    if (shm_.size() < sizeof h)
      throw value_error("shareable_list: '" + shm_.name() + "' is not a shareable_list");
    std::memcpy(&h, shm_.buf().data(), sizeof h);
    if (h.magic != detail::list_magic)
      throw value_error("shareable_list: '" + shm_.name() + "' is not a shareable_list");
    if (h.item_size != sizeof(T))
      throw value_error("shareable_list: '" + shm_.name() + "' holds items of " +
                        std::to_string(h.item_size) + " bytes, not " + std::to_string(sizeof(T)));
    if (h.count > (shm_.size() - sizeof h) / sizeof(T))
      throw value_error("shareable_list: '" + shm_.name() + "' is shorter than its count");
    count_ = static_cast<std::size_t>(h.count);
  }

  shared_memory shm_;
  std::size_t count_ = 0;
};

}  // namespace concur::mp
