// The bytes and waits between rank 0 and its workers, and MPI's errors as exceptions.
#include <sched.h>

#include <climits>
#include <cstring>
#include <string>
#include <thread>

#include "internal.hpp"

namespace concur::mpi::detail {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  throw error(
      std::string("concur::mpi: ") + call + " failed: " +
      (len > 0 ? std::string(text, static_cast<std::size_t>(len)) : "error " + std::to_string(rc)));
}

int mpi_count(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX))
    throw error("concur::mpi: a message of " + std::to_string(bytes) +
                " bytes is over MPI's 2 GiB count limit; send less at once (a smaller "
                "chunksize)");
  return static_cast<int>(bytes);
}

void task_header::encode_into(std::string& out) const {
  const std::uint64_t words[5] = {id, invoker.module, invoker.offset, fn.module, fn.offset};
  out.append(reinterpret_cast<const char*>(words), sizeof words);
}

task_header task_header::decode(std::string_view in) {
  if (in.size() < size) throw error("concur::mpi: a task message shorter than its header");
  std::uint64_t words[5] = {};
  std::memcpy(words, in.data(), sizeof words);
  return {words[0], {words[1], words[2]}, {words[3], words[4]}};
}

void idle_backoff::pause() {
  const auto now = std::chrono::steady_clock::now();
  if (!idle_) {
    idle_ = true;
    idle_since_ = now;
  }
  if (now - idle_since_ < spin_for_) {
    sched_yield();
    return;
  }
  sleep_ = sleep_.count() == 0 ? std::chrono::microseconds{5} : std::min(sleep_ * 2, cap_);
  std::this_thread::sleep_for(sleep_);
}

}  // namespace concur::mpi::detail
