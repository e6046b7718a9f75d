#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <concur/futures/detail/state.hpp>
#include <cstdio>
#include <ctime>

namespace concur::detail {

namespace {

// Polls this many rounds (busy, then yielding the CPU, which on a machine with fewer cores
// than threads lets the producer run) before sleeping: a result that is microseconds away
// is cheaper to wait for awake than through the kernel.
constexpr int pause_rounds = 64;
constexpr int yield_rounds = 16;

bool finished(std::uint32_t s) noexcept { return (s & phase_mask) >= phase_finished; }

std::uint32_t poll_until_done(const std::atomic<std::uint32_t>& status) noexcept {
  std::uint32_t s = status.load(std::memory_order_acquire);
  for (int i = 0; i < pause_rounds + yield_rounds && !finished(s); ++i) {
    if (i < pause_rounds)
      cpu_relax();
    else
      sched_yield();
    s = status.load(std::memory_order_acquire);
  }
  return s;
}

}  // namespace

void report_callback_error(const std::exception_ptr& error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "concur: exception calling a future's done-callback: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr,
                 "concur: exception calling a future's done-callback (not a std::exception)\n");
  }
}

namespace {
done_callback_node* as_node(std::uintptr_t word) noexcept {
  return reinterpret_cast<done_callback_node*>(word);
}
std::uintptr_t as_word(done_callback_node* node) noexcept {
  return reinterpret_cast<std::uintptr_t>(node);
}
}  // namespace

state_base::~state_base() {
  // Callbacks of a state that never completed (only possible when its producer never
  // existed) are dropped without being called.
  const std::uintptr_t word = callbacks_.load(std::memory_order_relaxed);
  if (word == closed_word) return;
  done_callback_node* node = as_node(word);
  while (node != nullptr) {
    done_callback_node* next = node->next;
    std::unique_ptr<done_callback_node> owned(node);
    node = next;
  }
}

bool state_base::cancel() noexcept {
  std::uint32_t s = status_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t p = s & phase_mask;
    if (p == phase_cancelled) return true;
    if (p != phase_pending) return false;
    if (status_.compare_exchange_weak(s, (s & ~phase_mask) | phase_cancelled)) break;
  }
  after_done(s);
  return true;
}

bool state_base::set_running_or_notify_cancel() {
  std::uint32_t s = status_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t p = s & phase_mask;
    if (p == phase_cancelled) return false;
    if (p != phase_pending)
      throw invalid_state_error("set_running_or_notify_cancel: the future is not pending");
    if (status_.compare_exchange_weak(s, (s & ~phase_mask) | phase_running)) return true;
  }
}

bool state_base::start_task() noexcept {
  std::uint32_t s = status_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & phase_mask) != phase_pending) return false;
    if (status_.compare_exchange_weak(s, (s & ~phase_mask) | phase_running,
                                      std::memory_order_acquire))
      return true;
  }
}

bool state_base::try_claim() noexcept {
  std::uint32_t s = status_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t p = s & phase_mask;
    if (p != phase_pending && p != phase_running) return false;
    if (status_.compare_exchange_weak(s, (s & ~phase_mask) | phase_completing)) return true;
  }
}

void state_base::publish_finished() noexcept {
  // The phase is running or completing and only this thread may change it now, so the new
  // phase can be added without a CAS loop while the waiters bit is left as it is.
  std::uint32_t s = status_.load(std::memory_order_relaxed);
  const std::uint32_t delta = phase_finished - (s & phase_mask);
  const std::uint32_t old = status_.fetch_add(delta);
  after_done(old);
}

void state_base::after_done(std::uint32_t old_status) noexcept {
  if (old_status & waiters_bit) futex_wake(status_, INT_MAX);
  // Pairs with add_callback: either it sees done() or this load sees its node.
  if (callbacks_.load() != 0) run_callbacks();
}

// The list word is a node pointer (newest first), `closed_word` once the callbacks were
// taken to run, and carries `locked_bit` while remove_callback edits the list. Pushing and
// taking are single CAS operations that wait out a remover.
void state_base::run_callbacks() noexcept {
  std::uintptr_t word = callbacks_.load();
  for (;;) {
    if (word == closed_word) return;
    if (word & locked_bit) {
      cpu_relax();
      word = callbacks_.load();
      continue;
    }
    if (callbacks_.compare_exchange_weak(word, closed_word)) break;
  }
  // The list is newest first; Python calls callbacks in the order they were added.
  done_callback_node* list = as_node(word);
  done_callback_node* ordered = nullptr;
  while (list != nullptr) {
    done_callback_node* next = list->next;
    list->next = ordered;
    ordered = list;
    list = next;
  }
  while (ordered != nullptr) {
    std::unique_ptr<done_callback_node> node(ordered);
    ordered = ordered->next;
    node->invoke(*this);
  }
}

done_callback_node* state_base::add_callback(std::unique_ptr<done_callback_node> node) noexcept {
  if (done()) {
    node->invoke(*this);
    return nullptr;
  }
  std::uintptr_t word = callbacks_.load();
  for (;;) {
    if (word == closed_word) {
      node->invoke(*this);
      return nullptr;
    }
    if (word & locked_bit) {
      cpu_relax();
      word = callbacks_.load();
      continue;
    }
    node->next = as_node(word);
    if (callbacks_.compare_exchange_weak(word, as_word(node.get()))) break;
  }
  done_callback_node* added = node.release();  // now owned by the list
  if (done()) {
    run_callbacks();
    return nullptr;
  }
  return added;
}

bool state_base::remove_callback(done_callback_node* target) noexcept {
  if (target == nullptr) return false;
  std::uintptr_t word = callbacks_.load();
  for (;;) {
    if (word == closed_word) return false;  // being run (or ran) by the completing thread
    if (word & locked_bit) {
      cpu_relax();
      word = callbacks_.load();
      continue;
    }
    if (callbacks_.compare_exchange_weak(word, word | locked_bit)) break;
  }
  done_callback_node* head = as_node(word);
  bool found = false;
  if (head == target) {
    head = target->next;
    found = true;
  } else {
    for (done_callback_node* n = head; n != nullptr && n->next != nullptr; n = n->next) {
      if (n->next == target) {
        n->next = target->next;
        found = true;
        break;
      }
    }
  }
  callbacks_.store(as_word(head));  // unlocks
  if (found) std::unique_ptr<done_callback_node> owned(target);
  return found;
}

void state_base::wait_slow() const noexcept {
  std::uint32_t s = poll_until_done(status_);
  while ((s & phase_mask) < phase_finished) {
    if (!(s & waiters_bit)) {
      if (!status_.compare_exchange_weak(s, s | waiters_bit, std::memory_order_acquire)) continue;
      s |= waiters_bit;
    }
    futex_wait(status_, s);
    s = status_.load(std::memory_order_acquire);
  }
}

bool state_base::wait_until_slow(clock::time_point deadline) const noexcept {
  std::uint32_t s = status_.load(std::memory_order_acquire);
  if (!finished(s) && clock::now() < deadline) s = poll_until_done(status_);
  while ((s & phase_mask) < phase_finished) {
    if (!(s & waiters_bit)) {
      if (!status_.compare_exchange_weak(s, s | waiters_bit, std::memory_order_acquire)) continue;
      s |= waiters_bit;
    }
    if (!futex_wait_until(status_, s, deadline)) {
      return (status_.load(std::memory_order_acquire) & phase_mask) >= phase_finished;
    }
    s = status_.load(std::memory_order_acquire);
  }
  return true;
}

}  // namespace concur::detail
