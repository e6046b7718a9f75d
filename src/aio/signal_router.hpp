#pragma once
// Internal: how signals reach a loop (loop.add_signal_handler). The loop's thread blocks each
// handled signal and reads it from a signalfd the loop watches; every other thread has a
// handler installed that re-sends the signal to the loop's thread (tgkill), where it waits,
// blocked, for the signalfd. Removing a signal restores its previous disposition and mask.
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <map>

#include "concur/aio/event_loop.hpp"
#include "concur/core/fd.hpp"

namespace concur::aio::detail {

class signal_router {
 public:
  explicit signal_router(event_loop& loop);
  signal_router(const signal_router&) = delete;
  signal_router& operator=(const signal_router&) = delete;
  ~signal_router();

  void add(int sig, std::function<void()> cb);
  bool remove(int sig) noexcept;

 private:
  struct entry {
    std::function<void()> cb;
    struct sigaction previous {};
    bool was_blocked = false;
  };

  void on_readable() noexcept;
  void update_mask() noexcept;
  void restore(int sig, entry& e) noexcept;

  event_loop& loop_;
  unique_fd fd_;
  sigset_t mask_{};
  pid_t tid_;
  std::map<int, entry> handlers_;
};

}  // namespace concur::aio::detail
