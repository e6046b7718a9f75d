// A worker rank: receive a task from rank 0, run it, send the reply; until rank 0 says exit.
#include <climits>
#include <cstring>
#include <string>

#include "concur/mp/detail/call.hpp"
#include "concur/mp/detail/wire.hpp"
#include "internal.hpp"

namespace concur::mpi::detail {

namespace {

// A reply that says the task failed with a concur::mpi::error: rank 0 raises it as the task's
// mp::remote_error.
void encode_error(std::string& out, const std::string& message) {
  out.assign(1, static_cast<char>(mp::detail::reply_status::raised));
  mp::detail::fd_table none;
  mp::detail::encode_into(out, none, std::string("concur::mpi::error"), message);
}

// Runs one task message; `out` receives run_call's reply and then the task's id.
void run_task(code_table& codes, std::string_view message, std::string& out) {
  out.clear();
  std::uint64_t id = 0;  // the header's first word, read apart so a short message still answers
  if (message.size() >= sizeof id) std::memcpy(&id, message.data(), sizeof id);
  try {
    const task_header head = task_header::decode(message);
    const auto inv = reinterpret_cast<mp::detail::invoker_fn>(codes.address(head.invoker));
    const std::uintptr_t fn = codes.address(head.fn);
    if (inv == nullptr) throw error("concur::mpi: a task without its invoker");
    mp::detail::fd_table none;
    mp::detail::run_call(inv, fn, message.substr(task_header::size), out, none);
  } catch (const error& e) {
    encode_error(out, e.what());  // the task could not be found here
  }
  if (out.size() + sizeof id > static_cast<std::size_t>(INT_MAX)) {
    // One MPI message carries at most INT_MAX bytes: the task fails, the rank goes on serving.
    const std::size_t bytes = out.size();
    std::string().swap(out);
    encode_error(out, "concur::mpi: the task's result is " + std::to_string(bytes) +
                          " bytes encoded, over MPI's 2 GiB message limit; return less at "
                          "once (a smaller chunksize)");
  }
  out.append(reinterpret_cast<const char*>(&id), sizeof id);
}

}  // namespace

void serve_tasks(MPI_Comm comm) {
  code_table codes;
  std::string in;
  std::string out;
  // Measured with bench_mpi_pool on 2 cores and 3 ranks: 300 us of yielding covers the gap
  // between two maps or two submits; sleeps of at most 100 us keep a task that arrives later
  // within 100 us, and leave the cores to the computing ranks meanwhile.
  idle_backoff idle(std::chrono::microseconds{300}, std::chrono::microseconds{100});
  for (;;) {
    int ready = 0;
    MPI_Status status;
    check_mpi(MPI_Iprobe(0, MPI_ANY_TAG, comm, &ready, &status), "MPI_Iprobe");
    if (ready == 0) {
      idle.pause();
      continue;
    }
    idle.reset();
    int count = 0;
    check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
    in.resize(static_cast<std::size_t>(count));
    check_mpi(MPI_Recv(in.data(), count, MPI_BYTE, 0, status.MPI_TAG, comm, MPI_STATUS_IGNORE),
              "MPI_Recv");
    if (status.MPI_TAG == exit_tag) return;
    run_task(codes, in, out);
    // Blocking is safe here: rank 0's progress thread never blocks, it always receives.
    check_mpi(MPI_Send(out.data(), mpi_count(out.size()), MPI_BYTE, 0, reply_tag, comm),
              "MPI_Send");
  }
}

}  // namespace concur::mpi::detail
