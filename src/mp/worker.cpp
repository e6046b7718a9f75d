// The loop a worker process runs: receive a call, run it, send the result back.
#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <typeinfo>

#include "concur/mp/codec.hpp"
#include "concur/mp/detail/call.hpp"
#include "concur/mp/detail/fork_server.hpp"
#include "concur/mp/detail/process_pool_core.hpp"
#include "concur/mp/detail/wire.hpp"
#include "concur/mp/errors.hpp"

namespace concur::mp::detail {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

namespace {

// Type name and message of the exception being handled.
std::pair<std::string, std::string> describe_current_exception() {
  const std::type_info* t = abi::__cxa_current_exception_type();
  std::string type = t != nullptr ? demangle(t->name()) : std::string("unknown exception");
  std::string message;
  try {
    throw;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
  }
  return {std::move(type), std::move(message)};
}

[[noreturn]] void leave(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace

bool run_call(invoker_fn inv, std::uintptr_t fn, std::string_view payload, std::string& out,
              fd_table& fds) {
  const std::size_t at = out.size();
  out.push_back(static_cast<char>(reply_status::ok));
  try {
    inv(fn, payload, out, fds);
    return true;
  } catch (...) {
    auto [type, message] = describe_current_exception();
    out.resize(at);
    out.push_back(static_cast<char>(reply_status::raised));
    fd_table none;
    encode_into(out, none, type, message);
    return false;
  }
}

void worker_main(int channel, std::span<const int> extra) {
  fd_table fds;
  fds.in = extra;
  fds.taken.assign(extra.size(), false);
  bool first = true;
  for (;;) {
    std::optional<std::string> frame;
    try {
      frame = recv_frame(channel);
    } catch (...) {
      leave(2);
    }
    if (!frame) leave(0);  // the program closed our channel: a clean shutdown
    if (frame->size() < task_head::size) leave(2);
    const task_head head = task_head::decode(*frame);
    const std::string_view payload = std::string_view(*frame).substr(task_head::size);
    std::string out;
    if (!run_call(reinterpret_cast<invoker_fn>(head.invoker), head.fn, payload, out, fds) &&
        head.kind == task_kind::run) {
      const task_reply failed = reply_from_frame(std::move(out));
      try {
        std::rethrow_exception(failed.error);
      } catch (const remote_error& e) {
        std::fprintf(stderr, "concur::mp: process %d: uncaught %s: %s\n", ::getpid(),
                     e.type_name().c_str(), e.message().c_str());
      } catch (...) {
      }
      leave(1);
    }
    if (first) {
      // Descriptors that no argument claimed must not keep a pipe open (EOF would never come).
      fds.close_untaken();
      fds.in = {};
      first = false;
    }
    if (head.kind == task_kind::run) leave(0);
    try {
      send_frame(channel, out);
    } catch (...) {
      leave(0);  // the program is gone
    }
  }
}

std::size_t fd_table::put(int fd) {
  if (!allow_fds)
    throw error(
        "concur::mp: pipes, queues, locks and shared values can be passed to mp::process and to "
        "pool initializers, not to pool tasks (the workers already run); pass them through the "
        "initializer");
  out.push_back(fd);
  return out.size() - 1;
}

int fd_table::take(std::size_t index) {
  if (index >= in.size() || taken[index])
    throw error("concur::mp: a pipe or queue argument arrived without its descriptor");
  taken[index] = true;
  return in[index];
}

void fd_table::close_untaken() noexcept {
  for (std::size_t i = 0; i < in.size(); ++i)
    if (!taken[i]) ::close(in[i]);
}

}  // namespace concur::mp::detail
