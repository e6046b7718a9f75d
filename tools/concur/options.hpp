#pragma once
// What each subcommand was asked to do, validated by the command line parser.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace concur_cli {

struct lab_options {
  std::string only;          // "", "io" or "cpu"
  std::string urls_file;     // real URLs instead of the embedded mock API
  double latency_ms = 100;   // mock API latency per request
  unsigned rounds = 3;       // rounds of the six endpoints
  unsigned workers = 5;      // thread and process pool size for the I/O job (tutorial: 5)
  unsigned concurrency = 0;  // coroutine semaphore; 0 = no limit
  // About a second of trial division on one core of this kind of machine.
  std::uint64_t primes_lo = 10'000'000, primes_hi = 13'000'000;
  bool json = false;
  std::string svg_file;
  bool progress = true;    // shown only when stderr is a terminal
  unsigned mpi_ranks = 0;  // --mpi N: a cluster row on N spawned MPI ranks
  bool mpi_world = false;  // rank 0 of `mpiexec -n N` (N > 1): a cluster row on the others
};

struct serve_options {
  std::string host = "127.0.0.1";
  unsigned port = 8080;
  double latency_ms = 0;
  double jitter_ms = 0;
  double error_rate = 0;
  unsigned threads = 1;
  bool quiet = false;
  std::string log_format = "common";  // or "json"
  bool exit_with_parent = false;      // hidden: the lab's child server
  std::string static_dir;             // served below /static/ when set
};

struct fetch_options {
  std::vector<std::string> urls;
  std::string input_file;
  unsigned jobs = 8;
  unsigned per_host = 0;  // 0 = no per-host limit beyond jobs
  unsigned retries = 2;
  double timeout_s = 0;           // one URL, every try and wait included; 0 = no limit
  double attempt_timeout_s = 30;  // one try; 0 = no limit
  std::string output_dir;
  bool resume = false;  // -c: continue part files with Range requests
  bool quiet = false;
  bool json = false;
  bool progress = true;
};

int run_lab(const lab_options& options);
int run_serve(const serve_options& options);
int run_fetch(const fetch_options& options);

// Shared by the subcommands: stderr is a terminal and the user has not asked for plain output.
bool stderr_is_terminal();
bool stdout_is_terminal();

}  // namespace concur_cli
