#pragma once
#include <string>

#include "concur/futures/errors.hpp"

namespace concur::mp {

// Base of the errors only multiprocessing raises (Python: ProcessError).
class error : public concur::error {
 public:
  using concur::error::error;
};

// A worker process died while it held a task (segfault, abort, std::terminate, _exit, SIGKILL
// from outside). Python's pool raises BrokenProcessPool for the whole pool; here only the task
// the worker held fails and the pool replaces the worker.
class process_crashed_error : public error {
 public:
  // exitcode follows Python's Process.exitcode: >= 0 for an exit status, -N for signal N.
  process_crashed_error(int pid, int exitcode);
  int pid() const noexcept { return pid_; }
  int exitcode() const noexcept { return exitcode_; }

 private:
  int pid_;
  int exitcode_;
};

// An exception thrown by the function in the worker. Its C++ type cannot cross the process
// boundary, so it arrives as its demangled type name and its what() message (Python's
// RemoteTraceback carries the same two things).
class remote_error : public error {
 public:
  remote_error(std::string type_name, std::string message);
  const std::string& type_name() const noexcept { return type_name_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string type_name_;
  std::string message_;
};

// Connection.recv() on a pipe whose other end is closed and drained (Python: EOFError).
class eof_error : public error {
 public:
  eof_error() : error("end of file: the other end of the pipe is closed") {}
};

// mp::queue::get with a timeout or get_nowait found nothing (Python: queue.Empty).
class queue_empty : public error {
 public:
  queue_empty() : error("queue is empty") {}
};

// mp::queue::put with a timeout or put_nowait found the queue full (Python: queue.Full).
class queue_full : public error {
 public:
  queue_full() : error("queue is full") {}
};

// A process died while it held a process-shared lock (mp::lock, mp::rlock, a value's lock). The
// lock is free again, but what it protected may be half-updated: check it before going on.
// Python has no such error (its lock stays taken and the others wait forever).
class owner_died_error : public error {
 public:
  owner_died_error()
      : error(
            "concur::mp: a process died while holding this lock; the lock is free again, but "
            "what it protected may be half-updated") {}
};

// Text for a raw wait status: "exit code 3", "signal 11 (SIGSEGV)".
std::string describe_exitcode(int exitcode);

}  // namespace concur::mp
