#pragma once
// What the mpi module's sources share: the wire between rank 0 and its workers, naming code
// across ranks, and the one MPI runtime of the process. Every MPI call goes through here.
#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "concur/mpi/errors.hpp"
#include "concur/mpi/runtime.hpp"

namespace concur::mpi::detail {

// Throws mpi::error naming the call and MPI's own text for the code (communicators are set to
// MPI_ERRORS_RETURN, so failures come back here instead of aborting the job).
void check_mpi(int rc, const char* call);
// A byte count as MPI's int, or mpi::error for a message of 2 GiB or more.
int mpi_count(std::size_t bytes);

// Tags of the messages between rank 0 and a worker.
enum mpi_tag : int {
  task_tag = 1,   // rank 0 -> worker: a task_header, then the call's payload
  reply_tag = 2,  // worker -> rank 0: run_call's reply, then the task's id (8 bytes)
  exit_tag = 3,   // rank 0 -> worker: no more work, leave
};

// A function named so that another rank running the same binaries finds it: the first 8
// bytes of its module's ELF build-id, and its offset from where that module is loaded.
// {0, 0} stands for "no function" (a captureless lambda is re-created from its type).
struct code_ref {
  std::uint64_t module = 0;
  std::uint64_t offset = 0;
};

struct task_header {
  std::uint64_t id = 0;
  code_ref invoker;
  code_ref fn;

  static constexpr std::size_t size = 40;
  void encode_into(std::string& out) const;
  static task_header decode(std::string_view in);
};

// The modules (executable and shared libraries) loaded in this process, found once and again
// when a name is not found (a library opened with dlopen since).
class code_table {
 public:
  // mpi::error when the address is in no module, or in one without a build-id.
  code_ref name(std::uintptr_t address);
  // mpi::error when this rank has no module with that build-id loaded.
  std::uintptr_t address(code_ref ref);

 private:
  struct module {
    std::string path;
    std::uint64_t id = 0;  // 0: the module has no build-id
    std::uintptr_t bias = 0;
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;  // its PT_LOAD segments
  };
  void load();
  std::vector<module> modules_;
  bool loaded_ = false;
};

// The executable's ELF build-id (raw bytes; empty if it has none).
std::string executable_build_id();
// Collective over comm: each rank's executable build-id, compared with the lowest rank's.
// Returns the ranks that differ (empty when all agree).
std::vector<int> ranks_with_other_executable(MPI_Comm comm);
// The message for those ranks.
std::string other_executable_message(const std::vector<int>& ranks);

// Idle waiting without a wake-up source: MPI offers no descriptor to sleep on, so an idle loop
// yields the core for a moment (a reply or the next task usually arrives within it), then
// sleeps in doubling steps up to `cap`, so that a rank waiting on long tasks leaves the cores
// to the ranks that compute.
class idle_backoff {
 public:
  idle_backoff(std::chrono::microseconds spin_for, std::chrono::microseconds cap)
      : spin_for_(spin_for), cap_(cap) {}
  void pause();
  void reset() noexcept {
    idle_ = false;
    sleep_ = std::chrono::microseconds{0};
  }

 private:
  std::chrono::microseconds spin_for_;
  std::chrono::microseconds cap_;
  bool idle_ = false;
  std::chrono::steady_clock::time_point idle_since_{};
  std::chrono::microseconds sleep_{0};
};

// A worker rank's loop: run the tasks rank 0 sends on comm until it says exit.
void serve_tasks(MPI_Comm comm);

}  // namespace concur::mpi::detail
