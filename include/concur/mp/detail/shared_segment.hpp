#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "concur/mp/connection.hpp"
#include "concur/mp/detail/fd.hpp"

namespace concur::mp::detail {

// Memory shared by every process that holds its descriptor: a memfd mapped MAP_SHARED. Workers
// are forked from the fork server, not from this program, so an anonymous mapping would not
// reach them; the descriptor does, beside the bytes of a Process's or an initializer's
// arguments (SCM_RIGHTS), and the receiver maps the same pages.
class shared_segment {
 public:
  // A new segment of `size` zero bytes; `what` names it in /proc/<pid>/maps.
  shared_segment(std::size_t size, const char* what);
  // Maps a segment received from another process.
  explicit shared_segment(unique_fd fd);
  shared_segment(const shared_segment&) = delete;
  shared_segment& operator=(const shared_segment&) = delete;
  ~shared_segment();

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  int fd() const noexcept { return fd_.get(); }

 private:
  unique_fd fd_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// A handle to an object of type State at `offset` in a shared segment: what every process-shared
// object (lock, event, value, ...) holds. Copies are handles to the same object. It travels to
// another process as the segment's descriptor and the offset.
template <class State>
class shared_ref {
 public:
  shared_ref() = default;
  shared_ref(std::shared_ptr<shared_segment> seg, std::size_t offset)
      : seg_(std::move(seg)), offset_(offset) {}

  State* get() const noexcept {
    return std::launder(reinterpret_cast<State*>(seg_->data() + offset_));
  }
  State* operator->() const noexcept { return get(); }
  State& operator*() const noexcept { return *get(); }
  const std::shared_ptr<shared_segment>& segment() const noexcept { return seg_; }
  std::size_t offset() const noexcept { return offset_; }
  explicit operator bool() const noexcept { return static_cast<bool>(seg_); }

  // A member of this object (another object in the same segment).
  template <class Other>
  shared_ref<Other> member(Other State::*field) const {
    const auto* at = reinterpret_cast<const std::byte*>(&(get()->*field));
    return shared_ref<Other>(seg_, static_cast<std::size_t>(at - seg_->data()));
  }

  template <class Archive>
  void save(Archive& ar) const {
    if (!seg_) throw invalid_state_error("concur::mp: cannot pass an empty shared object");
    const std::uint64_t index = fds_of(ar).put(seg_->fd());
    const std::uint64_t offset = offset_;
    ar(index, offset);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::uint64_t index = 0;
    std::uint64_t offset = 0;
    ar(index, offset);
    auto seg = std::make_shared<shared_segment>(unique_fd(fds_of(ar).take(index)));
    if (offset + sizeof(State) > seg->size())
      throw error("concur::mp: a shared object arrived with a segment too small for it");
    seg_ = std::move(seg);
    offset_ = static_cast<std::size_t>(offset);
  }

 private:
  std::shared_ptr<shared_segment> seg_;
  std::size_t offset_ = 0;
};

// A new segment holding one State, constructed in place.
template <class State, class... Args>
shared_ref<State> make_shared_state(const char* what, Args&&... args) {
  auto seg = std::make_shared<shared_segment>(sizeof(State), what);
  ::new (static_cast<void*>(seg->data())) State(std::forward<Args>(args)...);
  return shared_ref<State>(std::move(seg), 0);
}

}  // namespace concur::mp::detail
