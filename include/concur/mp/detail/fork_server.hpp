#pragma once
#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <span>

#include "concur/mp/detail/fd.hpp"

namespace concur::mp::detail {

struct spawned {
  int pid = 0;
  unique_fd pidfd;           // readable once the process has exited; signals go through it
  std::uint64_t server = 0;  // the fork server that forked it (they are numbered from 1)
};

// The exitcode of a process whose fork server died: the server's death killed it (its
// PDEATHSIG is SIGKILL) and took its real status along (init reaped it).
inline constexpr int orphan_exitcode = -SIGKILL;

// Starts the fork server if this process has none (see mp::init).
void start_fork_server();

// Pid of this process's fork server, 0 if none runs (tests look for zombies under it).
int fork_server_pid();

// Forks a worker from the fork server. The worker runs the task loop on `channel` (its end of a
// socket pair) and receives `extra` (descriptors travelling with its first call) as well.
spawned spawn(int channel, std::span<const int> extra = {});

// Reaps an exited worker: its exitcode (>= 0 exit status, -N signal N); nullopt while it runs.
// A worker whose fork server has died is reaped already: orphan_exitcode.
std::optional<int> try_reap(const spawned& p);

// Waits up to `timeout` (negative: forever) for the worker to exit and reaps it.
std::optional<int> wait_exit(const spawned& p, std::chrono::milliseconds timeout);

// Sends a signal through the pidfd, so a recycled pid can never be hit. False if it had exited.
bool send_signal(const spawned& p, int sig);

// Kills the worker (SIGKILL) if it still runs and reaps it: its exitcode.
int kill_and_reap(const spawned& p);

// Entry of a forked worker (src/mp/worker.cpp). Never returns.
[[noreturn]] void worker_main(int channel, std::span<const int> extra);

}  // namespace concur::mp::detail
