// The fork server ("zygote"). Forking a program that already runs threads is unsafe: the child
// inherits locks that other threads held at that instant. So the first use of mp (or mp::init()
// at the top of main) forks one helper process while the program is, ideally, single-threaded;
// every worker is then forked from that single-threaded helper. The helper only loops over
// recvmsg/fork/waitpid, so even when it is started lazily from a threaded program it touches no
// lock that another thread could have held. It is the parent of the workers, reaps them on
// request and kills them all when this program goes away (its control socket reaches EOF).
#include "concur/mp/detail/fork_server.hpp"

#include <poll.h>
#include <signal.h>
#include <stdio_ext.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "concur/core/checked_mutex.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp::detail {
namespace {

enum class op : std::uint32_t { spawn = 1, reap = 2 };

struct request {
  op code;
  std::int32_t pid;
};

struct reply {
  std::int32_t pid;     // spawn: the new pid; reap: the pid if reaped, 0 while running
  std::int32_t status;  // reap: the exitcode
  std::int32_t err;     // errno of a failure
};

// One fixed-size message each way, descriptors beside it (the core's SCM_RIGHTS coding).
template <class T>
ssize_t send_message(int sock, const T& msg, std::span<const int> fds) noexcept {
  iovec iov{const_cast<T*>(&msg), sizeof msg};
  return send_with_fds(sock, std::span<const iovec>(&iov, 1), fds);
}
template <class T>
ssize_t recv_message(int sock, T& msg, std::vector<unique_fd>& fds) {
  iovec iov{&msg, sizeof msg};
  return recv_with_fds(sock, std::span<const iovec>(&iov, 1), fds);
}

int exitcode_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return 255;
}

// Runs in the forked worker before any user code.
void become_worker(int server_pid) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != server_pid) ::_exit(1);  // the server died before prctl took effect
  ::signal(SIGINT, SIG_DFL);
}

[[noreturn]] void server_loop(int control) {
  std::vector<int> children;
  const int self = ::getpid();
  for (;;) {
    request req{};
    std::vector<unique_fd> fds;
    const ssize_t n = recv_message(control, req, fds);
    if (n <= 0) break;  // the program exited or closed us: take the workers down with us
    reply rep{};
    if (req.code == op::spawn && !fds.empty()) {
      const int pid = ::fork();
      if (pid == 0) {
        ::close(control);
        become_worker(self);
        std::vector<int> raw;
        raw.reserve(fds.size());
        for (auto& fd : fds) raw.push_back(fd.release());
        worker_main(raw[0], std::span<const int>(raw).subspan(1));
      }
      fds.clear();  // the worker has its copies
      int pidfd = -1;
      if (pid < 0) {
        rep.err = errno;
      } else {
        rep.pid = pid;
        children.push_back(pid);
        pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        if (pidfd < 0) rep.err = errno;
      }
      send_message(control, rep,
                   pidfd >= 0 ? std::span<const int>(&pidfd, 1) : std::span<const int>());
      if (pidfd >= 0) ::close(pidfd);
    } else if (req.code == op::reap) {
      int status = 0;
      int r;
      do {
        r = ::waitpid(req.pid, &status, WNOHANG);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        rep.err = errno;
      } else if (r > 0) {
        rep.pid = r;
        rep.status = exitcode_of(status);
        children.erase(std::remove(children.begin(), children.end(), r), children.end());
      }
      send_message(control, rep, {});
    } else {
      fds.clear();
      rep.err = EINVAL;
      send_message(control, rep, {});
    }
  }
  for (int pid : children) ::kill(pid, SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  ::_exit(0);
}

// The one fork server of this process. A process-wide singleton by nature: there is one fork
// server per program, as Python's forkserver start method has.
struct server_state {
  checked_mutex m;
  unique_fd control CONCUR_GUARDED_BY(m);
  int pid CONCUR_GUARDED_BY(m) = 0;
  // Which server this is (1, 2, ... as they are started): a worker remembers the server that
  // forked it, so one orphaned by an earlier server is never asked about to its successor.
  std::uint64_t generation CONCUR_GUARDED_BY(m) = 0;
};

server_state& state() {
  static server_state s;
  return s;
}

void start_locked(server_state& s) CONCUR_REQUIRES(s.m) {
  auto [parent_end, child_end] = socket_pair(SOCK_SEQPACKET);
  // Buffered output would otherwise be written again by every process forked from here.
  std::cout.flush();
  std::fflush(nullptr);
  const int parent_pid = ::getpid();
  const bool from_main_thread = ::syscall(SYS_gettid) == parent_pid;
  const int pid = ::fork();
  if (pid < 0) throw_last_os_error("concur::mp: fork of the fork server");
  if (pid == 0) {
    // The fork server never uses the parent's state; the lock is held by the forking thread,
    // which is this one, and this frame never returns.
    s.control.release();
    s.pid = 0;
    s.m.unlock();
    const int control = child_end.release();
    parent_end.reset();
    // PDEATHSIG fires when the forking *thread* exits, so only use it from the main thread;
    // otherwise the control socket's EOF is the signal to go.
    if (from_main_thread) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent_pid) ::_exit(0);
    }
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGCHLD, SIG_DFL);
    ::signal(SIGINT, SIG_IGN);  // Ctrl-C goes to the program; we follow it through EOF
    ::signal(SIGPIPE, SIG_IGN);
    __fpurge(stdout);
    __fpurge(stderr);
    // Workers must not keep the program's sockets and files open.
    if (control > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(control - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(control + 1), ~0u, 0u);
    server_loop(control);
  }
  s.control = std::move(parent_end);
  s.pid = pid;
  ++s.generation;
}

