#pragma once
// multiprocessing.Value / Array / RawValue / RawArray: values of a trivially copyable T in memory
// shared by processes, with a recursive_mutex beside them (get_lock()) unless raw. Pass one to
// mp::process or a pool initializer; the other side reads and writes the same memory. Copies are
// handles to the same memory.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <type_traits>
#include <vector>

#include "concur/mp/detail/shared_segment.hpp"
#include "concur/mp/synchronize.hpp"

namespace concur::mp {

namespace detail {

template <class T>
struct locked_value_layout {
  explicit locked_value_layout(const T& v) : value(v) {}
  mutex_state lock;  // first: synchronized_base finds it at the segment's start
  T value;
};

template <class T>
struct raw_value_layout {
  explicit raw_value_layout(const T& v) : value(v) {}
  T value;
};

// An array's header; its items follow at items_offset<T>().
struct array_header {
  explicit array_header(std::uint64_t n) : size(n) {}
  mutex_state lock;  // first, as in locked_value_layout (unused by a raw array)
  std::uint64_t size;
};

template <class T>
constexpr std::size_t items_offset() noexcept {
  return (sizeof(array_header) + alignof(T) - 1) / alignof(T) * alignof(T);
}

template <class T>
constexpr void check_shareable() {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>,
                "concur::mp: shared values and arrays hold trivially copyable, standard-layout "
                "types (numbers, plain structs): the other processes read the same bytes");
}

// Python's SynchronizedBase: get_lock(), acquire/release, and lock/unlock for std::lock_guard,
// of a value or an array whose segment starts with its lock (both layouts put it first).
class synchronized_base {
 public:
  recursive_mutex get_lock() const { return recursive_mutex(lock_); }
  bool acquire(bool block = true) const {
    return acquire_mutex(*lock_, true, block, clock::time_point::max());
  }
  void release() const { release_mutex(*lock_, true); }
  void lock() const { acquire(); }
  void unlock() const { release(); }

 protected:
  void attach_lock(const std::shared_ptr<shared_segment>& seg) { lock_ = {seg, 0}; }

 private:
  shared_ref<mutex_state> lock_;
};

// RawValue and RawArray have none of it.
class unsynchronized_base {
 protected:
  void attach_lock(const std::shared_ptr<shared_segment>&) {}
};

template <bool Locked>
using sync_base_t = std::conditional_t<Locked, synchronized_base, unsynchronized_base>;

}  // namespace detail

// Value(typecode, v) / RawValue: value() is the shared T itself (Python's .value); with a lock,
// hold get_lock() around a read-modify-write (`v.value() += 1` is not atomic, as in Python).
template <class T, bool Locked>
class basic_value : public detail::sync_base_t<Locked> {
  using layout =
      std::conditional_t<Locked, detail::locked_value_layout<T>, detail::raw_value_layout<T>>;

 public:
  basic_value() : basic_value(T{}) {}
  explicit basic_value(const T& initial)
      : ref_(detail::make_shared_state<layout>(Locked ? "concur-mp-value" : "concur-mp-raw-value",
                                               initial)) {
    detail::check_shareable<T>();
    this->attach_lock(ref_.segment());
  }

  T& value() const noexcept { return ref_->value; }

  template <class Archive>
  void save(Archive& ar) const {
    ar(ref_);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(ref_);
    this->attach_lock(ref_.segment());
  }

 private:
  detail::shared_ref<layout> ref_;
};

template <class T>
using value = basic_value<T, true>;
template <class T>
using raw_value = basic_value<T, false>;

// Array(typecode, n or values) / RawArray: a fixed number of T, zero-filled or copied from
// values; a std::span of them through span(), [] and begin()/end(). The raw form has no lock
// (get_lock() is only on array).
template <class T, bool Locked>
class basic_array : public detail::sync_base_t<Locked> {
 public:
  // An empty handle (what a received array is loaded into).
  basic_array() = default;
  explicit basic_array(std::size_t n) : basic_array(n, nullptr) {}
  basic_array(std::initializer_list<T> values) : basic_array(std::span<const T>(values)) {}
  explicit basic_array(std::span<const T> values) : basic_array(values.size(), values.data()) {}
  explicit basic_array(const std::vector<T>& values) : basic_array(std::span<const T>(values)) {}

  std::span<T> span() const noexcept {
    if (!ref_) return {};
    return {reinterpret_cast<T*>(ref_.segment()->data() + detail::items_offset<T>()), size()};
  }
  T& operator[](std::size_t i) const noexcept { return span()[i]; }
  std::size_t size() const noexcept { return ref_ ? static_cast<std::size_t>(ref_->size) : 0; }
  T* begin() const noexcept { return span().data(); }
  T* end() const noexcept { return span().data() + size(); }
  std::vector<T> to_vector() const { return {begin(), end()}; }

  template <class Archive>
  void save(Archive& ar) const {
    ar(ref_);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(ref_);
    if (detail::items_offset<T>() + size() * sizeof(T) > ref_.segment()->size())
      throw error("concur::mp: an array arrived with a segment too small for its items");
    this->attach_lock(ref_.segment());
  }

 private:
  basic_array(std::size_t n, const T* from) {
    detail::check_shareable<T>();
    const std::size_t bytes = detail::items_offset<T>() + n * sizeof(T);
    auto seg = std::make_shared<detail::shared_segment>(
        bytes, Locked ? "concur-mp-array" : "concur-mp-raw-array");
    ::new (static_cast<void*>(seg->data())) detail::array_header(n);
    if (from != nullptr && n > 0)
      std::memcpy(seg->data() + detail::items_offset<T>(), from, n * sizeof(T));
    ref_ = detail::shared_ref<detail::array_header>(std::move(seg), 0);
    this->attach_lock(ref_.segment());
  }

  detail::shared_ref<detail::array_header> ref_;
};

template <class T>
using array = basic_array<T, true>;
template <class T>
using raw_array = basic_array<T, false>;

}  // namespace concur::mp
