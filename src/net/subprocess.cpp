#include "concur/net/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "concur/core/error.hpp"
#include "stream_core.hpp"

extern char** environ;

namespace concur::net {

namespace detail {

// One child: its pid, the pidfd that names it without the risk of a recycled pid, its exit
// status once reaped, and its pipes.
class subprocess_core {
 public:
  subprocess_core(int pid, unique_fd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  subprocess_core(const subprocess_core&) = delete;
  subprocess_core& operator=(const subprocess_core&) = delete;

  int pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }
  const std::optional<int>& returncode() const noexcept { return returncode_; }
  aio::event& exited() noexcept { return exited_; }

  // Reaps the child if it has exited; true once reaped.
  bool try_reap() noexcept { return reap(WNOHANG); }
  // The child must not outlive its owner: SIGKILL, then a wait that the kill bounds.
  void kill_and_reap() noexcept {
    if (returncode_) return;
    signal(SIGKILL);
    while (!reap(0)) {
      if (errno != EINTR) return;  // already reaped elsewhere: nothing left to wait for
    }
  }
  void signal(int sig) noexcept {
    if (!returncode_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0);
  }

  std::optional<stream_writer> in;
  std::optional<stream_reader> out;
  std::optional<stream_reader> err;

 private:
  bool reap(int flags) noexcept {
    if (returncode_) return true;
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                 WEXITED | flags) != 0)
      return false;
    if (info.si_pid == 0) return false;  // WNOHANG: still running
    returncode_ = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    exited_.set();
    return true;
  }

  int pid_;
  unique_fd pidfd_;
  std::optional<int> returncode_;
  aio::event exited_;
};

}  // namespace detail

namespace {

// Watches the pidfd until the child exits and reaps it. Cancelled (the loop shutting down, or
// the subprocess object gone) while the child runs, it kills and reaps it: no zombie, ever.
aio::task<void> reap_on_exit(std::shared_ptr<detail::subprocess_core> core) {
  try {
    while (!core->try_reap()) co_await aio::readable(core->pidfd());
  } catch (const aio::cancelled_error&) {
    core->kill_and_reap();
    throw;
  }
}

// posix_spawn's file actions and attributes, released however spawning ends.
class spawn_plan {
 public:
  spawn_plan() {
    check(::posix_spawn_file_actions_init(&actions_), "posix_spawn_file_actions_init");
    if (const int rc = ::posix_spawnattr_init(&attr_); rc != 0) {
      ::posix_spawn_file_actions_destroy(&actions_);
      throw_os_error(rc, "posix_spawnattr_init");
    }
    // The child starts with no signal blocked and every signal at its default action (a
    // SIGPIPE this program ignores would otherwise stay ignored in the child).
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    check(::posix_spawnattr_setsigmask(&attr_, &none), "posix_spawnattr_setsigmask");
    check(::posix_spawnattr_setsigdefault(&attr_, &all), "posix_spawnattr_setsigdefault");
    check(::posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
          "posix_spawnattr_setflags");
  }
  spawn_plan(const spawn_plan&) = delete;
  spawn_plan& operator=(const spawn_plan&) = delete;
  ~spawn_plan() {
    ::posix_spawnattr_destroy(&attr_);
    ::posix_spawn_file_actions_destroy(&actions_);
  }

  void dup_to(int from, int to) {
    check(::posix_spawn_file_actions_adddup2(&actions_, from, to), "posix_spawn adddup2");
  }
  void open_to(int to, const char* path, int flags) {
    check(::posix_spawn_file_actions_addopen(&actions_, to, path, flags, 0), "posix_spawn addopen");
  }
  void chdir_to(const std::string& dir) {
    check(::posix_spawn_file_actions_addchdir_np(&actions_, dir.c_str()), "posix_spawn addchdir");
  }
  // Python's close_fds=True: descriptors this program forgot to mark close-on-exec stay here.
  void close_from(int fd) {
    check(::posix_spawn_file_actions_addclosefrom_np(&actions_, fd), "posix_spawn addclosefrom");
  }

