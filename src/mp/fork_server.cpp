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
#include <mutex>
#include <thread>
#include <vector>

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

constexpr int max_fds = 64;

ssize_t send_with_fds(int sock, const void* data, std::size_t len, std::span<const int> fds) {
  iovec iov{const_cast<void*>(data), len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int) * max_fds)];
  if (!fds.empty()) {
    msg.msg_control = buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t r;
  do {
    r = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return r;
}

ssize_t recv_with_fds(int sock, void* data, std::size_t len, int* fds, int& nfds) {
  iovec iov{data, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int) * max_fds)];
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  ssize_t r;
  do {
    r = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  nfds = 0;
  if (r > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        const int n = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        std::memcpy(fds + nfds, CMSG_DATA(c), sizeof(int) * static_cast<std::size_t>(n));
        nfds += n;
      }
    }
  }
  return r;
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
    int fds[max_fds];
    int nfds = 0;
    const ssize_t n = recv_with_fds(control, &req, sizeof req, fds, nfds);
    if (n <= 0) break;  // the program exited or closed us: take the workers down with us
    reply rep{};
    if (req.code == op::spawn && nfds >= 1) {
      const int pid = ::fork();
      if (pid == 0) {
        ::close(control);
        become_worker(self);
        worker_main(fds[0], std::span<const int>(fds + 1, static_cast<std::size_t>(nfds - 1)));
      }
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
      int pidfd = -1;
      if (pid < 0) {
        rep.err = errno;
      } else {
        rep.pid = pid;
        children.push_back(pid);
        pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        if (pidfd < 0) rep.err = errno;
      }
      send_with_fds(control, &rep, sizeof rep,
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
      send_with_fds(control, &rep, sizeof rep, {});
    } else {
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
      rep.err = EINVAL;
      send_with_fds(control, &rep, sizeof rep, {});
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
  std::mutex m;
  unique_fd control;
  int pid = 0;
};

server_state& state() {
  static server_state s;
  return s;
}

void start_locked(server_state& s) {
  auto [parent_end, child_end] = socket_pair(SOCK_SEQPACKET);
  // Buffered output would otherwise be written again by every process forked from here.
  std::cout.flush();
  std::fflush(nullptr);
  const int parent_pid = ::getpid();
  const bool from_main_thread = ::syscall(SYS_gettid) == parent_pid;
  const int pid = ::fork();
  if (pid < 0) throw_last_os_error("concur::mp: fork of the fork server");
  if (pid == 0) {
    // The lock is held by the forking thread, which is this one, and this frame never returns.
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
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGCHLD, SIG_DFL);
    ::signal(SIGINT, SIG_IGN);  // Ctrl-C goes to the program; we follow it through EOF
    ::signal(SIGPIPE, SIG_IGN);
    __fpurge(stdout);
    __fpurge(stderr);
    // Workers must not keep the program's sockets and files open.
    if (control > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(control - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(control + 1), ~0u, 0u);
    s.control.release();
    s.pid = 0;
    server_loop(control);
  }
  s.control = std::move(parent_end);
  s.pid = pid;
}

// One request/reply exchange; restarts a fork server that died.
reply exchange(const request& req, std::span<const int> fds, unique_fd* pidfd_out) {
  server_state& s = state();
  std::lock_guard lock(s.m);
  for (int attempt = 0;; ++attempt) {
    if (!s.control) start_locked(s);
    if (send_with_fds(s.control.get(), &req, sizeof req, fds) == static_cast<ssize_t>(sizeof req)) {
      reply rep{};
      int got[max_fds];
      int ngot = 0;
      const ssize_t n = recv_with_fds(s.control.get(), &rep, sizeof rep, got, ngot);
      if (n == static_cast<ssize_t>(sizeof rep)) {
        for (int i = 0; i < ngot; ++i) {
          if (i == 0 && pidfd_out != nullptr) {
            pidfd_out->reset(got[0]);
          } else {
            ::close(got[i]);
          }
        }
        return rep;
      }
    }
    // The server is gone (killed from outside): its workers went with it. Reap it and start a
    // new one.
    s.control.reset();
    if (s.pid > 0) {
      ::kill(s.pid, SIGKILL);
      while (::waitpid(s.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    s.pid = 0;
    if (attempt > 0 || req.code != op::spawn)
      throw error("concur::mp: the fork server is not running (it was killed)");
  }
}

}  // namespace

void start_fork_server() {
  server_state& s = state();
  std::lock_guard lock(s.m);
  if (!s.control) start_locked(s);
}

int fork_server_pid() {
  server_state& s = state();
  std::lock_guard lock(s.m);
  return s.pid;
}

spawned spawn(int channel, std::span<const int> extra) {
  if (extra.size() + 1 > static_cast<std::size_t>(max_fds))
    throw error("concur::mp: too many pipes and queues passed to one process (at most 63)");
  std::vector<int> fds;
  fds.reserve(extra.size() + 1);
  fds.push_back(channel);
  fds.insert(fds.end(), extra.begin(), extra.end());
  spawned out;
  const reply rep = exchange(request{op::spawn, 0}, fds, &out.pidfd);
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

std::optional<int> try_reap(int pid) {
  const reply rep = exchange(request{op::reap, pid}, {}, nullptr);
  if (rep.err != 0) {
    errno = rep.err;
    throw_last_os_error("concur::mp: waitpid");
  }
  if (rep.pid == 0) return std::nullopt;
  return rep.status;
}

std::optional<int> wait_exit(const spawned& p, std::chrono::milliseconds timeout) {
  if (!wait_readable(p.pidfd.get(), timeout)) return std::nullopt;
  // The pidfd turns readable as the process becomes a zombie, so the reap succeeds at once;
  // the short bounded retry only covers the server not having seen it yet.
  for (int i = 0; i < 1000; ++i) {
    if (auto code = try_reap(p.pid)) return code;
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
