#include "concur/mp/errors.hpp"

#include <string.h>

namespace concur::mp {

std::string describe_exitcode(int exitcode) {
  if (exitcode >= 0) return "exit code " + std::to_string(exitcode);
  const int sig = -exitcode;
  std::string s = "signal " + std::to_string(sig);
  if (const char* abbrev = ::sigabbrev_np(sig)) s += std::string(" (SIG") + abbrev + ")";
  return s;
}

process_crashed_error::process_crashed_error(int pid, int exitcode)
    : error("concur::mp: worker process " + std::to_string(pid) + " died with " +
            describe_exitcode(exitcode) + " while running the task"),
      pid_(pid),
      exitcode_(exitcode) {}

remote_error::remote_error(std::string type_name, std::string message)
    : error(type_name + ": " + message),
      type_name_(std::move(type_name)),
      message_(std::move(message)) {}

}  // namespace concur::mp