  int spawn(const std::string& program, std::vector<std::string>& argv,
            const std::optional<std::vector<std::string>>& env) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_copy;
    std::vector<char*> envp;
    if (env) {
      env_copy = *env;
      for (auto& e : env_copy) envp.push_back(e.data());
      envp.push_back(nullptr);
    }
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, program.c_str(), &actions_, &attr_, args.data(),
                                  env ? envp.data() : environ);
    if (rc != 0) throw_os_error(rc, "cannot run " + program);
    return pid;
  }

 private:
  static void check(int rc, const char* call) {
    if (rc != 0) throw_os_error(rc, call);
  }
  posix_spawn_file_actions_t actions_{};
  posix_spawnattr_t attr_{};
};

// The parent's ends of the pipes asked for, by standard stream number.
using parent_ends = std::array<unique_fd, 3>;

void plan_stdio(spawn_plan& plan, const subprocess_options& opt, parent_ends& mine,
                std::array<unique_fd, 3>& theirs) {
  const redirect how[3] = {opt.std_in, opt.std_out, opt.std_err};
  for (int i = 0; i < 3; ++i) {
    switch (how[i]) {
      case redirect::inherit:
        break;
      case redirect::pipe: {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
          throw_last_os_error("socketpair");
        mine[static_cast<std::size_t>(i)].reset(sv[0]);
        theirs[static_cast<std::size_t>(i)].reset(sv[1]);
        if (::fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) throw_last_os_error("fcntl(O_NONBLOCK)");
        plan.dup_to(sv[1], i);
        break;
      }
      case redirect::devnull:
        plan.open_to(i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
        break;
      case redirect::to_stdout:
        if (i != 2) throw value_error("subprocess: redirect::to_stdout is for std_err only");
        plan.dup_to(1, 2);
        break;
    }
  }
}

unique_fd open_pidfd(int pid) {
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    const int err = errno;
    ::kill(pid, SIGKILL);  // without a pidfd it could not be watched: do not leave it behind
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw_os_error(err, "pidfd_open");
  }
  return unique_fd(static_cast<int>(fd));
}

void attach_pipes(aio::event_loop& loop, detail::subprocess_core& core, parent_ends& mine,
                  const subprocess_options& opt) {
  const std::string pid = std::to_string(core.pid());
  auto stream = [&](std::size_t i, const char* name) {
    auto c = std::make_shared<detail::stream_core>(
        loop, std::move(mine[i]), std::string(name) + " of pid " + pid, opt.limit, 64 * 1024);
    if (i > 0) c->start_reading();
    return c;
  };
  if (mine[0]) core.in.emplace(stream(0, "stdin"));
  if (mine[1]) core.out.emplace(stream(1, "stdout"));
  if (mine[2]) core.err.emplace(stream(2, "stderr"));
}

aio::task<subprocess> spawn_subprocess(std::string program, std::vector<std::string> argv,
                                       subprocess_options opt) {
  auto& loop = aio::get_running_loop();
  spawn_plan plan;
  parent_ends mine;
  std::array<unique_fd, 3> theirs;
  plan_stdio(plan, opt, mine, theirs);
  if (opt.cwd) plan.chdir_to(*opt.cwd);
  plan.close_from(3);
  const int pid = plan.spawn(program, argv, opt.env);
  for (auto& fd : theirs) fd.reset();  // the child has its copies now
  auto core = std::make_shared<detail::subprocess_core>(pid, open_pidfd(pid));
  try {
    attach_pipes(loop, *core, mine, opt);
  } catch (...) {
    core->kill_and_reap();
    throw;
  }
  auto reaper = aio::create_task(reap_on_exit(core));
  co_return subprocess(std::move(core), std::move(reaper));
}

aio::task<std::string> read_to_end(std::optional<stream_reader>& r) {
  if (!r) co_return std::string();
  co_return co_await r->read();
}

