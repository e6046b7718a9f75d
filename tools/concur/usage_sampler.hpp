#pragma once
// Measures what one run of a model costs: wall time, CPU time and peak resident memory of
// this process together with every process it started (pool workers, fork servers), so
// threads, processes and coroutines are compared on the same footing.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace concur_cli {

struct usage {
  double wall_s = 0;
  double cpu_s = 0;                // user + system, this process and its descendants
  std::uint64_t peak_rss_kib = 0;  // the largest sum of resident memory seen at one time
};

class usage_sampler {
 public:
  // `exclude` (with its descendants) is left out: the lab's own mock API server.
  explicit usage_sampler(pid_t exclude = -1,
                         std::chrono::milliseconds period = std::chrono::milliseconds(5));
  ~usage_sampler();
  usage_sampler(const usage_sampler&) = delete;
  usage_sampler& operator=(const usage_sampler&) = delete;

  // Ends the measurement and returns it; the sampler thread is joined.
  usage stop();

 private:
  void sample();

  pid_t exclude_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point start_;
  double self_cpu_start_ = 0;
  std::mutex mutex_;
  std::uint64_t peak_rss_kib_ = 0;
  // Descendants' CPU ticks at the last sample, by pid: a worker that exits between two
  // samples keeps the last figure seen, so short-lived workers are counted, not lost.
  std::map<pid_t, std::uint64_t> child_ticks_;
  std::map<pid_t, std::uint64_t> child_ticks_start_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  bool stopped_ = false;
  usage result_;
};

}  // namespace concur_cli
