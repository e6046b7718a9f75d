#pragma once
#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>

#include "concur/mp/detail/call.hpp"
#include "concur/mp/detail/fork_server.hpp"

namespace concur::mp {

// Starts the fork server now. Call it first thing in main, before any thread starts: it is the
// C++ counterpart of Python's `if __name__ == "__main__":` + set_start_method("forkserver").
// Without it the server starts on first use of mp, which is still safe (the server only makes
// system calls) but inherits whatever state the program's other threads had at that moment.
void init();

// os.cpu_count(): the number of online processors.
std::size_t cpu_count();

// multiprocessing.Process: runs f(args...) in a new process. Construct, start(), join().
// The arguments are serialized when the process object is made; mp::connection and mp::queue
// arguments are passed as descriptors, so both processes share them.
class process {
 public:
  process() = default;
  template <class F, class... Args>
  explicit process(F f, Args&&... args)
      : call_(detail::prepare_call(true, f, std::forward<Args>(args)...)) {}

  process(process&&) noexcept = default;
  process& operator=(process&& o) noexcept;
  // Like Python at exit: a daemon process is killed; any other is joined.
  ~process();

  // Starts the process; throws invalid_state_error when started twice or empty.
  void start();
  // Waits for the process to exit.
  void join();
  // Waits at most `timeout`; true when the process has exited.
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return join_for(std::chrono::ceil<std::chrono::milliseconds>(timeout));
  }
  bool is_alive();
  // Exit status once joined: >= 0 exit code, -N when killed by signal N; nullopt while running.
  std::optional<int> exitcode() const noexcept { return exitcode_; }
  // 0 before start().
  int pid() const noexcept { return child_.pid; }
  // SIGTERM / SIGKILL; no-op once it has exited.
  void terminate();
  void kill();

  bool daemon() const noexcept { return daemon_; }
  void set_daemon(bool d) noexcept { daemon_ = d; }

 private:
  bool join_for(std::chrono::milliseconds timeout);
  void finish() noexcept;

  detail::prepared_call call_;
  detail::spawned child_;
  std::optional<int> exitcode_;
  bool started_ = false;
  bool daemon_ = false;
};

}  // namespace concur::mp
