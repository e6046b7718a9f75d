#pragma once
// Intrusive lists for aio's waiters: a node lives in the waiting frame and links itself into
// the list of what it waits for, so waiting never allocates.
#include <cstddef>

namespace concur::aio::detail {

class hook_list;

// A node linked into a list owned by what it waits for: waiting never allocates.
struct list_hook {
  list_hook() = default;
  // Awaiters may be moved before they are awaited (never while linked).
  list_hook(list_hook&&) noexcept {}
  list_hook(const list_hook&) = delete;
  list_hook& operator=(const list_hook&) = delete;
  ~list_hook() { unlink(); }
  void unlink() noexcept;
  bool linked() const noexcept { return owner != nullptr; }

  list_hook* prev = nullptr;
  list_hook* next = nullptr;
  hook_list* owner = nullptr;
};

class hook_list {
 public:
  hook_list() = default;
  hook_list(const hook_list&) = delete;
  hook_list& operator=(const hook_list&) = delete;
  // The owner dies first (a torn-down frame): its nodes must not point back at it.
  ~hook_list() {
    while (head_ != nullptr) remove(head_);
  }
  bool empty() const noexcept { return head_ == nullptr; }
  void push_back(list_hook* n) noexcept {
    n->owner = this;
    n->prev = tail_;
    n->next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = n;
    tail_ = n;
  }
  void remove(list_hook* n) noexcept {
    (n->prev != nullptr ? n->prev->next : head_) = n->next;
    (n->next != nullptr ? n->next->prev : tail_) = n->prev;
    n->prev = n->next = nullptr;
    n->owner = nullptr;
  }
  list_hook* front() const noexcept { return head_; }

 private:
  list_hook* head_ = nullptr;
  list_hook* tail_ = nullptr;
};

inline void list_hook::unlink() noexcept {
  if (owner != nullptr) owner->remove(this);
}

// A hook_list of Node (each derived from list_hook), in insertion order.
template <class Node>
class intrusive_list : public hook_list {
 public:
  Node* front() const noexcept { return as_node(hook_list::front()); }
  static Node* next(const Node* n) noexcept { return as_node(n->list_hook::next); }
  Node* pop_front() noexcept {
    Node* n = front();
    if (n != nullptr) remove(n);
    return n;
  }
  // Visits every node; f may unlink the node it is given.
  template <class F>
  void for_each(F f) {
    for (Node* n = front(); n != nullptr;) {
      Node* after = next(n);
      f(*n);
      n = after;
    }
  }
  std::size_t size() const noexcept {
    std::size_t k = 0;
    for (Node* n = front(); n != nullptr; n = next(n)) ++k;
    return k;
  }

 private:
  static Node* as_node(list_hook* h) noexcept {
    return h == nullptr ? nullptr : static_cast<Node*>(h);
  }
};

}  // namespace concur::aio::detail
