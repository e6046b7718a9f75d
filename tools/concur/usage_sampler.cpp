#include "usage_sampler.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace concur_cli {
namespace {

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::uint64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * std::uint64_t(sysconf(_SC_PAGESIZE)) / 1024;
}

// utime + stime in clock ticks, from /proc/PID/stat (fields 14 and 15, after the
// parenthesised command name, which may itself hold spaces).
std::uint64_t cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

std::vector<std::string> thread_ids(const std::string& task_dir) {
  std::vector<std::string> tids;
  if (DIR* d = opendir(task_dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') tids.emplace_back(e->d_name);
    closedir(d);
  }
  return tids;
}

void collect_descendants(pid_t pid, pid_t exclude, std::vector<pid_t>& out, int depth) {
  if (depth > 8) return;  // process trees here are shallow; the bound rules out runaway recursion
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  // Children are listed per thread: a worker forked by another thread is under that tid.
  for (const auto& tid : thread_ids(task_dir)) {
    std::ifstream children(task_dir + "/" + tid + "/children");
    pid_t child = 0;
    while (children >> child) {
      if (child == exclude) continue;
      out.push_back(child);
      collect_descendants(child, exclude, out, depth + 1);
    }
  }
}

}  // namespace

usage_sampler::usage_sampler(pid_t exclude, std::chrono::milliseconds period)
    : exclude_(exclude),
      period_(period),
      start_(std::chrono::steady_clock::now()),
      self_cpu_start_(self_cpu_seconds()) {
  std::vector<pid_t> kids;
  collect_descendants(getpid(), exclude_, kids, 0);
  for (pid_t k : kids) child_ticks_start_[k] = cpu_ticks(k);
  sample();
  thread_ = std::thread([this] {
    while (!stopping_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(period_);
      sample();
    }
  });
}

usage_sampler::~usage_sampler() { stop(); }

void usage_sampler::sample() {
  std::vector<pid_t> kids;
  collect_descendants(getpid(), exclude_, kids, 0);
  std::uint64_t total = rss_kib(getpid());
  std::map<pid_t, std::uint64_t> ticks;
  for (pid_t k : kids) {
    total += rss_kib(k);
    ticks[k] = cpu_ticks(k);
  }
  std::lock_guard lock(mutex_);
  if (total > peak_rss_kib_) peak_rss_kib_ = total;
  for (auto& [pid, t] : ticks)
    if (t >= child_ticks_[pid]) child_ticks_[pid] = t;
}

usage usage_sampler::stop() {
  if (stopped_) return result_;
  stopped_ = true;
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  sample();
  result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::uint64_t child_ticks = 0;
  for (auto& [pid, t] : child_ticks_) {
    auto it = child_ticks_start_.find(pid);
    child_ticks += t - (it != child_ticks_start_.end() && it->second <= t ? it->second : 0);
  }
  result_.cpu_s =
      self_cpu_seconds() - self_cpu_start_ + double(child_ticks) / double(sysconf(_SC_CLK_TCK));
  result_.peak_rss_kib = peak_rss_kib_;
  return result_;
}

}  // namespace concur_cli
