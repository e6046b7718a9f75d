#pragma once
// asyncio subprocesses: create_subprocess_exec / create_subprocess_shell and
// asyncio.subprocess.Process, on the running aio loop.
//
// The child starts with posix_spawn (no fork of a multithreaded program); its exit is seen
// through a pidfd the loop watches like any descriptor (no SIGCHLD handler, no polling, no
// wait on "any child" that could reap someone else's). A pipe to or from the child is a Unix
// stream socket pair, so it is the same stream_reader / stream_writer as a TCP connection.
// Nothing is left a zombie: a subprocess whose object is destroyed while it still runs is
// killed and reaped (as asyncio closes the transport of a process it forgets), and so is one
// still running when the loop shuts down.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "concur/aio.hpp"
#include "concur/net/streams.hpp"

namespace concur::net {

namespace detail {
class subprocess_core;
}  // namespace detail

// Where a child's standard stream goes: asyncio.subprocess.PIPE, DEVNULL, STDOUT (for stderr
// only: into the same place as stdout) or None (inherited from this process).
enum class redirect { inherit, pipe, devnull, to_stdout };

// create_subprocess_*'s keyword arguments.
struct subprocess_options {
  redirect std_in = redirect::inherit;
  redirect std_out = redirect::inherit;
  redirect std_err = redirect::inherit;
  // cwd=: the child's working directory (default: this process's).
  std::optional<std::string> cwd{};
  // env=: the child's whole environment as "NAME=value" entries (default: this process's).
  std::optional<std::vector<std::string>> env{};
  // limit=: the pipes' stream_reader limit.
  std::size_t limit = 64 * 1024;
};

// asyncio.subprocess.Process. Move-only; use it on its loop's thread.
class subprocess {
 public:
  subprocess() = default;
  // What create_subprocess_* returns: the child and the task that reaps it.
  subprocess(std::shared_ptr<detail::subprocess_core> core, aio::task_handle<void> reaper) noexcept
      : core_(std::move(core)), reaper_(std::move(reaper)) {}
  subprocess(subprocess&&) noexcept = default;
  subprocess& operator=(subprocess&& o) noexcept;
  // Kills and reaps the child if it is still running.
  ~subprocess();

  int pid() const noexcept;
  // None while running; then the exit status, or -N when signal N ended it (as Python).
  std::optional<int> returncode() const noexcept;

  // proc.stdin / proc.stdout / proc.stderr: invalid_state_error unless that stream is a pipe.
  stream_writer& std_in();
  stream_reader& std_out();
  stream_reader& std_err();

  // Waits for the child to exit; returns the returncode. Cancelling the wait leaves the child
  // running. As asyncio warns, reading nothing from a full stdout pipe while waiting can
  // deadlock: use communicate().
  aio::task<int> wait();
  // Writes `input` to stdin (then closes it), reads stdout and stderr to their ends, waits for
  // the exit; returns (stdout, stderr), empty where that stream is not a pipe. A child that
  // exits without reading its input is not an error (asyncio ignores the broken pipe too).
  aio::task<std::pair<std::string, std::string>> communicate();
  aio::task<std::pair<std::string, std::string>> communicate(std::string input);

  // Sends `signal`; does nothing once the child has been reaped (the pidfd never reaches a
  // recycled pid).
  void send_signal(int signal);
  void terminate();  // SIGTERM
  void kill();       // SIGKILL

  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  detail::subprocess_core& core() const;
  void finish() noexcept;

  std::shared_ptr<detail::subprocess_core> core_;
  aio::task_handle<void> reaper_;
};

// As everywhere in net (see streams.hpp), pass the arguments and options as named variables,
// not braced temporaries, in a co_await expression.
//
// asyncio.create_subprocess_exec(program, *args, ...): `program` is looked up on PATH when it
// has no '/'; argv[0] is `program`. A program that cannot be started throws os_error (ENOENT:
// Python's FileNotFoundError; EACCES: PermissionError).
aio::task<subprocess> create_subprocess_exec(std::string program, std::vector<std::string> args,
                                             subprocess_options options);
aio::task<subprocess> create_subprocess_exec(std::string program, std::vector<std::string> args);

// asyncio.create_subprocess_shell(cmd, ...): /bin/sh -c cmd.
aio::task<subprocess> create_subprocess_shell(std::string cmd, subprocess_options options);
aio::task<subprocess> create_subprocess_shell(std::string cmd);

}  // namespace concur::net
