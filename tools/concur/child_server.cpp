#include "child_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <concur/futures/errors.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace concur_cli {
namespace {

std::string self_exe() {
  std::array<char, 4096> buf{};
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw concur::error("lab: cannot find this program's path in /proc/self/exe");
  return std::string(buf.data(), std::size_t(n));
}

// This environment without what marks an MPI rank (OMPI_*, PMIX_*): the mock API is a plain
// child process even when the lab runs under mpiexec, so it must not start MPI itself.
std::vector<std::string> environment_without_mpi() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("OMPI_") || v.starts_with("PMIX_")) continue;
    env.emplace_back(v);
  }
  return env;
}

bool reap(pid_t pid, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  do {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

}  // namespace

child_server::child_server(double latency_ms) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw concur::error("lab: pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string exe = self_exe();
  const std::string latency = std::to_string(latency_ms);
  std::vector<std::string> args{exe, "serve",     "--host", "127.0.0.1", "--port",
                                "0", "--latency", latency,  "--quiet",   "--exit-with-parent"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = environment_without_mpi();
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  const int rc = posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw concur::error("lab: cannot start the mock API (" + exe + " serve)");
  }
  // The child prints "serving on http://127.0.0.1:PORT" once it listens.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0) break;
    char buf[256];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, std::size_t(n));
  }
  close(fds[0]);
  const auto at = line.find("http://");
  const auto end = line.find_first_of(" \r\n", at);
  if (at == std::string::npos || end == std::string::npos) {
    kill(pid_, SIGKILL);
    reap(pid_, std::chrono::seconds(5));
    throw concur::error("lab: the mock API did not start (it printed: '" + line + "')");
  }
  base_url_ = line.substr(at, end - at);
}

child_server::~child_server() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!reap(pid_, std::chrono::seconds(5))) {
    kill(pid_, SIGKILL);
    reap(pid_, std::chrono::seconds(5));
  }
}

}  // namespace concur_cli
