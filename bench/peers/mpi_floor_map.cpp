// The floor under bench_mpi_pool's map: the same messages with bare MPI and nothing else (no
// futures, no codec, no naming): rank 0 sends 100 chunks of 1000 ints, two at a time to each
// of ranks 1 and 2, which square them and send back 1000 long longs. `mpiexec -n 3
// mpi_floor_map [repeat]` prints `mpi_floor_map items_per_s=...` (best of the rounds).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <numeric>
#include <vector>

namespace {

constexpr int items = 100'000;
constexpr int chunk = 1000;
constexpr int task_tag = 1;
constexpr int reply_tag = 2;
constexpr int exit_tag = 3;

void serve() {
  std::vector<int> in(chunk);
  std::vector<long long> out(chunk);
  for (;;) {
    MPI_Status st;
    MPI_Recv(in.data(), chunk, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    if (st.MPI_TAG == exit_tag) return;
    int n = 0;
    MPI_Get_count(&st, MPI_INT, &n);
    for (int i = 0; i < n; ++i)
      out[static_cast<std::size_t>(i)] =
          static_cast<long long>(in[static_cast<std::size_t>(i)]) * in[static_cast<std::size_t>(i)];
    MPI_Send(out.data(), n, MPI_LONG_LONG, 0, reply_tag, MPI_COMM_WORLD);
  }
}

// One map: chunks go out in order, at most two in flight per worker, results land in place.
double one_map(const std::vector<int>& numbers, std::vector<long long>& results) {
  const auto t0 = std::chrono::steady_clock::now();
  const int chunks = items / chunk;
  std::deque<int> in_flight[2];
  std::vector<MPI_Request> sends;
  int next = 0;
  int done = 0;
  auto send = [&](int worker) {
    MPI_Request r;
    MPI_Isend(numbers.data() + next * chunk, chunk, MPI_INT, worker + 1, task_tag, MPI_COMM_WORLD,
              &r);
    sends.push_back(r);
    in_flight[worker].push_back(next++);
  };
  for (int w = 0; w < 2; ++w)
    for (int d = 0; d < 2 && next < chunks; ++d) send(w);
  while (done < chunks) {
    MPI_Status st;
    MPI_Probe(MPI_ANY_SOURCE, reply_tag, MPI_COMM_WORLD, &st);
    const int worker = st.MPI_SOURCE - 1;
    const int c = in_flight[worker].front();
    in_flight[worker].pop_front();
    MPI_Recv(results.data() + c * chunk, chunk, MPI_LONG_LONG, st.MPI_SOURCE, reply_tag,
             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    ++done;
    if (next < chunks) send(worker);
  }
  MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 3) {
    if (rank == 0) std::fprintf(stderr, "mpi_floor_map: run it as `mpiexec -n 3 mpi_floor_map`\n");
    MPI_Finalize();
    return 2;
  }
  if (rank != 0) {
    serve();
    MPI_Finalize();
    return 0;
  }
  const int repeat = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  std::vector<int> numbers(items);
  std::iota(numbers.begin(), numbers.end(), 0);
  std::vector<long long> results(items);
  double best = 1e9;
  for (int r = 0; r < repeat; ++r) {
    best = std::min(best, one_map(numbers, results));
    if (results.back() != static_cast<long long>(items - 1) * (items - 1)) {
      std::fprintf(stderr, "mpi_floor_map: wrong result\n");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  for (int w = 1; w < 3; ++w) MPI_Send(nullptr, 0, MPI_INT, w, exit_tag, MPI_COMM_WORLD);
  std::printf("mpi_floor_map items=%d chunksize=%d workers=2 seconds=%.5f items_per_s=%.0f\n",
              items, chunk, best, items / best);
  MPI_Finalize();
  return 0;
}
