#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "concur/aio/task.hpp"
#include "concur/core/error.hpp"
#include "signal_router.hpp"

namespace concur::aio {

namespace detail {

namespace {

// Which thread runs the loop that handles each signal. Process-wide by nature: a signal
// handler has no argument to carry it, and a disposition belongs to the process. The only
// global the library keeps, written when a handler is added or removed, read in the handler.
std::array<std::atomic<pid_t>, NSIG> forward_to{};

extern "C" void forward_to_loop(int sig) {
  const int saved = errno;
  const pid_t tid = forward_to[static_cast<std::size_t>(sig)].load(std::memory_order_relaxed);
  if (tid > 0) ::syscall(SYS_tgkill, ::getpid(), tid, sig);
  errno = saved;
}

void check_signal(int sig) {
  if (sig <= 0 || sig >= NSIG) throw value_error("invalid signal number " + std::to_string(sig));
  if (sig == SIGKILL || sig == SIGSTOP)
    throw value_error("sig " + std::to_string(sig) + " cannot be caught");
}

}  // namespace

signal_router::signal_router(event_loop& loop)
    : loop_(loop), tid_(static_cast<pid_t>(::syscall(SYS_gettid))) {
  sigemptyset(&mask_);
  const int fd = ::signalfd(-1, &mask_, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw_last_os_error("signalfd");
  fd_.reset(fd);
  loop_.add_reader(fd_.get(), [this] { on_readable(); });
}

signal_router::~signal_router() {
  for (auto& [sig, e] : handlers_) restore(sig, e);
  handlers_.clear();
  loop_.remove_reader(fd_.get());
}

void signal_router::add(int sig, std::function<void()> cb) {
  check_signal(sig);
  if (auto it = handlers_.find(sig); it != handlers_.end()) {
    it->second.cb = std::move(cb);
    return;
  }
  entry e;
  e.cb = std::move(cb);
  sigset_t one;
  sigset_t before;
  sigemptyset(&one);
  sigaddset(&one, sig);
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &one, &before); rc != 0)
    throw_os_error(rc, "pthread_sigmask");
  e.was_blocked = sigismember(&before, sig) == 1;
  sigaddset(&mask_, sig);
  update_mask();
  forward_to[static_cast<std::size_t>(sig)].store(tid_, std::memory_order_relaxed);
  struct sigaction act {};
  act.sa_handler = forward_to_loop;
  act.sa_flags = SA_RESTART;
  sigfillset(&act.sa_mask);
  if (::sigaction(sig, &act, &e.previous) != 0) {
    const int err = errno;
    restore(sig, e);
    throw_os_error(err, "sigaction");
  }
  handlers_.emplace(sig, std::move(e));
}

bool signal_router::remove(int sig) noexcept {
  auto it = handlers_.find(sig);
  if (it == handlers_.end()) return false;
  restore(sig, it->second);
  handlers_.erase(it);
  return true;
}

void signal_router::restore(int sig, entry& e) noexcept {
  ::sigaction(sig, &e.previous, nullptr);
  pid_t mine = tid_;
  forward_to[static_cast<std::size_t>(sig)].compare_exchange_strong(mine, 0);
  sigdelset(&mask_, sig);
  update_mask();
  if (!e.was_blocked) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);  // a pending one now meets the old disposition
  }
}

void signal_router::update_mask() noexcept { ::signalfd(fd_.get(), &mask_, 0); }

void signal_router::on_readable() noexcept {
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) return;  // EAGAIN: all read
    auto it = handlers_.find(static_cast<int>(info.ssi_signo));
    if (it == handlers_.end()) continue;
    auto cb = it->second.cb;  // the callback may remove its own handler
    try {
      cb();
    } catch (...) {
      loop_.call_exception_handler(
          {"Exception in signal handler for signal " + std::to_string(info.ssi_signo),
           std::current_exception(),
           {}});
    }
  }
}

}  // namespace detail

void event_loop::add_signal_callback(int sig, std::function<void()> cb) {
  check_thread();
  if (!signals_) signals_ = std::make_unique<detail::signal_router>(*this);
  signals_->add(sig, std::move(cb));
}

bool event_loop::remove_signal_handler(int sig) {
  detail::check_signal(sig);
  return signals_ && signals_->remove(sig);
}

}  // namespace concur::aio

namespace concur::aio::detail {

namespace {
bool on_main_thread() noexcept { return ::syscall(SYS_gettid) == ::getpid(); }

// Default action and not blocked here: nobody else takes SIGINT (a thread blocking it is
// waiting for it some other way: sigwait, or a signalfd of its own).
bool sigint_is_unclaimed() noexcept {
  struct sigaction now {};
  sigset_t blocked;
  return ::sigaction(SIGINT, nullptr, &now) == 0 && (now.sa_flags & SA_SIGINFO) == 0 &&
         now.sa_handler == SIG_DFL && ::pthread_sigmask(SIG_BLOCK, nullptr, &blocked) == 0 &&
         sigismember(&blocked, SIGINT) == 0;
}
}  // namespace

sigint_runner::sigint_runner(event_loop& loop, task_base* main) noexcept
    : loop_(loop), main_(main) {
  if (!on_main_thread() || !sigint_is_unclaimed()) return;
  try {
    loop_.add_signal_handler(SIGINT, [this] { on_sigint(); });
    installed_ = true;
  } catch (...) {
    // No signalfd (descriptors exhausted): Ctrl-C keeps its default action.
  }
}

void sigint_runner::on_sigint() noexcept {
  ++interrupts_;
  if (interrupts_ == 1 && !main_->done()) {
    try {
      main_->cancel();
      return;
    } catch (...) {
      // Could not cancel: end the program as a second Ctrl-C would.
    }
  }
  // Python raises KeyboardInterrupt here, out of whatever the loop was doing.
  remove_handler();
  ::signal(SIGINT, SIG_DFL);
  ::raise(SIGINT);
}

bool sigint_runner::ended_main() noexcept { return interrupts_ > 0 && main_->uncancel() == 0; }

void sigint_runner::remove_handler() noexcept {
  if (!installed_ || loop_.is_closed()) return;
  installed_ = false;
  try {
    loop_.remove_signal_handler(SIGINT);
  } catch (...) {
    // SIGINT is a valid signal: nothing here throws; the default action comes back below.
  }
}

void sigint_runner::end_program() noexcept {
  remove_handler();
  loop_.shutdown_default_executor();
  ::signal(SIGINT, SIG_DFL);
  ::raise(SIGINT);
  std::_Exit(128 + SIGINT);  // SIGINT blocked by someone else: end as the shell would report
}

sigint_runner::~sigint_runner() { remove_handler(); }

}  // namespace concur::aio::detail
