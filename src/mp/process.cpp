#include "concur/mp/process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "concur/futures/errors.hpp"
#include "concur/mp/detail/wire.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp {

void init() { detail::start_fork_server(); }

std::size_t cpu_count() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

process& process::operator=(process&& o) noexcept {
  if (this != &o) {
    finish();
    call_ = std::move(o.call_);
    child_ = std::move(o.child_);
    exitcode_ = o.exitcode_;
    started_ = std::exchange(o.started_, false);
    daemon_ = o.daemon_;
  }
  return *this;
}

process::~process() { finish(); }

void process::finish() noexcept {
  if (!started_ || exitcode_ || !child_.pidfd) return;
  try {
    if (daemon_) {
      exitcode_ = detail::kill_and_reap(child_);
    } else {
      join();
    }
  } catch (...) {
    // A destructor must not throw; the fork server reaps what is left when the program exits.
  }
}

void process::start() {
  if (started_) throw invalid_state_error("concur::mp: process already started");
  if (call_.empty()) throw invalid_state_error("concur::mp: process has no target");
  auto [mine, theirs] = detail::socket_pair(SOCK_STREAM);
  std::vector<int> extra;
  extra.reserve(call_.fds.size());
  for (const auto& fd : call_.fds) extra.push_back(fd.get());
  child_ = detail::spawn(theirs.get(), extra);
  started_ = true;
  theirs.reset();
  call_.fds.clear();  // the child has its copies now
  const detail::task_head head{detail::task_kind::run, call_.invoker, call_.fn};
  try {
    detail::send_frame(mine.get(), head.encode(), call_.payload);
  } catch (const concur::os_error&) {
    // The child died before reading its task; join() reports how.
  }
  call_.payload.clear();
  call_.payload.shrink_to_fit();
}

void process::join() { join_for(std::chrono::milliseconds(-1)); }

bool process::join_for(std::chrono::milliseconds timeout) {
  if (!started_) throw invalid_state_error("concur::mp: can only join a started process");
  if (exitcode_) return true;
  exitcode_ = detail::wait_exit(child_, timeout);
  return exitcode_.has_value();
}

bool process::is_alive() {
  if (!started_ || exitcode_) return false;
  return !join_for(std::chrono::milliseconds(0));
}

void process::terminate() {
  if (started_ && !exitcode_) detail::send_signal(child_, SIGTERM);
}

void process::kill() {
  if (started_ && !exitcode_) detail::send_signal(child_, SIGKILL);
}

}  // namespace concur::mp