aio::task<int> feed(std::optional<stream_writer>& w, std::string input) {
  if (!w) co_return 0;
  try {
    if (!input.empty()) {
      w->write(input);
      co_await w->drain();
    }
  } catch (const connection_error&) {
    // The child exited (or closed its stdin) without reading it all: not an error.
  }
  w->close();
  co_return 0;
}

}  // namespace

subprocess& subprocess::operator=(subprocess&& o) noexcept {
  if (this != &o) {
    finish();
    core_ = std::move(o.core_);
    reaper_ = std::move(o.reaper_);
  }
  return *this;
}

subprocess::~subprocess() { finish(); }

void subprocess::finish() noexcept {
  if (!core_) return;
  core_->kill_and_reap();
  if (reaper_.valid() && !reaper_.done()) {
    try {
      reaper_.cancel();
    } catch (...) {
    }
  }
  core_.reset();
}

detail::subprocess_core& subprocess::core() const {
  if (!core_) throw invalid_state_error("subprocess: empty (default-constructed or moved from)");
  return *core_;
}

int subprocess::pid() const noexcept { return core_ ? core_->pid() : 0; }
std::optional<int> subprocess::returncode() const noexcept {
  return core_ ? core_->returncode() : std::nullopt;
}

stream_writer& subprocess::std_in() {
  auto& c = core();
  if (!c.in) throw invalid_state_error("subprocess: stdin is not a pipe (std_in = redirect::pipe)");
  return *c.in;
}
stream_reader& subprocess::std_out() {
  auto& c = core();
  if (!c.out)
    throw invalid_state_error("subprocess: stdout is not a pipe (std_out = redirect::pipe)");
  return *c.out;
}
stream_reader& subprocess::std_err() {
  auto& c = core();
  if (!c.err)
    throw invalid_state_error("subprocess: stderr is not a pipe (std_err = redirect::pipe)");
  return *c.err;
}

aio::task<int> subprocess::wait() {
  auto c = core_;
  if (!c) throw invalid_state_error("subprocess: empty (default-constructed or moved from)");
  if (!c->returncode()) co_await c->exited().wait();
  co_return *c->returncode();
}

aio::task<std::pair<std::string, std::string>> subprocess::communicate() {
  return communicate(std::string());
}

aio::task<std::pair<std::string, std::string>> subprocess::communicate(std::string input) {
  auto c = core_;
  if (!c) throw invalid_state_error("subprocess: empty (default-constructed or moved from)");
  auto fed = feed(c->in, std::move(input));
  auto out = read_to_end(c->out);
  auto err = read_to_end(c->err);
  auto [ignored, o, e] = co_await aio::gather(std::move(fed), std::move(out), std::move(err));
  (void)ignored;
  if (!c->returncode()) co_await c->exited().wait();
  co_return std::pair{std::move(o), std::move(e)};
}

void subprocess::send_signal(int signal) { core().signal(signal); }
void subprocess::terminate() { send_signal(SIGTERM); }
void subprocess::kill() { send_signal(SIGKILL); }

aio::task<subprocess> create_subprocess_exec(std::string program, std::vector<std::string> args,
                                             subprocess_options options) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.push_back(program);
  for (auto& a : args) argv.push_back(std::move(a));
  return spawn_subprocess(std::move(program), std::move(argv), std::move(options));
}

aio::task<subprocess> create_subprocess_exec(std::string program, std::vector<std::string> args) {
  return create_subprocess_exec(std::move(program), std::move(args), subprocess_options());
}

aio::task<subprocess> create_subprocess_shell(std::string cmd, subprocess_options options) {
  return spawn_subprocess("/bin/sh", {"/bin/sh", "-c", std::move(cmd)}, std::move(options));
}

aio::task<subprocess> create_subprocess_shell(std::string cmd) {
  return create_subprocess_shell(std::move(cmd), subprocess_options());
}

}  // namespace concur::net