// The server is gone (killed from outside) and its workers with it (PDEATHSIG): reap it, so
// that the next spawn starts a new one.
void forget_server(server_state& s) CONCUR_REQUIRES(s.m) {
  s.control.reset();
  if (s.pid > 0) {
    ::kill(s.pid, SIGKILL);
    while (::waitpid(s.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  s.pid = 0;
}

// One request/reply exchange with the running server; nullopt if it has died.
std::optional<reply> exchange_locked(server_state& s, const request& req, std::span<const int> fds,
                                     unique_fd* pidfd_out) CONCUR_REQUIRES(s.m) {
  if (send_message(s.control.get(), req, fds) == static_cast<ssize_t>(sizeof req)) {
    reply rep{};
    std::vector<unique_fd> got;
    const ssize_t n = recv_message(s.control.get(), rep, got);
    if (n == static_cast<ssize_t>(sizeof rep)) {
      if (!got.empty() && pidfd_out != nullptr) *pidfd_out = std::move(got.front());
      return rep;
    }
  }
  forget_server(s);
  return std::nullopt;
}

}  // namespace

void start_fork_server() {
  server_state& s = state();
  const checked_lock lock(s.m);
  if (!s.control) start_locked(s);
}

int fork_server_pid() {
  server_state& s = state();
  const checked_lock lock(s.m);
  return s.pid;
}

spawned spawn(int channel, std::span<const int> extra) {
  if (extra.size() + 1 > max_passed_fds)
    throw error("concur::mp: too many pipes and queues passed to one process (at most 63)");
  std::vector<int> fds;
  fds.reserve(extra.size() + 1);
  fds.push_back(channel);
  fds.insert(fds.end(), extra.begin(), extra.end());
  spawned out;
  server_state& s = state();
  const checked_lock lock(s.m);
  std::optional<reply> got;
  // A server that died since the last call is replaced once; a new one that fails at once is
  // an error, not a loop.
  for (int attempt = 0; attempt < 2 && !got; ++attempt) {
    if (!s.control) start_locked(s);
    got = exchange_locked(s, request{op::spawn, 0}, fds, &out.pidfd);
  }
  if (!got) throw error("concur::mp: the fork server died as it was started");
  const reply rep = *got;
  out.server = s.generation;
  if (rep.pid <= 0) {
    errno = rep.err;
    throw_last_os_error("concur::mp: fork of a worker");
  }
  out.pid = rep.pid;
  if (!out.pidfd) {
    errno = rep.err;
    throw_last_os_error("concur::mp: pidfd_open");
  }
  return out;
}

std::optional<int> try_reap(const spawned& p) {
  server_state& s = state();
  const checked_lock lock(s.m);
  if (!s.control || s.generation != p.server) return orphan_exitcode;
  const std::optional<reply> rep = exchange_locked(s, request{op::reap, p.pid}, {}, nullptr);
  if (!rep) return orphan_exitcode;
  if (rep->err != 0) {
    errno = rep->err;
    throw_last_os_error("concur::mp: waitpid");
  }
  if (rep->pid == 0) return std::nullopt;
  return rep->status;
}

std::optional<int> wait_exit(const spawned& p, std::chrono::milliseconds timeout) {
  if (!wait_readable(p.pidfd.get(), timeout)) return std::nullopt;
  // The pidfd turns readable as the process becomes a zombie, so the reap succeeds at once;
  // the short bounded retry only covers the server not having seen it yet.
  for (int i = 0; i < 1000; ++i) {
    if (auto code = try_reap(p)) return code;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw error("concur::mp: worker " + std::to_string(p.pid) + " exited but cannot be reaped");
}

bool send_signal(const spawned& p, int sig) {
  if (::syscall(SYS_pidfd_send_signal, p.pidfd.get(), sig, nullptr, 0u) == 0) return true;
  if (errno == ESRCH) return false;
  throw_last_os_error("concur::mp: pidfd_send_signal");
}

int kill_and_reap(const spawned& p) {
  send_signal(p, SIGKILL);
  auto code = wait_exit(p, std::chrono::milliseconds(-1));
  return *code;
}

}  // namespace concur::mp::detail
